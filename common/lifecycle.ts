// The Temporal contract of a project's lifecycle (docs/design.md "Temporal contract"):
// names, input, signals, the status query and its result. Imported by the workflow
// bundle, the worker and the web, so it holds only plain data and pure functions.
import type { ProjectStatus, ResourceStatus } from './status';

export const TASK_QUEUE = 'project-lifecycle';
export const WORKFLOW_TYPE = 'projectLifecycle';

export const SIGNALS = {
  start: 'start',
  stop: 'stop',
  delete: 'delete',
  environmentChanged: 'environmentChanged',
} as const;
export const STATUS_QUERY = 'status';

export type DesiredState = 'RUNNING' | 'STOPPED' | 'TERMINATED';

export const STAGE_NAMES = ['database', 'container', 'network', 'terminal', 'ready'] as const;
export type StageName = (typeof STAGE_NAMES)[number];
export type StageState = 'pending' | 'active' | 'done' | 'failed';

export interface Stage {
  name: StageName;
  state: StageState;
  startedAt?: string;
  finishedAt?: string;
}

export interface LifecycleError {
  message: string;
  at: string;
}

/** Result of the `status` query (contract). */
export interface ProjectStatusView {
  projectId: string;
  status: ProjectStatus;
  desired: DesiredState;
  sandbox: { status: ResourceStatus; publicUrl: string | null; ttydUrl: string | null };
  database: { status: ResourceStatus; host?: string; port?: number } | null;
  stages: Stage[];
  lastError: LifecycleError | null;
  updatedAt: string;
}

/** Deadlines and backoff; defaults per the design, shortened by tests. */
export interface LifecycleTimings {
  sandboxDeadlineMs: number;
  databaseDeadlineMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_TIMINGS: LifecycleTimings = {
  sandboxDeadlineMs: 10 * 60_000,
  databaseDeadlineMs: 15 * 60_000,
  initialBackoffMs: 1_000,
  maxBackoffMs: 30_000,
};

/**
 * Lifecycle activities heartbeat this often (worker/heartbeat.ts), and the workflow treats
 * an activity whose heartbeats stop for ACTIVITY_HEARTBEAT_TIMEOUT_MS as lost (its worker
 * died) and retries it; heartbeats are how a cancellation reaches a running activity.
 */
export const ACTIVITY_HEARTBEAT_MS = 2_000;
export const ACTIVITY_HEARTBEAT_TIMEOUT_MS = 10_000;

/** Identifies a project's objects; never carries secrets (activities load those). */
export interface ProjectRef {
  projectId: string;
  ownerId: string;
  /** Fixed at creation: toK8sName(name)-agentruntime-xxxxxx. */
  k8sName: string;
}

export interface LifecycleInput extends ProjectRef {
  projectName: string;
  /** Desired state at start; `RUNNING` for a new project. */
  desired?: DesiredState;
  timings?: Partial<LifecycleTimings>;
  /** State carried across continue-as-new. */
  carried?: CarriedState;
}

/** Everything the workflow needs to resume after continue-as-new. */
export interface CarriedState {
  desired: DesiredState;
  sandbox: ProjectStatusView['sandbox'];
  database: ProjectStatusView['database'];
  stages: Stage[];
  lastError: LifecycleError | null;
  envGeneration: number;
  appliedEnvGeneration: number;
  sandboxCreated: boolean;
  databaseCreated: boolean;
  updatedAt: string;
}

/**
 * Error types activities throw as non-retryable ApplicationFailures; everything else is
 * treated as transient and retried with backoff until the stage's deadline.
 */
export const NON_RETRYABLE_ERROR_TYPES = [
  'InvalidSpec',
  'Forbidden',
  'KubeconfigMissing',
  'KubeconfigInvalid',
  'NotFound',
] as const;
export type NonRetryableErrorType = (typeof NON_RETRYABLE_ERROR_TYPES)[number];
