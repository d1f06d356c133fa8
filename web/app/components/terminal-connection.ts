// One terminal tab's connection to the web server's terminal proxy, independent of React
// and xterm: reconnect with backoff, and — since a browser cannot read the HTTP status of
// a refused WebSocket upgrade — a probe of the project API to tell "stopped", "signed
// out" and "gone" apart from a network blip.
import {
  TERMINAL_CLOSE,
  encodeClientControl,
  parseServerControl,
  terminalSocketPath,
  type ServerControl,
  type TerminalSize,
} from '../../server/terminal/browser-protocol';

export type ConnectionState =
  | { kind: 'connecting'; attempt: number }
  | { kind: 'open' }
  /** Waiting before the next attempt. */
  | { kind: 'retrying'; attempt: number; retryInMs: number; reason: string }
  /** The shell exited; a new one starts when the user asks (Enter or the button). */
  | { kind: 'ended'; reason: string }
  /** The sandbox is not running; the connection resumes by itself once it is. */
  | { kind: 'stopped'; status: string }
  | { kind: 'unauthorized' }
  | { kind: 'not_found' };

export type ProbeResult =
  | { kind: 'running' }
  | { kind: 'not_running'; status: string }
  | { kind: 'unauthorized' }
  | { kind: 'not_found' }
  | { kind: 'unknown' };

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 15_000 };
const STOPPED_POLL_MS = 3_000;

/** Exponential backoff with jitter: attempt 0 waits about base, doubling up to max. */
export function backoffDelay(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}

/** GET /api/projects/:id (the project API) and reduce it to what the terminal needs. */
export async function probeProject(projectId: string, fetchImpl: typeof fetch = fetch): Promise<ProbeResult> {
  try {
    const res = await fetchImpl(`/api/projects/${encodeURIComponent(projectId)}`, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
    if (res.status === 401) return { kind: 'unauthorized' };
    if (res.status === 404 || res.status === 403) return { kind: 'not_found' };
    if (!res.ok) return { kind: 'unknown' };
    const body = (await res.json()) as { status?: unknown };
    if (typeof body.status !== 'string') return { kind: 'unknown' };
    return body.status === 'RUNNING' ? { kind: 'running' } : { kind: 'not_running', status: body.status };
  } catch {
    return { kind: 'unknown' };
  }
}

/** POST /api/projects/:id/start; resolves to an error message, or null when accepted. */
export async function startProject(projectId: string, fetchImpl: typeof fetch = fetch): Promise<string | null> {
  try {
    const res = await fetchImpl(`/api/projects/${encodeURIComponent(projectId)}/start`, {
      method: 'POST',
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
    });
    if (res.ok) return null;
    const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
    return body?.error?.message ?? `start failed (HTTP ${res.status})`;
  } catch (err) {
    return `start failed: ${(err as Error).message}`;
  }
}

interface SocketLike {
  binaryType: string;
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string | ArrayBufferView | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
}

export interface TerminalConnectionOptions {
  projectId: string;
  /** This tab's session id (ttyd-startup.sh records the shell PID under it). */
  session: string;
  size(): TerminalSize;
  onOutput(bytes: Uint8Array): void;
  onControl?(control: ServerControl): void;
  onState(state: ConnectionState): void;
  /** ws(s)://host of the web server; default: this page's origin. */
  origin?: string;
  probe?: (projectId: string) => Promise<ProbeResult>;
  createSocket?: (url: string) => SocketLike;
  backoff?: BackoffOptions;
}

const OPEN = 1;

export class TerminalConnection {
  private socket: SocketLike | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  /** The next connection was asked for by the user (page opened, reconnect clicked): it may wake a stopped project. */
  private wakeNext = false;
  private disposed = false;
  private state: ConnectionState = { kind: 'connecting', attempt: 0 };
  private readonly encoder = new TextEncoder();

  constructor(private readonly opts: TerminalConnectionOptions) {}

  get current(): ConnectionState {
    return this.state;
  }

  start(): void {
    this.wakeNext = true;
    this.connect();
  }

  /** Reconnect at once (after the shell ended, or when the user does not want to wait). */
  reconnectNow(): void {
    if (this.disposed || this.state.kind === 'open' || this.state.kind === 'connecting') return;
    this.attempt = 0;
    this.wakeNext = true;
    this.connect();
  }

  /** While the sandbox is not running: check again now (e.g. right after the user started it). */
  checkNow(): void {
    if (this.disposed || this.state.kind !== 'stopped') return;
    clearTimeout(this.timer);
    void this.pollUntilRunning();
  }

  sendInput(data: string | Uint8Array): void {
    if (this.socket?.readyState !== OPEN) return;
    this.socket.send(typeof data === 'string' ? this.encoder.encode(data) : data);
  }

  resize(size: TerminalSize): void {
    if (this.socket?.readyState !== OPEN) return;
    this.socket.send(encodeClientControl({ type: 'resize', columns: size.columns, rows: size.rows }));
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    const s = this.socket;
    this.socket = undefined;
    if (s) {
      s.onclose = null;
      s.close(1000, 'tab closed');
    }
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    if (!this.disposed) this.opts.onState(state);
  }

  private url(): string {
    const origin = this.opts.origin ?? `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}`;
    const wake = this.wakeNext;
    this.wakeNext = false;
    return origin + terminalSocketPath(this.opts.projectId, { size: this.opts.size(), session: this.opts.session, wake });
  }

  private connect(): void {
    if (this.disposed) return;
    clearTimeout(this.timer);
    this.setState({ kind: 'connecting', attempt: this.attempt });
    const socket = (this.opts.createSocket ?? ((u: string) => new WebSocket(u) as unknown as SocketLike))(this.url());
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    let opened = false;

    socket.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.setState({ kind: 'open' });
      this.resize(this.opts.size()); // the window may have changed while connecting
    };
    socket.onmessage = (ev) => {
      if (ev.data instanceof ArrayBuffer) this.opts.onOutput(new Uint8Array(ev.data));
      else if (typeof ev.data === 'string') {
        const control = parseServerControl(ev.data);
        if (control) this.opts.onControl?.(control);
      }
    };
    socket.onerror = () => {
      // Always followed by onclose, which decides what happens next.
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket || this.disposed) return;
      this.socket = undefined;
      if (opened && ev.code === TERMINAL_CLOSE.SESSION_ENDED) {
        this.setState({ kind: 'ended', reason: ev.reason || 'The shell exited.' });
        return;
      }
      if (opened) {
        this.retry(ev.reason || `connection closed (code ${ev.code})`);
        return;
      }
      // Refused before the upgrade: the browser hides the HTTP status, so ask the API.
      void this.diagnose();
    };
  }

  private async diagnose(): Promise<void> {
    const result = await (this.opts.probe ?? probeProject)(this.opts.projectId);
    if (this.disposed) return;
    switch (result.kind) {
      case 'unauthorized':
        return this.setState({ kind: 'unauthorized' });
      case 'not_found':
        return this.setState({ kind: 'not_found' });
      case 'not_running':
        this.setState({ kind: 'stopped', status: result.status });
        this.timer = setTimeout(() => void this.pollUntilRunning(), STOPPED_POLL_MS);
        return;
      default:
        return this.retry('could not reach the sandbox terminal');
    }
  }

  private async pollUntilRunning(): Promise<void> {
    if (this.disposed || this.state.kind !== 'stopped') return;
    const result = await (this.opts.probe ?? probeProject)(this.opts.projectId);
    if (this.disposed || this.state.kind !== 'stopped') return;
    if (result.kind === 'running') {
      this.attempt = 0;
      this.connect();
      return;
    }
    if (result.kind === 'not_running') this.setState({ kind: 'stopped', status: result.status });
    this.timer = setTimeout(() => void this.pollUntilRunning(), STOPPED_POLL_MS);
  }

  private retry(reason: string): void {
    const retryInMs = backoffDelay(this.attempt, this.opts.backoff);
    this.setState({ kind: 'retrying', attempt: this.attempt, retryInMs, reason });
    this.attempt++;
    this.timer = setTimeout(() => this.connect(), retryInMs);
  }
}
