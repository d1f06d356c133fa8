import {
  aggregateProjectStatus,
  databaseStatusFromClusterPhase,
  RESOURCE_STATUSES,
  sandboxStatusFromStatefulSet,
  type ProjectStatus,
  type ResourceStatus,
} from './status';

// An independent statement of the reference rules, checked against every combination.
function expected(statuses: ResourceStatus[]): ProjectStatus {
  const has = (s: ResourceStatus) => statuses.some((x) => x === s);
  if (has('ERROR')) return 'ERROR';
  if (has('CREATING')) return 'CREATING';
  if (has('UPDATING')) return 'UPDATING';
  if (new Set(statuses).size === 1) return statuses[0]!;
  const subset = (allowed: ResourceStatus[]) => statuses.every((s) => allowed.includes(s));
  if (subset(['RUNNING', 'STARTING'])) return 'STARTING';
  if (subset(['STOPPED', 'STOPPING'])) return 'STOPPING';
  if (subset(['TERMINATED', 'TERMINATING'])) return 'TERMINATING';
  return 'PARTIAL';
}

describe('aggregateProjectStatus', () => {
  const pairs = RESOURCE_STATUSES.flatMap((a) => RESOURCE_STATUSES.map((b) => [a, b] as ResourceStatus[]));
  it.each(pairs)('sandbox %s + database %s', (a, b) => {
    expect(aggregateProjectStatus([a, b])).toBe(expected([a, b]));
    expect(aggregateProjectStatus([b, a])).toBe(expected([a, b]));
  });

  it.each(RESOURCE_STATUSES.map((s) => [s]))('a single resource %s is the project status', (s) => {
    expect(aggregateProjectStatus([s])).toBe(s);
  });

  it('covers all three-resource combinations', () => {
    for (const a of RESOURCE_STATUSES)
      for (const b of RESOURCE_STATUSES)
        for (const c of RESOURCE_STATUSES) expect(aggregateProjectStatus([a, b, c])).toBe(expected([a, b, c]));
  });

  it('applies the rules in order', () => {
    expect(aggregateProjectStatus(['ERROR', 'CREATING'])).toBe('ERROR');
    expect(aggregateProjectStatus(['CREATING', 'UPDATING'])).toBe('CREATING');
    expect(aggregateProjectStatus(['UPDATING', 'RUNNING'])).toBe('UPDATING');
    expect(aggregateProjectStatus(['RUNNING', 'STARTING'])).toBe('STARTING');
    expect(aggregateProjectStatus(['STOPPED', 'STOPPING'])).toBe('STOPPING');
    expect(aggregateProjectStatus(['TERMINATED', 'TERMINATING'])).toBe('TERMINATING');
    expect(aggregateProjectStatus(['RUNNING', 'STOPPED'])).toBe('PARTIAL');
    expect(aggregateProjectStatus([])).toBe('TERMINATED');
  });
});

describe('sandboxStatusFromStatefulSet', () => {
  const base = { exists: true, specReplicas: 1, readyReplicas: 1, currentReplicas: 1, updatedReplicas: 1, podCount: 1, generationObserved: true };
  it('maps the observed StatefulSet per docs/design.md', () => {
    expect(sandboxStatusFromStatefulSet({ ...base, exists: false })).toBe('TERMINATED');
    expect(sandboxStatusFromStatefulSet({ ...base, specReplicas: 0, podCount: 1 })).toBe('STOPPING');
    expect(sandboxStatusFromStatefulSet({ ...base, specReplicas: 0, podCount: 0 })).toBe('STOPPED');
    expect(sandboxStatusFromStatefulSet(base)).toBe('RUNNING');
    expect(sandboxStatusFromStatefulSet({ ...base, readyReplicas: 0 })).toBe('STARTING');
    expect(sandboxStatusFromStatefulSet({ ...base, updatedReplicas: 0 })).toBe('STARTING');
    expect(sandboxStatusFromStatefulSet({ ...base, currentReplicas: 0 })).toBe('STARTING');
    expect(sandboxStatusFromStatefulSet({ ...base, generationObserved: false })).toBe('STARTING');
    // A pod killed by hand shows before the controller updates readyReplicas.
    expect(sandboxStatusFromStatefulSet({ ...base, readyPods: 0 })).toBe('STARTING');
    expect(sandboxStatusFromStatefulSet({ ...base, readyPods: base.specReplicas })).toBe('RUNNING');
  });
});

describe('databaseStatusFromClusterPhase', () => {
  it.each([
    ['Running', 1, 'RUNNING'],
    ['Creating', 1, 'STARTING'],
    ['Updating', 0, 'STOPPING'],
    ['Updating', 1, 'STARTING'],
    ['Stopping', 0, 'STOPPING'],
    ['Stopped', 0, 'STOPPED'],
    ['Deleting', 1, 'TERMINATING'],
    ['Failed', 1, 'ERROR'],
    ['Abnormal', 1, 'ERROR'],
  ] as const)('%s with %i replicas → %s', (phase, replicas, status) => {
    expect(databaseStatusFromClusterPhase(phase, replicas)).toBe(status);
  });
  it('a missing Cluster is TERMINATED', () => {
    expect(databaseStatusFromClusterPhase(undefined, 1, false)).toBe('TERMINATED');
  });
});
