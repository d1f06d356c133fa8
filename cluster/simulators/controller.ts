// A small Kubernetes controller loop for the simulators: informers (list, then watch from the
// list's version, listing again when the watch expires or fails) keep a cache of each watched
// kind, every change marks the keys it concerns dirty, and a work queue reconciles each dirty
// key once, a few at a time, from the cache. So an idle cluster costs no requests but the
// watches, a change is acted on within milliseconds, and 1,000 objects do not mean 1,000
// requests per pass. A reconcile may ask to run again later (a timed phase), a failed one
// runs again after a second, and every key is reconciled again every `resyncMs` (a missed
// event or a change a watch cannot show, like a directory on disk).
import type { KubeClient, KubeObject, WatchEvent } from '../../activities/kubernetes/kube-client';
import { KubeApiError } from '../../activities/kubernetes/kube-client';

type Kind = { apiVersion: string; kind: string };

export interface Source<T extends KubeObject = KubeObject> {
  kind: Kind;
  labelSelector?: string;
  /** The queue keys a change of this object concerns (its own key, its owner's, ...). */
  keysOf(obj: T): string[];
}

/** The cached objects of one source, by `namespace/name`. */
export interface Cache<T extends KubeObject = KubeObject> {
  get(namespace: string | undefined, name: string): T | undefined;
  list(filter?: (obj: T) => boolean): T[];
}

export interface ReconcileTools<S extends string> {
  cache<T extends KubeObject = KubeObject>(source: S): Cache<T>;
  /** Reconcile this key again after `ms` (a transition that completes by time). */
  requeueAfter(ms: number): void;
}

export interface ControllerOptions<S extends string> {
  name: string;
  client: KubeClient;
  sources: Record<S, Source>;
  reconcile(key: string, tools: ReconcileTools<S>): Promise<void>;
  resyncMs?: number;
  concurrency?: number;
  log?: (msg: string) => void;
}

export interface Controller {
  stop(): Promise<void>;
  /** Resolves once every source has been listed and the queue is empty (nothing left to do now). */
  idle(): Promise<void>;
}

export const objectKey = (obj: KubeObject) => `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;

const WATCH_TIMEOUT_S = 300;
const RETRY_MS = 1_000;

export function startController<S extends string>(opts: ControllerOptions<S>): Controller {
  const log = opts.log ?? (() => {});
  const concurrency = opts.concurrency ?? 8;
  const abort = new AbortController();
  const caches = new Map<S, Map<string, KubeObject>>();
  const dirty = new Set<string>();
  const running = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  const listed = new Set<S>();
  const names = Object.keys(opts.sources) as S[];
  let idleWaiters: Array<() => void> = [];
  let stopped = false;
  const lastError = new Map<string, string>();

  const logOnce = (where: string, err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    if (lastError.get(where) !== msg) log(`[${opts.name}] ${where} failed (will retry): ${msg}`);
    lastError.set(where, msg);
  };

  const isIdle = () => listed.size === names.length && dirty.size === 0 && running.size === 0;
  const settle = () => {
    if (!isIdle()) return;
    const w = idleWaiters;
    idleWaiters = [];
    w.forEach((r) => r());
  };

  const tools = (key: string): ReconcileTools<S> => ({
    cache<T extends KubeObject>(source: S): Cache<T> {
      const m = caches.get(source) as Map<string, T> | undefined;
      return {
        get: (namespace, name) => m?.get(`${namespace ?? ''}/${name}`),
        list: (filter) => [...(m?.values() ?? [])].filter((o) => !filter || filter(o)),
      };
    },
    requeueAfter(ms) {
      later(key, ms);
    },
  });

  const later = (key: string, ms: number) => {
    if (stopped) return;
    const t = setTimeout(() => {
      timers.delete(t);
      enqueue([key]);
    }, ms);
    t.unref();
    timers.add(t);
  };

  const pump = () => {
    for (const key of dirty) {
      if (stopped || running.size >= concurrency) break;
      if (running.has(key)) continue; // runs again when the current pass ends
      dirty.delete(key);
      running.add(key);
      void opts
        .reconcile(key, tools(key))
        .then(
          () => lastError.delete(`reconcile ${key}`),
          (err: unknown) => {
            logOnce(`reconcile ${key}`, err);
            later(key, RETRY_MS);
          },
        )
        .finally(() => {
          running.delete(key);
          pump();
          settle();
        });
    }
  };

  const enqueue = (keys: Iterable<string>) => {
    if (stopped) return;
    for (const k of keys) dirty.add(k);
    pump();
    settle();
  };

  const inform = async (name: S) => {
    const src = opts.sources[name];
    const cache = new Map<string, KubeObject>();
    caches.set(name, cache);
    while (!stopped) {
      try {
        // From the watch cache (version 0), as informers do: the watch then starts at once.
        const { items, resourceVersion } = await opts.client.listWithVersion(src.kind, { allNamespaces: true, labelSelector: src.labelSelector, resourceVersion: '0' });
        const before = [...cache.values()];
        cache.clear();
        for (const o of items) cache.set(objectKey(o), o);
        listed.add(name);
        lastError.delete(`watch ${src.kind.kind}`);
        // Objects gone while the watch was down concern their keys too.
        enqueue([...before, ...items].flatMap((o) => src.keysOf(o)));
        let version = resourceVersion;
        for (;;) {
          let expired = false;
          for await (const e of opts.client.watch(src.kind, {
            allNamespaces: true,
            labelSelector: src.labelSelector,
            resourceVersion: version,
            timeoutSeconds: WATCH_TIMEOUT_S,
            signal: abort.signal,
          }) as AsyncGenerator<WatchEvent>) {
            if (e.type === 'ERROR') {
              expired = true; // 410 Gone: list again
              break;
            }
            version = e.object.metadata.resourceVersion ?? version;
            if (e.type === 'BOOKMARK') continue;
            const obj = e.object as KubeObject;
            if (e.type === 'DELETED') cache.delete(objectKey(obj));
            else cache.set(objectKey(obj), obj);
            enqueue(src.keysOf(obj));
          }
          if (expired || stopped) break;
        }
      } catch (err) {
        if (stopped) break;
        if (!(err instanceof KubeApiError && err.status === 410)) logOnce(`watch ${src.kind.kind}`, err);
        await new Promise((r) => setTimeout(r, RETRY_MS).unref());
      }
    }
  };

  const informers = names.map((n) => inform(n));
  const resync = setInterval(() => {
    for (const n of names) enqueue([...(caches.get(n)?.values() ?? [])].flatMap((o) => opts.sources[n].keysOf(o)));
  }, opts.resyncMs ?? 30_000);
  resync.unref();

  return {
    async stop() {
      stopped = true;
      abort.abort();
      clearInterval(resync);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.allSettled(informers);
      while (running.size) await new Promise((r) => setTimeout(r, 20));
      idleWaiters.forEach((r) => r());
      idleWaiters = [];
    },
    idle() {
      if (isIdle() || stopped) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}
