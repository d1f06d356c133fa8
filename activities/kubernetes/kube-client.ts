// The Kubernetes client of the activities and the local cluster, on @kubernetes/client-node
// 1.4.0 (2.x imports undici 8, which crashes on Node 20; see kubeconfig.ts). client-node
// parses the kubeconfig and authenticates (KubeConfig), sends (its node-fetch transport and
// middleware) and reports failures (ApiException); requests go through KubernetesObjectApi
// (server-side apply, create, read, list, delete) with three adjustments, each for behaviour
// the activities rely on:
// - paths come from the static table below, with names as given: client-node lowercases the
//   whole path (so `Bad_Name` would be sent to `.../bad_name` and rejected for the mismatch,
//   not as the invalid name it is) and looks each kind up with a discovery round trip;
// - objects go out and come back as plain JSON: client-node's typed models drop fields they
//   do not know on the way out and turn timestamps into Dates on the way in;
// - a middleware gives every request a short timeout (a hung API server is a retryable
//   error) and a keep-alive connection pool per client (client-node makes a new agent per
//   request).
// Failures are rethrown as KubeApiError (with the Status reason and causes) and
// KubeTimeoutError, which errors.ts maps for Temporal and the simulators test for.
import https from 'node:https';
import http from 'node:http';
import {
  AbortError,
  ApiException,
  KubernetesObjectApi,
  PatchStrategy,
  ServerConfiguration,
  createConfiguration,
  type Configuration,
  type HttpMethod,
  type KubernetesObject,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
// Not re-exported by the package index; the registry is client-node's documented way to give
// a kind its own (here: identity) serializer.
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
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

// Objects of the kinds in the table are sent as given (see the header).
let identitySerializersRegistered = false;
function registerIdentitySerializers(): void {
  if (identitySerializersRegistered) return;
  identitySerializersRegistered = true;
  const identity = { serialize: (data: unknown) => data, deserialize: (data: unknown) => data };
  for (const gvk of Object.keys(RESOURCES)) {
    const kind = gvk.slice(gvk.lastIndexOf('/') + 1);
    const apiVersion = gvk.slice(0, gvk.lastIndexOf('/'));
    const slash = apiVersion.indexOf('/');
    const gvkKey = { group: slash < 0 ? '' : apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1), kind };
    try {
      ObjectSerializer.registerModel(gvkKey, identity as never);
    } catch {
      // already registered (a second copy of this module in the same process)
    }
  }
}

function parseBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** KubernetesObjectApi with exact-case paths from the table and plain-JSON answers. */
class ObjectApi extends KubernetesObjectApi {
  constructor(
    configuration: Configuration,
    private readonly namespace: string,
  ) {
    super(configuration);
    this.defaultNamespace = namespace;
  }

  protected override async specUriPath(spec: KubernetesObject, action: string): Promise<string> {
    const key: ObjectKey = {
      apiVersion: spec.apiVersion ?? 'v1',
      kind: spec.kind ?? '',
      name: action === 'create' || action === 'list' ? undefined : spec.metadata?.name,
      namespace: spec.metadata?.namespace,
    };
    // A list without a namespace is across all namespaces.
    if (action === 'list' && !key.namespace) return resourcePath(key, '').replace(/\/namespaces\/[^/]*\//, '/');
    return resourcePath(key, this.namespace);
  }

  protected override async processResponse<T extends KubernetesObject>(response: ResponseContext): Promise<T> {
    const text = await response.body.text();
    const parsed = parseBody(text);
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return parsed as T;
    throw new ApiException(response.httpStatusCode, `HTTP ${response.httpStatusCode}`, parsed ?? text, response.headers);
  }

  /** A request built by the caller, through the same auth, middleware and answer handling. */
  send<T>(ctx: RequestContext): Promise<T> {
    return this.requestPromise(ctx) as Promise<T>;
  }
}

/** client-node's ApiException as a KubeApiError (Status reason, message and causes). */
export function kubeApiErrorFrom(err: ApiException<unknown>, what: string): KubeApiError {
  const body = typeof err.body === 'string' ? (parseBody(err.body) ?? err.body) : err.body;
  const st = (body && typeof body === 'object' ? body : {}) as { reason?: string; message?: string; details?: { causes?: StatusCause[] } };
  const headers = (err.headers ?? {}) as Record<string, string>;
  const retryAfter = Number(headers['retry-after']);
  return new KubeApiError(
    err.code,
    st.reason ?? '',
    st.message ?? `${what}: HTTP ${err.code} ${typeof body === 'string' ? body.slice(0, 200) : ''}`.trimEnd(),
    st.details?.causes ?? [],
    Number.isFinite(retryAfter) && headers['retry-after'] !== undefined ? retryAfter : undefined,
  );
}

export class KubeClient {
  readonly namespace: string;
  readonly server: string;
  private readonly timeoutMs: number;
  private readonly fieldManager: string;
  private readonly agent: https.Agent | http.Agent;
  private readonly configuration: Configuration;
  private readonly api: ObjectApi;

  constructor(
    readonly config: ResolvedKubeconfig,
    opts: KubeClientOptions = {},
  ) {
    registerIdentitySerializers();
    this.server = config.server;
    this.namespace = config.namespace;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.fieldManager = opts.fieldManager ?? 'fullstackagent';
    // One keep-alive pool per client (= per user and kubeconfig version), with the TLS
    // material of the kubeconfig's current context.
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
    const perRequest = {
      // Runs after KubeConfig has set the credentials on the request.
      pre: async (ctx: RequestContext) => {
        ctx.setAgent(this.agent);
        ctx.setSignal(AbortSignal.timeout(this.timeoutMs));
        if (config.tokenFile && config.token) ctx.setHeaderParam('Authorization', `Bearer ${config.token()}`);
        return ctx;
      },
      post: async (rsp: ResponseContext) => rsp,
    };
    this.configuration = createConfiguration({
      baseServer: new ServerConfiguration(config.server, {}),
      authMethods: { default: config.kubeConfig },
      promiseMiddleware: [perRequest],
    });
    this.api = new ObjectApi(this.configuration, config.namespace);
  }

  /** Closes idle keep-alive connections (when the client is dropped). */
  close(): void {
    this.agent.destroy();
  }

  /** Runs one client-node call; its failures come back as KubeApiError / KubeTimeoutError. */
  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        // node-fetch 2 on Node 20 sometimes fails a complete chunked answer with "Premature
        // close" (seen under load in the benchmark); every call here is idempotent (GET,
        // apply, delete; a repeated create answers 409), so try again at once.
        if (attempt < 3 && isPrematureClose(err)) continue;
        throw this.mapError(err, what);
      }
    }
  }

  private mapError(err: unknown, what: string): unknown {
    if (err instanceof ApiException) return kubeApiErrorFrom(err, what);
    if (err instanceof AbortError || (err as Error | null)?.name === 'AbortError') return new KubeTimeoutError(what, this.timeoutMs);
    return err;
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const ctx = this.configuration.baseServer.makeRequestContext(path, method as HttpMethod);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) ctx.setQueryParam(k, v);
    ctx.setHeaderParam('Accept', 'application/json');
    if (opts.body !== undefined) {
      ctx.setHeaderParam('Content-Type', opts.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(opts.body));
    }
    return this.run(`${method} ${path}`, () => this.api.send<T>(ctx));
  }

  /** Server-side apply: one request that creates or updates; fields this manager stops sending are removed. */
  apply<T extends KubeObject>(obj: T): Promise<T> {
    return this.run(`PATCH ${resourcePath(keyOf(obj), this.namespace)}`, () =>
      this.api.patch(obj as KubernetesObject, undefined, undefined, this.fieldManager, true, PatchStrategy.ServerSideApply) as Promise<T>,
    );
  }

  create<T extends KubeObject>(obj: T): Promise<T> {
    return this.run(`POST ${resourcePath({ ...keyOf(obj), name: undefined }, this.namespace)}`, () => this.api.create(obj as KubernetesObject) as Promise<T>);
  }

  /** The object, or null when it does not exist. */
  async get<T extends KubeObject>(key: ObjectKey): Promise<T | null> {
    try {
      return await this.run(`GET ${resourcePath(key, this.namespace)}`, () =>
        this.api.read({ apiVersion: key.apiVersion, kind: key.kind, metadata: { name: key.name!, namespace: key.namespace } }) as Promise<T>,
      );
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return null;
      throw err;
    }
  }

  async list<T extends KubeObject>(key: Omit<ObjectKey, 'name'>, opts: { labelSelector?: string; allNamespaces?: boolean } = {}): Promise<T[]> {
    const namespace = opts.allNamespaces ? undefined : (key.namespace ?? this.namespace);
    const res = await this.run(`GET ${resourcePath(key, this.namespace)}`, () =>
      this.api.list<T & KubernetesObject>(key.apiVersion, key.kind, namespace, undefined, undefined, undefined, undefined, opts.labelSelector),
    );
    // Lists omit apiVersion/kind on items; put them back so items can be passed on as keys.
    return res.items.map((i) => ({ ...i, apiVersion: key.apiVersion, kind: key.kind }));
  }

  mergePatch<T extends KubeObject>(key: ObjectKey, patch: unknown, subresource?: string): Promise<T> {
    return this.request<T>('PATCH', resourcePath(key, this.namespace, subresource), { body: patch, contentType: PatchStrategy.MergePatch });
  }

  /** Deletes; false when it was already gone. Background propagation: owned objects follow. */
  async delete(key: ObjectKey): Promise<boolean> {
    try {
      await this.run(`DELETE ${resourcePath(key, this.namespace)}`, () =>
        this.api.delete({ apiVersion: key.apiVersion, kind: key.kind, metadata: { name: key.name, namespace: key.namespace } }, undefined, undefined, undefined, undefined, 'Background'),
      );
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return false;
      throw err;
    }
  }
}

function isPrematureClose(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e?.code === 'ERR_STREAM_PREMATURE_CLOSE' || /Premature close/.test(String(e?.message ?? ''));
}

export function keyOf(obj: KubeObject): ObjectKey {
  return { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace };
}

/** Parses a kubeconfig (YAML or JSON text); throws an Error naming what is wrong. */
export function loadKubeConfig(text: string): ResolvedKubeconfig {
  return parseKubeconfig(text);
}
