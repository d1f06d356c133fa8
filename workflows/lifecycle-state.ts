// The lifecycle's state and its projection into the `status` query result. Plain data
// and pure functions: the workflow mutates it, the query and the projection read it.
import {
  STAGE_NAMES,
  type CarriedState,
  type DesiredState,
  type LifecycleError,
  type LifecycleInput,
  type ProjectStatusView,
  type Stage,
  type StageName,
  type StageState,
} from '../common/lifecycle';
import { aggregateProjectStatus, type ResourceStatus } from '../common/status';

export class LifecycleState {
  desired: DesiredState;
  sandbox: ProjectStatusView['sandbox'];
  database: NonNullable<ProjectStatusView['database']>;
  stages: Stage[];
  lastError: LifecycleError | null;
  envGeneration: number;
  appliedEnvGeneration: number;
  sandboxCreated: boolean;
  databaseCreated: boolean;
  updatedAt: string;

  constructor(
    private readonly input: LifecycleInput,
    private readonly now: () => Date,
  ) {
    const c: CarriedState | undefined = input.carried;
    this.desired = c?.desired ?? input.desired ?? 'RUNNING';
    this.sandbox = c?.sandbox ?? { status: 'CREATING', publicUrl: null, ttydUrl: null };
    this.database = c?.database ?? { status: 'CREATING' };
    this.stages = c?.stages ?? STAGE_NAMES.map((name) => ({ name, state: 'pending' as StageState }));
    this.lastError = c?.lastError ?? null;
    this.envGeneration = c?.envGeneration ?? 0;
    this.appliedEnvGeneration = c?.appliedEnvGeneration ?? 0;
    this.sandboxCreated = c?.sandboxCreated ?? false;
    this.databaseCreated = c?.databaseCreated ?? false;
    this.updatedAt = c?.updatedAt ?? this.now().toISOString();
  }

  get status() {
    return aggregateProjectStatus([this.sandbox.status, this.database.status]);
  }

  view(): ProjectStatusView {
    return {
      projectId: this.input.projectId,
      status: this.status,
      desired: this.desired,
      sandbox: { ...this.sandbox },
      database: { ...this.database },
      stages: this.stages.map((s) => ({ ...s })),
      lastError: this.lastError,
      updatedAt: this.updatedAt,
    };
  }

  carry(): CarriedState {
    const { desired, sandbox, database, stages, lastError, envGeneration, appliedEnvGeneration } = this;
    return {
      desired,
      sandbox,
      database,
      stages,
      lastError,
      envGeneration,
      appliedEnvGeneration,
      sandboxCreated: this.sandboxCreated,
      databaseCreated: this.databaseCreated,
      updatedAt: this.updatedAt,
    };
  }

  setSandbox(status: ResourceStatus, urls?: { publicUrl: string | null; ttydUrl: string | null }) {
    this.sandbox = { ...this.sandbox, status, ...(urls ?? {}) };
  }

  setDatabase(status: ResourceStatus, endpoint?: { host?: string; port?: number }) {
    this.database = { ...this.database, status, ...(endpoint ?? {}) };
  }

  private stage(name: StageName): Stage {
    return this.stages.find((s) => s.name === name) as Stage;
  }

  beginStage(name: StageName) {
    const s = this.stage(name);
    s.state = 'active';
    s.startedAt = this.now().toISOString();
    delete s.finishedAt;
  }

  finishStage(name: StageName) {
    const s = this.stage(name);
    const at = this.now().toISOString();
    s.startedAt ??= at;
    s.state = 'done';
    s.finishedAt = at;
  }

  /** Marks the active stages failed (an error) or pending again (interrupted by a signal). */
  settleActiveStages(state: 'failed' | 'pending') {
    for (const s of this.stages) {
      if (s.state !== 'active') continue;
      s.state = state;
      if (state === 'pending') delete s.startedAt;
      else s.finishedAt = this.now().toISOString();
    }
  }

  /** Resets `from` and every later stage to pending (a new bring-up from that point). */
  resetStagesFrom(from: StageName) {
    const i = STAGE_NAMES.indexOf(from);
    this.stages = this.stages.map((s, j) => (j < i ? s : { name: s.name, state: 'pending' }));
  }

  fail(message: string) {
    this.lastError = { message, at: this.now().toISOString() };
  }

  touch() {
    this.updatedAt = this.now().toISOString();
  }
}

/** The view without updatedAt, to tell whether anything visible changed. */
export function visibleKey(view: ProjectStatusView): string {
  return JSON.stringify({ ...view, updatedAt: undefined });
}

/** Readiness polling backoff: doubles from the initial delay up to the maximum. */
export function nextBackoff(delayMs: number, maxMs: number): number {
  return Math.min(delayMs * 2, maxMs);
}
