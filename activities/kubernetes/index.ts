// The lifecycle activities that touch Kubernetes (every LifecycleActivities method except
// recordStatus). Each is idempotent: writes are server-side apply (create-or-patch in one
// request), deleting what is gone succeeds, and errors are mapped for Temporal's retry
// policy in errors.ts. Secrets are loaded here, never passed in workflow inputs.
import type { Logger } from 'pino';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ProjectRef } from '../../common/lifecycle';
import { LABELS, resourceNames } from '../../common/names';
import { databaseStatusFromClusterPhase, sandboxStatusFromStatefulSet, type ResourceStatus } from '../../common/status';
import { RUNTIME_IMAGE } from '../../common/versions';
import type { Cipher } from '../../server/crypto';
import type { Db } from '../../server/db';
import type { EgressPolicy } from '../../server/egress';
import type { DatabaseObservation, LifecycleActivities, ProjectWatchResult, SandboxObservation, SandboxUrls } from '../types';
import { readAppActivity } from './app-activity';
import { mapKubeError, nonRetryable } from './errors';
import { isSandboxHost, normalizeDomain, randomHostLabel } from './hosts';
import { KubeApiError, type KubeClient, type KubeObject, type ObjectKey } from './kube-client';
import {
  databaseCluster,
  databaseRole,
  databaseRoleBinding,
  databaseServiceAccount,
  databaseUrlFromSecret,
  sandboxIngress,
  sandboxSecret,
  sandboxService,
  sandboxStatefulSet,
  secretDigest,
  secretEnvData,
  type EnvVar,
} from './manifests';
import { createUserClients, type UserClients } from './user-clients';
import { SharedWatches } from './shared-watches';

export type KubernetesActivities = Omit<LifecycleActivities, 'recordStatus'>;

export interface KubernetesActivitiesDeps {
  db: Db;
  cipher: Cipher;
  /** Ingress hostnames are `<12 random chars>.<clusterDomain>`. */
  clusterDomain: string;
  /** Admin kubeconfig (text or path) of the embedded cluster; enables a namespace per new user. */
  adminKubeconfig?: string;
  /** Where user clusters may be (default: public addresses and the admin cluster). */
  egress?: EgressPolicy;
  logger: Logger;
  /** Per-request timeout (default 10 s): a hung API server becomes a retryable error. */
  requestTimeoutMs?: number;
  ingressClassName?: string;
  /** Scheme of the public URLs (default https). */
  urlScheme?: 'http' | 'https';
  /** Port of the public URLs, when the ingress is not on the scheme's default port. */
  urlPort?: number;
  /** Reuse an existing per-user client cache (e.g. shared with other code). */
  userClients?: UserClients;
  /**
   * The watches the waits share (one set per user namespace); the owner closes it on
   * shutdown. Default: one of this instance's, whose watches close a minute after their
   * last wait.
   */
  sharedWatches?: SharedWatches;
}

const STATEFULSET = { apiVersion: 'apps/v1', kind: 'StatefulSet' } as const;
const CLUSTER = { apiVersion: 'apps.kubeblocks.io/v1alpha1', kind: 'Cluster' } as const;
const SECRET = { apiVersion: 'v1', kind: 'Secret' } as const;
const INGRESS = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' } as const;
const POD = { apiVersion: 'v1', kind: 'Pod' } as const;

/** Every kind a project owns, in deletion order (workloads first, storage last). */
const PROJECT_KINDS: Array<Omit<ObjectKey, 'name' | 'namespace'>> = [
  STATEFULSET,
  CLUSTER,
  INGRESS,
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role' },
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  SECRET,
  { apiVersion: 'v1', kind: 'ConfigMap' },
  POD,
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
];

/** Secret UserConfig values always encrypted at rest, whatever their isSecret flag says. */
const ALWAYS_ENCRYPTED = new Set(['KUBECONFIG', 'ANTHROPIC_API_KEY']);
/** Platform variables that always go into the project's env Secret, never into the StatefulSet. */
const PLATFORM_SECRETS = new Set(['DATABASE_URL', 'TTYD_ACCESS_TOKEN', 'ANTHROPIC_API_KEY']);
const OWNER_ENV_KEYS = ['ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL'];

/** The labels of the pods of the project's StatefulSet, and the selector of them. */
const podSelectorLabels = (ref: ProjectRef) => ({ [LABELS.app]: resourceNames(ref.k8sName).statefulSet, [LABELS.projectId]: ref.projectId });
const podSelector = (ref: ProjectRef) =>
  Object.entries(podSelectorLabels(ref))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

type Sts = KubeObject & {
  spec?: { replicas?: number };
  status?: { observedGeneration?: number; readyReplicas?: number; currentReplicas?: number; updatedReplicas?: number };
};
type Pod = KubeObject & {
  status?: {
    phase?: string;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
    containerStatuses?: Array<{ name: string; state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } } }>;
  };
};
type Ing = KubeObject & { spec?: { rules?: Array<{ host?: string }> } };
type Secret = KubeObject & { data?: Record<string, string> };
type ClusterObj = KubeObject & { spec?: { componentSpecs?: Array<{ replicas?: number }> }; status?: { phase?: string; message?: unknown } };

/** The sandbox's status from its StatefulSet (null: missing) and pods, with the reason when not settled. */
export function deriveSandbox(sts: Sts | null, pods: Pod[], stsName: string): { status: ResourceStatus; reason?: string } {
  if (!sts) return { status: pods.length ? 'TERMINATING' : 'TERMINATED' };
  const specReplicas = sts.spec?.replicas ?? 1;
  const derived = sandboxStatusFromStatefulSet({
    exists: true,
    specReplicas,
    readyReplicas: sts.status?.readyReplicas ?? 0,
    currentReplicas: sts.status?.currentReplicas ?? 0,
    updatedReplicas: sts.status?.updatedReplicas ?? 0,
    podCount: pods.length,
    generationObserved: (sts.status?.observedGeneration ?? 0) >= (sts.metadata.generation ?? 1),
    readyPods: pods.filter((p) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length,
  });
  const status = sts.metadata.deletionTimestamp ? 'TERMINATING' : derived;
  if (status === 'RUNNING' || status === 'STOPPED') return { status };
  // What the kubelet says about the container comes first (ErrImagePull: …, CrashLoopBackOff: …):
  // it is what a user can act on; the pod conditions only say "not ready".
  const containers = pods.flatMap((p) =>
    (p.status?.containerStatuses ?? []).flatMap((c) => {
      const w = c.state?.waiting;
      if (w?.reason && w.reason !== 'ContainerCreating') return [`${p.metadata.name}/${c.name}: ${w.reason}${w.message ? `: ${w.message.slice(0, 200)}` : ''}`];
      const t = c.state?.terminated;
      return t ? [`${p.metadata.name}/${c.name}: terminated (${t.reason ?? 'exit'} ${t.exitCode ?? ''})`.trim()] : [];
    }),
  );
  const conditions = pods.flatMap((p) =>
    (p.status?.conditions ?? []).filter((c) => c.status !== 'True' && c.message).map((c) => `${p.metadata.name}: ${c.type} ${c.reason ?? ''} ${c.message}`),
  );
  const notReady = [...containers, ...conditions].slice(0, 3);
  return {
    status,
    reason: `StatefulSet ${stsName}: ${sts.status?.readyReplicas ?? 0}/${specReplicas} ready, ${pods.length} pod(s)` + (notReady.length ? `; ${notReady.join('; ')}` : ''),
  };
}

/** The database's status from its KubeBlocks Cluster (null: missing). */
export function deriveDatabase(cluster: ClusterObj | null, clusterName: string): { status: ResourceStatus; reason?: string } {
  if (!cluster) return { status: 'TERMINATED' };
  const replicas = (cluster.spec?.componentSpecs ?? []).reduce((n, s) => n + (s.replicas ?? 1), 0);
  const phase = cluster.metadata.deletionTimestamp && !cluster.status?.phase ? 'Deleting' : cluster.status?.phase;
  const status = databaseStatusFromClusterPhase(phase, replicas);
  if (status === 'RUNNING' || status === 'STOPPED') return { status };
  const message = typeof cluster.status?.message === 'string' ? cluster.status.message : cluster.status?.message ? JSON.stringify(cluster.status.message) : '';
  return { status, reason: `Cluster ${clusterName} phase is ${phase ?? 'not set yet'}${status === 'ERROR' && message ? `: ${message.slice(0, 300)}` : ''}` };
}

/** The activity's cancellation (absent when called outside an activity, e.g. in tests). */
function activitySignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

function describe(key: ObjectKey, namespace: string): string {
  return `${key.kind} ${key.namespace ?? namespace}/${key.name}`;
}

export function createKubernetesActivities(deps: KubernetesActivitiesDeps): KubernetesActivities {
  const { db, cipher, logger } = deps;
  const clients = deps.userClients ?? createUserClients({ db, cipher, adminKubeconfig: deps.adminKubeconfig, egress: deps.egress, logger, requestTimeoutMs: deps.requestTimeoutMs });
  const ingressClassName = deps.ingressClassName ?? 'nginx';
  const scheme = deps.urlScheme ?? 'https';
  const domain = normalizeDomain(deps.clusterDomain);
  const watches = deps.sharedWatches ?? new SharedWatches();

  /** Runs one API call; errors come back mapped and naming the object. */
  async function call<T>(client: KubeClient, key: ObjectKey, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      // Right after a namespace is provisioned the quota controller has not computed its
      // ResourceQuota's usage yet and admission answers 403 "status unknown for quota":
      // that fixes itself within moments, unlike a real refusal.
      if (err instanceof KubeApiError && err.status === 403 && /status unknown for quota/i.test(err.message)) {
        throw new Error(`${describe(key, client.namespace)}: ${err.message} (the namespace's quota is being computed; transient, will retry)`);
      }
      throw mapKubeError(err, describe(key, client.namespace));
    }
  }
  const apply = (client: KubeClient, obj: KubeObject) =>
    call(client, { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace }, () => client.apply(obj));
  const get = <T extends KubeObject>(client: KubeClient, key: ObjectKey) => call(client, key, () => client.get<T>(key));

  /**
   * The project's row, or a non-retryable NotFound: every activity that creates or starts
   * something in the cluster calls this first (before provisioning a namespace even), so a
   * late or retried activity of a deleted project cannot bring its objects back. Deleting
   * and observing do not need the row.
   */
  async function loadProject(ref: ProjectRef, doing: string) {
    const project = await db.project.findUnique({ where: { id: ref.projectId }, select: { id: true, name: true, userId: true } });
    if (!project) {
      throw nonRetryable(
        `project ${ref.projectId} no longer exists in the database (it was deleted); refusing to ${doing} for it, only deleting its objects is allowed`,
        'NotFound',
      );
    }
    return project;
  }

  function decryptField(what: string, value: string): string {
    try {
      return cipher.decrypt(value);
    } catch {
      throw nonRetryable(`${what} cannot be decrypted (was ENCRYPTION_KEY changed?)`, 'InvalidSpec');
    }
  }

  /**
   * The container env: project variables, then the platform's (which win on a clash).
   * `secret` marks what goes into the env Secret: secret project variables, secret owner
   * settings, DATABASE_URL, TTYD_ACCESS_TOKEN and ANTHROPIC_API_KEY.
   */
  async function buildEnv(ref: ProjectRef, client: KubeClient, projectName: string, ttydToken: string): Promise<EnvVar[]> {
    const [rows, ownerConfigs, databases] = await Promise.all([
      db.environment.findMany({ where: { projectId: ref.projectId } }),
      db.userConfig.findMany({ where: { userId: ref.ownerId, key: { in: OWNER_ENV_KEYS } } }),
      db.database.findMany({ where: { projectId: ref.projectId }, select: { databaseName: true } }),
    ]);
    const env = new Map<string, { value: string; secret: boolean }>();
    const set = (name: string, value: string, secret: boolean) => env.set(name, { value, secret: secret || PLATFORM_SECRETS.has(name) });
    for (const r of rows) set(r.key, r.isSecret ? decryptField(`environment variable ${r.key}`, r.value) : r.value, r.isSecret);
    for (const c of ownerConfigs) {
      const encrypted = c.isSecret || ALWAYS_ENCRYPTED.has(c.key);
      set(c.key, encrypted ? decryptField(`user setting ${c.key}`, c.value) : c.value, encrypted);
    }
    const secretKey = { ...SECRET, name: resourceNames(ref.k8sName).clusterCredentialSecret, namespace: client.namespace };
    const secret = await get<KubeObject & { data?: Record<string, string> }>(client, secretKey);
    if (secret?.data) {
      try {
        set('DATABASE_URL', databaseUrlFromSecret(secret.data, databases[0]?.databaseName ?? 'postgres'), true);
      } catch (err) {
        throw new Error(`${describe(secretKey, client.namespace)}: ${(err as Error).message}; will retry`);
      }
    } else if (databases.length > 0) {
      // The project has a database whose credentials are not written yet: wait for them
      // rather than start a sandbox without DATABASE_URL.
      throw new Error(`${describe(secretKey, client.namespace)} does not exist yet (the database is still being created); will retry`);
    }
    set('PROJECT_NAME', projectName, false);
    set('TTYD_ACCESS_TOKEN', ttydToken, true);
    return [...env].map(([name, v]) => ({ name, value: v.value, secret: v.secret }));
  }

  async function ingressHost(client: KubeClient, key: ObjectKey): Promise<string> {
    const existing = await get<KubeObject & { spec?: { rules?: Array<{ host?: string }> } }>(client, key);
    const host = existing?.spec?.rules?.[0]?.host;
    // Keep the URL stable across re-ensures; a host the platform did not make is replaced.
    if (isSandboxHost(host, domain)) return host;
    return `${randomHostLabel()}.${domain}`;
  }

  /**
   * The Ingress's host when it is one the platform made; a host edited in the user's cluster
   * is never published nor connected to (null: the workflow keeps the URLs it knows, and the
   * next start restores the Ingress).
   */
  function platformHost(ref: ProjectRef, ingress: Ing | null): string | null {
    const host = ingress?.spec?.rules?.[0]?.host;
    if (host === undefined || isSandboxHost(host, domain)) return host ?? null;
    logger.warn({ projectId: ref.projectId, ingress: ingress?.metadata.name }, 'an Ingress host was changed outside the platform; it is ignored and restored on the next start');
    return null;
  }

  const portSuffix = deps.urlPort ? `:${deps.urlPort}` : '';
  const urlOf = (host: string | undefined | null) => (host ? `${scheme}://${host}${portSuffix}` : null);

  /** What the workflow is told of the sandbox, from its objects (read now, or from the shared watches). */
  function sandboxObservation(ref: ProjectRef, sts: Sts | null, pods: Pod[], appIng: Ing | null, ttydIng: Ing | null): SandboxObservation {
    const derived = deriveSandbox(sts, pods, resourceNames(ref.k8sName).statefulSet);
    const obs: SandboxObservation = { status: derived.status, publicUrl: urlOf(platformHost(ref, appIng)), ttydUrl: urlOf(platformHost(ref, ttydIng)) };
    if (derived.reason) obs.reason = derived.reason;
    return obs;
  }

  /** What the workflow is told of the database: its status and the credentials' host and port. */
  function databaseObservation(ref: ProjectRef, cluster: ClusterObj | null, secret: Secret | null): DatabaseObservation {
    const derived = deriveDatabase(cluster, resourceNames(ref.k8sName).cluster);
    if (!cluster) return { status: derived.status };
    const obs: DatabaseObservation = { status: derived.status };
    const decode = (k: string) => (secret?.data?.[k] ? Buffer.from(secret.data[k], 'base64').toString('utf8') : undefined);
    const host = decode('host');
    const port = Number(decode('port'));
    if (host) obs.host = host;
    if (Number.isInteger(port) && port > 0) obs.port = port;
    if (derived.reason) obs.reason = derived.reason;
    return obs;
  }

  const activities: KubernetesActivities = {
    async ensureDatabase(ref) {
      await loadProject(ref, 'create its database');
      const client = await clients.forUser(ref.ownerId);
      const ns = client.namespace;
      const db0 = await db.database.findFirst({ where: { projectId: ref.projectId }, select: { storageSize: true } });
      await apply(client, databaseServiceAccount(ref, ns));
      await apply(client, databaseRole(ref, ns));
      await apply(client, databaseRoleBinding(ref, ns));
      await apply(client, databaseCluster({ ref, namespace: ns, replicas: 1, storageSize: db0?.storageSize ?? '1Gi' }));
      logger.debug({ projectId: ref.projectId, namespace: ns }, 'database ensured');
    },

    async scaleDatabase(ref, replicas) {
      if (replicas > 0) await loadProject(ref, 'start its database');
      const client = await clients.forUser(ref.ownerId);
      const key = { ...CLUSTER, name: resourceNames(ref.k8sName).cluster, namespace: client.namespace };
      const cluster = await get<KubeObject & { spec?: { componentSpecs?: Array<{ replicas?: number }> } }>(client, key);
      if (!cluster || cluster.metadata.deletionTimestamp) return;
      const specs = cluster.spec?.componentSpecs ?? [];
      if (specs.every((s) => s.replicas === replicas)) return;
      // componentSpecs is an atomic list on the CRD: a JSON patch changes only the replicas.
      const patch = specs.map((_, i) => ({ op: 'replace', path: `/spec/componentSpecs/${i}/replicas`, value: replicas }));
      try {
        await client.request('PATCH', `/apis/apps.kubeblocks.io/v1alpha1/namespaces/${encodeURIComponent(client.namespace)}/clusters/${encodeURIComponent(key.name)}`, {
          body: patch,
          contentType: 'application/json-patch+json',
        });
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 404) return;
        throw mapKubeError(err, describe(key, client.namespace));
      }
    },

    async observeDatabase(ref): Promise<DatabaseObservation> {
      const client = await clients.forUser(ref.ownerId);
      const names = resourceNames(ref.k8sName);
      const [cluster, secret] = await Promise.all([
        get<ClusterObj>(client, { ...CLUSTER, name: names.cluster, namespace: client.namespace }),
        get<Secret>(client, { ...SECRET, name: names.clusterCredentialSecret, namespace: client.namespace }),
      ]);
      return databaseObservation(ref, cluster, secret);
    },

    async ensureSandbox(ref) {
      const project = await loadProject(ref, 'create its sandbox');
      const client = await clients.forUser(ref.ownerId);
      const sandbox = await db.sandbox.findFirst({ where: { projectId: ref.projectId }, orderBy: { createdAt: 'asc' } });
      if (!sandbox) throw nonRetryable(`project ${ref.projectId} has no Sandbox row`, 'NotFound');
      const ttydToken = decryptField(`the ttyd access token of project ${ref.projectId}`, sandbox.ttydAccessToken);
      const env = await buildEnv(ref, client, project.name, ttydToken);
      // Secret values go into the project's env Secret, written first (a pod must never
      // start with a reference to a key that is not there yet); the StatefulSet references
      // them and carries only a keyed digest of them, so a changed secret rolls the pod.
      // Server-side apply by one field manager: a key or env var no longer sent is removed.
      await apply(client, sandboxSecret({ ref, namespace: client.namespace, env }));
      await apply(
        client,
        sandboxStatefulSet({
          ref,
          namespace: client.namespace,
          image: sandbox.runtimeImage || RUNTIME_IMAGE,
          env,
          secretDigest: secretDigest(secretEnvData(env), ttydToken),
          cpuRequest: sandbox.cpuRequest,
          memoryRequest: sandbox.memoryRequest,
          replicas: 1,
        }),
      );
      logger.debug({ projectId: ref.projectId, namespace: client.namespace, envCount: env.length }, 'sandbox ensured');
    },

    async ensureSandboxNetwork(ref): Promise<SandboxUrls> {
      await loadProject(ref, 'create its Service and Ingresses');
      const client = await clients.forUser(ref.ownerId);
      const ns = client.namespace;
      const names = resourceNames(ref.k8sName);
      await apply(client, sandboxService(ref, ns));
      const [appHost, ttydHost] = await Promise.all([
        ingressHost(client, { ...INGRESS, name: names.appIngress, namespace: ns }),
        ingressHost(client, { ...INGRESS, name: names.ttydIngress, namespace: ns }),
      ]);
      await apply(client, sandboxIngress({ ref, namespace: ns, which: 'app', host: appHost, ingressClassName }));
      await apply(client, sandboxIngress({ ref, namespace: ns, which: 'ttyd', host: ttydHost, ingressClassName }));
      return { publicUrl: urlOf(appHost)!, ttydUrl: urlOf(ttydHost)! };
    },

    async scaleSandbox(ref, replicas) {
      if (replicas > 0) await loadProject(ref, 'start its sandbox');
      const client = await clients.forUser(ref.ownerId);
      const key = { ...STATEFULSET, name: resourceNames(ref.k8sName).statefulSet, namespace: client.namespace };
      try {
        await client.mergePatch(key, { spec: { replicas } });
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 404) return; // nothing to scale
        throw mapKubeError(err, describe(key, client.namespace));
      }
    },

    async observeSandbox(ref): Promise<SandboxObservation> {
      const client = await clients.forUser(ref.ownerId);
      const ns = client.namespace;
      const names = resourceNames(ref.k8sName);
      const stsKey = { ...STATEFULSET, name: names.statefulSet, namespace: ns };
      const [sts, pods, appIng, ttydIng] = await Promise.all([
        get<Sts>(client, stsKey),
        call(client, { ...POD, name: `(pods of ${names.statefulSet})`, namespace: ns }, () => client.list<Pod>(POD, { labelSelector: podSelector(ref) })),
        get<Ing>(client, { ...INGRESS, name: names.appIngress, namespace: ns }),
        get<Ing>(client, { ...INGRESS, name: names.ttydIngress, namespace: ns }),
      ]);
      return sandboxObservation(ref, sts, pods, appIng, ttydIng);
    },

    async awaitProjectChange(ref, request): Promise<ProjectWatchResult> {
      const client = await clients.forUser(ref.ownerId);
      const ns = client.namespace;
      const names = resourceNames(ref.k8sName);
      const cancelled = activitySignal();
      let changed = false;
      let started = false;
      let wake: (() => void) | undefined;
      const deviates = (allowed: ResourceStatus[] | undefined, status: ResourceStatus) => !!allowed && !allowed.includes(status);
      // The namespace's sets, shared with the other waits of this worker; this project's
      // objects are picked out by name and by the pod selector.
      const check = () => {
        if (!started || changed) return;
        const sandbox = stsLease && podLease ? deriveSandbox((stsLease.watch.items.get(names.statefulSet) as Sts | undefined) ?? null, projectPods(podLease.watch.items.values()), names.statefulSet).status : undefined;
        const database = clusterLease ? deriveDatabase((clusterLease.watch.items.get(names.cluster) as ClusterObj | undefined) ?? null, names.cluster).status : undefined;
        if ((sandbox && deviates(request.sandbox, sandbox)) || (database && deviates(request.database, database))) {
          changed = true;
          wake?.();
        }
      };
      const podLabels = podSelectorLabels(ref);
      const projectPods = (all: Iterable<KubeObject>) => [...all].filter((p) => Object.entries(podLabels).every(([k, v]) => p.metadata.labels?.[k] === v)) as Pod[];
      const stsLease = request.sandbox ? watches.acquire<Sts>(client, STATEFULSET, LABELS.projectId, check) : undefined;
      const podLease = request.sandbox ? watches.acquire<Pod>(client, POD, LABELS.projectId, check) : undefined;
      const clusterLease = request.database ? watches.acquire<ClusterObj>(client, CLUSTER, LABELS.projectId, check) : undefined;
      // For the URLs of the answer only (no status of its own).
      const ingressLease = request.sandbox ? watches.acquire<Ing>(client, INGRESS, LABELS.projectId, () => undefined) : undefined;
      const leases = [stsLease, podLease, clusterLease, ingressLease].filter((l) => l !== undefined);
      // A change is answered from the sets that showed it (they are as new as its event);
      // a wait that saw none reads afresh, the safety resync of the sets.
      const fromSets = () => ({
        sandbox:
          stsLease && podLease && ingressLease
            ? sandboxObservation(
                ref,
                stsLease.watch.items.get(names.statefulSet) ?? null,
                projectPods(podLease.watch.items.values()),
                ingressLease.watch.items.get(names.appIngress) ?? null,
                ingressLease.watch.items.get(names.ttydIngress) ?? null,
              )
            : undefined,
        cluster: clusterLease ? (clusterLease.watch.items.get(names.cluster) ?? null) : undefined,
      });
      let seen: ReturnType<typeof fromSets> | undefined;
      let timer: NodeJS.Timeout | undefined;
      let onCancel: (() => void) | undefined;
      try {
        await new Promise<void>((resolve, reject) => {
          wake = resolve;
          timer = setTimeout(resolve, request.maxWaitMs);
          onCancel = () => resolve();
          if (cancelled?.aborted) return resolve();
          cancelled?.addEventListener('abort', onCancel, { once: true });
          for (const l of leases) l.watch.done.catch(reject);
          Promise.all(leases.map((l) => l.watch.ready)).then(() => {
            started = true;
            check();
          }, reject);
        });
        if (changed) seen = fromSets();
      } catch (err) {
        throw mapKubeError(err, `the watch of ${names.statefulSet} / ${names.cluster} in ${ns}`);
      } finally {
        clearTimeout(timer);
        if (onCancel) cancelled?.removeEventListener('abort', onCancel);
        for (const l of leases) l.release();
      }
      // Cancelled: the workflow no longer waits for the answer.
      if (cancelled?.aborted) throw cancelled.reason ?? new Error('cancelled');
      // The credentials' host and port are read now (Secrets are not watched).
      const databaseFrom = async (cluster: ClusterObj | null) =>
        databaseObservation(ref, cluster, cluster ? await get<Secret>(client, { ...SECRET, name: names.clusterCredentialSecret, namespace: ns }) : null);
      const [sandbox, database] = await Promise.all([
        request.sandbox ? (seen?.sandbox ?? activities.observeSandbox(ref)) : undefined,
        request.database ? (seen && seen.cluster !== undefined ? databaseFrom(seen.cluster) : activities.observeDatabase(ref)) : undefined,
      ]);
      return { changed, ...(sandbox ? { sandbox } : {}), ...(database ? { database } : {}) };
    },

    async observeAppActivity(ref, since) {
      return readAppActivity(await clients.forUser(ref.ownerId), ref, since, logger);
    },

    async deleteProjectResources(ref) {
      const client = await clients.forUser(ref.ownerId);
      const ns = client.namespace;
      const selector = `${LABELS.projectId}=${ref.projectId}`;
      for (const kind of PROJECT_KINDS) {
        const items = await call(client, { ...kind, name: `(labelled ${selector})`, namespace: ns }, () => client.list(kind, { labelSelector: selector }));
        for (const item of items) {
          if (item.metadata.deletionTimestamp) continue;
          const key = { ...kind, name: item.metadata.name, namespace: ns };
          await call(client, key, () => client.delete(key)); // false (already gone) is success
        }
      }
      logger.debug({ projectId: ref.projectId, namespace: ns }, 'project resources deleted');
    },
  };

  // Name every failure after the activity as well; ApplicationFailures keep their type.
  for (const [name, fn] of Object.entries(activities) as Array<[keyof KubernetesActivities, (...a: unknown[]) => Promise<unknown>]>) {
    (activities as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        // A cancellation the workflow asked for (a new intent ends a watch) is no failure;
        // a heartbeat timeout or a lost worker (TIMED_OUT, WORKER_SHUTDOWN) still is.
        if (err instanceof CancelledFailure && err.message === 'CANCELLED') logger.debug({ activity: name }, 'kubernetes activity cancelled');
        else if (!(err instanceof ApplicationFailure)) logger.warn({ activity: name, err: (err as Error).message }, 'kubernetes activity failed (retryable)');
        throw err;
      }
    };
  }
  return activities;
}
