// SIMULATOR — stands in for a storage provisioner, which the local control plane lacks
// (without one a PVC stays Pending and its pod is never scheduled). For every unbound PVC
// it creates a PersistentVolume pre-bound to the claim; the real PV controller in
// kube-controller-manager completes the binding. A volume is deleted once its claim is
// really gone (reclaim policy Retain, so the PV controller never deletes one on a stale
// cache). With `node` set (the real node), each volume is a `local` PersistentVolume on a
// directory of the node's data folder (the kubelet applies fsGroup to it, unlike hostPath),
// and the directory is removed with the volume; without it (kwok), no data is stored.
import fs from 'node:fs';
import path from 'node:path';
import { KubeApiError, keyOf, type KubeClient, type KubeObject } from '../../activities/kubernetes/kube-client';
import { startPollLoop, type PollLoop } from './poll-loop';

export const PROVISIONED_BY = 'fullstackagent.io/provisioned-by';
const PROVISIONER = 'local-volume-simulator';

interface Pvc extends KubeObject {
  spec: { volumeName?: string; storageClassName?: string; accessModes?: string[]; resources?: { requests?: { storage?: string } }; volumeMode?: string };
  status?: { phase?: string };
}
interface Pv extends KubeObject {
  spec?: { claimRef?: { namespace?: string; name?: string; uid?: string } };
  status?: { phase?: string };
}

export function startVolumeProvisionerSimulator(
  client: KubeClient,
  opts: { intervalMs?: number; log?: (msg: string) => void; node?: { name: string; volumesDir: string } } = {},
): PollLoop {
  const node = opts.node;
  const dirOf = (pvName: string) => path.join(node!.volumesDir, pvName);
  const log = opts.log ?? (() => {});
  return startPollLoop(
    'volume-simulator',
    opts.intervalMs ?? 200,
    async () => {
      const pvcs = await client.list<Pvc>({ apiVersion: 'v1', kind: 'PersistentVolumeClaim' }, { allNamespaces: true });
      for (const pvc of pvcs) {
        if (pvc.spec.volumeName || pvc.metadata.deletionTimestamp || pvc.status?.phase === 'Bound') continue;
        const name = `pv-${pvc.metadata.uid}`;
        const source = node
          ? {
              local: { path: dirOf(name) },
              nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node.name] }] }] } },
            }
          : { hostPath: { path: `/tmp/fsa-simulated-volumes/${pvc.metadata.uid}`, type: '' } };
        if (node) fs.mkdirSync(dirOf(name), { recursive: true, mode: 0o755 });
        const pv: KubeObject = {
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: { name, annotations: { [PROVISIONED_BY]: PROVISIONER } },
          spec: {
            capacity: { storage: pvc.spec.resources?.requests?.storage ?? '1Gi' },
            accessModes: pvc.spec.accessModes?.length ? pvc.spec.accessModes : ['ReadWriteOnce'],
            persistentVolumeReclaimPolicy: 'Retain',
            storageClassName: pvc.spec.storageClassName ?? '',
            volumeMode: pvc.spec.volumeMode ?? 'Filesystem',
            ...source,
            claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: pvc.metadata.namespace, name: pvc.metadata.name, uid: pvc.metadata.uid },
          },
        };
        try {
          await client.create(pv);
          log(`[volume-simulator] provisioned ${pv.metadata.name} for ${pvc.metadata.namespace}/${pvc.metadata.name}`);
        } catch (err) {
          if (!(err instanceof KubeApiError && err.status === 409)) throw err;
        }
      }
      const pvs = await client.list<Pv>({ apiVersion: 'v1', kind: 'PersistentVolume' });
      for (const pv of pvs) {
        if (pv.metadata.annotations?.[PROVISIONED_BY] !== PROVISIONER || pv.metadata.deletionTimestamp) continue;
        if (pv.status?.phase !== 'Released' && pv.status?.phase !== 'Failed') continue;
        const ref = pv.spec?.claimRef;
        const claim = ref?.name ? await client.get<Pvc>({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: ref.name, namespace: ref.namespace }) : null;
        if (!claim || claim.metadata.uid !== ref?.uid) {
          await client.delete(keyOf(pv));
          if (node) fs.rmSync(dirOf(pv.metadata.name), { recursive: true, force: true });
          log(`[volume-simulator] deleted ${pv.metadata.name} (its claim is gone)`);
        }
      }
    },
    log,
  );
}
