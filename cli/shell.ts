// `fsa shell`: the project's terminal in this terminal, through the web's authenticated
// WebSocket proxy (web/server/terminal/browser-protocol.ts is the protocol; the sandbox's
// ttyd token never reaches the CLI). A stopped project is started first. The local terminal
// is put in raw mode for the session and restored however it ends.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket, type RawData } from 'ws';
import { TERMINAL_CLOSE, encodeClientControl, normalizeSize, parseServerControl, terminalSocketPath, type TerminalSize } from '../web/server/terminal/browser-protocol';
import type { Api } from './api';
import { CliError, EXIT } from './errors';
import type { CliIO } from './io';
import { ProgressDisplay } from './render';
import { getProjectView, type ProjectSummary } from './resolve';
import { signalAnswerSchema } from './schemas';
import { waitForStatus } from './wait';

export interface ShellOptions {
  session?: string;
  signal: AbortSignal;
  /** How long to wait for the project to be RUNNING. */
  timeoutMs: number;
  quiet: boolean;
}

/** How long the terminal may stay unreachable after the project is RUNNING (ingress, pod start). */
const CONNECT_GRACE_MS = 30_000;

export function terminalSize(io: CliIO): TerminalSize {
  const out = io.stdout as { isTTY?: boolean; columns?: number; rows?: number; getWindowSize?: () => [number, number] };
  let columns: number | undefined;
  let rows: number | undefined;
  if (out.isTTY) {
    try {
      [columns, rows] = out.getWindowSize ? out.getWindowSize() : [out.columns ?? 0, out.rows ?? 0];
    } catch {
      /* not a real tty */
    }
  }
  columns ||= Number(io.env.COLUMNS) || 80;
  rows ||= Number(io.env.LINES) || 24;
  return normalizeSize(columns, rows) ?? { columns: 80, rows: 24 };
}

/** Makes sure the project is RUNNING: starts a stopped one, waits for one on its way. */
export async function ensureRunning(io: CliIO, api: Api, project: ProjectSummary, opts: ShellOptions): Promise<void> {
  const view = await getProjectView(api, project.id);
  if (view.status === 'RUNNING') return;
  if (view.status === 'ERROR') {
    throw new CliError(
      `${project.name} is in ERROR: ${view.lastError?.message ?? 'see fsa status'}`,
      EXIT.ERROR,
      `fix the cause, then fsa start ${project.id} --wait retries it (fsa status ${project.id} shows the stages)`,
      'lifecycle_error',
    );
  }
  if (view.desired === 'TERMINATED' || view.status === 'TERMINATING' || view.status === 'TERMINATED') {
    throw new CliError(`${project.name} is being deleted`, EXIT.CONFLICT, undefined, 'conflict');
  }
  if (view.desired === 'STOPPED' || view.status === 'STOPPED' || view.status === 'STOPPING') {
    if (!opts.quiet) io.stderr.write(`${project.name} is ${view.status}; starting it…\n`);
    await api.request('POST', `/api/projects/${encodeURIComponent(project.id)}/start`, signalAnswerSchema);
  } else if (!opts.quiet) {
    io.stderr.write(`${project.name} is ${view.status}; waiting for it to be RUNNING…\n`);
  }
  const display = opts.quiet ? null : new ProgressDisplay(io, io.stderr);
  try {
    await waitForStatus(io, api, project, 'RUNNING', { timeoutMs: opts.timeoutMs, baselineError: view.lastError, display, signal: opts.signal });
  } finally {
    display?.done();
  }
}

class Refused extends Error {
  constructor(
    readonly error: CliError,
    readonly retry: boolean,
  ) {
    super(error.message);
  }
}

function socketUrl(api: Api, projectId: string, size: TerminalSize, session: string): string {
  const u = new URL(api.url);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  const base = u.toString().replace(/\/+$/, '');
  return base + terminalSocketPath(projectId, { size, session });
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => (body += c.length + body.length > 65_536 ? '' : c));
    res.on('end', () => resolve(body));
    res.on('error', () => resolve(body));
  });
}

function connectOnce(api: Api, url: string, signal: AbortSignal): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: api.headers(), perMessageDeflate: false, handshakeTimeout: 15_000, maxPayload: 16 << 20 });
    const onAbort = () => ws.terminate();
    signal.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    ws.once('open', () => settle(() => resolve(ws)));
    ws.once('unexpected-response', (_req, res) => {
      void readBody(res).then((text) => {
        const headers = { get: (name: string) => (res.headers[name.toLowerCase()] as string | undefined) ?? null };
        const error = api.errorFor({ status: res.statusCode ?? 0, headers }, text, 'GET', new URL(url).pathname, { notFoundFix: 'fsa projects ls lists your projects' });
        // 409: RUNNING but the terminal URL is not published yet; 502: the sandbox's ttyd is not reachable yet.
        settle(() => reject(new Refused(error, res.statusCode === 409 || res.statusCode === 502)));
        ws.terminate();
      });
    });
    ws.once('error', (err) => {
      settle(() => reject(new Refused(signal.aborted ? new CliError('interrupted', EXIT.INTERRUPTED, undefined, 'interrupted') : new CliError(`cannot open the terminal at ${api.url} (${err.message})`, EXIT.ERROR, 'check that the platform is reachable and try again', 'network'), false)));
    });
  });
}

async function connect(io: CliIO, api: Api, project: ProjectSummary, session: string, opts: ShellOptions): Promise<WebSocket> {
  const deadline = Date.now() + CONNECT_GRACE_MS;
  let delay = 250;
  let told = false;
  for (;;) {
    try {
      return await connectOnce(api, socketUrl(api, project.id, terminalSize(io), session), opts.signal);
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      if (!err.retry || Date.now() + delay > deadline || opts.signal.aborted) throw err.error;
      if (!told && !opts.quiet) io.stderr.write(`the terminal is not reachable yet (${err.error.message}); retrying…\n`);
      told = true;
      await sleep(delay, undefined, { signal: opts.signal }).catch(() => undefined);
      delay = Math.min(delay * 2, 2_000);
    }
  }
}

const CLOSE_MESSAGES: Record<number, { message: string; fix?: string; exit: number }> = {
  [TERMINAL_CLOSE.SESSION_ENDED]: { message: '', exit: EXIT.OK },
  [TERMINAL_CLOSE.SERVER_SHUTDOWN]: { message: 'the web server is shutting down', fix: 'run fsa shell again in a moment', exit: EXIT.ERROR },
  [TERMINAL_CLOSE.PROTOCOL_ERROR]: { message: 'the terminal proxy did not understand this client', fix: 'use the CLI of the same version as the server', exit: EXIT.ERROR },
  [TERMINAL_CLOSE.UPSTREAM_DROPPED]: { message: "the sandbox's terminal disconnected (pod restarted or network)", fix: 'run fsa shell again', exit: EXIT.ERROR },
  [TERMINAL_CLOSE.UPSTREAM_REFUSED]: { message: "the sandbox's terminal refused the proxy's credentials", fix: 'restart the project (fsa stop, fsa start) and try again', exit: EXIT.ERROR },
  [TERMINAL_CLOSE.CLIENT_TIMEOUT]: { message: 'the terminal proxy stopped hearing from this client', fix: 'check the connection and run fsa shell again', exit: EXIT.ERROR },
  [TERMINAL_CLOSE.UNAUTHORIZED]: { message: 'the API token was revoked or expired during the session', fix: 'run fsa login to sign in again', exit: EXIT.ERROR },
};

const toBuffer = (d: RawData): Buffer => (Buffer.isBuffer(d) ? d : Array.isArray(d) ? Buffer.concat(d) : Buffer.from(d));

// eslint-disable-next-line no-control-regex -- terminal escape sequences (CSI, OSC)
const ESCAPES = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][A-Z0-9]|\r/g;

/** Strips control characters from a window title before it is written to the terminal. */
// eslint-disable-next-line no-control-regex -- removing control characters is the point
const cleanTitle = (t: string) => t.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').slice(0, 200);

export async function openShell(io: CliIO, api: Api, project: ProjectSummary, opts: ShellOptions): Promise<number> {
  await ensureRunning(io, api, project, opts);
  const session = opts.session ?? `cli-${randomBytes(6).toString('base64url')}`;
  const ws = await connect(io, api, project, session, opts);

  const stdin = io.stdin;
  const raw = !!stdin.isTTY && typeof stdin.setRawMode === 'function';
  const wasRaw = !!stdin.isRaw;
  let lastSize = terminalSize(io);
  const cleanups: (() => void)[] = [];

  return new Promise<number>((resolve) => {
    let finished = false;
    const finish = (code: number, message?: string, fix?: string) => {
      if (finished) return;
      finished = true;
      for (const c of cleanups.splice(0).reverse()) {
        try {
          c();
        } catch {
          /* restoring as much as possible */
        }
      }
      if (message) io.stderr.write(`\nfsa: ${message}${fix ? `\n  fix: ${fix}` : ''}\n`);
      resolve(code);
    };

    const send = (bytes: Buffer) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(bytes, { binary: true });
    };
    if (raw) {
      // A terminal: every key goes straight through.
      stdin.setRawMode!(true);
      cleanups.push(() => stdin.setRawMode!(wasRaw));
    }
    const onKeys = (chunk: Buffer | string) => send(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);

    // Piped input is typed the way a person would: one line at a time, each once the remote
    // shell is ready for it (its output ends in a prompt, "$ ", "# ", "% " or "> ", or has paused
    // for a second). Sent all at once, lines would reach a login shell that is still starting
    // (and be lost), and output of the last commands could be cut off by the shell exiting.
    // When the input ends, Ctrl-D ends the remote shell.
    const queue: Buffer[] = [];
    let partial = Buffer.alloc(0);
    let inputEnded = false;
    let eofSent = false;
    let remoteReady = false;
    let tail = '';
    let idle: NodeJS.Timeout | undefined;
    const pump = () => {
      if (!remoteReady || finished) return;
      const line = queue.shift();
      if (line) {
        remoteReady = false;
        tail = '';
        send(line);
        armIdle(1_000);
      } else if (inputEnded && !eofSent) {
        eofSent = true;
        send(Buffer.from([4]));
      }
      if (queue.length < 16 && !inputEnded) stdin.resume();
    };
    const armIdle = (ms: number) => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        remoteReady = true;
        pump();
      }, ms);
      idle.unref?.();
    };
    const onOutput = (data: Buffer) => {
      tail = (tail + data.toString('latin1')).slice(-512);
      armIdle(/[$#%>] $/.test(tail.replace(ESCAPES, '')) ? 30 : 1_000);
    };
    const onLines = (chunk: Buffer | string) => {
      let buf = Buffer.concat([partial, typeof chunk === 'string' ? Buffer.from(chunk) : chunk]);
      let nl: number;
      while ((nl = buf.indexOf(10)) >= 0) {
        queue.push(buf.subarray(0, nl + 1));
        buf = buf.subarray(nl + 1);
      }
      partial = Buffer.from(buf);
      if (queue.length > 64) stdin.pause();
      pump();
    };
    const onEnd = () => {
      if (partial.length) queue.push(partial);
      partial = Buffer.alloc(0);
      inputEnded = true;
      pump();
    };
    const onInput = raw ? onKeys : onLines;
    stdin.on('data', onInput);
    if (!raw) stdin.on('end', onEnd);
    stdin.resume();
    if (!raw) armIdle(10_000); // a remote that prints nothing at all still gets the input
    cleanups.push(() => {
      clearTimeout(idle);
      stdin.off('data', onInput);
      stdin.off('end', onEnd);
      stdin.pause();
    });

    const sendSize = () => {
      const size = terminalSize(io);
      if (size.columns === lastSize.columns && size.rows === lastSize.rows) return;
      lastSize = size;
      if (ws.readyState === WebSocket.OPEN) ws.send(encodeClientControl({ type: 'resize', ...size }));
    };
    cleanups.push(io.onSignal('SIGWINCH', sendSize));
    if (io.stdout.isTTY && typeof io.stdout.on === 'function') {
      io.stdout.on('resize', sendSize);
      cleanups.push(() => io.stdout.off('resize', sendSize));
    }
    for (const sig of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) {
      cleanups.push(
        io.onSignal(sig, () => {
          ws.close(1000);
          finish(EXIT.INTERRUPTED);
        }),
      );
    }
    const onAbort = () => {
      ws.close(1000);
      finish(EXIT.INTERRUPTED);
    };
    opts.signal.addEventListener('abort', onAbort, { once: true });
    cleanups.push(() => opts.signal.removeEventListener('abort', onAbort));
    cleanups.push(() => {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000);
      setTimeout(() => ws.terminate(), 2_000).unref();
    });

    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        const bytes = toBuffer(data);
        io.stdout.write(bytes);
        if (!raw) onOutput(bytes);
        return;
      }
      const control = parseServerControl(toBuffer(data).toString('utf8'));
      if (control?.type === 'title' && io.stdout.isTTY) io.stdout.write(`\x1b]0;${cleanTitle(control.title)}\x07`);
    });
    ws.on('error', () => undefined); // 'close' follows with the reason
    ws.on('close', (code, reason) => {
      const known = CLOSE_MESSAGES[code];
      if (known) return finish(known.exit, known.message || undefined, known.fix);
      const why = reason.toString('utf8');
      finish(EXIT.ERROR, `the connection to the terminal was lost (${code}${why ? ` ${why}` : ''})`, 'run fsa shell again');
    });
    // The size may have changed while connecting.
    sendSize();
  });
}
