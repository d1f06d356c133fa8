// The Kubernetes objects of a project (DESIGN.md "Kubernetes objects per project"), as pure
// functions of their inputs so they can be read and tested without a cluster.
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

export interface EnvVar {
  name: string;
  value: string;
}

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
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 10,
          containers: [
            {
              name: SANDBOX_CONTAINER,
              image: o.image,
              imagePullPolicy: 'IfNotPresent',
              ports: [
                { name: 'http', containerPort: APP_PORT, protocol: 'TCP' },
                { name: 'ttyd', containerPort: TTYD_PORT, protocol: 'TCP' },
              ],
              // Sorted by name so an unchanged env never rolls the pod.
              env: [...o.env].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
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
