#!/usr/bin/env python3
"""Runs a command in a pseudo-terminal and drives it like a person at a keyboard.

Usage: pty-drive.py ROWS COLS TIMEOUT_S -- COMMAND [ARGS...]
Steps come as JSON in the PTY_STEPS environment variable, a list of
  {"expect": "<python regex>", "timeout": seconds}   wait until the output (after the
                                                       previous match) matches
  {"send": "<text>"}                                   type text
  {"resize": [rows, cols]}                             change the window size (the kernel
                                                       sends SIGWINCH to the foreground job)
  {"sleep": seconds}
Then waits for the command to exit. Prints one JSON object: exitCode, output (everything the
terminal received), failed (the step that failed, or null).
"""
import fcntl, json, os, pty, re, select, signal, struct, sys, termios, time

def winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

def main():
    rows, cols, timeout = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    steps = json.loads(os.environ.get("PTY_STEPS", "[]"))
    pid, fd = pty.fork()
    if pid == 0:
        winsize(0, rows, cols)
        os.execvp(cmd[0], cmd)
    winsize(fd, rows, cols)
    out = bytearray()
    pos = 0
    deadline = time.time() + timeout
    failed = None

    def pump(wait):
        try:
            r, _, _ = select.select([fd], [], [], wait)
        except InterruptedError:
            return True
        if not r:
            return True
        try:
            data = os.read(fd, 65536)
        except OSError:
            return False
        if not data:
            return False
        out.extend(data)
        return True

    alive = True
    for step in steps:
        if "expect" in step:
            pattern = re.compile(step["expect"].encode(), re.M)
            until = min(deadline, time.time() + float(step.get("timeout", 20)))
            while True:
                m = pattern.search(out, pos)
                if m:
                    pos = m.end()
                    break
                if time.time() > until or not alive:
                    failed = step
                    break
                alive = pump(0.05)
            if failed:
                break
        elif "send" in step:
            os.write(fd, step["send"].encode())
        elif "resize" in step:
            winsize(fd, step["resize"][0], step["resize"][1])
        elif "sleep" in step:
            until = time.time() + float(step["sleep"])
            while time.time() < until and alive:
                alive = pump(0.05)

    code = None
    if failed:
        os.kill(pid, signal.SIGKILL)
    while time.time() < deadline:
        wpid, status = os.waitpid(pid, os.WNOHANG)
        if wpid:
            code = os.waitstatus_to_exitcode(status)
            break
        if not pump(0.05):
            # The terminal closed; the process is about to be reaped.
            time.sleep(0.02)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        failed = failed or {"exit": "timed out"}
    while pump(0):
        pass
    print(json.dumps({"exitCode": code, "output": out.decode("utf-8", "replace"), "failed": failed}))

main()
