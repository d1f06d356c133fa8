// The Kubernetes objects of a project (docs/design.md "Kubernetes objects per project"), as pure
// functions of their inputs so they can be read and tested without a cluster.
import { createHmac } from 'node:crypto';
import { projectLabels, resourceNames } from '../../common/names';
import { KUBEBLOCKS_POSTGRES } from '../../common/versions';
import type { ProjectRef } from '../../common/lifecycle';
import type { KubeObject } from './kube-client';

export const APP_PORT = 3000;
export const TTYD_PORT = 7681;
export const SANDBOX_CONTAINER = 'sandbox';
export const HOME_VOLUME = 'home';
export const HOME_MOUNT_PATH = '/home/agent';
export const HOME_STORAGE = '10Gi';
export const SANDBOX_LIMITS = { cpu: '2', memory: '4Gi' } as const;
export const DATABASE_COMPONENT = 'postgresql';
/** The user the runtime image creates (runtime/Dockerfile: agent, uid/gid 1000). */
export const SANDBOX_UID = 1000;
export const SANDBOX_GID = 1000;
/** Pod-template annotation: a keyed digest of the env Secret's data, so a changed secret rolls the pod. */
export const SECRET_DIGEST_ANNOTATION = 'fullstackagent.io/env-secret-digest';

/** One variable of the sandbox container; `secret` ones live in the project's env Secret. */
export interface EnvVar {
  name: string;
  value: string;
  secret?: boolean;
}

/** A container env entry as written into the StatefulSet: a literal or a reference into the Secret. */
export type ContainerEnv = { name: string; value: string } | { name: string; valueFrom: { secretKeyRef: { name: string; key: string } } };

/** The project's env Secret: every secret variable of the sandbox, one key per variable. */
export function sandboxSecretName(ref: ProjectRef): string {
  return `${ref.k8sName}-env`;
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The data of the env Secret (plain values; base64 is applied by sandboxSecret). */
export function secretEnvData(env: EnvVar[]): Record<string, string> {
  return Object.fromEntries(env.filter((e) => e.secret).sort(byName).map((e) => [e.name, e.value]));
}

/**
 * HMAC-SHA256 of the Secret's data (canonical: sorted keys), keyed with a secret of the
 * sandbox (the ttyd token): changes with any value, and tells nothing about low-entropy
 * values to someone who may read StatefulSets but not Secrets.
 */
export function secretDigest(data: Record<string, string>, key: string): string {
  const canonical = JSON.stringify(Object.keys(data).sort().map((k) => [k, data[k]]));
  return createHmac('sha256', key).update(canonical).digest('hex');
}

export function sandboxSecret(o: { ref: ProjectRef; namespace: string; env: EnvVar[] }): KubeObject {
  const data = secretEnvData(o.env);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: sandboxSecretName(o.ref), namespace: o.namespace, labels: sandboxLabels(o.ref) },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')])),
  };
}

/** Literal values for plain variables, secretKeyRef into the env Secret for secret ones; sorted by name. */
export function containerEnv(ref: ProjectRef, env: EnvVar[]): ContainerEnv[] {
  const secretName = sandboxSecretName(ref);
  // Sorted by name so an unchanged env never rolls the pod.
  return [...env]
    .sort(byName)
    .map((e) => (e.secret ? { name: e.name, valueFrom: { secretKeyRef: { name: secretName, key: e.name } } } : { name: e.name, value: e.value }));
}

/** Pod-level security context: the image's non-root user; fsGroup makes the home PVC writable. */
export const SANDBOX_POD_SECURITY_CONTEXT = {
  runAsUser: SANDBOX_UID,
  runAsGroup: SANDBOX_GID,
  runAsNonRoot: true,
  fsGroup: SANDBOX_GID,
  fsGroupChangePolicy: 'OnRootMismatch',
  seccompProfile: { type: 'RuntimeDefault' },
} as const;

/** Container-level: meets Pod Security "restricted". The root filesystem stays writable for the user's tools (owned by root anyway). */
export const SANDBOX_CONTAINER_SECURITY_CONTEXT = {
  runAsNonRoot: true,
  privileged: false,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
} as const;

export function sandboxLabels(ref: ProjectRef) {
  return projectLabels(ref.projectId, ref.k8sName, resourceNames(ref.k8sName).statefulSet);
}
export function databaseLabels(ref: ProjectRef) {
  return projectLabels(ref.projectId, ref.k8sName, resourceNames(ref.k8sName).cluster);
}

export function sandboxStatefulSet(o: {
  ref: ProjectRef;
  namespace: string;
  image: string;
  env: EnvVar[];
  /** secretDigest() of the env Secret's data; a change rolls the pod. */
  secretDigest: string;
  cpuRequest: string;
  memoryRequest: string;
  replicas: number;
}): KubeObject {
  const name = resourceNames(o.ref.k8sName).statefulSet;
  const labels = sandboxLabels(o.ref);
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: o.namespace, labels },
    spec: {
      replicas: o.replicas,
      serviceName: resourceNames(o.ref.k8sName).service,
      selector: { matchLabels: { app: name } },
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'RollingUpdate' },
      // ControllerRevisions copy the pod template; few are kept (none is ever rolled back to),
      // so revisions from before secrets moved into the Secret are pruned after one roll.
      revisionHistoryLimit: 2,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
      template: {
        metadata: { labels, annotations: { [SECRET_DIGEST_ANNOTATION]: o.secretDigest } },
        spec: {
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 10,
          securityContext: structuredClone(SANDBOX_POD_SECURITY_CONTEXT),
          containers: [
            {
              name: SANDBOX_CONTAINER,
              image: o.image,
              imagePullPolicy: 'IfNotPresent',
              ports: [
                { name: 'http', containerPort: APP_PORT, protocol: 'TCP' },
                { name: 'ttyd', containerPort: TTYD_PORT, protocol: 'TCP' },
              ],
              env: containerEnv(o.ref, o.env),
              securityContext: structuredClone(SANDBOX_CONTAINER_SECURITY_CONTEXT),
              resources: {
                requests: { cpu: o.cpuRequest, memory: o.memoryRequest },
                limits: { ...SANDBOX_LIMITS },
              },
              readinessProbe: {
                tcpSocket: { port: TTYD_PORT },
                initialDelaySeconds: 2,
                periodSeconds: 5,
                failureThreshold: 3,
              },
              volumeMounts: [{ name: HOME_VOLUME, mountPath: HOME_MOUNT_PATH }],
            },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: HOME_VOLUME, labels },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: HOME_STORAGE } } },
        },
      ],
    },
  };
}

export function sandboxService(ref: ProjectRef, namespace: string): KubeObject {
  const names = resourceNames(ref.k8sName);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: names.service, namespace, labels: sandboxLabels(ref) },
    spec: {
      type: 'ClusterIP',
      selector: { app: names.statefulSet },
      ports: [
        { name: 'http', port: APP_PORT, targetPort: APP_PORT, protocol: 'TCP' },
        { name: 'ttyd', port: TTYD_PORT, targetPort: TTYD_PORT, protocol: 'TCP' },
      ],
    },
  };
}

/** ingress-nginx settings for a long-lived WebSocket (the terminal). */
export const TTYD_INGRESS_ANNOTATIONS = {
  'nginx.ingress.kubernetes.io/proxy-http-version': '1.1',
  'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
  'nginx.ingress.kubernetes.io/proxy-send-timeout': '3600',
  'nginx.ingress.kubernetes.io/proxy-buffering': 'off',
  'nginx.ingress.kubernetes.io/backend-protocol': 'HTTP',
  'nginx.ingress.kubernetes.io/websocket-services': '', // set to the Service name below
} as const;

export function sandboxIngress(o: {
  ref: ProjectRef;
  namespace: string;
  which: 'app' | 'ttyd';
  host: string;
  ingressClassName: string;
}): KubeObject {
  const names = resourceNames(o.ref.k8sName);
  const port = o.which === 'app' ? APP_PORT : TTYD_PORT;
  const annotations: Record<string, string> =
    o.which === 'ttyd'
      ? { ...TTYD_INGRESS_ANNOTATIONS, 'nginx.ingress.kubernetes.io/websocket-services': names.service }
      : { 'nginx.ingress.kubernetes.io/proxy-body-size': '32m' };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: o.which === 'app' ? names.appIngress : names.ttydIngress,
      namespace: o.namespace,
      labels: sandboxLabels(o.ref),
      annotations,
    },
    spec: {
      ingressClassName: o.ingressClassName,
      rules: [
        {
          host: o.host,
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: names.service, port: { number: port } } } }] },
        },
      ],
    },
  };
}

export function databaseServiceAccount(ref: ProjectRef, namespace: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: resourceNames(ref.k8sName).serviceAccount, namespace, labels: databaseLabels(ref) },
  };
}

/** What the PostgreSQL pods (Patroni) need in their own namespace, nothing more. */
export function databaseRole(ref: ProjectRef, namespace: string): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: resourceNames(ref.k8sName).role, namespace, labels: databaseLabels(ref) },
    rules: [
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
      { apiGroups: [''], resources: ['configmaps', 'endpoints'], verbs: ['create', 'get', 'list', 'patch', 'update', 'watch', 'delete'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'patch', 'update', 'watch'] },
      { apiGroups: [''], resources: ['services'], verbs: ['create', 'get', 'list', 'watch'] },
    ],
  };
}

export function databaseRoleBinding(ref: ProjectRef, namespace: string): KubeObject {
  const names = resourceNames(ref.k8sName);
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: names.roleBinding, namespace, labels: databaseLabels(ref) },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: names.role },
    subjects: [{ kind: 'ServiceAccount', name: names.serviceAccount, namespace }],
  };
}

export function databaseCluster(o: { ref: ProjectRef; namespace: string; replicas: number; storageSize: string }): KubeObject {
  const names = resourceNames(o.ref.k8sName);
  return {
    apiVersion: 'apps.kubeblocks.io/v1alpha1',
    kind: 'Cluster',
    metadata: {
      name: names.cluster,
      namespace: o.namespace,
      labels: {
        ...databaseLabels(o.ref),
        'clusterdefinition.kubeblocks.io/name': KUBEBLOCKS_POSTGRES.clusterDefinitionRef,
        'clusterversion.kubeblocks.io/name': KUBEBLOCKS_POSTGRES.clusterVersionRef,
      },
    },
    spec: {
      clusterDefinitionRef: KUBEBLOCKS_POSTGRES.clusterDefinitionRef,
      clusterVersionRef: KUBEBLOCKS_POSTGRES.clusterVersionRef,
      terminationPolicy: 'Delete',
      affinity: { podAntiAffinity: 'Preferred', topologyKeys: ['kubernetes.io/hostname'], tenancy: 'SharedNode' },
      componentSpecs: [
        {
          name: DATABASE_COMPONENT,
          componentDefRef: KUBEBLOCKS_POSTGRES.componentDefRef,
          replicas: o.replicas,
          serviceAccountName: names.serviceAccount,
          switchPolicy: { type: 'Noop' },
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '1Gi' } },
          volumeClaimTemplates: [
            { name: 'data', spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: o.storageSize } } } },
          ],
        },
      ],
    },
  };
}

/** DATABASE_URL from the KubeBlocks credential secret's (base64) data. */
export function databaseUrlFromSecret(data: Record<string, string>, databaseName: string): string {
  const get = (k: string) => {
    const v = data[k];
    if (v === undefined) throw new Error(`credential secret has no "${k}"`);
    return Buffer.from(v, 'base64').toString('utf8');
  };
  const user = encodeURIComponent(get('username'));
  const password = encodeURIComponent(get('password'));
  return `postgresql://${user}:${password}@${get('host')}:${get('port')}/${encodeURIComponent(databaseName)}`;
}
