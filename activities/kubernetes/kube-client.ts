// A thin Kubernetes REST client over node:https. Not @kubernetes/client-node: its 2.0.1
// release imports undici 8, which crashes on Node 20 at import time (see kubeconfig.ts).
// Raw requests also give the activities exact control of server-side apply (one idempotent
// create-or-patch request), subresources (status), a short per-request timeout, and the
// real Status body (code, reason, causes) for error mapping.
import https from 'node:https';
import http from 'node:http';
import { parseKubeconfig, type ResolvedKubeconfig } from './kubeconfig';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    generation?: number;
    resourceVersion?: string;
    uid?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
    ownerReferences?: Array<Record<string, unknown>>;
    creationTimestamp?: string;
  };
  // Everything else (spec, status, data, rules, ...) is kind-specific.
  [key: string]: unknown;
}

/** A Status cause: the field the API server rejected and why. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** An HTTP answer from the API server that is not 2xx. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly causes: StatusCause[],
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** The request did not get an answer in time (counts as transient). */
export class KubeTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what}: no answer from the Kubernetes API server within ${ms} ms`);
    this.name = 'KubeTimeoutError';
  }
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
  'v1/ServiceAccount': { plural: 'serviceaccounts', namespaced: true },
  'apps/v1/StatefulSet': { plural: 'statefulsets', namespaced: true },
  'networking.k8s.io/v1/Ingress': { plural: 'ingresses', namespaced: true },
  'networking.k8s.io/v1/IngressClass': { plural: 'ingressclasses', namespaced: false },
  'rbac.authorization.k8s.io/v1/Role': { plural: 'roles', namespaced: true },
  'rbac.authorization.k8s.io/v1/RoleBinding': { plural: 'rolebindings', namespaced: true },
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
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | undefined>;
}

export class KubeClient {
  readonly namespace: string;
  readonly server: string;
  private readonly timeoutMs: number;
  private readonly fieldManager: string;
  private readonly agent: https.Agent | http.Agent;

  constructor(
    readonly config: ResolvedKubeconfig,
    opts: KubeClientOptions = {},
  ) {
    this.server = config.server;
    this.namespace = config.namespace;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.fieldManager = opts.fieldManager ?? 'fullstackagent';
    // One keep-alive pool per client (= per user and kubeconfig version).
    this.agent = config.server.startsWith('http:')
      ? new http.Agent({ keepAlive: true, maxSockets: 16 })
      : new https.Agent({
          keepAlive: true,
          maxSockets: 16,
          ca: config.ca,
          cert: config.cert,
          key: config.key,
          rejectUnauthorized: !config.skipTlsVerify,
        });
  }

  /** Closes idle keep-alive connections (when the client is dropped). */
  close(): void {
    this.agent.destroy();
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const headers: Record<string, string | number> = { Accept: 'application/json' };
    if (this.config.token) headers.Authorization = `Bearer ${this.config.token()}`;
    else if (this.config.basicAuth) {
      headers.Authorization = `Basic ${Buffer.from(`${this.config.basicAuth.username}:${this.config.basicAuth.password}`).toString('base64')}`;
    }
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    if (payload) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = payload.length;
    }
    const what = `${method} ${path}`;
    const transport = url.protocol === 'http:' ? http : https;
    return new Promise<T>((resolve, reject) => {
      const req = transport.request(url, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let parsed: unknown = undefined;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          if (status >= 200 && status < 300) return resolve(parsed as T);
          const st = (parsed ?? {}) as { reason?: string; message?: string; details?: { causes?: StatusCause[] } };
          const retryAfter = Number(res.headers['retry-after']);
          reject(
            new KubeApiError(
              status,
              st.reason ?? '',
              st.message ?? `${what}: HTTP ${status} ${text.slice(0, 200)}`,
              st.details?.causes ?? [],
              Number.isFinite(retryAfter) ? retryAfter : undefined,
            ),
          );
        });
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(new KubeTimeoutError(what, this.timeoutMs)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Server-side apply: one request that creates or updates; fields this manager stops sending are removed. */
  apply<T extends KubeObject>(obj: T): Promise<T> {
    return this.request<T>('PATCH', resourcePath(keyOf(obj), this.namespace), {
      body: obj,
      contentType: 'application/apply-patch+yaml',
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

  async list<T extends KubeObject>(key: Omit<ObjectKey, 'name'>, opts: { labelSelector?: string; allNamespaces?: boolean } = {}): Promise<T[]> {
    let path = resourcePath(key, this.namespace);
    if (opts.allNamespaces) path = path.replace(/\/namespaces\/[^/]+\//, '/');
    const res = await this.request<{ items: T[] }>('GET', path, { query: { labelSelector: opts.labelSelector } });
    // Lists omit apiVersion/kind on items; put them back so items can be passed on as keys.
    return res.items.map((i) => ({ ...i, apiVersion: key.apiVersion, kind: key.kind }));
  }

  mergePatch<T extends KubeObject>(key: ObjectKey, patch: unknown, subresource?: string): Promise<T> {
    return this.request<T>('PATCH', resourcePath(key, this.namespace, subresource), {
      body: patch,
      contentType: 'application/merge-patch+json',
    });
  }

  /** Deletes; false when it was already gone. Background propagation: owned objects follow. */
  async delete(key: ObjectKey): Promise<boolean> {
    try {
      await this.request('DELETE', resourcePath(key, this.namespace), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
      });
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return false;
      throw err;
    }
  }
}

export function keyOf(obj: KubeObject): ObjectKey {
  return { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace };
}

/** Parses a kubeconfig (YAML or JSON text); throws an Error naming what is wrong. */
export function loadKubeConfig(text: string): ResolvedKubeconfig {
  return parseKubeconfig(text);
}
