// A small informer: list a set of objects for a resourceVersion, then watch from it
// (`?watch=1&resourceVersion=…&allowWatchBookmarks=true`), keeping a map of the objects
// current. When the server ends the watch (its timeoutSeconds) it is resumed from the last
// version seen (an event or a bookmark); when that version is too old (410 Gone, as an
// ERROR event or an answer) the set is listed afresh. Transport failures are retried a few
// times with backoff, then thrown (the activity's retry policy takes over); answers that
// are not transient (403, 404 of the kind, …) are thrown at once. Objects are kept without
// `metadata.managedFields` (as controllers trim them with a client-go informer transform):
// nobody here reads them, and they were most of each object's size (server-side apply by
// the worker, status by the controllers).
import { KubeApiError, type KubeClient, type KubeObject, type ObjectKey, type WatchEvent } from './kube-client';

export interface ObjectSetWatchOptions {
  client: KubeClient;
  kind: Omit<ObjectKey, 'name' | 'namespace'>;
  labelSelector?: string;
  fieldSelector?: string;
  signal: AbortSignal;
  /** Called after the first list and after every change of the set (not after bookmarks). */
  onChange: () => void;
  /** Server-side duration of one watch request; the next one resumes from the last version. */
  watchSeconds?: number;
  /** Consecutive failures retried in here before the error is thrown. */
  maxFailures?: number;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

const isGone = (err: unknown) => err instanceof KubeApiError && (err.status === 410 || err.reason === 'Expired' || err.reason === 'Gone');
/** Answers worth retrying in here: transport failures, 410, 429 and 5xx. */
const isTransient = (err: unknown) => !(err instanceof KubeApiError) || isGone(err) || err.status === 429 || err.status >= 500;

/** The object without its field-ownership records (the object is freshly parsed and ours). */
function withoutManagedFields<T extends KubeObject>(obj: T): T {
  delete (obj.metadata as { managedFields?: unknown }).managedFields;
  return obj;
}

export class ObjectSetWatch<T extends KubeObject> {
  readonly items = new Map<string, T>();
  /** Resolves once the first list is in (or rejects with its error). */
  readonly ready: Promise<void>;
  /** Resolves when the watch stops (signal aborted); rejects with a failure that is not retried. */
  readonly done: Promise<void>;
  /** Watch requests opened and lists made (for tests and the decision record's figures). */
  readonly stats = { lists: 0, watches: 0, events: 0, relistsAfterGone: 0 };
  private resourceVersion = '';

  constructor(private readonly o: ObjectSetWatchOptions) {
    let readyResolve!: () => void;
    let readyReject!: (e: unknown) => void;
    this.ready = new Promise<void>((res, rej) => ((readyResolve = res), (readyReject = rej)));
    this.ready.catch(() => undefined);
    this.done = this.run(readyResolve, readyReject);
    this.done.catch(() => undefined);
  }

  private async list(): Promise<void> {
    this.o.signal.throwIfAborted();
    this.stats.lists++;
    // From the watch cache, as informers do: the watch then starts without waiting for the
    // cache to catch up with a quorum read; the events that follow bring the set current.
    const { items, resourceVersion } = await this.o.client.listWithVersion<T>(this.o.kind, {
      labelSelector: this.o.labelSelector,
      fieldSelector: this.o.fieldSelector,
      resourceVersion: '0',
    });
    this.items.clear();
    for (const i of items) this.items.set(i.metadata.name, withoutManagedFields(i));
    this.resourceVersion = resourceVersion;
    this.o.onChange();
  }

  private apply(e: WatchEvent<T>): void {
    if (e.type === 'BOOKMARK') {
      this.resourceVersion = e.object.metadata.resourceVersion || this.resourceVersion;
      return;
    }
    if (e.type === 'ERROR') {
      const st = e.object;
      throw new KubeApiError(st.code ?? 500, st.reason ?? '', st.message ?? `watch of ${this.o.kind.kind}: error event`, []);
    }
    this.stats.events++;
    const obj = e.object;
    if (obj.metadata.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
    if (e.type === 'DELETED') this.items.delete(obj.metadata.name);
    else this.items.set(obj.metadata.name, withoutManagedFields(obj));
    this.o.onChange();
  }

  private async run(readyResolve: () => void, readyReject: (e: unknown) => void): Promise<void> {
    const { signal } = this.o;
    const maxFailures = this.o.maxFailures ?? 4;
    let failures = 0;
    let listed = false;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.list();
          needList = false;
          if (!listed) {
            listed = true;
            readyResolve();
          }
        }
        this.stats.watches++;
        const base = this.o.watchSeconds ?? 300;
        // Jitter, so many watches opened together do not all come back together.
        const timeoutSeconds = Math.max(1, Math.round(base * (0.8 + Math.random() * 0.4)));
        let sawEvent = false;
        const openedAt = Date.now();
        for await (const e of this.o.client.watch<T>(this.o.kind, {
          labelSelector: this.o.labelSelector,
          fieldSelector: this.o.fieldSelector,
          resourceVersion: this.resourceVersion,
          timeoutSeconds,
          signal,
        })) {
          this.apply(e);
          sawEvent = true;
          failures = 0;
        }
        // The server ended the watch: resume from the last version seen (not at once when
        // it ended right away: a server that closes watches must not make this spin).
        if (!sawEvent && Date.now() - openedAt < 1_000) await sleep(1_000, signal);
      } catch (err) {
        if (signal.aborted) break;
        if (isGone(err)) {
          // Too old a version: list afresh (not a failure).
          this.stats.relistsAfterGone++;
          needList = true;
          continue;
        }
        failures++;
        if (!isTransient(err) || failures > maxFailures) {
          if (!listed) readyReject(err);
          throw err;
        }
        // A fresh list after a broken connection: events may have been missed.
        needList = true;
        await sleep(Math.min(200 * 2 ** (failures - 1), 5_000), signal);
      }
    }
    if (!listed) readyReject(signal.reason ?? new Error('watch stopped before the first list'));
  }
}
