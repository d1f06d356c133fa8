// Status model shared by the workflow bundle, the activities and the web.
// Pure and deterministic: no Node built-ins, no I/O.

export const RESOURCE_STATUSES = [
  'CREATING',
  'STARTING',
  'RUNNING',
  'STOPPING',
  'STOPPED',
  'TERMINATING',
  'TERMINATED',
  'ERROR',
  'UPDATING',
] as const;
export type ResourceStatus = (typeof RESOURCE_STATUSES)[number];

export const PROJECT_STATUSES = [...RESOURCE_STATUSES, 'PARTIAL'] as const;
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];

const within = (statuses: readonly ResourceStatus[], allowed: readonly ResourceStatus[]) =>
  statuses.every((s) => allowed.includes(s));

/**
 * Aggregates resource statuses into the project status (the reference system's rules,
 * first match wins). An empty list means nothing exists: TERMINATED.
 */
export function aggregateProjectStatus(statuses: readonly ResourceStatus[]): ProjectStatus {
  if (statuses.length === 0) return 'TERMINATED';
  if (statuses.includes('ERROR')) return 'ERROR';
  if (statuses.includes('CREATING')) return 'CREATING';
  if (statuses.includes('UPDATING')) return 'UPDATING';
  const first = statuses[0] as ResourceStatus;
  if (statuses.every((s) => s === first)) return first;
  if (within(statuses, ['RUNNING', 'STARTING'])) return 'STARTING';
  if (within(statuses, ['STOPPED', 'STOPPING'])) return 'STOPPING';
  if (within(statuses, ['TERMINATED', 'TERMINATING'])) return 'TERMINATING';
  return 'PARTIAL';
}

/** What the StatefulSet looks like, reduced to the fields the status rules read. */
export interface StatefulSetObservation {
  exists: boolean;
  specReplicas: number;
  readyReplicas: number;
  currentReplicas: number;
  updatedReplicas: number;
  /** Pods of the StatefulSet that still exist (any phase). */
  podCount: number;
  /** False while the controller has not yet seen the latest spec. */
  generationObserved: boolean;
  /**
   * Pods that are Ready and not being deleted, when the pods were read: a pod killed by hand
   * makes the sandbox STARTING at once, before the controller updates readyReplicas.
   */
  readyPods?: number;
}

export function sandboxStatusFromStatefulSet(o: StatefulSetObservation): ResourceStatus {
  if (!o.exists) return 'TERMINATED';
  if (o.specReplicas === 0) return o.podCount > 0 ? 'STOPPING' : 'STOPPED';
  if (
    o.generationObserved &&
    (o.readyPods === undefined || o.readyPods >= o.specReplicas) &&
    o.readyReplicas === o.specReplicas &&
    o.currentReplicas === o.specReplicas &&
    o.updatedReplicas === o.specReplicas
  ) {
    return 'RUNNING';
  }
  return 'STARTING';
}

/** KubeBlocks Cluster phase (status.phase); undefined when the Cluster is missing. */
export function databaseStatusFromClusterPhase(
  phase: string | undefined | null,
  replicas: number,
  exists = true,
): ResourceStatus {
  if (!exists) return 'TERMINATED';
  switch (phase) {
    case 'Running':
      return 'RUNNING';
    case 'Creating':
      return 'STARTING';
    case 'Updating':
      return replicas === 0 ? 'STOPPING' : 'STARTING';
    case 'Stopping':
      return 'STOPPING';
    case 'Stopped':
      return 'STOPPED';
    case 'Deleting':
      return 'TERMINATING';
    case 'Failed':
    case 'Abnormal':
      return 'ERROR';
    default:
      // A new Cluster has no phase yet: the operator has not picked it up.
      return replicas === 0 ? 'STOPPING' : 'STARTING';
  }
}

export const TRANSITIONAL_STATUSES: readonly ResourceStatus[] = [
  'CREATING',
  'STARTING',
  'STOPPING',
  'TERMINATING',
  'UPDATING',
];
