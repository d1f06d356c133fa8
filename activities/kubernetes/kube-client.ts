// The Kubernetes client of the activities and the local cluster: typed object operations
// (server-side apply, create, read, list, merge patch, delete) over server/kube-http.ts,
// which speaks HTTP with the cleaned kubeconfig's TLS material. Paths come from the static
// table below with names as given (no discovery round trip; a bad name is rejected by the
// API server as the invalid name it is), and objects go out and come back as plain JSON.
// Failures are KubeApiError (HTTP status, Status reason and causes) and KubeTimeoutError,
// which errors.ts maps for Temporal.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { EgressPolicy } from '../../server/egress';
import { KubeApiError, KubeHttp, type KubeRequest, type StreamOptions } from '../../server/kube-http';
import { parseKubeconfig, type KubeCredentials } from '../../server/kubeconfig';

export { KubeApiError, KubeTimeoutError, KubeResponseTooLargeError, KubeLineTooLongError, type StatusCause } from '../../server/kube-http';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: Pick<V1ObjectMeta, 'namespace' | 'labels' | 'annotations' | 'generation' | 'resourceVersion' | 'uid' | 'finalizers'> & {
    name: string;
    // Plain JSON: timestamps stay strings, owner references stay as sent.
    deletionTimestamp?: string;
    creationTimestamp?: string;
    ownerReferences?: Array<Record<string, unknown>>;
  };
  // Everything else (spec, status, data, rules, ...) is kind-specific.
  [key: string]: unknown;
}

interface Resource {
  plural: string;
  namespaced: boolean;
}

// The kinds this project touches; a static table avoids a discovery round trip per client.
const RESOURCES: Record<string, Resource> = {
  'v1/Namespace': { plural: 'namespaces', namespaced: false },
  'v1/Node': { plural: 'nodes', namespaced: false },
  'v1/PersistentVolume': { plural: 'persistentvolumes', namespaced: false },
  'v1/PersistentVolumeClaim': { plural: 'persistentvolumeclaims', namespaced: true },
  'v1/Pod': { plural: 'pods', namespaced: true },
  'v1/Service': { plural: 'services', namespaced: true },
  'v1/Secret': { plural: 'secrets', namespaced: true },
  'v1/ConfigMap': { plural: 'configmaps', namespaced: true },
  'v1/ResourceQuota': { plural: 'resourcequotas', namespaced: true },
  'v1/LimitRange': { plural: 'limitranges', namespaced: true },
  'v1/ServiceAccount': { plural: 'serviceaccounts', namespaced: true },
  'apps/v1/StatefulSet': { plural: 'statefulsets', namespaced: true },
  'networking.k8s.io/v1/Ingress': { plural: 'ingresses', namespaced: true },
  'networking.k8s.io/v1/IngressClass': { plural: 'ingressclasses', namespaced: false },
  'rbac.authorization.k8s.io/v1/Role': { plural: 'roles', namespaced: true },
  'rbac.authorization.k8s.io/v1/RoleBinding': { plural: 'rolebindings', namespaced: true },
  'rbac.authorization.k8s.io/v1/ClusterRole': { plural: 'clusterroles', namespaced: false },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { plural: 'clusterrolebindings', namespaced: false },
  'apiextensions.k8s.io/v1/CustomResourceDefinition': { plural: 'customresourcedefinitions', namespaced: false },
  'apps.kubeblocks.io/v1alpha1/Cluster': { plural: 'clusters', namespaced: true },
};

export interface ObjectKey {
  apiVersion: string;
  kind: string;
  name?: string;
  namespace?: string;
}

export function resourcePath(key: ObjectKey, defaultNamespace: string, subresource?: string): string {
  const res = RESOURCES[`${key.apiVersion}/${key.kind}`];
  if (!res) throw new Error(`kube-client: unknown kind ${key.apiVersion} ${key.kind}; add it to RESOURCES`);
  const parts = [key.apiVersion.includes('/') ? '/apis' : '/api', key.apiVersion];
  if (res.namespaced) parts.push('namespaces', encodeURIComponent(key.namespace ?? defaultNamespace));
  parts.push(res.plural);
  if (key.name !== undefined) parts.push(encodeURIComponent(key.name));
  if (subresource) parts.push(subresource);
  return parts.join('/');
}

export interface KubeClientOptions {
  /** Per-request timeout; short, so a hung API server becomes a retryable error quickly. */
  timeoutMs?: number;
  /** Server-side apply field manager. */
  fieldManager?: string;
  /** User clusters: the egress policy checked at every connect. */
  egress?: EgressPolicy;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  allNamespaces?: boolean;
  /**
   * `0`: served from the API server's watch cache (any version it has), so a watch from the
   * list's version starts at once; a quorum read's version may be newer than the cache and
   * make the watch wait for it (up to seconds). Absent: a consistent read.
   */
  resourceVersion?: string;
}

/** One event of a watch. ERROR carries a Status (410 Gone: the resourceVersion is too old). */
export type WatchEvent<T extends KubeObject = KubeObject> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T }
  | { type: 'BOOKMARK'; object: { metadata: { resourceVersion: string } } }
  | { type: 'ERROR'; object: { kind?: string; code?: number; reason?: string; message?: string } };

export interface WatchOptions extends Omit<ListOptions, 'resourceVersion'>, Pick<StreamOptions, 'signal' | 'maxLineBytes'> {
  /** From the list (or the last event/bookmark): only changes after it are sent. */
  resourceVersion: string;
  /** The server ends the watch after this long (the caller watches again from the last version). */
  timeoutSeconds: number;
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | undefined>;
  /** The answer's text instead of its JSON. */
  text?: boolean;
}

const APPLY_PATCH = 'application/apply-patch+yaml';
const MERGE_PATCH = 'application/merge-patch+json';

export class KubeClient {
  readonly namespace: string;
  readonly server: string;
  private readonly fieldManager: string;
  private readonly http: KubeHttp;

  constructor(
    readonly config: KubeCredentials,
    opts: KubeClientOptions = {},
  ) {
    this.server = config.server;
    this.namespace = config.namespace;
    this.fieldManager = opts.fieldManager ?? 'fullstackagent';
    this.http = new KubeHttp(config, { timeoutMs: opts.timeoutMs, egress: opts.egress });
  }

  /** Closes the client's keep-alive connections (when it is dropped). */
  close(): void {
    this.http.close();
  }

  /** Closes the connections once no request or watch is in flight (a client evicted from a cache). */
  closeWhenIdle(): void {
    this.http.closeWhenIdle();
  }

  /** Requests and watches in flight. */
  get active(): number {
    return this.http.active;
  }

  request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const r: KubeRequest = { method, path, query: opts.query, body: opts.body, contentType: opts.contentType, ...(opts.text ? { text: true } : {}) };
    return this.http.request<T>(r);
  }

  /** Server-side apply: one request that creates or updates; fields this manager stops sending are removed. */
  apply<T extends KubeObject>(obj: T): Promise<T> {
    return this.request<T>('PATCH', resourcePath(keyOf(obj), this.namespace), {
      body: obj,
      contentType: APPLY_PATCH,
      query: { fieldManager: this.fieldManager, force: 'true' },
    });
  }

  create<T extends KubeObject>(obj: T): Promise<T> {
    return this.request<T>('POST', resourcePath({ ...keyOf(obj), name: undefined }, this.namespace), { body: obj });
  }

  /** The object, or null when it does not exist. */
  async get<T extends KubeObject>(key: ObjectKey): Promise<T | null> {
    try {
      return await this.request<T>('GET', resourcePath(key, this.namespace));
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return null;
      throw err;
    }
  }

  async list<T extends KubeObject>(key: Omit<ObjectKey, 'name'>, opts: ListOptions = {}): Promise<T[]> {
    return (await this.listWithVersion<T>(key, opts)).items;
  }

  /** The items and the list's resourceVersion, from which a watch continues. */
  async listWithVersion<T extends KubeObject>(key: Omit<ObjectKey, 'name'>, opts: ListOptions = {}): Promise<{ items: T[]; resourceVersion: string }> {
    const path = this.collectionPath(key, opts.allNamespaces);
    const res = await this.request<{ items?: T[]; metadata?: { resourceVersion?: string } }>('GET', path, {
      query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, resourceVersion: opts.resourceVersion },
    });
    // Lists omit apiVersion/kind on items; put them back so items can be passed on as keys.
    const items = (res?.items ?? []).filter(hasObjectMeta).map((i) => ({ ...i, apiVersion: key.apiVersion, kind: key.kind }));
    return { items, resourceVersion: res?.metadata?.resourceVersion ?? '' };
  }

  /** The kind's collection in the client's namespace, or across all namespaces. */
  private collectionPath(key: Omit<ObjectKey, 'name'>, allNamespaces?: boolean): string {
    return allNamespaces ? resourcePath(key, '').replace(/\/namespaces\/[^/]*\//, '/') : resourcePath(key, this.namespace);
  }

  /**
   * Watches the kind in the client's namespace (or all, `allNamespaces`) from `resourceVersion`, with bookmarks.
   * Yields events until the server ends the watch (timeoutSeconds), the signal aborts, or
   * the connection fails (thrown). An ERROR event (410 Gone) means: list again.
   */
  async *watch<T extends KubeObject>(key: Omit<ObjectKey, 'name'>, opts: WatchOptions): AsyncGenerator<WatchEvent<T>, void, undefined> {
    const stream = this.http.stream(
      {
        path: this.collectionPath(key, opts.allNamespaces),
        query: {
          watch: '1',
          resourceVersion: opts.resourceVersion,
          allowWatchBookmarks: 'true',
          timeoutSeconds: String(opts.timeoutSeconds),
          labelSelector: opts.labelSelector,
          fieldSelector: opts.fieldSelector,
        },
      },
      // A silent stream for well past the server's own timeout is a dead connection.
      { signal: opts.signal, maxLineBytes: opts.maxLineBytes, idleTimeoutMs: (opts.timeoutSeconds + 30) * 1000 },
    );
    for await (const raw of stream) {
      const e = raw as WatchEvent<T>;
      if (!e || typeof e !== 'object' || typeof e.type !== 'string' || !e.object) continue;
      if (e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED') {
        // Callers key objects by name: skip what a broken or hostile server sends instead.
        if (!hasObjectMeta(e.object)) continue;
        yield { type: e.type, object: { ...e.object, apiVersion: key.apiVersion, kind: key.kind } };
      } else if (e.type === 'BOOKMARK') {
        const rv = (e.object as { metadata?: { resourceVersion?: unknown } | null }).metadata?.resourceVersion;
        if (typeof rv === 'string') yield e;
      } else yield e;
    }
  }

  mergePatch<T extends KubeObject>(key: ObjectKey, patch: unknown, subresource?: string): Promise<T> {
    return this.request<T>('PATCH', resourcePath(key, this.namespace, subresource), { body: patch, contentType: MERGE_PATCH });
  }

  /** Deletes; false when it was already gone. Background propagation: owned objects follow. */
  async delete(key: ObjectKey, opts: { gracePeriodSeconds?: number } = {}): Promise<boolean> {
    // Without a name the path is the collection, and DELETE there removes every object of the kind.
    if (!key.name) throw new Error(`kube-client: delete of a ${key.kind} needs a name (pass keyOf(object), not the object)`);
    try {
      await this.request('DELETE', resourcePath(key, this.namespace), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background', gracePeriodSeconds: opts.gracePeriodSeconds },
      });
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return false;
      throw err;
    }
  }
}

/** An object with a metadata object and a name in it (lists and watch events are checked with it). */
function hasObjectMeta(obj: unknown): boolean {
  const meta = (obj as { metadata?: unknown } | null)?.metadata as { name?: unknown } | null | undefined;
  return typeof meta === 'object' && meta !== null && typeof meta.name === 'string';
}

export function keyOf(obj: KubeObject): ObjectKey {
  return { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace };
}

/** The operator's admin kubeconfig (trusted: file references, http and skip-TLS allowed). */
export function loadAdminKubeconfig(text: string): KubeCredentials {
  return parseKubeconfig(text, { trusted: true });
}
