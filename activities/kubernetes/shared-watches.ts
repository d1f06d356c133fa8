// Watches shared by every activity of this worker: one ObjectSetWatch per client (a user's
// namespace), kind and label selector, open while an activity listens and for a short
// linger after, so the readiness and drift waits of a user's projects (`awaitProjectChange`)
// cost three streams per namespace instead of three per project, and a wait that follows a
// write starts from a set already listed instead of listing again (decision 8, addendum).
import type { KubeClient, KubeObject, ObjectKey } from './kube-client';
import { ObjectSetWatch } from './watch';

export interface SharedWatchesOptions {
  /** How long a watch nobody listens to stays open (the next wait of a step reuses it). */
  lingerMs?: number;
  /** Server-side duration of one watch request (jittered); resumed from the last version. */
  watchSeconds?: number;
}

export interface WatchLease<T extends KubeObject> {
  readonly watch: ObjectSetWatch<T>;
  /** Stops listening; the watch closes after the linger when nobody else listens. */
  release(): void;
}

interface Entry {
  watch: ObjectSetWatch<KubeObject>;
  listeners: Set<() => void>;
  stop: AbortController;
  linger?: NodeJS.Timeout;
}

export class SharedWatches {
  private readonly byClient = new WeakMap<KubeClient, Map<string, Entry>>();
  /** The stop of every open watch (a WeakMap cannot be listed). */
  private readonly stops = new Set<AbortController>();

  constructor(private readonly o: SharedWatchesOptions = {}) {}

  /** Watches open now (for tests and the benchmark). */
  get size(): number {
    return this.stops.size;
  }

  /** Listens to `kind` in the client's namespace; `onChange` runs after every change of the set. */
  acquire<T extends KubeObject>(client: KubeClient, kind: Omit<ObjectKey, 'name' | 'namespace'>, labelSelector: string | undefined, onChange: () => void): WatchLease<T> {
    let entries = this.byClient.get(client);
    if (!entries) this.byClient.set(client, (entries = new Map()));
    const key = `${kind.apiVersion}/${kind.kind}?${labelSelector ?? ''}`;
    let entry = entries.get(key);
    if (!entry) entry = this.start(client, kind, labelSelector, entries, key);
    clearTimeout(entry.linger);
    entry.linger = undefined;
    const listener = () => onChange();
    entry.listeners.add(listener);
    const e = entry;
    let released = false;
    return {
      watch: e.watch as unknown as ObjectSetWatch<T>,
      release: () => {
        if (released) return;
        released = true;
        e.listeners.delete(listener);
        if (e.listeners.size === 0 && !e.stop.signal.aborted) {
          e.linger = setTimeout(() => e.stop.abort(), this.o.lingerMs ?? 60_000);
          e.linger.unref?.();
        }
      },
    };
  }

  /** Closes every watch (worker shutdown). */
  close(): void {
    for (const stop of this.stops) stop.abort();
  }

  private start(client: KubeClient, kind: Omit<ObjectKey, 'name' | 'namespace'>, labelSelector: string | undefined, entries: Map<string, Entry>, key: string): Entry {
    const stop = new AbortController();
    const listeners = new Set<() => void>();
    const watch = new ObjectSetWatch<KubeObject>({
      client,
      kind,
      labelSelector,
      signal: stop.signal,
      watchSeconds: this.o.watchSeconds ?? 1_800,
      onChange: () => {
        for (const l of [...listeners]) l();
      },
    });
    const entry: Entry = { watch, listeners, stop };
    entries.set(key, entry);
    this.stops.add(stop);
    // Ended (closed after the linger, or failed for good): the next acquire starts afresh.
    const forget = () => {
      clearTimeout(entry.linger);
      if (entries.get(key) === entry) entries.delete(key);
      this.stops.delete(stop);
      stop.abort();
    };
    watch.done.then(forget, forget);
    return entry;
  }
}
