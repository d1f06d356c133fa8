// SIMULATOR — stands in for the KubeBlocks operator, which cannot run on the local control
// plane. It drives apps.kubeblocks.io/v1alpha1 Cluster phases the way KubeBlocks does, so
// the production manifests and status mapping run unchanged:
//   new → Creating → Running (after `phaseDelayMs`);  replicas 0 → Stopping → Stopped;
//   replicas back to >0 → Updating → Running;  deletion → Deleting, then the finalizer goes.
// It writes `<cluster>-conn-credential` (username/password/host/port/endpoint) and the
// Service `<cluster>-postgresql` for the database host.
// With `database` set (the real node), a PostgreSQL really runs: a StatefulSet of the
// locally built image (cluster/images/postgresql) with a volume, and the phases follow its
// pod's readiness instead of a timer. Without it (kwok), no PostgreSQL runs.
import { randomBytes } from 'node:crypto';
import { KubeApiError, keyOf, type KubeClient, type KubeObject } from '../../activities/kubernetes/kube-client';
import { objectKey, startController, type Controller, type ReconcileTools } from './controller';
import { POSTGRESQL_IMAGE_UID } from '../images';

export const KUBEBLOCKS_FINALIZER = 'cluster.kubeblocks.io/finalizer';
const CLUSTER = { apiVersion: 'apps.kubeblocks.io/v1alpha1', kind: 'Cluster' } as const;

interface ClusterObject extends KubeObject {
  spec?: {
    componentSpecs?: Array<{
      name: string;
      replicas?: number;
      resources?: unknown;
      volumeClaimTemplates?: Array<{ spec?: { resources?: { requests?: { storage?: string } } } }>;
    }>;
  };
  status?: { phase?: string; observedGeneration?: number };
}

export interface KubeblocksSimulatorOptions {
  /** How long a transitional phase (Creating, Stopping, Updating, Deleting) lasts. */
  phaseDelayMs?: number;
  log?: (msg: string) => void;
  /** Run a real PostgreSQL of this image per Cluster (needs a node that runs containers). */
  database?: { image: string };
}

interface StatefulSetObject extends KubeObject {
  spec?: { replicas?: number };
  status?: { replicas?: number; readyReplicas?: number; observedGeneration?: number };
}

const STATEFULSET = { apiVersion: 'apps/v1', kind: 'StatefulSet' } as const;
const POD = { apiVersion: 'v1', kind: 'Pod' } as const;
const MANAGED = 'app.kubernetes.io/managed-by=kubeblocks';
const INSTANCE = 'app.kubernetes.io/instance';
/** A Service or Secret created this recently may not be in the cache yet: not created again. */
const OWNED_CACHE_GRACE_MS = 5_000;

/** What KubeBlocks would run for the Cluster: one PostgreSQL pod per replica, its data on a PVC. */
export function databaseStatefulSet(c: ClusterObject, image: string, replicas: number, labels: Record<string, string>, ownerReferences: Array<Record<string, unknown>>): KubeObject {
  const name = c.metadata.name;
  const component = c.spec?.componentSpecs?.[0];
  const storage = component?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage ?? '1Gi';
  return {
    ...STATEFULSET,
    metadata: { name: databaseServiceName(name), namespace: c.metadata.namespace, labels, ownerReferences },
    spec: {
      replicas,
      serviceName: databaseServiceName(name),
      selector: { matchLabels: { 'app.kubernetes.io/instance': name } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
      template: {
        metadata: { labels: { ...labels, 'app.kubernetes.io/instance': name } },
        spec: {
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 10,
          securityContext: {
            runAsUser: POSTGRESQL_IMAGE_UID,
            runAsGroup: POSTGRESQL_IMAGE_UID,
            fsGroup: POSTGRESQL_IMAGE_UID,
            // Only a fresh volume gets its ownership changed; a recursive pass on every start
            // would also widen the data folder's permissions.
            fsGroupChangePolicy: 'OnRootMismatch',
            runAsNonRoot: true,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'postgresql',
              image,
              imagePullPolicy: 'Never',
              ports: [{ name: 'tcp-postgresql', containerPort: 5432 }],
              // A subfolder: the volume's root gets group permissions from fsGroup, which PostgreSQL refuses for its data folder.
              env: [
                { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
                { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: credentialSecretName(name), key: 'password' } } },
              ],
              resources: component?.resources ?? { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '1Gi' } },
              readinessProbe: { exec: { command: ['pg_isready', '-q', '-h', '127.0.0.1', '-U', 'postgres'] }, periodSeconds: 1, failureThreshold: 3 },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
              volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }],
            },
          ],
        },
      },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } } }],
    },
  };
}

export function credentialSecretName(cluster: string): string {
  return `${cluster}-conn-credential`;
}
export function databaseServiceName(cluster: string): string {
  return `${cluster}-postgresql`;
}

export function startKubeblocksOperatorSimulator(client: KubeClient, opts: KubeblocksSimulatorOptions = {}): Controller {
  const delay = opts.phaseDelayMs ?? 1_000;
  const log = opts.log ?? (() => {});
  // When each Cluster (by uid) entered its current phase.
  const since = new Map<string, { phase: string; at: number }>();
  // When each Cluster's Service and Secret were last created (or found by a request).
  const owned = new Map<string, number>();
  // The Cluster generation whose StatefulSet this process applied.
  const applied = new Map<string, number | undefined>();
  type Tools = ReconcileTools<'clusters' | 'statefulsets' | 'pods' | 'services' | 'secrets'>;

  const setPhase = async (c: ClusterObject, phase: string) => {
    await client.mergePatch(
      { ...CLUSTER, name: c.metadata.name, namespace: c.metadata.namespace },
      { status: { phase, observedGeneration: c.metadata.generation, components: { postgresql: { phase } } } },
      'status',
    );
    // A pass on a cached object older than this write must not restart the phase's clock.
    if (since.get(c.metadata.uid!)?.phase !== phase) since.set(c.metadata.uid!, { phase, at: Date.now() });
  };
  /** How long the Cluster has been in its phase; with `t`, the pass runs again when `delay` is up. */
  const elapsed = (c: ClusterObject, t?: Tools) => {
    const s = since.get(c.metadata.uid!);
    let ms = Date.now() - (s?.at ?? 0);
    if (!s || s.phase !== (c.status?.phase ?? '')) {
      // Entered this phase before we saw it (e.g. simulator restarted): count from now.
      since.set(c.metadata.uid!, { phase: c.status?.phase ?? '', at: Date.now() });
      ms = 0;
    }
    if (t && ms < delay) t.requeueAfter(delay - ms + 5);
    return ms;
  };

  // From the informers' caches: an idle cluster costs no requests, and a Service or Secret
  // deleted by hand is a watch event that brings its Cluster back here.
  const ensureOwned = async (c: ClusterObject, t: Tools) => {
    const uid = c.metadata.uid!;
    const ns = c.metadata.namespace!;
    const name = c.metadata.name;
    const labels = { ...(c.metadata.labels ?? {}), [INSTANCE]: name, 'app.kubernetes.io/managed-by': 'kubeblocks' };
    const ownerReferences = [{ apiVersion: CLUSTER.apiVersion, kind: CLUSTER.kind, name, uid: c.metadata.uid, controller: true }];
    const host = `${databaseServiceName(name)}.${ns}.svc`;
    const objects: KubeObject[] = [
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: databaseServiceName(name), namespace: ns, labels, ownerReferences },
        spec: { type: 'ClusterIP', selector: { [INSTANCE]: name }, ports: [{ name: 'tcp-postgresql', port: 5432, targetPort: 5432 }] },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: credentialSecretName(name), namespace: ns, labels, ownerReferences },
        type: 'Opaque',
        stringData: { username: 'postgres', password: randomBytes(12).toString('hex'), host, port: '5432', endpoint: `${host}:5432` },
      },
    ];
    const cached = (o: KubeObject) => t.cache(o.kind === 'Service' ? 'services' : 'secrets').get(ns, o.metadata.name);
    if (objects.every(cached)) return;
    // Just created: its watch event is on the way; look again once it is due.
    if (Date.now() - (owned.get(uid) ?? 0) < OWNED_CACHE_GRACE_MS) return t.requeueAfter(OWNED_CACHE_GRACE_MS);
    for (const obj of objects) {
      if (cached(obj)) continue;
      // Look first: a create that ends in 409 is still charged to the namespace's quota until
      // the quota controller's next resync, so creating on every pass exhausts it.
      if (await client.get(keyOf(obj))) continue;
      try {
        await client.create(obj); // create, never update: the password must stay stable
      } catch (err) {
        if (!(err instanceof KubeApiError && err.status === 409)) throw err;
      }
    }
    owned.set(uid, Date.now());
  };

  const db = opts.database;
  const podsOf = (c: ClusterObject, t: Tools) =>
    t.cache('pods').list((p) => p.metadata.namespace === c.metadata.namespace && p.metadata.labels?.[INSTANCE] === c.metadata.name);

  /** The real database's StatefulSet, applied when it is missing or the Cluster changed since. */
  const applyDatabase = async (c: ClusterObject, replicas: number, t: Tools): Promise<StatefulSetObject> => {
    const cached = t.cache<StatefulSetObject>('statefulsets').get(c.metadata.namespace, databaseServiceName(c.metadata.name));
    const uid = c.metadata.uid!;
    if (cached && cached.spec?.replicas === replicas && applied.has(uid) && applied.get(uid) === c.metadata.generation) return cached;
    const labels = { ...(c.metadata.labels ?? {}), [INSTANCE]: c.metadata.name, 'app.kubernetes.io/managed-by': 'kubeblocks' };
    const ownerReferences = [{ apiVersion: CLUSTER.apiVersion, kind: CLUSTER.kind, name: c.metadata.name, uid: c.metadata.uid, controller: true }];
    const sts = await client.apply(databaseStatefulSet(c, db!.image, replicas, labels, ownerReferences) as StatefulSetObject);
    applied.set(uid, c.metadata.generation);
    return sts;
  };

  const reconcileReal = async (c: ClusterObject, replicas: number, t: Tools) => {
    const phase = c.status?.phase;
    const sts = await applyDatabase(c, replicas, t);
    const ready = sts.status?.readyReplicas ?? 0;
    if (replicas > 0) {
      if (ready >= replicas) {
        if (phase !== 'Running') return setPhase(c, 'Running');
      } else if (!phase || phase === 'Stopped' || phase === 'Stopping') {
        return setPhase(c, phase ? 'Updating' : 'Creating');
      } else if (phase === 'Running') {
        // A database pod that stopped answering: KubeBlocks reports the Cluster Abnormal.
        return setPhase(c, 'Abnormal');
      }
    } else {
      if (podsOf(c, t).length > 0) {
        if (phase !== 'Stopping') return setPhase(c, 'Stopping');
      } else if (phase !== 'Stopped') return setPhase(c, 'Stopped');
    }
    if (c.status?.observedGeneration !== c.metadata.generation && phase) await setPhase(c, phase);
  };

  const forget = (uid: string) => {
    since.delete(uid);
    owned.delete(uid);
    applied.delete(uid);
  };

  const reconcileOne = async (c: ClusterObject, t: Tools) => {
    const key = { ...CLUSTER, name: c.metadata.name, namespace: c.metadata.namespace };
    const phase = c.status?.phase;
    const finalizers = c.metadata.finalizers ?? [];

    if (c.metadata.deletionTimestamp) {
      if (phase !== 'Deleting') return setPhase(c, 'Deleting');
      const ns = c.metadata.namespace;
      if (db) {
        // Wait for the database pods to be gone (the StatefulSet deletes its PVC with it).
        if (t.cache('statefulsets').get(ns, databaseServiceName(c.metadata.name))) {
          await client.delete({ ...STATEFULSET, name: databaseServiceName(c.metadata.name), namespace: ns });
        }
        if (podsOf(c, t).length > 0) return;
      } else if (elapsed(c, t) < delay) return;
      await client.delete({ apiVersion: 'v1', kind: 'Service', name: databaseServiceName(c.metadata.name), namespace: ns });
      await client.delete({ apiVersion: 'v1', kind: 'Secret', name: credentialSecretName(c.metadata.name), namespace: ns });
      if (finalizers.includes(KUBEBLOCKS_FINALIZER)) {
        await client.mergePatch(key, { metadata: { finalizers: finalizers.filter((f) => f !== KUBEBLOCKS_FINALIZER) } });
      }
      forget(c.metadata.uid!);
      log(`[kubeblocks-simulator] ${c.metadata.namespace}/${c.metadata.name} deleted`);
      return;
    }

    if (!finalizers.includes(KUBEBLOCKS_FINALIZER)) {
      await client.mergePatch(key, { metadata: { finalizers: [...finalizers, KUBEBLOCKS_FINALIZER] } });
    }
    await ensureOwned(c, t);

    const replicas = (c.spec?.componentSpecs ?? []).reduce((n, s) => n + (s.replicas ?? 1), 0);
    if (db) return reconcileReal(c, replicas, t);
    if (replicas > 0) {
      if (!phase) return setPhase(c, 'Creating');
      if (phase === 'Stopped' || phase === 'Stopping') return setPhase(c, 'Updating');
      if ((phase === 'Creating' || phase === 'Updating') && elapsed(c, t) >= delay) return setPhase(c, 'Running');
    } else {
      if (!phase || phase === 'Creating' || phase === 'Running' || phase === 'Updating') return setPhase(c, 'Stopping');
      if (phase === 'Stopping' && elapsed(c, t) >= delay) return setPhase(c, 'Stopped');
    }
    if (c.status?.observedGeneration !== c.metadata.generation && phase) await setPhase(c, phase);
  };

  // The database's StatefulSet and pods concern their Cluster (same namespace, the instance label).
  const ownerKey = (o: KubeObject) => {
    const instance = o.metadata.labels?.[INSTANCE];
    return instance ? [`${o.metadata.namespace ?? ''}/${instance}`] : [];
  };
  return startController({
    name: 'kubeblocks-simulator',
    client,
    log,
    sources: {
      clusters: { kind: CLUSTER, keysOf: (o) => [objectKey(o)] },
      // Only the real database has these; on kwok the watches stay empty.
      statefulsets: { kind: STATEFULSET, labelSelector: MANAGED, keysOf: ownerKey },
      pods: { kind: POD, labelSelector: MANAGED, keysOf: ownerKey },
      services: { kind: { apiVersion: 'v1', kind: 'Service' }, labelSelector: MANAGED, keysOf: ownerKey },
      secrets: { kind: { apiVersion: 'v1', kind: 'Secret' }, labelSelector: MANAGED, keysOf: ownerKey },
    },
    async reconcile(key, t) {
      const [ns, name] = key.split('/') as [string, string];
      const c = t.cache<ClusterObject>('clusters').get(ns, name);
      if (c) await reconcileOne(c, t);
    },
  });
}
