// Objects the local control plane installs at start: the KubeBlocks Cluster CRD (what the
// activities create for databases), the IngressClass the sandbox Ingresses name, and the
// fake Node kwok drives so scheduled pods become Running and Ready.
import type { KubeObject } from '../activities/kubernetes/kube-client';

export const INGRESS_CLASS = 'nginx';
export const FAKE_NODE_NAME = 'kwok-node-0';

const preserve = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } as const;

/**
 * apps.kubeblocks.io/v1alpha1 Cluster: the fields the activities set are typed (so the API
 * server validates them), the rest is preserved as in KubeBlocks' own CRD.
 */
export const kubeblocksClusterCrd: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'clusters.apps.kubeblocks.io' },
  spec: {
    group: 'apps.kubeblocks.io',
    scope: 'Namespaced',
    names: { kind: 'Cluster', listKind: 'ClusterList', plural: 'clusters', singular: 'cluster', shortNames: ['cl'] },
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'STATUS', type: 'string', jsonPath: '.status.phase' },
          { name: 'AGE', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec: {
                type: 'object',
                'x-kubernetes-preserve-unknown-fields': true,
                properties: {
                  clusterDefinitionRef: { type: 'string' },
                  clusterVersionRef: { type: 'string' },
                  terminationPolicy: { type: 'string', enum: ['DoNotTerminate', 'Halt', 'Delete', 'WipeOut'] },
                  componentSpecs: {
                    type: 'array',
                    items: {
                      type: 'object',
                      'x-kubernetes-preserve-unknown-fields': true,
                      required: ['name'],
                      properties: {
                        name: { type: 'string', maxLength: 22, pattern: '^[a-z]([a-z0-9-]*[a-z0-9])?$' },
                        componentDefRef: { type: 'string' },
                        replicas: { type: 'integer', format: 'int32', minimum: 0 },
                        serviceAccountName: { type: 'string' },
                        resources: preserve,
                        volumeClaimTemplates: { type: 'array', items: preserve },
                      },
                    },
                  },
                },
              },
              status: {
                type: 'object',
                'x-kubernetes-preserve-unknown-fields': true,
                properties: {
                  phase: { type: 'string' },
                  observedGeneration: { type: 'integer', format: 'int64' },
                  message: preserve,
                  components: preserve,
                },
              },
            },
          },
        },
      },
    ],
  },
};

export const ingressClass: KubeObject = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'IngressClass',
  metadata: { name: INGRESS_CLASS, annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
  // The real node's ingress controller is Traefik (cluster/node.ts), which serves only classes
  // with its controller name; the class keeps the name the activities use in production.
  spec: { controller: 'traefik.io/ingress-controller' },
};

/** kwok manages Nodes with this annotation (see --manage-nodes-with-annotation-selector). */
export const fakeNode: KubeObject = {
  apiVersion: 'v1',
  kind: 'Node',
  metadata: {
    name: FAKE_NODE_NAME,
    annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
    labels: {
      'kubernetes.io/hostname': FAKE_NODE_NAME,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'node-role.kubernetes.io/agent': '',
      type: 'kwok',
    },
  },
  spec: {},
  status: {
    // Room for scripts/bench-lifecycle.ts at N = 1,000 and more: a sandbox pod per project
    // (20m CPU, 25Mi; on kwok the database simulator runs no pod), with headroom for pods
    // still terminating while others start (1,000 pods was exactly N = 1,000).
    allocatable: { cpu: '512', memory: '2Ti', pods: '5000' },
    capacity: { cpu: '512', memory: '2Ti', pods: '5000' },
    nodeInfo: { architecture: 'amd64', operatingSystem: 'linux', kubeletVersion: 'fake', kubeProxyVersion: 'fake' },
  },
};

/** What Traefik's Kubernetes Ingress provider reads (the identity `fsa-ingress` of cluster/pki.ts). */
export const ingressRbac: KubeObject[] = [
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'fsa:ingress' },
    rules: [
      { apiGroups: [''], resources: ['services', 'endpoints', 'secrets', 'nodes'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'ingressclasses'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['networking.k8s.io'], resources: ['ingresses/status'], verbs: ['update'] },
    ],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'fsa:ingress' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'fsa:ingress' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'fsa-ingress' }],
  },
];

/** What CoreDNS's kubernetes plugin reads (the identity `fsa-coredns` of cluster/pki.ts). */
export const corednsRbac: KubeObject[] = [
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'fsa:coredns' },
    rules: [
      { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
    ],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'fsa:coredns' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'fsa:coredns' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'fsa-coredns' }],
  },
];
