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
  /** Batched terminal activity from the web (at most one per project per minute). */
  activity: 'activity',
  /** "Keep running": restarts the idle clock and dismisses the warning. */
  keepRunning: 'keepRunning',
  /** Sets the project's idle auto-stop (timeout or off). */
  setIdlePolicy: 'setIdlePolicy',
  /** Opts the project in or out of app-URL activity (requests to the app count as activity). */
  setAppActivity: 'setAppActivity',
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

/**
 * Who asked for something. Signals and updates carry it in an optional argument
 * (`{ actor: { kind, name? } }`); a signal without one (Temporal UI / CLI) is the operator.
 */
export const ACTOR_KINDS = ['user', 'token', 'cli', 'schedule', 'idle', 'retention', 'operator'] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];
export interface Actor {
  kind: ActorKind;
  /** Username (user), token name (token, cli); absent for the others. */
  name?: string;
}

/** Argument of the start/stop/delete/keepRunning signals and updates (all optional). */
export interface IntentArgs {
  actor?: Actor;
  /** Free text shown in the timeline ("idle for 30 min: …"). */
  reason?: string;
}

/** Argument of the `activity` signal: when the last terminal input/output was seen. */
export interface ActivityReport {
  lastActivityAt: string;
}

/** Argument of the `setIdlePolicy` signal: the idle timeout, or null for off. */
export interface IdlePolicyArgs {
  idleTimeoutMs: number | null;
  actor?: Actor;
}

/** Argument of the `setAppActivity` signal. */
export interface AppActivityArgs {
  enabled: boolean;
  actor?: Actor;
}

/** What the last activity was: terminal input/output, or requests to the app's public URL. */
export type ActivitySource = 'terminal' | 'app';

/** Idle auto-stop as the status query shows it. */
export interface IdleView {
  /** null: auto-stop is off. */
  timeoutMs: number | null;
  /** Last terminal input or output the web reported. */
  lastActivityAt: string | null;
  /** When the idle clock started (RUNNING reached, "keep running", policy change). */
  since: string | null;
  /** When the project stops if nothing happens; null unless RUNNING with auto-stop on. */
  stopAt: string | null;
  /** Shown from `warningMs` before stopAt until activity, "keep running" or the stop. */
  warning: { stopAt: string } | null;
  /** Requests to the app's URL count as activity (absent for runs from before it). */
  appActivity?: boolean;
  /** What lastActivityAt was (absent for runs from before app-URL activity). */
  lastActivitySource?: ActivitySource | null;
}

/** The last intent that set the desired state, for "stopped because …". */
export interface IntentRecord {
  desired: DesiredState;
  actor: Actor;
  at: string;
  reason?: string;
}

export type TimelineKind = 'intent' | 'transition' | 'error' | 'idle-warning' | 'keep-running' | 'policy' | 'retention-notice' | 'schedule' | 'app-activity';

/** One entry of a project's timeline, persisted by the projection (ProjectEvent). */
export interface TimelineEvent {
  /** `<runId>:<seq>`: the same on every activity retry, so writes are idempotent. */
  id: string;
  /** Monotonic across continue-as-new. */
  seq: number;
  at: string;
  kind: TimelineKind;
  actor?: Actor;
  /** intent: the desired state asked for (or `keepRunning`); policy: `idle`. */
  action?: string;
  /** intent: whether it changed the desired state (false: already so, or ignored). */
  effective?: boolean;
  from?: ProjectStatus;
  to?: ProjectStatus;
  /** transition: time spent in `from`. */
  durationMs?: number;
  message?: string;
  reason?: string;
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
  /** Idle auto-stop (absent for lifecycles started before it existed and in the projection). */
  idle?: IdleView;
  /** The intent behind the desired state. */
  lastIntent?: IntentRecord | null;
}

/** Deadlines and backoff; defaults per the design, shortened by tests. */
export interface LifecycleTimings {
  sandboxDeadlineMs: number;
  databaseDeadlineMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** How long before an idle stop the warning shows. */
  idleWarningMs: number;
  /**
   * Readiness is watched (awaitProjectChange); a watch that sees no change returns after
   * this long anyway and the workflow looks again: a safety resync, not a polling loop.
   */
  readinessResyncMs: number;
  /** A settled project's drift watch returns after this long without a change (resync). */
  settledResyncMs: number;
}

export const DEFAULT_TIMINGS: LifecycleTimings = {
  sandboxDeadlineMs: 10 * 60_000,
  databaseDeadlineMs: 15 * 60_000,
  initialBackoffMs: 1_000,
  maxBackoffMs: 30_000,
  idleWarningMs: 5 * 60_000,
  readinessResyncMs: 5 * 60_000,
  settledResyncMs: 6 * 60 * 60_000,
};

/**
 * Lifecycle activities heartbeat this often (worker/heartbeat.ts), and the workflow treats
 * an activity whose heartbeats stop for ACTIVITY_HEARTBEAT_TIMEOUT_MS as lost (its worker
 * died) and retries it; heartbeats are how a cancellation reaches a running activity.
 */
export const ACTIVITY_HEARTBEAT_MS = 2_000;
export const ACTIVITY_HEARTBEAT_TIMEOUT_MS = 10_000;
/**
 * The drift watch of a settled project heartbeats with a longer timeout: the SDK sends a
 * heartbeat to the server at most every 0.8 × timeout, so 1,000 idle watches cost ~21
 * heartbeat calls a second at 60 s (125 at 10 s); a dead worker's watch moves within a minute.
 */
export const SETTLED_WATCH_HEARTBEAT_TIMEOUT_MS = 60_000;

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
  /** Idle auto-stop at start: milliseconds without terminal activity, null = off, absent = off. */
  idleTimeoutMs?: number | null;
  /** Who created the project (the first timeline entry); absent = operator. */
  createdBy?: Actor;
  /** Requests to the app's URL count as activity (opt-in per project); absent = no. */
  appActivity?: boolean;
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
  /** Lifecycle policies (absent when carried by a run from before them). */
  idle?: {
    timeoutMs: number | null;
    lastActivityAt: number | null;
    since: number | null;
    warning: { stopAt: string } | null;
    /** App-URL activity (absent when carried by a run from before it). */
    app?: boolean;
    source?: ActivitySource | null;
  };
  lastIntent?: IntentRecord | null;
  /** Next timeline sequence number and events not yet written. */
  eventSeq?: number;
  pendingEvents?: TimelineEvent[];
  statusSince?: number;
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
