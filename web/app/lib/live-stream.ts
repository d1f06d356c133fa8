// A Server-Sent Events subscription that stays live, for the pages' status streams
// (GET /api/projects/:id/events, GET /api/events). The browser's EventSource retries on its
// own only after a dropped connection; when the server answers with an error (503 while the
// database restarts, 429 at the stream cap, a proxy's 502) it gives up for good. So every
// error closes the EventSource and this opens a new one after a backoff (1 s doubling to
// 30 s, with jitter), and the state says what is true right now:
//   connecting   — first attempt, nothing received yet
//   live         — connected: every change is pushed (the server sends a fresh snapshot on
//                  each connect, so nothing is missed while reconnecting)
//   reconnecting — the connection failed or dropped; a new attempt is scheduled
//   signed-out   — the server ended the stream because the sign-in ended (event "revoked");
//                  no more attempts
// Coming back online or to a visible tab retries at once.

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/** Delay before attempt `attempt` (0-based): base doubling to max, times 0.5–1 (jitter). */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'signed-out';

/** The part of EventSource this uses (a fake in tests). */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  addEventListener(type: string, listener: (ev: { data: string }) => void): void;
  close(): void;
}

export interface LiveStreamOptions<T> {
  url: string;
  onMessage(data: T): void;
  onState?(state: LiveState, detail?: { retryInMs?: number; message?: string }): void;
  /** Called after a reconnect succeeded (not on the first connect). */
  onReconnected?(): void;
  backoff?: BackoffOptions;
  /** Tests: EventSource, timers, window events. */
  createEventSource?(url: string): EventSourceLike;
  setTimer?(fn: () => void, ms: number): unknown;
  clearTimer?(handle: unknown): void;
  random?(): number;
  /** Where `online` and `visibilitychange` come from (default: window/document when present). */
  wakeups?: { subscribe(fn: () => void): () => void };
}

export const LIVE_BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 30_000 };
/** A connection counts as healthy (the backoff starts over) once it stayed open this long or delivered a message. */
const HEALTHY_AFTER_MS = 5_000;

export interface LiveStream {
  state(): LiveState;
  close(): void;
  /** Reconnect now if not live (e.g. a user clicked "retry"). */
  retryNow(): void;
}

function browserWakeups(): LiveStreamOptions<unknown>['wakeups'] {
  if (typeof window === 'undefined') return undefined;
  return {
    subscribe(fn) {
      const onVisible = () => {
        if (document.visibilityState === 'visible') fn();
      };
      window.addEventListener('online', fn);
      document.addEventListener('visibilitychange', onVisible);
      return () => {
        window.removeEventListener('online', fn);
        document.removeEventListener('visibilitychange', onVisible);
      };
    },
  };
}

export function openLiveStream<T>(o: LiveStreamOptions<T>): LiveStream {
  const create = o.createEventSource ?? ((url: string) => new EventSource(url, { withCredentials: true }) as unknown as EventSourceLike);
  const setTimer = o.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
  const clearTimer = o.clearTimer ?? ((h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>));
  const backoff = o.backoff ?? LIVE_BACKOFF;
  let state: LiveState = 'connecting';
  let es: EventSourceLike | null = null;
  let attempt = 0;
  let everOpened = false;
  let closed = false;
  let retryTimer: unknown = null;
  let healthyTimer: unknown = null;

  const setState = (s: LiveState, detail?: { retryInMs?: number; message?: string }) => {
    state = s;
    o.onState?.(s, detail);
  };

  const healthy = () => {
    attempt = 0;
    if (healthyTimer !== null) clearTimer(healthyTimer);
    healthyTimer = null;
  };

  const drop = () => {
    if (es) {
      es.onopen = es.onmessage = es.onerror = null;
      es.close();
      es = null;
    }
    if (healthyTimer !== null) clearTimer(healthyTimer);
    healthyTimer = null;
  };

  const scheduleRetry = () => {
    if (closed || retryTimer !== null) return;
    const retryInMs = backoffDelay(attempt, backoff, o.random);
    attempt++;
    setState('reconnecting', { retryInMs });
    retryTimer = setTimer(() => {
      retryTimer = null;
      connect();
    }, retryInMs);
  };

  function connect() {
    if (closed) return;
    drop();
    const source = create(o.url);
    es = source;
    source.onopen = () => {
      if (es !== source) return;
      const reconnected = everOpened;
      everOpened = true;
      setState('live');
      healthyTimer = setTimer(healthy, HEALTHY_AFTER_MS);
      if (reconnected) o.onReconnected?.();
    };
    source.onmessage = (ev) => {
      if (es !== source) return;
      healthy();
      if (state !== 'live') setState('live');
      let data: T;
      try {
        data = JSON.parse(ev.data) as T;
      } catch {
        return;
      }
      o.onMessage(data);
    };
    source.addEventListener('revoked', (ev) => {
      if (es !== source) return;
      let message: string | undefined;
      try {
        message = (JSON.parse(ev.data) as { error?: { message?: string } }).error?.message;
      } catch {
        /* no detail */
      }
      drop();
      closed = true;
      setState('signed-out', { message });
    });
    source.onerror = () => {
      if (es !== source) return;
      // Whether the browser would retry or not, take over: one policy, with backoff.
      drop();
      scheduleRetry();
    };
  }

  const wake = () => {
    if (closed || state === 'live' || state === 'connecting') return;
    if (retryTimer !== null) clearTimer(retryTimer);
    retryTimer = null;
    connect();
  };
  const unsubscribeWakeups = (o.wakeups ?? browserWakeups())?.subscribe(wake);

  connect();
  return {
    state: () => state,
    retryNow: wake,
    close() {
      closed = true;
      if (retryTimer !== null) clearTimer(retryTimer);
      retryTimer = null;
      drop();
      unsubscribeWakeups?.();
    },
  };
}
