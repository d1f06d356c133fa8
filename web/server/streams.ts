// Long-lived connections per user: SSE status streams and terminal WebSockets. Two rules
// (docs/security.md, "Streams"):
// - a cap: one user holds at most MAX_STREAMS_PER_USER of them at once in this process
//   (SSE and terminal together); the next one is refused with 429;
// - re-checked credentials: every `recheckMs` (default one minute) the session cookie or API
//   token that opened each stream is authenticated again, exactly as a new request would be
//   (auth.authenticate); when it no longer names the same user — token revoked, session
//   expired, user gone, or whatever else authenticate refuses — the stream is closed.
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../../server/logger';

export const DEFAULT_STREAM_RECHECK_MS = 60_000;

export type StreamKind = 'sse' | 'terminal';

export interface StreamLease {
  /** Frees the slot; call when the stream ends for any reason. Idempotent. */
  release(): void;
}

export interface StreamRegistryOptions {
  authenticate(req: IncomingMessage): Promise<{ userId: string } | null>;
  maxPerUser: number;
  /** How often open streams' credentials are checked again. */
  recheckMs?: number;
  logger: Logger;
}

export interface StreamRegistry {
  /**
   * Registers a stream that `req` (already authenticated as `userId`) opened. Null when the
   * user is at the cap. `revoked` is called once, with a reason for the user, when the
   * credential stops being valid; the lease is released before it is called.
   */
  open(userId: string, req: IncomingMessage, kind: StreamKind, revoked: (reason: string) => void): StreamLease | null;
  /** Open streams, of one user or of everyone. */
  count(userId?: string): number;
  readonly maxPerUser: number;
  /** Runs one re-check now (tests; the timer calls it too). */
  recheck(): Promise<void>;
  close(): void;
}

interface Entry {
  userId: string;
  kind: StreamKind;
  /** Only the headers authenticate reads: what the stream was opened with. */
  credential: { authorization?: string; cookie?: string };
  revoked: (reason: string) => void;
  released: boolean;
}

export const REVOKED_REASON = 'Your sign-in ended (signed out, expired or the API token was revoked); sign in again.';

export function tooManyStreamsMessage(max: number): string {
  return `You already have ${max} live connections open (status streams and terminals together; the limit is MAX_STREAMS_PER_USER=${max}). Close a tab or terminal and try again.`;
}

export function createStreamRegistry(o: StreamRegistryOptions): StreamRegistry {
  const byUser = new Map<string, Set<Entry>>();
  const recheckMs = o.recheckMs ?? DEFAULT_STREAM_RECHECK_MS;
  let running: Promise<void> | undefined;
  let closed = false;

  const release = (e: Entry) => {
    if (e.released) return;
    e.released = true;
    const set = byUser.get(e.userId);
    set?.delete(e);
    if (set && set.size === 0) byUser.delete(e.userId);
    if (byUser.size === 0) stopTimer();
  };

  let timer: NodeJS.Timeout | undefined;
  const startTimer = () => {
    if (timer || closed) return;
    timer = setInterval(() => void recheck(), recheckMs);
    timer.unref();
  };
  const stopTimer = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };

  async function recheckOnce(): Promise<void> {
    // One authentication per distinct credential, however many streams it opened.
    const groups = new Map<string, Entry[]>();
    for (const set of byUser.values()) {
      for (const e of set) {
        const key = `${e.userId}\n${e.credential.authorization ?? ''}\n${e.credential.cookie ?? ''}`;
        const list = groups.get(key);
        if (list) list.push(e);
        else groups.set(key, [e]);
      }
    }
    await Promise.all(
      [...groups.values()].map(async (entries) => {
        const first = entries[0]!;
        let user: { userId: string } | null;
        try {
          user = await o.authenticate({ headers: { ...first.credential } } as IncomingMessage);
        } catch (err) {
          // Not an answer (e.g. the database is briefly down): keep the streams, ask again next time.
          o.logger.warn({ err: (err as Error).message, userId: first.userId }, 'stream credential re-check failed; keeping the streams until the next check');
          return;
        }
        if (user?.userId === first.userId) return;
        for (const e of entries) {
          if (e.released) continue;
          release(e);
          o.logger.info({ userId: e.userId, kind: e.kind }, 'closing a stream: its credential is no longer valid');
          try {
            e.revoked(REVOKED_REASON);
          } catch (err) {
            o.logger.warn({ err: (err as Error).message }, 'closing a revoked stream failed');
          }
        }
      }),
    );
  }

  function recheck(): Promise<void> {
    running ??= recheckOnce().finally(() => {
      running = undefined;
    });
    return running;
  }

  return {
    maxPerUser: o.maxPerUser,
    open(userId, req, kind, revoked) {
      if (closed) return null;
      let set = byUser.get(userId);
      if ((set?.size ?? 0) >= o.maxPerUser) return null;
      if (!set) byUser.set(userId, (set = new Set()));
      const auth = req.headers.authorization;
      const cookie = req.headers.cookie;
      const e: Entry = {
        userId,
        kind,
        // A bearer token takes precedence in authenticate; keep exactly what it would read.
        credential: auth ? { authorization: auth } : cookie ? { cookie } : {},
        revoked,
        released: false,
      };
      set.add(e);
      startTimer();
      return { release: () => release(e) };
    },
    count(userId) {
      if (userId) return byUser.get(userId)?.size ?? 0;
      let n = 0;
      for (const s of byUser.values()) n += s.size;
      return n;
    },
    recheck,
    close() {
      closed = true;
      stopTimer();
      byUser.clear();
    },
  };
}
