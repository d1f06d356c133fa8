// The HTTP API as the CLI uses it: bearer token, JSON in and out, answers parsed with the
// output schemas, and every failure turned into a CliError with the API's message, a fix
// and the exit code for its kind.
import type { z } from 'zod';
import { CliError, EXIT, exitCodeForStatus } from './errors';
import { apiErrorSchema } from './schemas';

export interface ApiOptions {
  /** Where the token came from, for the message when it is refused. */
  tokenSource?: 'env' | 'config' | 'login';
  configFile?: string;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
}

export interface RequestOptions {
  body?: unknown;
  /** Fix to print with a 404 (what to list to find the right id). */
  notFoundFix?: string;
  headers?: Record<string, string>;
}

export class Api {
  constructor(
    readonly url: string,
    readonly token: string | undefined,
    readonly opts: ApiOptions = {},
  ) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { accept: 'application/json', 'user-agent': 'fsa-cli', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  /** fetch with the CLI's timeout and network errors as CliErrors. */
  async fetch(path: string, init: RequestInit & { timeoutMs?: number | null } = {}): Promise<Response> {
    const timeoutMs = init.timeoutMs === undefined ? (this.opts.timeoutMs ?? 30_000) : init.timeoutMs;
    const signals = [init.signal, timeoutMs === null ? undefined : AbortSignal.timeout(timeoutMs)].filter((s): s is AbortSignal => !!s);
    try {
      return await fetch(this.url + path, { ...init, redirect: 'manual', signal: signals.length ? AbortSignal.any(signals) : undefined });
    } catch (err) {
      throw networkError(this.url, err);
    }
  }

  async request<S extends z.ZodType>(method: string, path: string, schema: S, opts: RequestOptions = {}): Promise<z.infer<S>> {
    const res = await this.fetch(path, {
      method,
      headers: this.headers({ ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers }),
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text().catch(() => '');
    if (!res.ok) throw this.errorFor(res, text, method, path, opts);
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      throw badResponse(method, path, 'not JSON');
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw badResponse(method, path, issue ? `${issue.path.join('.') || '(body)'}: ${issue.message}` : 'unexpected shape');
    }
    return parsed.data;
  }

  errorFor(res: { status: number; headers: { get(name: string): string | null } }, text: string, method: string, path: string, opts: RequestOptions = {}): CliError {
    let code = `http_${res.status}`;
    let message = `${method} ${path} answered HTTP ${res.status}`;
    try {
      const body = apiErrorSchema.safeParse(JSON.parse(text));
      if (body.success) {
        code = body.data.error.code;
        message = body.data.error.message;
      }
    } catch {
      /* not the API's error shape (a proxy in between?) */
    }
    const exit = exitCodeForStatus(res.status);
    switch (res.status) {
      case 401: {
        const where =
          this.opts.tokenSource === 'env'
            ? 'FSA_TOKEN'
            : this.opts.tokenSource === 'config'
              ? `the API token stored in ${this.opts.configFile ?? 'the fsa config file'}`
              : 'the credentials';
        return new CliError(
          `${where} ${this.opts.tokenSource ? 'was' : 'were'} refused by ${this.url}: ${message}`,
          EXIT.ERROR,
          this.opts.tokenSource === 'env'
            ? 'the token was revoked or mistyped: set FSA_TOKEN to a valid token (fsa tokens create), or unset it and run fsa login'
            : 'the token was revoked or has expired: run fsa login to sign in again',
          code,
          401,
        );
      }
      case 404:
        return new CliError(message, exit, opts.notFoundFix, code, 404);
      case 429: {
        const after = res.headers.get('retry-after');
        return new CliError(message, exit, after ? `wait ${after} seconds and try again` : 'wait a moment and try again', code, 429);
      }
      case 503:
        return new CliError(message, exit, 'the platform is not ready (its database or Temporal is unreachable); try again shortly', code, 503);
      default:
        return new CliError(message, exit, res.status >= 500 ? 'try again; if it keeps failing, the operator can find the request id in the web log' : undefined, code, res.status);
    }
  }
}

function badResponse(method: string, path: string, why: string): CliError {
  return new CliError(
    `the server's answer to ${method} ${path} is not what this CLI understands (${why})`,
    EXIT.ERROR,
    'the CLI and the server may be different versions: use the CLI of the same repository version as the server',
    'bad_response',
  );
}

export function networkError(url: string, err: unknown): CliError {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return new CliError(`${url} did not answer in time`, EXIT.TIMEOUT, 'check that the platform is up and reachable, then try again', 'timeout');
  if (e.name === 'AbortError') return new CliError('interrupted', EXIT.INTERRUPTED, undefined, 'interrupted');
  const why = e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
  return new CliError(
    `cannot reach ${url} (${why})`,
    EXIT.ERROR,
    'is the platform running (./scripts/start.sh) and is this its address? Sign in to another one with fsa login --url URL',
    'network',
  );
}
