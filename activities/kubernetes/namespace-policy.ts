// What a namespace the platform provisions for a user (user-clients.ts, embedded default)
// is allowed to hold: Pod Security Admission labels on the Namespace, a ResourceQuota for
// everything the user's projects may use together, and a LimitRange so a pod the user
// deploys without requests/limits still gets some (the quota needs every pod to have them).
// Pure functions: unit-tested in namespace-policy.test.ts, applied in the real cluster by
// provisionNamespace and checked there by kubernetes-activities.test.ts.
//
// Pod security: `enforce: baseline`, `warn` and `audit: restricted`. The platform's own
// sandbox pod meets `restricted` (manifests.ts: non-root uid 1000, no privilege
// escalation, all capabilities dropped, seccomp RuntimeDefault, only PVC volumes; the tests
// run it in a namespace that enforces restricted). The namespace is shared with pods the
// platform does not write: the PostgreSQL pods of the KubeBlocks operator (its images start
// as root and the operator does not set runAsNonRoot or seccomp on them) and whatever the
// user deploys with their own kubeconfig. Enforcing restricted would stop the database;
// baseline still refuses privileged pods, host namespaces/ports/paths and added
// capabilities, and warn/audit restricted report every pod that would fail the stricter level.
import type { KubeObject } from './kube-client';

export const POD_SECURITY_LABELS = {
  'pod-security.kubernetes.io/enforce': 'baseline',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/warn': 'restricted',
  'pod-security.kubernetes.io/warn-version': 'latest',
  'pod-security.kubernetes.io/audit': 'restricted',
  'pod-security.kubernetes.io/audit-version': 'latest',
} as const;

export const NAMESPACE_QUOTA_NAME = 'fsa-user-quota';
export const NAMESPACE_LIMITS_NAME = 'fsa-user-limits';

/** How many projects a user may have by default (MAX_PROJECTS_PER_USER in server/config.ts). */
export const QUOTA_SIZED_FOR_PROJECTS = 20;

/**
 * The hard limits of one user's namespace (all of the user's projects together), sized so
 * that QUOTA_SIZED_FOR_PROJECTS projects fit, all running: the quota never refuses what the
 * platform itself allows, and bounds what the user runs beside it.
 * One project (manifests.ts), requests / limits:
 *   sandbox    20m / 2 CPU, 25Mi / 4Gi, home PVC 10Gi
 *   PostgreSQL 100m / 1 CPU, 128Mi / 1Gi, data PVC 1Gi (default size)
 * i.e. 120m / 3 CPU, ~153Mi / 5Gi, 11Gi in 2 claims; 20 projects: 2.4 CPU / 60 CPU,
 * ~3Gi / 100Gi, 220Gi in 40 claims. Requests (what the scheduler reserves) stay small
 * because a dev sandbox idles most of the time; limits allow each sandbox its full burst.
 * Object counts leave room for what KubeBlocks creates per cluster (Services, Secrets,
 * ConfigMaps). No NodePort or LoadBalancer Services: sandboxes are reached only through
 * the Ingresses.
 */
export const DEFAULT_NAMESPACE_QUOTA: Readonly<Record<string, string>> = {
  'requests.cpu': '4',
  'requests.memory': '8Gi',
  'limits.cpu': '64',
  'limits.memory': '128Gi',
  'requests.storage': '250Gi',
  persistentvolumeclaims: '50',
  pods: '50',
  services: '60',
  'services.nodeports': '0',
  'services.loadbalancers': '0',
  secrets: '150',
  configmaps: '150',
  'count/ingresses.networking.k8s.io': '50',
};

/**
 * Per container: defaults for a container that sets nothing (small: a helper process, not
 * a workload), and a maximum one container may ask for (the sandbox's 2 CPU / 4Gi fit).
 * Per claim: at most 50Gi.
 */
export const DEFAULT_CONTAINER_LIMITS = {
  defaultRequest: { cpu: '50m', memory: '64Mi' },
  default: { cpu: '500m', memory: '512Mi' },
  max: { cpu: '4', memory: '8Gi' },
} as const;
export const MAX_CLAIM_STORAGE = '50Gi';

export interface NamespacePolicyOptions {
  quota?: Record<string, string>;
}

/** The Namespace itself, with its own labels plus the Pod Security Admission labels. */
export function policyNamespace(name: string, labels: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { ...labels, ...POD_SECURITY_LABELS } } };
}

export function namespaceResourceQuota(namespace: string, labels: Record<string, string>, opts: NamespacePolicyOptions = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: NAMESPACE_QUOTA_NAME, namespace, labels },
    spec: { hard: { ...(opts.quota ?? DEFAULT_NAMESPACE_QUOTA) } },
  };
}

export function namespaceLimitRange(namespace: string, labels: Record<string, string>): KubeObject {
  const c = DEFAULT_CONTAINER_LIMITS;
  return {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: { name: NAMESPACE_LIMITS_NAME, namespace, labels },
    spec: {
      limits: [
        { type: 'Container', defaultRequest: { ...c.defaultRequest }, default: { ...c.default }, max: { ...c.max } },
        { type: 'PersistentVolumeClaim', max: { storage: MAX_CLAIM_STORAGE } },
      ],
    },
  };
}

/**
 * The Namespace (with the pod-security labels) followed by its ResourceQuota and
 * LimitRange, in the order they must be applied: provisionNamespace spreads this where it
 * used to list the bare Namespace.
 */
export function userNamespaceObjects(namespace: string, labels: Record<string, string>, opts: NamespacePolicyOptions = {}): KubeObject[] {
  return [policyNamespace(namespace, labels), namespaceResourceQuota(namespace, labels, opts), namespaceLimitRange(namespace, labels)];
}

/**
 * RBAC rules for the user's own Role in a provisioned namespace that keep the quota and
 * limits in force: today the Role (user-clients.ts, USER_ROLE) grants `*` on `*`, so the
 * user could delete the ResourceQuota and LimitRange. RBAC has no "deny", so these list
 * what a namespace admin needs: every workload, network, storage, KubeBlocks and RBAC kind
 * of the namespace (Roles without `escalate`/`bind`, so no Role can grant more than the
 * user holds), and read-only ResourceQuota / LimitRange. Not wired yet: user-clients.ts
 * (another owner) should use them for USER_ROLE.
 */
export const USER_NAMESPACE_ROLE_RULES = [
  {
    apiGroups: [''],
    resources: [
      'pods',
      'pods/log',
      'pods/exec',
      'pods/attach',
      'pods/portforward',
      'services',
      'services/proxy',
      'endpoints',
      'configmaps',
      'secrets',
      'persistentvolumeclaims',
      'serviceaccounts',
      'serviceaccounts/token',
      'events',
      'replicationcontrollers',
    ],
    verbs: ['*'],
  },
  { apiGroups: [''], resources: ['resourcequotas', 'resourcequotas/status', 'limitranges'], verbs: ['get', 'list', 'watch'] },
  {
    apiGroups: ['apps', 'batch', 'autoscaling', 'policy', 'networking.k8s.io', 'discovery.k8s.io', 'events.k8s.io', 'coordination.k8s.io', 'apps.kubeblocks.io', 'dataprotection.kubeblocks.io'],
    resources: ['*'],
    verbs: ['*'],
  },
  {
    apiGroups: ['rbac.authorization.k8s.io'],
    resources: ['roles', 'rolebindings'],
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'],
  },
] as const;
