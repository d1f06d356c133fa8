// The benchmark's independent view of the cluster: the status of every project, derived
// from its StatefulSet, pods and Cluster by the worker's own rules (deriveSandbox,
// deriveDatabase) and kept from three watches over all namespaces (the simulators'
// controller loop). `onStatus` runs as each change is handled, so a "ready" time is when
// this process learns of it, not a polling tick. It used to list all three kinds every
// 100 ms: at N = 1,000 some 15 MB of JSON ten times a second in the worker's own process.
import type { KubeClient, KubeObject } from '../../activities/kubernetes/kube-client';
import { startController, type Controller } from '../../cluster/simulators/controller';
import { deriveDatabase, deriveSandbox } from '../../activities/kubernetes';
import { LABELS, resourceNames } from '../../common/names';
import { aggregateProjectStatus, type ProjectStatus } from '../../common/status';

type Any = KubeObject & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function watchProjectStatuses(client: KubeClient, onStatus: (projectId: string, status: ProjectStatus) => void): Controller {
  // The simulators' informers and work queue, keyed by project.
  const byProject = (o: KubeObject) => (o.metadata.labels?.[LABELS.projectId] ? [o.metadata.labels[LABELS.projectId]!] : []);
  const sel = LABELS.projectId;
  return startController({
    name: 'bench-cluster-status',
    client,
    concurrency: 64,
    sources: {
      sts: { kind: { apiVersion: 'apps/v1', kind: 'StatefulSet' }, labelSelector: sel, keysOf: byProject },
      pods: { kind: { apiVersion: 'v1', kind: 'Pod' }, labelSelector: sel, keysOf: byProject },
      clusters: { kind: { apiVersion: 'apps.kubeblocks.io/v1alpha1', kind: 'Cluster' }, labelSelector: sel, keysOf: byProject },
    },
    // The worker's own derivation (activities/kubernetes), on the objects of this project.
    async reconcile(projectId, t) {
      const mine = (o: KubeObject) => o.metadata.labels?.[LABELS.projectId] === projectId;
      const [stss, pods, clusters] = [t.cache<Any>('sts').list(mine), t.cache<Any>('pods').list(mine), t.cache<Any>('clusters').list(mine)];
      const k8sName = [...stss, ...pods, ...clusters][0]?.metadata.labels?.[LABELS.projectName];
      const names = resourceNames(k8sName ?? '');
      const sts = stss.find((o) => o.metadata.name === names.statefulSet) ?? null;
      const sandboxPods = pods.filter((p) => p.metadata.labels?.[LABELS.app] === names.statefulSet);
      const cluster = clusters.find((o) => o.metadata.name === names.cluster) ?? null;
      onStatus(projectId, aggregateProjectStatus([deriveSandbox(sts, sandboxPods, names.statefulSet).status, deriveDatabase(cluster, names.cluster).status]));
    },
  });
}
