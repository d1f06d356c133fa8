// Runtime image scripts: shellcheck-clean, and entrypoint.sh / ttyd-startup.sh / .bashrc
// behave as the sandbox needs (run against stubs, since ttyd and claude are not installed here).
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SANDBOX_GID, SANDBOX_UID } from '../activities/kubernetes/manifests';

const here = path.dirname(fileURLToPath(import.meta.url));
const SCRIPTS = ['entrypoint.sh', 'ttyd-startup.sh', 'app-activity.sh', 'build.sh', '.bashrc'];

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'fsa-runtime-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function stub(dir: string, name: string, body: string): void {
  const file = path.join(dir, name);
  writeFileSync(file, `#!/usr/bin/env bash\n${body}\n`);
  chmodSync(file, 0o755);
}

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  // A clean environment: the scripts must not depend on the test runner's variables.
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', ...extra } as Record<string, string> as NodeJS.ProcessEnv;
}

describe('shellcheck', () => {
  it.each(SCRIPTS)('%s passes shellcheck', (script) => {
    const which = spawnSync('shellcheck', ['--version']);
    if (which.error) {
      throw new Error('shellcheck is not installed: run `apt-get install -y shellcheck` (scripts/test.sh does this)');
    }
    const r = spawnSync('shellcheck', ['--shell=bash', '--severity=style', path.join(here, script)], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('entrypoint.sh', () => {
  let bin: string;
  let argvFile: string;
  let home: string;
  beforeAll(() => {
    bin = mkdtempSync(path.join(tmp, 'bin-'));
    argvFile = path.join(tmp, 'ttyd-argv');
    home = mkdtempSync(path.join(tmp, 'home-'));
    // Records its arguments NUL-separated, so values with spaces survive intact.
    stub(bin, 'ttyd', 'printf "%s\\0" "$@" > "$ARGV_FILE"');
  });

  it('execs ttyd with basic auth, writable, url args, port 7681, xterm-256color, a theme and the startup script', () => {
    const r = spawnSync('bash', [path.join(here, 'entrypoint.sh')], {
      env: cleanEnv({ PATH: `${bin}:${process.env.PATH}`, HOME: home, TTYD_ACCESS_TOKEN: 's3cr3t-Token_x', ARGV_FILE: argvFile }),
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const argv = readFileSync(argvFile, 'utf8').split('\0').slice(0, -1);

    const valueOf = (flag: string) => argv[argv.indexOf(flag) + 1];
    expect(valueOf('-c')).toBe('user:s3cr3t-Token_x');
    expect(valueOf('-p')).toBe('7681');
    expect(valueOf('-T')).toBe('xterm-256color');
    expect(argv).toContain('-W');
    expect(argv).toContain('-a');

    const clientOptions = argv.filter((_, i) => argv[i - 1] === '-t');
    const theme = clientOptions.find((o) => o.startsWith('theme='));
    expect(theme).toBeDefined();
    expect(JSON.parse(theme!.slice('theme='.length))).toMatchObject({ background: expect.stringMatching(/^#/) });
    expect(clientOptions).toContain('fontSize=14');

    // The command ttyd runs comes last, after every option.
    expect(argv[argv.length - 1]).toBe('/usr/local/bin/ttyd-startup.sh');
  });

  it.each([
    ['unset', {}],
    ['empty', { TTYD_ACCESS_TOKEN: '' }],
  ])('exits non-zero with a clear message when TTYD_ACCESS_TOKEN is %s', (_label, env) => {
    rmSync(argvFile, { force: true });
    const r = spawnSync('bash', [path.join(here, 'entrypoint.sh')], {
      env: cleanEnv({ PATH: `${bin}:${process.env.PATH}`, HOME: home, ARGV_FILE: argvFile, ...env }),
      encoding: 'utf8',
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/TTYD_ACCESS_TOKEN is not set/);
    expect(existsSync(argvFile)).toBe(false); // ttyd never started
  });
});

// The pod runs as the image user (uid/gid 1000), with no_new_privs and no capabilities, on
// a home PVC that fsGroup made group-owned (root:1000, setgid, group-writable). When the
// tests run as root, setpriv reproduces exactly that; otherwise they already run unprivileged.
describe('as the sandbox user (non-root, no_new_privs, no capabilities) on an fsGroup home', () => {
  const root = process.getuid?.() === 0;
  const asSandboxUser = (cmd: string[]): [string, string[]] =>
    root
      ? ['setpriv', [`--reuid=${SANDBOX_UID}`, `--regid=${SANDBOX_GID}`, '--clear-groups', '--no-new-privs', '--inh-caps=-all', '--bounding-set=-all', ...cmd]]
      : [cmd[0]!, cmd.slice(1)];
  let dir: string;
  let home: string;
  let bin: string;
  beforeAll(() => {
    // Outside the 0700 test folder, so uid 1000 can reach it, as in the pod.
    dir = mkdtempSync(path.join(os.tmpdir(), 'fsa-sandbox-user-'));
    chmodSync(dir, 0o755);
    home = path.join(dir, 'home');
    bin = path.join(dir, 'bin');
    for (const d of [home, bin]) spawnSync('mkdir', ['-p', d]);
    chmodSync(bin, 0o755);
    // What the kubelet makes of a fresh PVC with fsGroup 1000 (root-owned, group 1000, g+rwxs).
    if (root) chownSync(home, 0, SANDBOX_GID);
    chmodSync(home, 0o2775);
    // Writes what it saw next to the home (ttyd itself writes nothing).
    stub(bin, 'ttyd', 'out="${STUB_OUT:-$HOME}"; pwd > "$out/ttyd-cwd"; id -u > "$out/ttyd-uid"; printf "%s\\0" "$@" > "$out/ttyd-argv"');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('entrypoint.sh creates ~/project on the fresh home and starts ttyd there', () => {
    const [cmd, args] = asSandboxUser(['bash', path.join(here, 'entrypoint.sh')]);
    const r = spawnSync(cmd, args, { env: cleanEnv({ PATH: `${bin}:${process.env.PATH}`, HOME: home, TTYD_ACCESS_TOKEN: 'tok' }), encoding: 'utf8', cwd: '/' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(path.join(home, 'ttyd-cwd'), 'utf8').trim()).toBe(path.join(home, 'project'));
    const project = statSync(path.join(home, 'project'));
    if (root) {
      expect(readFileSync(path.join(home, 'ttyd-uid'), 'utf8').trim()).toBe(String(SANDBOX_UID));
      expect(project.uid).toBe(SANDBOX_UID);
      expect(project.gid).toBe(SANDBOX_GID); // setgid home: the group follows
    }
    expect(readFileSync(path.join(home, 'ttyd-argv'), 'utf8').split('\0')).toContain('user:tok');
  });

  it('ttyd-startup.sh records the session and gives a login shell', () => {
    const id = `nonroot${process.pid}${Date.now()}`;
    const file = `/tmp/.terminal-session-${id}`;
    try {
      const [cmd, args] = asSandboxUser(['bash', path.join(here, 'ttyd-startup.sh'), id]);
      const r = spawnSync(cmd, args, { env: cleanEnv({ HOME: home, PROJECT_NAME: 'demo' }), input: 'echo "SHELL_PID=$$ UID=$(id -u)"; touch "$HOME/project/made-by-shell" && echo WROTE\n', encoding: 'utf8', cwd: '/' });
      expect(r.status).toBe(0);
      expect(readFileSync(file, 'utf8').trim()).toBe(/SHELL_PID=(\d+)/.exec(r.stdout)?.[1]);
      expect(r.stdout).toContain('WROTE');
      if (root) expect(r.stdout).toContain(`UID=${SANDBOX_UID}`);
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('entrypoint.sh with a home it cannot write says what the volume needs, and still starts the terminal', () => {
    const notADir = path.join(dir, 'plain-file');
    writeFileSync(notADir, 'x');
    chmodSync(notADir, 0o644);
    const [cmd, args] = asSandboxUser(['bash', path.join(here, 'entrypoint.sh')]);
    const r = spawnSync(cmd, args, { env: cleanEnv({ PATH: `${bin}:${process.env.PATH}`, HOME: path.join(notADir, 'home'), TTYD_ACCESS_TOKEN: 'tok', STUB_OUT: home }), encoding: 'utf8', cwd: '/' });
    expect(r.status).toBe(0);
    expect(readFileSync(path.join(home, 'ttyd-cwd'), 'utf8').trim()).toBe('/');
    expect(r.stderr).toMatch(/cannot be created or written by uid \d+ .*fsGroup/);
  });
});

describe('ttyd-startup.sh', () => {
  function runStartup(arg: string, stdin: string) {
    const home = mkdtempSync(path.join(tmp, 'home-'));
    return spawnSync('bash', [path.join(here, 'ttyd-startup.sh'), arg], {
      env: cleanEnv({ HOME: home, PROJECT_NAME: 'demo-shop' }),
      input: stdin,
      encoding: 'utf8',
    });
  }

  it('records the login shell PID for the session and prints a welcome line', () => {
    const id = `jest${process.pid}${Date.now()}`;
    const file = `/tmp/.terminal-session-${id}`;
    try {
      // The script execs bash -l, which reads this from stdin: its $$ is the recorded PID.
      const r = runStartup(id, 'echo "SHELL_PID=$$"; shopt -q login_shell && echo LOGIN\n');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Welcome to demo-shop/);
      const shellPid = /SHELL_PID=(\d+)/.exec(r.stdout)?.[1];
      expect(shellPid).toBeDefined();
      expect(readFileSync(file, 'utf8').trim()).toBe(shellPid);
      expect(r.stdout).toContain('LOGIN');
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('falls back to the default session for an id that is not a plain token (it lands in a file name)', () => {
    const file = '/tmp/.terminal-session-default';
    const existed = existsSync(file);
    try {
      const r = runStartup('../../etc/evil', 'echo "SHELL_PID=$$"\n');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('terminal session default');
      expect(readFileSync(file, 'utf8').trim()).toBe(/SHELL_PID=(\d+)/.exec(r.stdout)?.[1]);
    } finally {
      if (!existed) rmSync(file, { force: true });
    }
  });
});

describe('.bashrc', () => {
  it('shows the project name in the prompt and starts the AI CLI once per pod, not on every reconnect', () => {
    const bin = mkdtempSync(path.join(tmp, 'bin-'));
    const calls = path.join(tmp, 'claude-calls');
    const marker = path.join(tmp, 'ai-cli-started'); // stands in for /tmp of one pod
    stub(bin, 'claude', `echo started >> "${calls}"`);

    const shell = (extra: Record<string, string> = { ANTHROPIC_API_KEY: 'sk-test' }) =>
      spawnSync('bash', ['--rcfile', path.join(here, '.bashrc'), '-i'], {
        env: cleanEnv({ PATH: `${bin}:${process.env.PATH}`, HOME: tmp, PROJECT_NAME: 'demo-shop', FSA_AI_CLI_MARKER: marker, ...extra }),
        input: 'exit 0\n',
        encoding: 'utf8',
      });

    const first = shell();
    expect(first.status).toBe(0);
    expect(first.stderr).toContain('demo-shop'); // interactive bash prints PS1 on stderr
    const second = shell(); // a reconnect in the same pod
    expect(second.status).toBe(0);
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual(['started']);
  });

  it('does not start the AI CLI without a credential (it would only cover the shell with a sign-in screen), and says how', () => {
    const bin = mkdtempSync(path.join(tmp, 'bin-'));
    const calls = path.join(tmp, 'claude-calls-nokey');
    stub(bin, 'claude', `echo started >> "${calls}"`);
    const r = spawnSync('bash', ['--rcfile', path.join(here, '.bashrc'), '-i'], {
      env: cleanEnv({ PATH: `${bin}:${process.env.PATH}`, HOME: tmp, FSA_AI_CLI_MARKER: path.join(tmp, 'ai-cli-nokey') }),
      input: 'exit 0\n',
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("run 'claude'");
    expect(existsSync(calls)).toBe(false);
  });
});

describe('app-activity.sh', () => {
  const BASH = spawnSync('bash', ['-c', 'command -v bash'], { encoding: 'utf8' }).stdout.trim();
  /** Runs the watcher for `ms` with a 1 s look and a 2 s report interval; resolves with its output. */
  function watch(env: Record<string, string>, ms: number, during: () => Promise<void>): Promise<{ stdout: string; stderr: string }> {
    const child = spawn(BASH, [path.join(here, 'app-activity.sh')], {
      env: cleanEnv({ FSA_APP_ACTIVITY_POLL_SECONDS: '1', FSA_APP_ACTIVITY_REPORT_SECONDS: '2', ...env }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    return during()
      .then(() => new Promise((r) => setTimeout(r, ms)))
      .finally(() => child.kill('SIGTERM'))
      .then(() => exited)
      .then(() => ({ stdout, stderr }));
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const LINE = /^fsa-app-activity at=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ connections=\d+$/;

  it('sees requests to the app port with the real ss (new connections and bytes on a kept-alive one), at most one line per interval, and nothing while quiet', async () => {
    if (spawnSync('ss', ['-V']).error) throw new Error('ss is not installed: run `apt-get install -y iproute2`');
    const server = net.createServer((sock) => sock.on('data', () => sock.write('ok')));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    try {
      // Quiet: an open listener, no connection, writes nothing.
      const quiet = await watch({ FSA_APP_PORT: String(port) }, 3_000, async () => undefined);
      expect(quiet).toEqual({ stdout: '', stderr: '' });

      let kept: net.Socket | undefined;
      const started = Date.now();
      const busy = await watch({ FSA_APP_PORT: String(port) }, 1_500, async () => {
        await sleep(1_500); // past the baseline look
        kept = net.connect(port, '127.0.0.1');
        await new Promise((r) => kept!.once('connect', r));
        // One kept-alive connection (as an ingress controller's to its backend), used every 300 ms for 4 s.
        for (let i = 0; i < 13; i++) {
          kept.write('GET / HTTP/1.1\r\n\r\n');
          await sleep(300);
        }
      });
      kept?.destroy();
      const lines = busy.stdout.trim().split('\n');
      expect(busy.stderr).toBe('');
      for (const l of lines) expect(l).toMatch(LINE);
      // ~5.5 s of watching with activity through ~4 s of it: the first at once, then one per 2 s interval.
      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(lines.length).toBeLessThanOrEqual(4);
      const times = lines.map((l) => Date.parse(l.split(' ')[1]!.slice(3)));
      for (const t of times) expect(t).toBeGreaterThanOrEqual(Math.floor(started / 1000) * 1000);
      for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
    } finally {
      server.close();
    }
  }, 30_000);

  it('counts a new socket or more bytes received as activity, not an idle open one (stub ss)', async () => {
    const bin = mkdtempSync(path.join(tmp, 'ss-'));
    const table = path.join(bin, 'table');
    // The stub prints what the test writes to `table`, in the shape of `ss -Htin`.
    stub(bin, 'ss', `[[ "$*" == *"sport = :3000"* ]] || exit 1; cat "${table}"`);
    const sock = (peer: string, bytes: number) => `ESTAB 0 0 10.88.0.5:3000 ${peer}\n\t cubic rto:204 bytes_sent:10 bytes_received:${bytes} segs_in:3\n`;
    writeFileSync(table, sock('10.88.0.1:40000', 100));
    const out = await watch({ PATH: `${bin}:${process.env.PATH}` }, 0, async () => {
      await sleep(3_500); // the baseline and two looks: an idle open connection (a WebSocket nobody uses) is no news
      writeFileSync(table, sock('10.88.0.1:40000', 180)); // bytes on it: a request
      await sleep(1_500);
    });
    const lines = out.stdout.trim().split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ connections=1$/);

    // Turned off, or without ss: nothing, and says why when ss is missing.
    const off = await watch({ PATH: `${bin}:${process.env.PATH}`, FSA_APP_ACTIVITY: '0' }, 1_000, async () => undefined);
    expect(off).toEqual({ stdout: '', stderr: '' });
    const empty = mkdtempSync(path.join(tmp, 'nobin-'));
    const missing = await watch({ PATH: empty }, 500, async () => undefined);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/ss \(iproute2\) not found/);
  }, 30_000);
});
