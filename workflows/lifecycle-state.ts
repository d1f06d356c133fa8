// The lifecycle's state and its projection into the `status` query result. Plain data
// and pure functions: the workflow mutates it, the query and the projection read it.
import {
  STAGE_NAMES,
  type ActivitySource,
  type Actor,
  type CarriedState,
  type DesiredState,
  type IntentRecord,
  type TimelineEvent,
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
  /** Lifecycle policies (idle auto-stop, timeline) are on: runs from before them replay without. */
  policies = false;
  idleTimeoutMs: number | null;
  lastActivityAt: number | null;
  /** When the idle clock started: RUNNING reached, "keep running", policy change. */
  idleSince: number | null;
  idleWarning: { stopAt: string } | null;
  /** App-URL activity is known to this run (patched): runs from before it replay without. */
  appUrl = false;
  /** Requests to the app's URL count as activity (the project opted in). */
  appActivity: boolean;
  lastActivitySource: ActivitySource | null;
  lastIntent: IntentRecord | null;
  eventSeq: number;
  pendingEvents: TimelineEvent[];
  /** When the current status began (transition durations). */
  statusSince: number | undefined;

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
    this.idleTimeoutMs = c?.idle ? c.idle.timeoutMs : (input.idleTimeoutMs ?? null);
    this.lastActivityAt = c?.idle?.lastActivityAt ?? null;
    this.idleSince = c?.idle?.since ?? null;
    this.idleWarning = c?.idle?.warning ?? null;
    this.appActivity = c?.idle?.app ?? input.appActivity ?? false;
    this.lastActivitySource = c?.idle?.source ?? null;
    this.lastIntent = c?.lastIntent ?? null;
    this.eventSeq = c?.eventSeq ?? 0;
    this.pendingEvents = c?.pendingEvents ? [...c.pendingEvents] : [];
    this.statusSince = c?.statusSince;
  }

  /** Queues a timeline entry; the next projection write persists it. */
  record(runId: string, event: Omit<TimelineEvent, 'id' | 'seq' | 'at'>): TimelineEvent | undefined {
    if (!this.policies) return undefined;
    const seq = this.eventSeq++;
    const e: TimelineEvent = { id: `${runId}:${seq}`, seq, at: this.now().toISOString(), ...event };
    this.pendingEvents.push(e);
    return e;
  }

  setIntent(desired: DesiredState, actor: Actor, reason?: string) {
    this.lastIntent = { desired, actor, at: this.now().toISOString(), ...(reason ? { reason } : {}) };
  }

  /** When the idle stop is due (ms), or null: only while RUNNING and wanted so, with a timeout. */
  idleStopAt(): number | null {
    if (!this.policies || this.idleTimeoutMs === null || this.desired !== 'RUNNING' || this.status !== 'RUNNING') return null;
    const base = Math.max(this.lastActivityAt ?? 0, this.idleSince ?? 0);
    return base ? base + this.idleTimeoutMs : null;
  }

  idleView(): ProjectStatusView['idle'] {
    const stopAt = this.idleStopAt();
    return {
      timeoutMs: this.idleTimeoutMs,
      lastActivityAt: this.lastActivityAt ? new Date(this.lastActivityAt).toISOString() : null,
      since: this.idleSince ? new Date(this.idleSince).toISOString() : null,
      stopAt: stopAt ? new Date(stopAt).toISOString() : null,
      warning: this.idleWarning,
      ...(this.appUrl ? { appActivity: this.appActivity, lastActivitySource: this.lastActivitySource } : {}),
    };
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
      ...(this.policies ? { idle: this.idleView(), lastIntent: this.lastIntent } : {}),
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
      ...(this.policies
        ? {
            idle: {
              timeoutMs: this.idleTimeoutMs,
              lastActivityAt: this.lastActivityAt,
              since: this.idleSince,
              warning: this.idleWarning,
              ...(this.appUrl ? { app: this.appActivity, source: this.lastActivitySource } : {}),
            },
            lastIntent: this.lastIntent,
            eventSeq: this.eventSeq,
            pendingEvents: this.pendingEvents,
            statusSince: this.statusSince,
          }
        : {}),
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
