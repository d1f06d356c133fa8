// Terminal activity for the idle auto-stop: every frame of input or output through the
// proxy marks its project active; reports go to the lifecycle in batches, at most one per
// project per interval (one minute): the first activity after a quiet interval is reported
// at once, the rest at the end of the interval with the time of the last one. A keystroke
// never becomes a signal of its own.
import type { Logger } from 'pino';

export interface ActivityReporterOptions {
  /** Sends one report (the `activity` signal). */
  report(projectId: string, lastActivityAt: Date): Promise<void>;
  intervalMs: number;
  logger?: Logger;
  now?: () => number;
}

export interface ActivityReporter {
  /** Called for every frame; cheap (no I/O). */
  touch(projectId: string): void;
  /** Reports sent so far (all projects). */
  sent(): number;
  /** Sends what is pending and stops the timers. */
  close(): Promise<void>;
}

export function createActivityReporter(o: ActivityReporterOptions): ActivityReporter {
  const now = o.now ?? Date.now;
  /** Per project: when the last report went out, the last activity not yet reported, and the trailing timer. */
  const state = new Map<string, { lastSentAt: number; pending: number | null; timer?: NodeJS.Timeout }>();
  let count = 0;
  let closed = false;

  const send = (projectId: string, at: number) => {
    count++;
    o.report(projectId, new Date(at)).catch((err: unknown) => o.logger?.warn({ projectId, err: (err as Error).message }, 'terminal activity report failed'));
  };

  const flush = (projectId: string) => {
    const s = state.get(projectId);
    if (!s) return;
    s.timer = undefined;
    if (s.pending === null) {
      state.delete(projectId); // quiet for a whole interval: the next activity reports at once
      return;
    }
    const at = s.pending;
    s.pending = null;
    s.lastSentAt = now();
    send(projectId, at);
    if (!closed) {
      s.timer = setTimeout(() => flush(projectId), o.intervalMs);
      s.timer.unref();
    }
  };

  return {
    touch(projectId) {
      if (closed) return;
      const t = now();
      const s = state.get(projectId);
      if (!s) {
        state.set(projectId, { lastSentAt: t, pending: null });
        send(projectId, t);
        const timer = setTimeout(() => flush(projectId), o.intervalMs);
        timer.unref();
        state.get(projectId)!.timer = timer;
        return;
      }
      s.pending = t;
    },
    sent: () => count,
    async close() {
      closed = true;
      for (const [projectId, s] of state) {
        if (s.timer) clearTimeout(s.timer);
        if (s.pending !== null) send(projectId, s.pending);
      }
      state.clear();
    },
  };
}
