// Live project status for Server-Sent Events. One LISTEN connection per web process
// (channel `project_status`, notified by the worker's recordStatus) fans out to every
// subscriber of that project: on a notification the status is read once (workflow query)
// and pushed to all of them when it changed. If LISTEN is unavailable (e.g. a Postgres
// that does not forward NOTIFY) one shared 1-second check of Project.updatedAt for the
// subscribed projects takes its place.
import pg from 'pg';
import type { Logger } from '../../server/logger';

export const STATUS_CHANNEL = 'project_status';

export interface Subscriber {
  /** Called with the project's id when it may have changed. */
  changed(): void;
}

export interface StatusHub {
  subscribe(projectId: string, s: Subscriber): () => void;
  /** Called with the id of every project that may have changed (a user's project list). */
  subscribeAll(changed: (projectId: string) => void): () => void;
  /** 'listen' or 'poll': how changes are detected right now. */
  mode(): 'listen' | 'poll' | 'idle';
  close(): Promise<void>;
}

export interface StatusHubOptions {
  databaseUrl: string;
  logger: Logger;
  /** For the polling fallback: the updatedAt of each project (missing = gone). */
  readUpdatedAt(projectIds: string[]): Promise<Map<string, number>>;
  pollMs?: number;
  /** Force the fallback (tests). */
  disableListen?: boolean;
}

export function createStatusHub(o: StatusHubOptions): StatusHub {
  const subs = new Map<string, Set<Subscriber>>();
  let client: pg.Client | undefined;
  let connecting: Promise<void> | undefined;
  let listening = false;
  let closed = false;
  let pollTimer: NodeJS.Timeout | undefined;
  let polling = false;
  const lastSeen = new Map<string, number>();

  const everything = new Set<(projectId: string) => void>();

  const notify = (projectId: string) => {
    for (const f of everything) {
      try {
        f(projectId);
      } catch (err) {
        o.logger.warn({ err }, 'status subscriber failed');
      }
    }
    for (const s of subs.get(projectId) ?? []) {
      try {
        s.changed();
      } catch (err) {
        o.logger.warn({ err }, 'status subscriber failed');
      }
    }
  };

  async function connect(): Promise<void> {
    if (o.disableListen || closed) return startPolling();
    const c = new pg.Client({ connectionString: o.databaseUrl });
    c.on('notification', (m) => {
      if (m.channel === STATUS_CHANNEL && m.payload) notify(m.payload);
    });
    c.on('error', (err) => {
      o.logger.warn({ err: err.message }, 'LISTEN connection lost; polling until it is back');
      listening = false;
      client = undefined;
      c.end().catch(() => undefined);
      startPolling();
      if (!closed) setTimeout(() => void ensureListening(), 5_000).unref();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${STATUS_CHANNEL}`);
      client = c;
      listening = true;
      stopPolling();
      // Anything that changed while we were not listening.
      for (const id of subs.keys()) notify(id);
    } catch (err) {
      o.logger.warn({ err: (err as Error).message }, 'LISTEN unavailable; polling Project.updatedAt every second');
      c.end().catch(() => undefined);
      startPolling();
    }
  }

  function ensureListening(): Promise<void> {
    if (listening || closed) return Promise.resolve();
    connecting ??= connect().finally(() => {
      connecting = undefined;
    });
    return connecting;
  }

  async function pollOnce() {
    if (polling || subs.size === 0) return;
    polling = true;
    try {
      const ids = [...subs.keys()];
      const seen = await o.readUpdatedAt(ids);
      for (const id of ids) {
        const t = seen.get(id) ?? -1;
        // First look at a project: it may have changed between its subscriber's snapshot and
        // this poll (a fast stop finishes within the second), so push once more.
        if (lastSeen.get(id) !== t) notify(id);
        lastSeen.set(id, t);
      }
    } catch (err) {
      o.logger.warn({ err: (err as Error).message }, 'status poll failed');
    } finally {
      polling = false;
    }
  }

  function startPolling() {
    if (pollTimer || closed) return;
    pollTimer = setInterval(() => void pollOnce(), o.pollMs ?? 1_000);
    pollTimer.unref();
  }
  function stopPolling() {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = undefined;
  }

  return {
    subscribe(projectId, s) {
      let set = subs.get(projectId);
      if (!set) subs.set(projectId, (set = new Set()));
      set.add(s);
      void ensureListening();
      return () => {
        set.delete(s);
        if (set.size === 0) {
          subs.delete(projectId);
          lastSeen.delete(projectId);
        }
      };
    },
    subscribeAll(changed) {
      everything.add(changed);
      void ensureListening();
      return () => void everything.delete(changed);
    },
    mode: () => (listening ? 'listen' : pollTimer ? 'poll' : 'idle'),
    async close() {
      closed = true;
      stopPolling();
      subs.clear();
      await connecting?.catch(() => undefined);
      await client?.end().catch(() => undefined);
      client = undefined;
      listening = false;
    },
  };
}
