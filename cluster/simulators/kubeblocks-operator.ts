// SIMULATOR — stands in for the KubeBlocks operator, which cannot run on the local control
// plane. It drives apps.kubeblocks.io/v1alpha1 Cluster phases the way KubeBlocks does, so
// the production manifests and status mapping run unchanged:
//   new → Creating → Running (after `phaseDelayMs`);  replicas 0 → Stopping → Stopped;
//   replicas back to >0 → Updating → Running;  deletion → Deleting, then the finalizer goes.
// It writes `<cluster>-conn-credential` (username/password/host/port/endpoint) and the
// Service `<cluster>-postgresql` for the database host. No PostgreSQL actually runs.
import { randomBytes } from 'node:crypto';
import { KubeApiError, type KubeClient, type KubeObject } from '../../activities/kubernetes/kube-client';
import { startPollLoop, type PollLoop } from './poll-loop';

export const KUBEBLOCKS_FINALIZER = 'cluster.kubeblocks.io/finalizer';
const CLUSTER = { apiVersion: 'apps.kubeblocks.io/v1alpha1', kind: 'Cluster' } as const;

interface ClusterObject extends KubeObject {
  spec?: { componentSpecs?: Array<{ name: string; replicas?: number }> };
  status?: { phase?: string; observedGeneration?: number };
}

export interface KubeblocksSimulatorOptions {
  /** How long a transitional phase (Creating, Stopping, Updating, Deleting) lasts. */
  phaseDelayMs?: number;
  intervalMs?: number;
  log?: (msg: string) => void;
}

export function credentialSecretName(cluster: string): string {
  return `${cluster}-conn-credential`;
}
export function databaseServiceName(cluster: string): string {
  return `${cluster}-postgresql`;
}

export function startKubeblocksOperatorSimulator(client: KubeClient, opts: KubeblocksSimulatorOptions = {}): PollLoop {
  const delay = opts.phaseDelayMs ?? 1_000;
  const log = opts.log ?? (() => {});
  // When each Cluster (by uid) entered its current phase.
  const since = new Map<string, { phase: string; at: number }>();

  const setPhase = async (c: ClusterObject, phase: string) => {
    await client.mergePatch(
      { ...CLUSTER, name: c.metadata.name, namespace: c.metadata.namespace },
      { status: { phase, observedGeneration: c.metadata.generation, components: { postgresql: { phase } } } },
      'status',
    );
    since.set(c.metadata.uid!, { phase, at: Date.now() });
  };
  const elapsed = (c: ClusterObject) => {
    const s = since.get(c.metadata.uid!);
    if (!s || s.phase !== c.status?.phase) {
      // Entered this phase before we saw it (e.g. simulator restarted): count from now.
      since.set(c.metadata.uid!, { phase: c.status?.phase ?? '', at: Date.now() });
      return 0;
    }
    return Date.now() - s.at;
  };

  const ensureOwned = async (c: ClusterObject) => {
    const ns = c.metadata.namespace!;
    const name = c.metadata.name;
    const labels = { ...(c.metadata.labels ?? {}), 'app.kubernetes.io/instance': name, 'app.kubernetes.io/managed-by': 'kubeblocks' };
    const ownerReferences = [{ apiVersion: CLUSTER.apiVersion, kind: CLUSTER.kind, name, uid: c.metadata.uid, controller: true }];
    const host = `${databaseServiceName(name)}.${ns}.svc`;
    const objects: KubeObject[] = [
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: databaseServiceName(name), namespace: ns, labels, ownerReferences },
        spec: { type: 'ClusterIP', selector: { 'app.kubernetes.io/instance': name }, ports: [{ name: 'tcp-postgresql', port: 5432, targetPort: 5432 }] },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: credentialSecretName(name), namespace: ns, labels, ownerReferences },
        type: 'Opaque',
        stringData: { username: 'postgres', password: randomBytes(12).toString('hex'), host, port: '5432', endpoint: `${host}:5432` },
      },
    ];
    for (const obj of objects) {
      try {
        await client.create(obj); // create, never update: the password must stay stable
      } catch (err) {
        if (!(err instanceof KubeApiError && err.status === 409)) throw err;
      }
    }
  };

  const reconcileOne = async (c: ClusterObject) => {
    const key = { ...CLUSTER, name: c.metadata.name, namespace: c.metadata.namespace };
    const phase = c.status?.phase;
    const finalizers = c.metadata.finalizers ?? [];

    if (c.metadata.deletionTimestamp) {
      if (phase !== 'Deleting') return setPhase(c, 'Deleting');
      if (elapsed(c) < delay) return;
      const ns = c.metadata.namespace;
      await client.delete({ apiVersion: 'v1', kind: 'Service', name: databaseServiceName(c.metadata.name), namespace: ns });
      await client.delete({ apiVersion: 'v1', kind: 'Secret', name: credentialSecretName(c.metadata.name), namespace: ns });
      if (finalizers.includes(KUBEBLOCKS_FINALIZER)) {
        await client.mergePatch(key, { metadata: { finalizers: finalizers.filter((f) => f !== KUBEBLOCKS_FINALIZER) } });
      }
      since.delete(c.metadata.uid!);
      log(`[kubeblocks-simulator] ${c.metadata.namespace}/${c.metadata.name} deleted`);
      return;
    }

    if (!finalizers.includes(KUBEBLOCKS_FINALIZER)) {
      await client.mergePatch(key, { metadata: { finalizers: [...finalizers, KUBEBLOCKS_FINALIZER] } });
    }
    await ensureOwned(c);

    const replicas = (c.spec?.componentSpecs ?? []).reduce((n, s) => n + (s.replicas ?? 1), 0);
    if (replicas > 0) {
      if (!phase) return setPhase(c, 'Creating');
      if (phase === 'Stopped' || phase === 'Stopping') return setPhase(c, 'Updating');
      if ((phase === 'Creating' || phase === 'Updating') && elapsed(c) >= delay) return setPhase(c, 'Running');
    } else {
      if (!phase || phase === 'Creating' || phase === 'Running' || phase === 'Updating') return setPhase(c, 'Stopping');
      if (phase === 'Stopping' && elapsed(c) >= delay) return setPhase(c, 'Stopped');
    }
    if (c.status?.observedGeneration !== c.metadata.generation && phase) await setPhase(c, phase);
  };

  return startPollLoop(
    'kubeblocks-simulator',
    opts.intervalMs ?? 200,
    async () => {
      const clusters = await client.list<ClusterObject>(CLUSTER, { allNamespaces: true });
      // One failing Cluster (e.g. its namespace is being deleted) must not stall the others.
      const results = await Promise.allSettled(clusters.map(reconcileOne));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
    log,
  );
}
