// The activities the lifecycle workflow calls. Implementations: activities/kubernetes
// (production) and the test fakes; the workflow imports only these types.
import type { ProjectRef, ProjectStatusView, TimelineEvent } from '../common/lifecycle';
import type { RetentionSweepInput } from '../common/schedules';
import type { ResourceStatus } from '../common/status';

export interface SandboxObservation {
  status: ResourceStatus;
  publicUrl: string | null;
  ttydUrl: string | null;
  /** Why it is not ready yet (for lastError when a deadline passes). */
  reason?: string;
}

export interface DatabaseObservation {
  status: ResourceStatus;
  host?: string;
  port?: number;
  reason?: string;
}

/** Timeline entries written with a status (they outlive the project's rows and Temporal's retention). */
export interface TimelineBatch {
  ownerId: string;
  projectName: string;
  events: TimelineEvent[];
}

/**
 * What awaitProjectChange waits for: the statuses each watched resource may have without
 * counting as a change (absent: not watched), and how long to wait at most.
 */
export interface ProjectWatchRequest {
  sandbox?: ResourceStatus[];
  database?: ResourceStatus[];
  /** Return after this long even without a change (a safety resync; the caller decides again). */
  maxWaitMs: number;
}

export interface ProjectWatchResult {
  /** A watched resource left its allowed statuses (false: maxWaitMs passed). */
  changed: boolean;
  /** Full observations of the watched resources, taken when the wait ended. */
  sandbox?: SandboxObservation;
  database?: DatabaseObservation;
}

export interface SandboxUrls {
  publicUrl: string;
  ttydUrl: string;
}

/**
 * Requests to the app's public URL as the sandbox saw them (runtime/app-activity.sh writes
 * them to the container log, at most one line a minute; docs/decisions/0010-app-url-activity.md).
 */
export interface AppActivityObservation {
  /** The last request after `since`, or null: none, or no signal (no pod, no log, a simulated node). */
  lastRequestAt: string | null;
  /** Why there is no signal, when there is none to read (not: "no requests"). */
  unavailable?: string;
}

export { NON_RETRYABLE_ERROR_TYPES, type NonRetryableErrorType } from '../common/lifecycle';

export interface LifecycleActivities {
  /** Create-or-patch ServiceAccount, Role, RoleBinding and the Cluster with 1 replica. */
  ensureDatabase(ref: ProjectRef): Promise<void>;
  /** Scale the Cluster's component to `replicas` (0 or 1); a missing Cluster is a no-op. */
  scaleDatabase(ref: ProjectRef, replicas: number): Promise<void>;
  observeDatabase(ref: ProjectRef): Promise<DatabaseObservation>;

  /**
   * Create-or-patch the StatefulSet with 1 replica and the env loaded now from the
   * database (project variables, DATABASE_URL from the Cluster's credentials, ...).
   * The env replaces the previous one whole.
   */
  ensureSandbox(ref: ProjectRef): Promise<void>;
  /** Create-or-patch the Service and both Ingresses; returns the public URLs. */
  ensureSandboxNetwork(ref: ProjectRef): Promise<SandboxUrls>;
  /** Scale the StatefulSet; a missing StatefulSet is a no-op. */
  scaleSandbox(ref: ProjectRef, replicas: number): Promise<void>;
  observeSandbox(ref: ProjectRef): Promise<SandboxObservation>;

  /**
   * Watches the project's StatefulSet, its pods and its Cluster (list, then watch from the
   * list's resourceVersion, reconnecting on expiry) and returns as soon as the derived
   * status of a watched resource is not one of the allowed ones — at once when it already
   * is not — or after maxWaitMs. Reads only; heartbeats while it waits; ends on cancel.
   */
  awaitProjectChange(ref: ProjectRef, request: ProjectWatchRequest): Promise<ProjectWatchResult>;

  /**
   * Whether the app served requests after `since` (ISO time): reads the sandbox pod's log
   * for the runtime's app-activity lines. Never fails for a missing signal (no pod, a log
   * that cannot be read, a simulated node): that is `lastRequestAt: null` with the reason.
   */
  observeAppActivity(ref: ProjectRef, since: string): Promise<AppActivityObservation>;

  /** Delete every object labelled with the project id, PVCs included. Missing is fine. */
  deleteProjectResources(ref: ProjectRef): Promise<void>;

  /**
   * Write the status projection (Project, Sandbox, Database rows) and the timeline entries
   * (ProjectEvent, idempotent by id), and notify listeners.
   */
  recordStatus(view: ProjectStatusView, timeline?: TimelineBatch): Promise<void>;
}

/** A project the retention sweep deletes, with the reason its timeline entry gives. */
export interface RetentionDue {
  projectId: string;
  reason: string;
}

export interface RetentionActivities {
  /**
   * In one transaction: give the notice to every STOPPED, not kept project stopped for
   * `stoppedForMs` without one (a `retention-notice` timeline entry, the delete time on the
   * row), and list the projects whose delete time has come.
   */
  retentionSweepStep(input: RetentionSweepInput): Promise<{ noticed: string[]; due: RetentionDue[] }>;
}
