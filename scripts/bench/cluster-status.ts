// The benchmark's independent view of the cluster: the status of every project as derived
// from its StatefulSet, pods and Cluster by the worker's own rules (deriveSandbox,
// deriveDatabase),
// kept from three watches over all namespaces. `onStatus` runs as each event arrives, so a
// "ready" time is the moment this process learns of the change, not a polling tick. It
// used to list all three kinds every 100 ms: at N = 1,000 that was some 15 MB of JSON ten
// times a second in the worker's own process, which starved the worker it measured.
import type { KubeClient, KubeObject, WatchEvent } from '../../activities/kubernetes/kube-client';
import { deriveDatabase, deriveSandbox } from '../../activities/kubernetes';
import { LABELS, resourceNames } from '../../common/names';
import { aggregateProjectStatus, type ProjectStatus } from '../../common/status';

type Any = KubeObject & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Source = 'sts' | 'pods' | 'clusters';

const KINDS: Record<Source, { apiVersion: string; kind: string }> = {
  sts: { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  pods: { apiVersion: 'v1', kind: 'Pod' },
  clusters: { apiVersion: 'apps.kubeblocks.io/v1alpha1', kind: 'Cluster' },
};

export interface ClusterStatusWatch {
  /** Resolves once all three kinds are listed. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

export function watchProjectStatuses(client: KubeClient, onStatus: (projectId: string, status: ProjectStatus) => void): ClusterStatusWatch {
  const abort = new AbortController();
  // projectId -> source -> namespace/name -> object
  const byProject = new Map<string, Record<Source, Map<string, Any>>>();
  const slot = (id: string) => {
    let s = byProject.get(id);
    if (!s) byProject.set(id, (s = { sts: new Map(), pods: new Map(), clusters: new Map() }));
    return s;
  };
  const keyOf = (o: Any) => `${o.metadata.namespace}/${o.metadata.name}`;

  // The worker's own derivation (activities/kubernetes), on the objects of this project.
  const evaluate = (projectId: string, k8sName: string) => {
    const s = slot(projectId);
    const names = resourceNames(k8sName);
    const sts = [...s.sts.values()].find((o) => o.metadata.name === names.statefulSet) ?? null;
    const pods = [...s.pods.values()].filter((p) => p.metadata.labels?.[LABELS.app] === names.statefulSet);
    const cluster = [...s.clusters.values()].find((o) => o.metadata.name === names.cluster) ?? null;
    onStatus(projectId, aggregateProjectStatus([deriveSandbox(sts, pods, names.statefulSet).status, deriveDatabase(cluster, names.cluster).status]));
  };

  const apply = (source: Source, type: 'ADDED' | 'MODIFIED' | 'DELETED', o: Any) => {
    const id = o.metadata.labels?.[LABELS.projectId];
    const k8sName = o.metadata.labels?.[LABELS.projectName];
    if (!id || !k8sName) return;
    const m = slot(id)[source];
    if (type === 'DELETED') m.delete(keyOf(o));
    else m.set(keyOf(o), o);
    evaluate(id, k8sName);
  };

  const inform = async (source: Source, listed: () => void) => {
    while (!abort.signal.aborted) {
      try {
        const sel = { labelSelector: LABELS.projectId, allNamespaces: true };
        const { items, resourceVersion } = await client.listWithVersion<Any>(KINDS[source], { ...sel, resourceVersion: '0' });
        for (const s of byProject.values()) s[source].clear();
        for (const o of items) apply(source, 'ADDED', o);
        listed();
        let version = resourceVersion;
        let expired = false;
        while (!expired && !abort.signal.aborted) {
          for await (const e of client.watch<Any>(KINDS[source], { ...sel, resourceVersion: version, timeoutSeconds: 300, signal: abort.signal }) as AsyncGenerator<WatchEvent<Any>>) {
            if (e.type === 'ERROR') {
              expired = true; // 410 Gone: list again
              break;
            }
            version = e.object.metadata.resourceVersion ?? version;
            if (e.type !== 'BOOKMARK') apply(source, e.type, e.object as Any);
          }
        }
      } catch {
        if (!abort.signal.aborted) await new Promise((r) => setTimeout(r, 500));
      }
    }
  };

  const listedAll: Promise<void>[] = [];
  const loops = (Object.keys(KINDS) as Source[]).map((source) => {
    let listed!: () => void;
    listedAll.push(new Promise<void>((r) => (listed = r)));
    return inform(source, listed);
  });
  return {
    ready: Promise.all(listedAll).then(() => undefined),
    async stop() {
      abort.abort();
      await Promise.allSettled(loops);
    },
  };
}
