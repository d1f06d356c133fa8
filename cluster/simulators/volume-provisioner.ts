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
import { objectKey, startController, type Controller } from './controller';

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
  opts: { log?: (msg: string) => void; node?: { name: string; volumesDir: string } } = {},
): Controller {
  const node = opts.node;
  const dirOf = (pvName: string) => path.join(node!.volumesDir, pvName);
  const log = opts.log ?? (() => {});
  const PVC = { apiVersion: 'v1', kind: 'PersistentVolumeClaim' } as const;
  const PV = { apiVersion: 'v1', kind: 'PersistentVolume' } as const;

  const provision = async (pvc: Pvc) => {
    if (pvc.spec.volumeName || pvc.metadata.deletionTimestamp || pvc.status?.phase === 'Bound') return;
    const name = `pv-${pvc.metadata.uid}`;
    const source = node
      ? {
          local: { path: dirOf(name) },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node.name] }] }] } },
        }
      : { hostPath: { path: `/tmp/fsa-simulated-volumes/${pvc.metadata.uid}`, type: '' } };
    if (node) fs.mkdirSync(dirOf(name), { recursive: true, mode: 0o755 });
    const pv: KubeObject = {
      ...PV,
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
  };

  /** A released volume whose claim is really gone (not just missing from a stale cache) is deleted. */
  const reclaim = async (pv: Pv) => {
    if (pv.metadata.annotations?.[PROVISIONED_BY] !== PROVISIONER || pv.metadata.deletionTimestamp) return;
    if (pv.status?.phase !== 'Released' && pv.status?.phase !== 'Failed') return;
    const ref = pv.spec?.claimRef;
    const claim = ref?.name ? await client.get<Pvc>({ ...PVC, name: ref.name, namespace: ref.namespace }) : null;
    if (!claim || claim.metadata.uid !== ref?.uid) {
      await client.delete(keyOf(pv));
      if (node) fs.rmSync(dirOf(pv.metadata.name), { recursive: true, force: true });
      log(`[volume-simulator] deleted ${pv.metadata.name} (its claim is gone)`);
    }
  };

  return startController({
    name: 'volume-simulator',
    client,
    log,
    sources: {
      claims: { kind: PVC, keysOf: (o) => [`claim:${objectKey(o)}`] },
      volumes: { kind: PV, keysOf: (o) => [`volume:${o.metadata.name}`] },
    },
    async reconcile(key, t) {
      const [what, rest] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
      if (what === 'claim') {
        const [ns, name] = rest.split('/') as [string, string];
        const pvc = t.cache<Pvc>('claims').get(ns, name);
        if (pvc) await provision(pvc);
      } else {
        const pv = t.cache<Pv>('volumes').get(undefined, rest);
        if (pv) await reclaim(pv);
      }
    },
  });
}
