// openLiveStream's decisions with a scripted EventSource and manual timers: live on open,
// reconnecting with growing backoff on errors (also when the browser would give up), the
// backoff starting over after a healthy connection, signed out on `revoked`, wake-ups.
import { backoffDelay, openLiveStream, type EventSourceLike, type LiveState } from './live-stream';

class FakeEventSource implements EventSourceLike {
  static all: FakeEventSource[] = [];
  readyState = 0;
  closed = false;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  listeners = new Map<string, (ev: { data: string }) => void>();
  constructor(readonly url: string) {
    FakeEventSource.all.push(this);
  }
  addEventListener(type: string, l: (ev: { data: string }) => void) {
    this.listeners.set(type, l);
  }
  close() {
    this.closed = true;
    this.readyState = 2;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  message(data: unknown) {
    this.onmessage?.({ data: JSON.stringify(data) });
  }
  fail(readyState: 0 | 2) {
    this.readyState = readyState;
    this.onerror?.({});
  }
}

function setup() {
  FakeEventSource.all = [];
  const timers: Array<{ fn: () => void; ms: number; id: number; cleared?: boolean }> = [];
  let nextId = 1;
  const states: Array<{ state: LiveState; retryInMs?: number; message?: string }> = [];
  const messages: unknown[] = [];
  let reconnected = 0;
  let wake: (() => void) | undefined;
  const stream = openLiveStream<{ n: number }>({
    url: '/api/projects/p1/events',
    onMessage: (m) => messages.push(m),
    onState: (state, detail) => states.push({ state, ...detail }),
    onReconnected: () => reconnected++,
    createEventSource: (url) => new FakeEventSource(url),
    setTimer: (fn, ms) => {
      const t = { fn, ms, id: nextId++ };
      timers.push(t);
      return t.id;
    },
    clearTimer: (id) => {
      const t = timers.find((x) => x.id === id);
      if (t) t.cleared = true;
    },
    random: () => 1,
    wakeups: {
      subscribe(fn) {
        wake = fn;
        return () => (wake = undefined);
      },
    },
  });
  const pending = () => timers.filter((t) => !t.cleared);
  /** Runs the timer that reconnects (the last one scheduled). */
  const fireLast = () => {
    const t = pending().at(-1)!;
    t.cleared = true;
    t.fn();
    return t.ms;
  };
  const current = () => FakeEventSource.all.at(-1)!;
  return { stream, states, messages, timers, pending, fireLast, current, reconnectedCount: () => reconnected, wake: () => wake?.() };
}

it('backoffDelay doubles from the base to the ceiling, jittered down to half', () => {
  const o = { baseMs: 1_000, maxMs: 30_000 };
  expect([0, 1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, o, () => 1))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  expect(backoffDelay(0, o, () => 0)).toBe(500);
});

it('is "connecting" first, "live" once open, and delivers parsed messages', () => {
  const s = setup();
  expect(s.stream.state()).toBe('connecting');
  expect(s.current().url).toBe('/api/projects/p1/events');
  s.current().open();
  expect(s.stream.state()).toBe('live');
  s.current().message({ n: 1 });
  s.current().onmessage?.({ data: 'not json' });
  expect(s.messages).toEqual([{ n: 1 }]);
  expect(s.reconnectedCount()).toBe(0);
});

it('reconnects with growing backoff after errors, including ones the browser gives up on, and says so', () => {
  const s = setup();
  s.current().open();
  s.current().fail(2); // e.g. the server restarted and answered 503: EventSource would stay closed for good
  expect(s.stream.state()).toBe('reconnecting');
  expect(s.states.at(-1)).toEqual({ state: 'reconnecting', retryInMs: 1000 });
  expect(s.current().closed).toBe(true);
  const delays = [s.fireLast()];
  for (let i = 0; i < 6; i++) {
    expect(FakeEventSource.all).toHaveLength(i + 2);
    s.current().fail(i % 2 ? 2 : 0); // a dropped connection the browser would retry itself: handled the same
    delays.push(s.fireLast());
  }
  expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  // A new connection succeeds: live again, and the page is told it reconnected.
  s.current().open();
  expect(s.stream.state()).toBe('live');
  expect(s.reconnectedCount()).toBe(1);
});

it('starts the backoff over after a connection delivered a message', () => {
  const s = setup();
  s.current().open();
  s.current().fail(0);
  s.fireLast();
  s.current().open();
  s.current().fail(0);
  expect(s.states.at(-1)?.retryInMs).toBe(2000); // opened but delivered nothing: still backing off
  s.fireLast();
  s.current().open();
  s.current().message({ n: 2 });
  s.current().fail(0);
  expect(s.states.at(-1)?.retryInMs).toBe(1000);
});

it('stops for good when the server revokes the stream (signed out)', () => {
  const s = setup();
  s.current().open();
  s.current().listeners.get('revoked')!({ data: JSON.stringify({ error: { code: 'unauthenticated', message: 'Your sign-in ended' } }) });
  expect(s.stream.state()).toBe('signed-out');
  expect(s.states.at(-1)).toEqual({ state: 'signed-out', message: 'Your sign-in ended' });
  expect(s.current().closed).toBe(true);
  expect(s.pending().filter((t) => t.ms !== 5_000)).toHaveLength(0);
  s.wake();
  expect(FakeEventSource.all).toHaveLength(1);
});

it('retries at once when the browser comes back online, and close() ends everything', () => {
  const s = setup();
  s.current().fail(2);
  expect(s.pending().at(-1)?.ms).toBe(1000);
  s.wake();
  expect(FakeEventSource.all).toHaveLength(2);
  expect(s.pending().some((t) => t.ms === 1000)).toBe(false);
  s.current().open();
  s.wake(); // live: nothing to do
  expect(FakeEventSource.all).toHaveLength(2);
  s.stream.close();
  expect(s.current().closed).toBe(true);
  s.current().fail(2);
  expect(FakeEventSource.all).toHaveLength(2);
});
