// HTTP to a Kubernetes API server with the TLS material of a cleaned kubeconfig
// (server/kubeconfig.ts), over Node's own http/https. Kept small on purpose: one
// keep-alive pool per client, a timeout per request, a cap on the size of an answer, the
// egress policy at connect time for user clusters, and failures as typed errors.
// No redirect is ever followed, and the body of a non-Kubernetes answer is never
// repeated in an error (a user's "API server" may be anything).
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { EgressPolicy } from './egress';
import { urlHost } from './egress';
import type { KubeCredentials } from './kubeconfig';

/** A Status cause: the field the API server rejected and why. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** An HTTP answer that is not 2xx. `reason`/`message` come only from a Kubernetes Status. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly causes: StatusCause[],
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** The request did not get an answer in time (counts as transient). */
export class KubeTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what}: no answer from the Kubernetes API server within ${ms} ms`);
    this.name = 'KubeTimeoutError';
  }
}

/** The answer was larger than the client accepts. */
export class KubeResponseTooLargeError extends Error {
  constructor(what: string, max: number) {
    super(`${what}: the answer is larger than ${max} bytes`);
    this.name = 'KubeResponseTooLargeError';
  }
}

/** A line of a streamed answer was longer than the client accepts. */
export class KubeLineTooLongError extends Error {
  constructor(what: string, max: number) {
    super(`${what}: a line of the stream is longer than ${max} bytes`);
    this.name = 'KubeLineTooLongError';
  }
}

export interface StreamOptions {
  /** Ends the stream (closes the connection) at once; the generator then returns. */
  signal?: AbortSignal;
  /** Longest accepted line (one watch event); default 4 MiB. */
  maxLineBytes?: number;
  /**
   * No byte for this long ends the stream with a KubeTimeoutError (a dead peer); set it
   * above the server-side timeoutSeconds of a watch. Default: none beyond TCP keep-alive.
   */
  idleTimeoutMs?: number;
}

export interface KubeHttpOptions {
  timeoutMs?: number;
  /** User clusters: checked for every connection. Absent for the operator's admin cluster. */
  egress?: EgressPolicy;
  maxResponseBytes?: number;
  maxSockets?: number;
}

export interface KubeRequest {
  method: string;
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  /** Resolve with the answer's text instead of its JSON (pods/log). */
  text?: boolean;
}

const DEFAULT_MAX_RESPONSE = 64 * 1024 * 1024;

export class KubeHttp {
  readonly server: string;
  readonly timeoutMs: number;
  private readonly base: URL;
  private readonly agent: http.Agent;
  /** Long-lived streams (watches) get sockets of their own: they never starve requests. */
  private readonly streamAgent: http.Agent;
  private readonly maxResponseBytes: number;

  constructor(
    readonly creds: KubeCredentials,
    private readonly opts: KubeHttpOptions = {},
  ) {
    this.server = creds.server;
    this.base = new URL(creds.server);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE;
    const port = Number(this.base.port || (this.base.protocol === 'http:' ? 80 : 443));
    const lookup = opts.egress ? { lookup: opts.egress.lookupFor(port) } : {};
    const makeAgent = (o: http.AgentOptions) =>
      this.base.protocol === 'http:'
        ? new http.Agent({ ...o, ...lookup })
        : new https.Agent({
            ...o,
            ...lookup,
            ca: creds.ca,
            cert: creds.cert,
            key: creds.key,
            servername: creds.tlsServerName ?? (net.isIP(urlHost(this.base)) ? undefined : urlHost(this.base)),
            rejectUnauthorized: !creds.skipTlsVerify,
          });
    this.agent = makeAgent({ keepAlive: true, maxSockets: opts.maxSockets ?? 16 });
    // One socket per stream, closed with it; TCP keep-alive probes find a dead peer.
    this.streamAgent = makeAgent({ keepAlive: false, keepAliveMsecs: 30_000 });
  }

  get port(): number {
    return Number(this.base.port || (this.base.protocol === 'http:' ? 80 : 443));
  }

  /** Closes the pool's connections (when the client is dropped). */
  close(): void {
    this.agent.destroy();
    this.streamAgent.destroy();
  }

  /** Requests and streams in flight. */
  private inUse = 0;
  private retired = false;

  /** Requests and streams in flight (for tests and the client cache). */
  get active(): number {
    return this.inUse;
  }

  /**
   * Closes the connections once nothing is in flight: a client dropped from a cache keeps
   * its open watches (a settled project's drift watch lasts hours) and closes after the
   * last one ends; a late request on it is served and closes it again.
   */
  closeWhenIdle(): void {
    this.retired = true;
    if (this.inUse === 0) this.close();
  }

  private acquire(): void {
    this.inUse++;
  }

  private release(): void {
    this.inUse--;
    if (this.retired && this.inUse === 0) this.close();
  }

  private authorization(): string | undefined {
    if (this.creds.tokenFile) return `Bearer ${fs.readFileSync(this.creds.tokenFile, 'utf8').trim()}`;
    if (this.creds.token) return `Bearer ${this.creds.token}`;
    if (this.creds.basicAuth) return `Basic ${Buffer.from(`${this.creds.basicAuth.username}:${this.creds.basicAuth.password}`).toString('base64')}`;
    return undefined;
  }

  /** URL, headers and body of a request; throws when the egress policy refuses the server. */
  private prepare(r: KubeRequest) {
    const host = urlHost(this.base);
    // Literal IPs skip the agent's lookup, so they are checked here, every time.
    if (this.opts.egress && net.isIP(host)) this.opts.egress.assertAllowed(host, host, this.port);
    const url = new URL(this.base.pathname.replace(/\/+$/, '') + r.path, this.base);
    for (const [k, v] of Object.entries(r.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const body = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body));
    const headers: Record<string, string> = { accept: 'application/json' };
    const auth = this.authorization();
    if (auth) headers.authorization = auth;
    if (body) {
      headers['content-type'] = r.contentType ?? 'application/json';
      headers['content-length'] = String(body.length);
    }
    return { url, body, headers, lib: this.base.protocol === 'http:' ? http : https };
  }

  /** One request; resolves with the parsed JSON of a 2xx answer. */
  request<T>(r: KubeRequest): Promise<T> {
    const what = `${r.method} ${r.path}`;
    let prepared: ReturnType<KubeHttp['prepare']>;
    try {
      prepared = this.prepare(r);
    } catch (err) {
      return Promise.reject(err);
    }
    const { url, body, headers, lib } = prepared;
    this.acquire();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const done = (err: unknown, value?: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // After the answer is read: the socket goes back to the pool before a close.
        setImmediate(() => this.release());
        if (err) reject(err);
        else resolve(value as T);
      };
      const req = lib.request(url, { method: r.method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > this.maxResponseBytes) {
            req.destroy();
            done(new KubeResponseTooLargeError(what, this.maxResponseBytes));
          } else chunks.push(c);
        });
        res.on('error', (err) => done(err));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          const parsed = parseJson(text);
          if (status >= 200 && status < 300) return done(null, (r.text ? text : parsed) as T);
          done(statusError(status, parsed, res.headers['retry-after'], what));
        });
      });
      const timer = setTimeout(() => {
        req.destroy();
        done(new KubeTimeoutError(what, this.timeoutMs));
      }, this.timeoutMs);
      req.on('error', (err) => done(err));
      req.end(body);
    });
  }

  /**
   * A streaming GET (a watch): yields the parsed JSON of every newline-terminated line of a
   * 2xx answer as it arrives. A non-2xx answer throws the same errors as request(); a line
   * above maxLineBytes or a line that is not JSON ends the stream with an error (the
   * connection is closed). Aborting the signal closes the connection and ends the stream
   * quietly; so does the server ending the answer. The connection timeout (until the
   * answer's headers) is the client's request timeout.
   */
  async *stream(r: Omit<KubeRequest, 'method' | 'body' | 'contentType'>, opts: StreamOptions = {}): AsyncGenerator<unknown, void, undefined> {
    const what = `GET ${r.path}`;
    const maxLine = opts.maxLineBytes ?? 4 * 1024 * 1024;
    const { url, headers, lib } = this.prepare({ ...r, method: 'GET' });
    if (opts.signal?.aborted) return;
    this.acquire();
    // Lines and the end arrive through a small queue the generator drains.
    const lines: unknown[] = [];
    let ended = false;
    let failure: unknown;
    let wake: (() => void) | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const finish = (err?: unknown) => {
      if (ended) return;
      ended = true;
      failure = err;
      clearTimeout(connectTimer);
      clearTimeout(idleTimer);
      req.destroy();
      notify();
    };
    let idleTimer: NodeJS.Timeout | undefined;
    const armIdle = () => {
      if (!opts.idleTimeoutMs) return;
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => finish(new KubeTimeoutError(`${what} (stream idle)`, opts.idleTimeoutMs!)), opts.idleTimeoutMs);
    };
    const req = lib.request(url, { method: 'GET', headers, agent: this.streamAgent }, (res) => {
      clearTimeout(connectTimer);
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        // An error answer is small (a Status); read it whole, bounded.
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > 1024 * 1024) finish(new KubeResponseTooLargeError(what, 1024 * 1024));
          else chunks.push(c);
        });
        res.on('end', () => finish(statusError(status, parseJson(Buffer.concat(chunks).toString('utf8')), res.headers['retry-after'], what)));
        res.on('error', (err) => finish(err));
        return;
      }
      res.socket?.setKeepAlive(true, 30_000);
      armIdle();
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      res.on('data', (chunk: Buffer) => {
        armIdle();
        let start = 0;
        for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
          const piece = chunk.subarray(start, nl);
          start = nl + 1;
          if (pendingBytes + piece.length > maxLine) return finish(new KubeLineTooLongError(what, maxLine));
          const line = (pending.length ? Buffer.concat([...pending, piece]) : piece).toString('utf8').trim();
          pending = [];
          pendingBytes = 0;
          if (!line) continue;
          const parsed = parseJson(line);
          if (parsed === undefined) return finish(new Error(`${what}: a line of the stream is not JSON`));
          lines.push(parsed);
        }
        const rest = chunk.subarray(start);
        if (rest.length) {
          pendingBytes += rest.length;
          if (pendingBytes > maxLine) return finish(new KubeLineTooLongError(what, maxLine));
          pending.push(rest);
        }
        notify();
      });
      res.on('end', () => finish());
      res.on('error', (err) => finish(err));
      res.on('close', () => finish());
    });
    const connectTimer = setTimeout(() => finish(new KubeTimeoutError(what, this.timeoutMs)), this.timeoutMs);
    const onAbort = () => finish();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => finish(err));
    req.end();
    try {
      for (;;) {
        while (lines.length) yield lines.shift();
        if (ended) break;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      // Lines read before an error are delivered first; an abort is not an error.
      if (failure && !opts.signal?.aborted) throw failure;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      finish();
      this.release();
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** The error of a non-2xx answer: Status reason and message when it is a Kubernetes Status, else the HTTP code alone. */
function statusError(status: number, body: unknown, retryAfterHeader: string | undefined, what: string): KubeApiError {
  const st = body && typeof body === 'object' ? (body as { kind?: string; reason?: string; message?: string; details?: { causes?: StatusCause[] } }) : {};
  const retryAfter = retryAfterHeader !== undefined && /^\d+$/.test(retryAfterHeader) ? Number(retryAfterHeader) : undefined;
  if (st.kind === 'Status') {
    return new KubeApiError(status, String(st.reason ?? ''), String(st.message ?? `${what}: HTTP ${status}`).slice(0, 1000), (st.details?.causes ?? []).slice(0, 20), retryAfter);
  }
  return new KubeApiError(status, '', `${what}: HTTP ${status} (not a Kubernetes API answer)`, [], retryAfter);
}

/** A short, safe description of a transport failure for a person: the code, never a body. */
export function describeTransportError(err: unknown): string {
  if (err instanceof KubeTimeoutError) return 'no answer in time';
  if (err instanceof KubeApiError) return `HTTP ${err.status}${err.reason ? ` ${err.reason}` : ''}`;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]+$/.test(code) ? code : 'connection failed';
}
