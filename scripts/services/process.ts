// Child-process helpers for the embedded services: spawn with prefixed logs, wait for a
// TCP port, stop with a signal (SIGTERM unless told otherwise) then SIGKILL.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface StartProcessOptions extends SpawnOptions {
  /**
   * Append stdout and stderr to this file (else they are inherited, or as `stdio` says; not
   * both). Never a pipe nobody reads: a child blocks once a pipe's 64 KiB are full, and a
   * Temporal server blocked in its logger holds its executions' locks (docs/decisions/0012).
   */
  logFile?: string;
  /** Signal that asks the process to stop (default SIGTERM). */
  stopSignal?: NodeJS.Signals;
  /** How long stop() waits before SIGKILL (default 10 s). */
  stopTimeoutMs?: number;
}

export function startProcess(name: string, command: string, args: string[], opts: StartProcessOptions = {}): ManagedProcess {
  const { logFile, stdio, stopSignal = 'SIGTERM', stopTimeoutMs = 10_000, ...spawnOpts } = opts;
  if (logFile && stdio) throw new Error(`${name}: give logFile or stdio, not both`);
  const out = logFile ? fs.openSync(logFile, 'a') : 'inherit';
  let child: ChildProcess;
  try {
    child = spawn(command, args, { ...spawnOpts, stdio: stdio ?? ['ignore', out, out] });
  } finally {
    // The child holds its own copy of the descriptor.
    if (typeof out === 'number') fs.closeSync(out);
  }
  let exited = child.exitCode !== null;
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  return {
    name,
    child,
    async stop() {
      if (exited) return;
      child.kill(stopSignal);
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
}

export function isPortOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

export async function waitForPort(port: number, timeoutMs: number, what: string, proc?: ManagedProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isPortOpen(port)) return;
    if (proc && proc.child.exitCode !== null) {
      throw new Error(`${what} exited with code ${proc.child.exitCode} before listening on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not listen on port ${port} within ${timeoutMs} ms`);
}

/**
 * A free port for a listener that binds it much later (a process that starts after a slow
 * step). Taken below Linux's ephemeral range (32768-60999), where the kernel also picks the
 * local ports of outgoing connections: a kernel-chosen free port can be taken by one of those
 * in the meantime.
 */
export async function freeListenPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen(port)) return port;
  }
  return freePort();
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '0.0.0.0', () => srv.close(() => resolve(true)));
  });
}

/** A free TCP port on loopback, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
