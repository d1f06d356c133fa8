// The activities the lifecycle workflow calls. Implementations: activities/kubernetes
// (production) and the test fakes; the workflow imports only these types.
import type { ProjectRef, ProjectStatusView } from '../common/lifecycle';
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

export interface SandboxUrls {
  publicUrl: string;
  ttydUrl: string;
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

  /** Delete every object labelled with the project id, PVCs included. Missing is fine. */
  deleteProjectResources(ref: ProjectRef): Promise<void>;

  /** Write the status projection (Project, Sandbox, Database rows) and notify listeners. */
  recordStatus(view: ProjectStatusView): Promise<void>;
}
