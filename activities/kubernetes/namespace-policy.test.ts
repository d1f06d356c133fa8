// The policy objects of a provisioned namespace, as pure data (the real API server checks
// them in kubernetes-activities.test.ts).
import {
  DEFAULT_CONTAINER_LIMITS,
  DEFAULT_NAMESPACE_QUOTA,
  MAX_CLAIM_STORAGE,
  NAMESPACE_LIMITS_NAME,
  NAMESPACE_QUOTA_NAME,
  POD_SECURITY_LABELS,
  QUOTA_SIZED_FOR_PROJECTS,
  USER_NAMESPACE_ROLE_RULES,
  namespaceLimitRange,
  namespaceResourceQuota,
  userNamespaceObjects,
} from './namespace-policy';
import { HOME_STORAGE, SANDBOX_LIMITS } from './manifests';

const labels = { 'fullstackagent.io/user-id': 'u1', 'app.kubernetes.io/managed-by': 'fullstackagent' };

/** CPU in millicores and memory/storage in bytes, for the few suffixes used here. */
function quantity(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti)?$/.exec(q);
  if (!m) throw new Error(`unparsed quantity ${q}`);
  const n = Number(m[1]);
  const unit = { m: 1 / 1000, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 }[m[2] as 'm'] ?? 1;
  return n * unit;
}

describe('userNamespaceObjects', () => {
  it('is the Namespace with the pod-security labels, then its ResourceQuota and LimitRange, in apply order', () => {
    const objs = userNamespaceObjects('ns-u1', labels);
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Namespace/ns-u1', `ResourceQuota/${NAMESPACE_QUOTA_NAME}`, `LimitRange/${NAMESPACE_LIMITS_NAME}`]);
    expect(objs[0]!.metadata.labels).toEqual({ ...labels, ...POD_SECURITY_LABELS });
    for (const o of objs.slice(1)) {
      expect(o.metadata.namespace).toBe('ns-u1');
      expect(o.metadata.labels).toEqual(labels);
    }
  });

  it('enforces baseline at least, and warns and audits restricted', () => {
    expect(POD_SECURITY_LABELS['pod-security.kubernetes.io/enforce']).toMatch(/^(baseline|restricted)$/);
    expect(POD_SECURITY_LABELS['pod-security.kubernetes.io/warn']).toBe('restricted');
    expect(POD_SECURITY_LABELS['pod-security.kubernetes.io/audit']).toBe('restricted');
  });

  it('does not share the input labels object', () => {
    const input = { ...labels };
    const [ns] = userNamespaceObjects('ns-u1', input);
    (ns!.metadata.labels as Record<string, string>).extra = 'x';
    expect(input).not.toHaveProperty('extra');
  });
});

describe('quota and limits are sized for dev sandboxes with their PostgreSQL', () => {
  const hard = DEFAULT_NAMESPACE_QUOTA;
  const perProject = {
    requestsCpu: quantity('20m') + quantity('100m'), // sandbox + PostgreSQL
    requestsMemory: quantity('25Mi') + quantity('128Mi'),
    limitsCpu: quantity(SANDBOX_LIMITS.cpu) + 1, // + PostgreSQL's 1 CPU limit
    limitsMemory: quantity(SANDBOX_LIMITS.memory) + quantity('1Gi'),
    storage: quantity(HOME_STORAGE) + quantity('1Gi'),
  };

  it('fits the default number of projects a user may have, all running at their full limits', () => {
    const n = QUOTA_SIZED_FOR_PROJECTS;
    expect(quantity(hard['requests.cpu']!)).toBeGreaterThanOrEqual(n * perProject.requestsCpu);
    expect(quantity(hard['requests.memory']!)).toBeGreaterThanOrEqual(n * perProject.requestsMemory);
    expect(quantity(hard['limits.cpu']!)).toBeGreaterThanOrEqual(n * perProject.limitsCpu);
    expect(quantity(hard['limits.memory']!)).toBeGreaterThanOrEqual(n * perProject.limitsMemory);
    expect(quantity(hard['requests.storage']!)).toBeGreaterThanOrEqual(n * perProject.storage);
    expect(Number(hard.persistentvolumeclaims)).toBeGreaterThanOrEqual(n * 2);
    expect(Number(hard.pods)).toBeGreaterThanOrEqual(n * 2);
    expect(Number(hard['count/ingresses.networking.k8s.io'])).toBeGreaterThanOrEqual(n * 2);
    // ...and is a bound, not unlimited: requests stay what a few busy machines would give.
    expect(quantity(hard['requests.cpu']!)).toBeLessThanOrEqual(8);
  });

  it('allows no NodePort or LoadBalancer Service (sandboxes are reached through Ingresses)', () => {
    expect(hard['services.nodeports']).toBe('0');
    expect(hard['services.loadbalancers']).toBe('0');
  });

  it('quota overrides replace the defaults', () => {
    expect(namespaceResourceQuota('ns', labels, { quota: { pods: '3' } }).spec).toEqual({ hard: { pods: '3' } });
    expect(namespaceResourceQuota('ns', labels).spec).toEqual({ hard: DEFAULT_NAMESPACE_QUOTA });
  });

  it('gives a container without resources small defaults, and lets the sandbox container through', () => {
    const lr = namespaceLimitRange('ns', labels) as unknown as { spec: { limits: Array<Record<string, Record<string, string>>> } };
    const [container, claim] = lr.spec.limits;
    expect(container).toMatchObject({ type: 'Container', defaultRequest: DEFAULT_CONTAINER_LIMITS.defaultRequest, default: DEFAULT_CONTAINER_LIMITS.default });
    // request <= default limit <= max, and the sandbox's own limits are within the max.
    for (const r of ['cpu', 'memory'] as const) {
      expect(quantity(DEFAULT_CONTAINER_LIMITS.defaultRequest[r])).toBeLessThanOrEqual(quantity(DEFAULT_CONTAINER_LIMITS.default[r]));
      expect(quantity(DEFAULT_CONTAINER_LIMITS.default[r])).toBeLessThanOrEqual(quantity(DEFAULT_CONTAINER_LIMITS.max[r]));
      expect(quantity(SANDBOX_LIMITS[r])).toBeLessThanOrEqual(quantity(DEFAULT_CONTAINER_LIMITS.max[r]));
    }
    expect(claim).toEqual({ type: 'PersistentVolumeClaim', max: { storage: MAX_CLAIM_STORAGE } });
    expect(quantity(HOME_STORAGE)).toBeLessThanOrEqual(quantity(MAX_CLAIM_STORAGE));
  });
});

describe('USER_NAMESPACE_ROLE_RULES', () => {
  it('grants quota and limits read-only, and never escalate or bind', () => {
    const rules = USER_NAMESPACE_ROLE_RULES as ReadonlyArray<{ apiGroups: readonly string[]; resources: readonly string[]; verbs: readonly string[] }>;
    for (const r of rules) {
      if (r.apiGroups.includes('') && r.resources.some((x) => x === 'resourcequotas' || x === 'limitranges' || x === '*')) {
        expect(r.verbs).toEqual(['get', 'list', 'watch']);
      }
      expect(r.verbs).not.toContain('escalate');
      expect(r.verbs).not.toContain('bind');
      if (r.apiGroups.includes('rbac.authorization.k8s.io')) expect(r.verbs).not.toContain('*');
    }
  });
});
