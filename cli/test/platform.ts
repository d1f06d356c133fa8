// The platform the CLI tests run against: the real web app (Express, Auth.js, JSON API, SSE)
// on a real PostgreSQL and Temporal with a lifecycle worker (fake Kubernetes activities),
// plus the terminal WebSocket proxy attached as web/server/index.ts attaches it. And two ways
// to run `fsa`: in this process (runCli with streams of its own) and as the real command
// (node cli/bin/fsa.mjs), optionally in a pseudo-terminal (cli/test/pty-drive.py).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { EventEmitter } from 'node:events';
import { startWebHarness, type WebHarness } from '../../web/test/harness';
import { attachTerminalProxy, resolveTerminalTarget, type TerminalProxy } from '../../web/server/terminal';
import type { CliIO } from '../io';
import { runCli } from '../main';

export interface CliPlatform {
  h: WebHarness;
  /** Base URL of the web app with the terminal proxy. */
  url: string;
  close(): Promise<void>;
}

export async function startCliPlatform(prefix: string): Promise<CliPlatform> {
  // Open streams re-check their credential every 300 ms (a minute in production), so a
  // revoked token ends a watch or a terminal session within the test.
  const h = await startWebHarness({ prefix, worker: true, app: { streamRecheckMs: 300 } });
  const server = http.createServer(h.web.app);
  const proxy: TerminalProxy = attachTerminalProxy(server, {
    authenticate: h.web.authenticate,
    resolveTarget: (userId, id) => resolveTerminalTarget(h.db, h.web.ctx.cipher, userId, id),
    streams: h.web.streams,
    logger: h.web.ctx.logger,
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    h,
    url,
    async close() {
      await proxy.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await h.close();
    },
  };
}

/** A user's machine: its own home and config folder. */
export interface Machine {
  home: string;
  configHome: string;
  env: Record<string, string>;
  configFile: string;
}

export function newMachine(extraEnv: Record<string, string> = {}): Machine {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-cli-home-'));
  const configHome = path.join(home, 'xdg');
  return {
    home,
    configHome,
    configFile: path.join(configHome, 'fsa', 'config.json'),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, XDG_CONFIG_HOME: configHome, LANG: 'C.UTF-8', ...extraEnv },
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs fsa in this process. `input` is stdin (piped, not a terminal). */
export async function fsa(m: Machine, args: string[], opts: { input?: string; env?: Record<string, string>; signals?: EventEmitter } = {}): Promise<RunResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const sink = (into: Buffer[]) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        into.push(Buffer.from(chunk));
        cb();
      },
    });
  const signals = opts.signals ?? new EventEmitter();
  const io: CliIO = {
    env: { ...m.env, ...opts.env },
    stdin: opts.input === undefined ? Readable.from([]) : Readable.from([Buffer.from(opts.input)]),
    stdout: sink(out),
    stderr: sink(err),
    onSignal(sig, handler) {
      signals.on(sig, handler);
      return () => signals.off(sig, handler);
    },
    homedir: m.home,
    hostname: 'test-machine',
  };
  const code = await runCli(args, io);
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

export const FSA_BIN = path.resolve('cli/bin/fsa.mjs');

export interface Spawned {
  done: Promise<RunResult>;
  stdout(): string;
  stderr(): string;
  stdin: NodeJS.WritableStream;
  kill(signal: NodeJS.Signals): void;
}

/** Runs the real command (node cli/bin/fsa.mjs) through sh -c (so a test can set the umask). */
export function spawnFsa(m: Machine, args: string[], opts: { input?: string; env?: Record<string, string>; umask?: string } = {}): Spawned {
  const quoted = [FSA_BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('sh', ['-c', `${opts.umask ? `umask ${opts.umask}; ` : ''}exec '${process.execPath}' ${quoted}`], {
    env: { ...m.env, ...opts.env } as Record<string, string> as NodeJS.ProcessEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  if (opts.input !== undefined) child.stdin.end(opts.input);
  const done = new Promise<RunResult>((resolve) => child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : null), stdout, stderr })));
  return { done, stdout: () => stdout, stderr: () => stderr, stdin: child.stdin, kill: (s) => child.kill(s) };
}

export type PtyStep = { expect: string; timeout?: number } | { send: string } | { resize: [number, number] } | { sleep: number };

export interface PtyResult {
  exitCode: number | null;
  output: string;
  failed: PtyStep | null;
}

/** Runs a shell command line in a pseudo-terminal (rows x cols) and plays `steps` on it. */
export function inPty(m: Machine, commandLine: string, steps: PtyStep[], opts: { rows?: number; cols?: number; timeoutS?: number; env?: Record<string, string> } = {}): Promise<PtyResult> {
  const driver = path.resolve('cli/test/pty-drive.py');
  const child = spawn('python3', [driver, String(opts.rows ?? 24), String(opts.cols ?? 80), String(opts.timeoutS ?? 60), '--', 'bash', '--norc', '--noprofile', '-c', commandLine], {
    env: { ...m.env, TERM: 'xterm-256color', ...opts.env, PTY_STEPS: JSON.stringify(steps) } as Record<string, string> as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = new PassThrough();
  let text = '';
  let err = '';
  child.stdout.pipe(out).on('data', (b: Buffer) => (text += b.toString('utf8')));
  child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
  return new Promise((resolve, reject) =>
    child.on('close', () => {
      try {
        resolve(JSON.parse(text) as PtyResult);
      } catch {
        reject(new Error(`pty driver failed: ${err || text}`));
      }
    }),
  );
}

/** The command line that runs fsa, for inPty. */
export const fsaCommand = (args: string[]) => [process.execPath, FSA_BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
