// Server-Sent Events over fetch: the project's status stream (GET /api/projects/:id/events),
// parsed into snapshots, reconnecting after a dropped connection as EventSource would.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Api } from './api';
import { CliError, EXIT } from './errors';
import { deletedSnapshotSchema, projectViewSchema, type ProjectView } from './schemas';

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** Parses an SSE byte stream into events (https://html.spec.whatwg.org/#event-stream-interpretation). */
export async function* parseSse(body: ReadableStream<Uint8Array>, onRetry?: (ms: number) => void): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  let event = '';
  let id: string | undefined;
  const reader = body.getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1));
        if (line === '') {
          if (data.length) yield { event: event || 'message', data: data.join('\n'), ...(id !== undefined ? { id } : {}) };
          data = [];
          event = '';
          continue;
        }
        if (line.startsWith(':')) continue; // comment (heartbeat)
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') data.push(value);
        else if (field === 'event') event = value;
        else if (field === 'id') id = value;
        else if (field === 'retry' && /^\d+$/.test(value)) onRetry?.(Number(value));
      }
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}

export type Snapshot = { kind: 'status'; view: ProjectView } | { kind: 'deleted'; id: string; updatedAt: string };

export interface WatchOptions {
  signal?: AbortSignal;
  /** Reconnect attempts in a row before giving up (default 5). */
  maxReconnects?: number;
  /** Called when the connection dropped and the CLI reconnects. */
  onReconnect?: (attempt: number, err: unknown) => void;
}

/**
 * Yields every status snapshot of a project until it is deleted (then one `deleted`) or the
 * signal aborts. A dropped stream is reopened (a fresh snapshot comes first); a stream the
 * server ends because the credential was revoked is an error.
 */
export async function* watchProject(api: Api, projectId: string, opts: WatchOptions = {}): AsyncGenerator<Snapshot> {
  const path = `/api/projects/${encodeURIComponent(projectId)}/events`;
  let retryMs = 3000;
  let failures = 0;
  const maxReconnects = opts.maxReconnects ?? 5;
  while (!opts.signal?.aborted) {
    let res: Response;
    try {
      res = await api.fetch(path, { headers: api.headers({ accept: 'text/event-stream' }), signal: opts.signal, timeoutMs: null });
    } catch (err) {
      if (opts.signal?.aborted) return;
      if ((err as CliError).code !== 'network' || ++failures > maxReconnects) throw err;
      opts.onReconnect?.(failures, err);
      await sleep(Math.min(retryMs, 1000 * failures), undefined, { signal: opts.signal }).catch(() => undefined);
      continue;
    }
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => '');
      throw api.errorFor(res, text, 'GET', path, { notFoundFix: 'fsa projects ls lists your projects' });
    }
    let events = 0;
    try {
      for await (const ev of parseSse(res.body, (ms) => (retryMs = ms))) {
        events++;
        failures = 0;
        if (ev.event === 'revoked') {
          let message = 'the credential that opened the status stream was revoked';
          try {
            message = (JSON.parse(ev.data) as { error?: { message?: string } }).error?.message ?? message;
          } catch {
            /* keep the default */
          }
          throw new CliError(message, EXIT.ERROR, 'run fsa login to sign in again', 'unauthenticated', 401);
        }
        if (ev.event !== 'message') continue;
        let json: unknown;
        try {
          json = JSON.parse(ev.data);
        } catch {
          continue;
        }
        const gone = deletedSnapshotSchema.safeParse(json);
        if (gone.success) {
          yield { kind: 'deleted', id: gone.data.id, updatedAt: gone.data.updatedAt };
          return;
        }
        const view = projectViewSchema.safeParse(json);
        if (view.success) yield { kind: 'status', view: view.data };
      }
    } catch (err) {
      if (opts.signal?.aborted) return;
      if (err instanceof CliError) throw err;
      // The connection dropped mid-stream: reconnect below.
      if (++failures > maxReconnects) throw new CliError(`the status stream from ${api.url} keeps dropping (${(err as Error).message})`, EXIT.ERROR, 'check the connection and try again', 'network');
      opts.onReconnect?.(failures, err);
    }
    if (opts.signal?.aborted) return;
    // The server ended the stream without saying the project is gone (it restarted): reconnect.
    if (events === 0 && ++failures > maxReconnects) {
      throw new CliError(`the status stream from ${api.url} keeps ending without a status`, EXIT.ERROR, 'check the platform and try again', 'network');
    }
    await sleep(Math.min(retryMs, 1000 * Math.max(failures, 1)), undefined, { signal: opts.signal }).catch(() => undefined);
  }
}
