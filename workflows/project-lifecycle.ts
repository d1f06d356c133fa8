// projectLifecycle: one long-running workflow per project. Signals set the desired state;
// a reconcile loop compares it with what Kubernetes reports (through activities), acts,
// and waits for readiness by watching (an activity that returns when the derived status
// changes), waking at once on a signal. Settled, it watches for drift and repairs it.
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  metricMeter,
  patched,
  proxyActivities,
  setDefaultSignalHandler,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AppActivityObservation, DatabaseObservation, LifecycleActivities, ProjectWatchRequest, ProjectWatchResult, SandboxObservation } from '../activities/types';
import {
  ACTIVITY_HEARTBEAT_TIMEOUT_MS,
  DEFAULT_TIMINGS,
  NON_RETRYABLE_ERROR_TYPES,
  SETTLED_WATCH_HEARTBEAT_TIMEOUT_MS,
  type Actor,
  type DesiredState,
  type IntentArgs,
  type LifecycleInput,
  type TimelineEvent,
  type ProjectRef,
  type ProjectStatusView,
} from '../common/lifecycle';
import { formatMinutes, idleStopReason, normalizeActor, normalizeReason, utcClock } from '../common/policies';
import { ProjectNameKey, ProjectOwnerKey, ProjectStatusKey } from '../common/search-attributes';
import { RESOURCE_STATUSES, type ProjectStatus, type ResourceStatus } from '../common/status';
import { LifecycleState, nextBackoff, visibleKey } from './lifecycle-state';
import {
  deleteSignal,
  deleteUpdateWithActor,
  environmentChangedSignal,
  activitySignal,
  keepRunningSignal,
  setAppActivitySignal,
  setIdlePolicySignal,
  startSignal,
  startUpdateWithActor,
  statusQuery,
  stopSignal,
  stopUpdateWithActor,
  type IntentAccepted,
} from './messages';

type Resource = 'sandbox' | 'database';

/** A fault that puts a resource into ERROR with a readable reason. */
class LifecycleFault extends Error {
  constructor(
    readonly resources: Resource[],
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

export async function projectLifecycle(input: LifecycleInput): Promise<ProjectStatusView> {
  const timings = { ...DEFAULT_TIMINGS, ...input.timings };
  const ref: ProjectRef = { projectId: input.projectId, ownerId: input.ownerId, k8sName: input.k8sName };
  const state = new LifecycleState(input, () => new Date());
  // Lifecycle policies: the timeline (every intent with its actor, transition and error,
  // written by the projection), idle auto-stop with its warning. Runs recorded before them
  // replay without. Asked first, before any handler can run.
  const policies = patched('lifecycle-policies');
  state.policies = policies;
  // Readiness from watches instead of polling with backoff, and drift repair while settled
  // (decision 8). Runs recorded before them poll, and sleep while settled.
  const watchReadiness = patched('watch-readiness');
  const driftRepair = patched('drift-repair');
  // The projection queue coalesces: while one write is in flight, only the latest view
  // waits (with every timeline entry queued meanwhile). Runs recorded before it wrote
  // every view in turn.
  const coalesceProjection = patched('coalesce-projection');
  // App-URL activity (decision 10): a project opted in has the sandbox asked, when its idle
  // deadline comes, whether the app served requests meanwhile. Runs recorded before it
  // replay without (and ignore the opt-in signal).
  const appUrl = policies && patched('app-url-activity');
  state.appUrl = appUrl;
  const runId = workflowInfo().runId;
  if (!input.carried && policies) {
    const actor = normalizeActor({ actor: input.createdBy });
    state.record(runId, { kind: 'intent', actor, action: state.desired, effective: true, message: 'created' });
    state.setIntent(state.desired, actor);
  }
  // Emitted through the worker's Prometheus endpoint (never during replay).
  const transitions = metricMeter.createCounter('fsa_lifecycle_transitions', 'transitions', 'Project status transitions');
  const stateSeconds = metricMeter.createHistogram('fsa_lifecycle_state_seconds', 'float', 's', 'Time spent in a project status');
  const errors = metricMeter.createCounter('fsa_lifecycle_errors', 'errors', 'Lifecycle faults by reason');

  // Every signal bumps `wake`, so waits end at once; a change of desired state also
  // cancels the step in flight (its activities and timers).
  let wake = 0;
  // Bumped whenever the desired state changes: tells an interrupted step from a fault,
  // even when stop+start land back on the step's own target.
  let intent = 0;
  let step: CancellationScope | undefined;
  // Bumped by policy changes (keep running, idle timeout, activity that ends a warning):
  // the settled wait re-arms its idle timer and writes the projection.
  let idleWake = 0;
  const want = (desired: DesiredState, args?: unknown, actorOverride?: Actor) => {
    wake++;
    const actor = actorOverride ?? normalizeActor(args);
    const reason = normalizeReason(args);
    const event = { kind: 'intent' as const, actor, action: desired, ...(reason ? { reason } : {}) };
    if (state.desired === 'TERMINATED') {
      if (desired !== 'TERMINATED') log.warn('ignoring signal: the project is being deleted', { desired });
      state.record(runId, { ...event, effective: false, message: desired === 'TERMINATED' ? 'already being deleted' : 'ignored: the project is being deleted' });
      return;
    }
    const effective = state.desired !== desired;
    state.record(runId, { ...event, effective });
    if (effective) {
      state.desired = desired;
      state.setIntent(desired, actor, reason);
      state.idleWarning = null;
      intent++;
      step?.cancel();
    }
  };
  const signals: Record<string, (arg?: unknown) => void> = {
    [startSignal.name]: (a) => want('RUNNING', a),
    [stopSignal.name]: (a) => want('STOPPED', a),
    [deleteSignal.name]: (a) => want('TERMINATED', a),
    [environmentChangedSignal.name]: () => {
      state.envGeneration++;
      wake++;
    },
  };
  if (policies) {
    signals[activitySignal.name] = (a) => {
      const at = Date.parse(String((a as { lastActivityAt?: unknown } | undefined)?.lastActivityAt ?? ''));
      if (!Number.isFinite(at)) return void log.warn('ignoring activity report without a valid lastActivityAt');
      // Never in the future of workflow time; never backwards.
      const seen = Math.min(at, Date.now());
      if (seen <= (state.lastActivityAt ?? 0)) return;
      state.lastActivityAt = seen;
      if (appUrl) state.lastActivitySource = 'terminal';
      // The idle timer re-arms itself lazily when it fires; only a warning on show needs
      // the loop now (to take it down).
      if (state.idleWarning) {
        state.idleWarning = null;
        idleWake++;
      }
    };
    signals[keepRunningSignal.name] = (a) => {
      const actor = normalizeActor(a);
      state.record(runId, { kind: 'keep-running', actor, action: 'keepRunning', effective: state.desired === 'RUNNING' });
      if (state.desired !== 'RUNNING') return;
      state.idleSince = Date.now();
      state.idleWarning = null;
      idleWake++;
    };
    signals[setIdlePolicySignal.name] = (a) => {
      const raw = (a as { idleTimeoutMs?: unknown } | undefined)?.idleTimeoutMs;
      if (raw !== null && (typeof raw !== 'number' || !Number.isFinite(raw) || raw <= 0)) {
        return void log.warn('ignoring setIdlePolicy: idleTimeoutMs must be a positive number or null');
      }
      state.idleTimeoutMs = raw === null ? null : Math.round(raw);
      state.idleSince = Date.now();
      state.idleWarning = null;
      state.record(runId, {
        kind: 'policy',
        actor: normalizeActor(a),
        action: 'idle',
        message: raw === null ? 'auto-stop off' : `auto-stop after ${formatMinutes(raw)} without terminal activity`,
      });
      idleWake++;
    };
  }
  if (appUrl) {
    signals[setAppActivitySignal.name] = (a) => {
      const enabled = (a as { enabled?: unknown } | undefined)?.enabled;
      if (typeof enabled !== 'boolean') return void log.warn('ignoring setAppActivity: enabled must be true or false');
      state.appActivity = enabled;
      state.record(runId, {
        kind: 'policy',
        actor: normalizeActor(a),
        action: 'app-activity',
        message: enabled ? "requests to the app's URL count as activity" : "requests to the app's URL no longer count as activity",
      });
      idleWake++;
    };
  }
  // One handler for every signal, on purpose: signals that arrive with a run's first task
  // (right after start or continue-as-new) are buffered until registration, and per-name
  // handlers would replay them grouped by name — [stop, start] would end up stopped.
  setDefaultSignalHandler((name, ...args) => {
    const handle = signals[name];
    if (handle) handle(args[0]);
    else log.warn('ignoring unknown signal', { name });
  });
  setHandler(statusQuery, () => state.view());
  const intentUpdate = (desired: DesiredState) => ({
    handler: (args: IntentArgs): IntentAccepted => {
      want(desired, args);
      return { desired: state.desired, status: state.view().status };
    },
    validator: (_args: IntentArgs) => {
      if (state.desired === 'TERMINATED' && desired !== 'TERMINATED') {
        throw ApplicationFailure.nonRetryable(`the project is being deleted; it cannot be ${desired === 'RUNNING' ? 'started' : 'stopped'}`, 'Conflict');
      }
    },
  });
  for (const [def, desired] of [
    [startUpdateWithActor, 'RUNNING'],
    [stopUpdateWithActor, 'STOPPED'],
    [deleteUpdateWithActor, 'TERMINATED'],
  ] as const) {
    const u = intentUpdate(desired);
    setHandler(def, u.handler, { validator: u.validator });
  }

  if (!input.carried) {
    upsertSearchAttributes([
      { key: ProjectOwnerKey, value: input.ownerId },
      { key: ProjectNameKey, value: input.projectName },
    ]);
    upsertMemo({ projectName: input.projectName, ownerId: input.ownerId });
  }

  // --- activities -------------------------------------------------------------------
  const retry = {
    initialInterval: timings.initialBackoffMs,
    backoffCoefficient: 2,
    maximumInterval: timings.maxBackoffMs,
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  };
  // A step interrupted by a new intent waits for its Kubernetes activity to finish: a
  // write in flight must land before the stop or delete that follows, or it would undo it
  // (a sandbox scaled up again under a STOPPED project, objects resurrected after delete).
  // Runs recorded before this existed cancelled without waiting.
  const awaitCancelledWrites = patched('await-cancelled-writes');
  /** Kubernetes activities, retried until the stage's deadline. */
  const k8s = (deadline: number, summary: string) =>
    proxyActivities<LifecycleActivities>({
      startToCloseTimeout: '30s',
      scheduleToCloseTimeout: Math.max(deadline - Date.now(), 1_000),
      retry,
      summary,
      ...(awaitCancelledWrites
        ? { heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT_MS, cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED }
        : {}),
    });
  const projection = proxyActivities<LifecycleActivities>({
    startToCloseTimeout: '15s',
    scheduleToCloseTimeout: '2m',
    retry: { ...retry, nonRetryableErrorTypes: [] },
    summary: 'record status',
  });

  /**
   * Reads the sandbox's app-activity signal: short, two attempts; a failure is no signal
   * (the idle policy goes on as if no request came), never a fault.
   */
  const appProbe = proxyActivities<LifecycleActivities>({
    startToCloseTimeout: '20s',
    scheduleToCloseTimeout: '45s',
    retry: { initialInterval: timings.initialBackoffMs, maximumAttempts: 2, nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
    summary: 'read app activity',
  });
  /** Why the last look at the app's requests saw nothing to read (for the stop's reason). */
  let appUnavailable: string | null = null;
  /**
   * Asks the sandbox whether the app served requests since the idle clock's base; if so,
   * that is activity (source "app"): the clock restarts from it and the timeline says so.
   */
  const checkAppActivity = async (): Promise<boolean> => {
    const base = Math.max(state.lastActivityAt ?? 0, state.idleSince ?? 0);
    let r: AppActivityObservation;
    try {
      r = await appProbe.observeAppActivity(ref, new Date(base).toISOString());
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('reading app activity failed; counted as no requests', { error: String(err) });
      appUnavailable = 'the sandbox could not be asked';
      return false;
    }
    const at = r.lastRequestAt ? Date.parse(r.lastRequestAt) : NaN;
    if (!Number.isFinite(at)) {
      appUnavailable = r.unavailable ?? null;
      return false;
    }
    appUnavailable = null;
    const seenAt = Math.min(at, Date.now());
    if (seenAt <= base) return false;
    state.lastActivityAt = seenAt;
    state.lastActivitySource = 'app';
    state.idleWarning = null;
    const iso = new Date(seenAt).toISOString();
    const stopAt = state.idleStopAt();
    state.record(runId, {
      kind: 'app-activity',
      actor: { kind: 'idle' },
      action: 'app',
      message: `requests to the app's URL until ${utcClock(iso)}: the idle clock restarts${stopAt ? `, stops at ${utcClock(new Date(stopAt).toISOString())}` : ''}`,
    });
    return true;
  };

  /**
   * The watch activity: reads only, so a cancellation does not wait for it (it ends at its
   * next heartbeat). Allowed to run for its wait plus the final observation.
   */
  const watcher = (maxWaitMs: number, summary: string, scheduleToCloseMs?: number, heartbeatTimeout = ACTIVITY_HEARTBEAT_TIMEOUT_MS) =>
    proxyActivities<LifecycleActivities>({
      startToCloseTimeout: maxWaitMs + 60_000,
      ...(scheduleToCloseMs ? { scheduleToCloseTimeout: scheduleToCloseMs } : {}),
      heartbeatTimeout,
      cancellationType: ActivityCancellationType.TRY_CANCEL,
      retry,
      summary,
    });

  // --- status projection --------------------------------------------------------------
  let published = '';
  let lastStatus: ProjectStatus | undefined = input.carried ? state.status : undefined;
  let statusSince = state.statusSince ?? Date.now();
  // Projection writes run one after another, in order, beside the lifecycle: Kubernetes
  // work never waits for them. The run awaits the tail before it ends or hands over.
  let projectionTail: Promise<void> = Promise.resolve();
  /** Coalesced queue: the view (and timeline entries) to write after the one in flight. */
  let queuedView: { view: ProjectStatusView; events: TimelineEvent[] } | undefined;
  let projectionWriting = false;
  const writeProjection = (view: ProjectStatusView, events: TimelineEvent[]): Promise<void> => {
    const timeline = events.length ? { ownerId: input.ownerId, projectName: input.projectName, events } : undefined;
    // The projection must not be lost to a cancellation: it runs outside the step scope.
    return CancellationScope.nonCancellable(() => (timeline ? projection.recordStatus(view, timeline) : projection.recordStatus(view))).catch(
      (err: unknown) => {
        // The timeline must not be lost: its entries go with the next write (ids make it idempotent).
        if (timeline) state.pendingEvents.unshift(...events);
        log.warn('status projection failed; it is written again on the next change', { error: String(err) });
      },
    );
  };
  const drainProjection = async () => {
    while (queuedView) {
      const next = queuedView;
      queuedView = undefined;
      await writeProjection(next.view, next.events);
    }
    projectionWriting = false;
  };
  const publish = () => {
    const visibleChange = visibleKey(state.view()) !== published;
    if (!visibleChange && (!policies || state.pendingEvents.length === 0)) return;
    if (visibleChange) state.touch();
    const current = state.status;
    if (current !== lastStatus) {
      upsertSearchAttributes([{ key: ProjectStatusKey, value: current }]);
      if (lastStatus) {
        transitions.add(1, { from: lastStatus, to: current });
        stateSeconds.record((Date.now() - statusSince) / 1000, { state: lastStatus });
      }
      state.record(runId, { kind: 'transition', ...(lastStatus ? { from: lastStatus, durationMs: Date.now() - statusSince } : {}), to: current });
      // The idle clock starts when the project is up.
      if (current === 'RUNNING') state.idleSince = Date.now();
      lastStatus = current;
      statusSince = Date.now();
      state.statusSince = statusSince;
    }
    const view = state.view();
    published = visibleKey(view);
    const events: TimelineEvent[] = state.pendingEvents.splice(0);
    if (coalesceProjection) {
      // A newer view replaces one still waiting; its entries join the waiting ones.
      queuedView = { view, events: queuedView ? [...queuedView.events, ...events] : events };
      if (!projectionWriting) {
        projectionWriting = true;
        projectionTail = drainProjection();
      }
      return;
    }
    const timeline = events.length ? { ownerId: input.ownerId, projectName: input.projectName, events } : undefined;
    // The projection must not be lost to a cancellation: it runs outside the step scope.
    projectionTail = projectionTail
      .then(() => CancellationScope.nonCancellable(() => (timeline ? projection.recordStatus(view, timeline) : projection.recordStatus(view))))
      .catch((err: unknown) => {
        // The timeline must not be lost: its entries go with the next write (ids make it idempotent).
        if (timeline) state.pendingEvents.unshift(...events);
        log.warn('status projection failed; it is written again on the next change', { error: String(err) });
      });
  };

  // --- readiness ----------------------------------------------------------------------
  /** Polls `check` with backoff (1 s doubling to 30 s) until done or the deadline passes. */
  const waitFor = async (
    resources: Resource[],
    what: string,
    deadline: number,
    budgetMs: number,
    check: () => Promise<{ done: boolean; reason?: string }>,
  ) => {
    let delay = timings.initialBackoffMs;
    for (;;) {
      const r = await check();
      if (r.done) return;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new LifecycleFault(
          resources,
          `${what} within ${formatDuration(budgetMs)}${r.reason ? `: ${r.reason}` : ''}`,
          'deadline',
        );
      }
      const seen = wake;
      await condition(() => wake !== seen, Math.min(delay, remaining));
      delay = nextBackoff(delay, timings.maxBackoffMs);
    }
  };

  /** Runs an activity call, turning its failure into a LifecycleFault for `resources`. */
  const guard = async <T>(resources: Resource[], what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      if (isCancellation(err)) throw err;
      throw toFault(resources, what, err);
    }
  };

  const takeDatabase = (o: DatabaseObservation, creating: boolean) => {
    if (o.status === 'ERROR') throw new LifecycleFault(['database'], `Database cluster failed${o.reason ? `: ${o.reason}` : ''}`, 'database-failed');
    // While a resource is first created it reads CREATING, whatever the cluster says.
    state.setDatabase(creating && o.status !== 'RUNNING' ? 'CREATING' : o.status, { host: o.host, port: o.port });
    return o;
  };
  const takeSandbox = (o: SandboxObservation, shown?: 'CREATING' | 'UPDATING') => {
    if (o.status === 'ERROR') throw new LifecycleFault(['sandbox'], `Sandbox failed${o.reason ? `: ${o.reason}` : ''}`, 'sandbox-failed');
    const urls = o.publicUrl || o.ttydUrl ? { publicUrl: o.publicUrl, ttydUrl: o.ttydUrl } : undefined;
    state.setSandbox(shown && o.status === 'STARTING' ? shown : o.status, urls);
    return o;
  };
  const observeDatabase = async (deadline: number, creating: boolean) =>
    takeDatabase(await guard(['database'], 'Observing the database', () => k8s(deadline, 'observe database').observeDatabase(ref)), creating);
  const observeSandbox = async (deadline: number, shown?: 'CREATING' | 'UPDATING') =>
    takeSandbox(await guard(['sandbox'], 'Observing the sandbox', () => k8s(deadline, 'observe sandbox').observeSandbox(ref)), shown);

  /** Every status but these: a readiness watch returns only at its target or a fault. */
  const allBut = (...end: ResourceStatus[]): ResourceStatus[] => RESOURCE_STATUSES.filter((x) => !end.includes(x));

  interface Progress {
    done: boolean;
    reason?: string;
    /** What to watch while not done: the statuses that are no news. */
    watch: Omit<ProjectWatchRequest, 'maxWaitMs'>;
  }
  /**
   * Readiness by watching: looks once, then waits in awaitProjectChange until the derived
   * status reaches the target or a fault (one activity per wait, no workflow task in
   * between; intermediate statuses show as the step's own, STARTING or STOPPING), or the
   * deadline passes. A watch that sees nothing returns after readinessResyncMs and the
   * loop looks again.
   */
  const waitWatching = async (
    resources: Resource[],
    what: string,
    deadline: number,
    budgetMs: number,
    first: () => Promise<Progress>,
    next: (r: ProjectWatchResult) => Progress,
  ) => {
    let p = await first();
    while (!p.done) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new LifecycleFault(resources, `${what} within ${formatDuration(budgetMs)}${p.reason ? `: ${p.reason}` : ''}`, 'deadline');
      }
      const maxWaitMs = Math.min(remaining, timings.readinessResyncMs);
      const r = await guard(resources, 'Watching the project', () =>
        watcher(maxWaitMs, 'await readiness', remaining + 60_000).awaitProjectChange(ref, { ...p.watch, maxWaitMs }),
      );
      p = next(r);
    }
  };

  // --- reconcile steps ------------------------------------------------------------------
  // Write first, observe after: a change of intent goes straight to the idempotent write
  // and readiness is observed after it, instead of observe -> new workflow task -> write.
  // The last known status decides what the page shows meanwhile. Runs recorded before this
  // observed first.
  const writeFirst = patched('write-first');

  const bringUpDatabase = async () => {
    const dbDeadline = Date.now() + timings.databaseDeadlineMs;
    if (!writeFirst) {
      const db = await observeDatabase(dbDeadline, false);
      if (db.status === 'RUNNING') return;
    }
    // The sandbox needs the database's credentials, so the database comes first.
    const creating = !state.databaseCreated;
    if (!writeFirst || state.database.status !== 'RUNNING') {
      state.resetStagesFrom('database');
      state.beginStage('database');
      state.setDatabase(creating ? 'CREATING' : 'STARTING');
      publish();
    }
    await guard(['database'], 'Creating the database', () => k8s(dbDeadline, 'create or start database').ensureDatabase(ref));
    state.databaseCreated = true;
    if (watchReadiness) {
      const progress = (o: DatabaseObservation): Progress => {
        takeDatabase(o, creating);
        // On the way, whatever the cluster reads meanwhile: one watch until RUNNING or a fault.
        if (o.status !== 'RUNNING') {
          if (!creating) state.setDatabase('STARTING');
          publish();
        }
        return { done: o.status === 'RUNNING', reason: o.reason, watch: { database: allBut('RUNNING', 'ERROR') } };
      };
      await waitWatching(
        ['database'],
        'The database did not become ready',
        dbDeadline,
        timings.databaseDeadlineMs,
        async () => progress(await guard(['database'], 'Observing the database', () => k8s(dbDeadline, 'observe database').observeDatabase(ref))),
        (r) => progress(r.database!),
      );
      return;
    }
    await waitFor(['database'], 'The database did not become ready', dbDeadline, timings.databaseDeadlineMs, async () => {
      const o = await observeDatabase(dbDeadline, creating);
      if (o.status !== 'RUNNING') publish();
      return { done: o.status === 'RUNNING', reason: o.reason };
    });
  };

  const bringUpSandbox = async () => {
    const sbDeadline = Date.now() + timings.sandboxDeadlineMs;
    const known = writeFirst ? state.sandbox.status : (await observeSandbox(sbDeadline)).status;
    const generation = state.envGeneration;
    const needed = known !== 'RUNNING' || generation !== state.appliedEnvGeneration || !state.sandbox.ttydUrl;
    if (!needed && !writeFirst) return;
    const shown = !needed ? undefined : !state.sandboxCreated ? 'CREATING' : known === 'RUNNING' ? 'UPDATING' : undefined;
    if (needed) {
      state.resetStagesFrom('container');
      state.beginStage('container');
      state.setSandbox(shown ?? 'STARTING');
      publish();
    }
    await guard(['sandbox'], 'Creating the sandbox', () => k8s(sbDeadline, 'create or start sandbox').ensureSandbox(ref));
    state.sandboxCreated = true;
    state.finishStage('container');
    state.beginStage('network');
    if (needed) publish();
    const urls = await guard(['sandbox'], 'Exposing the sandbox', () => k8s(sbDeadline, 'expose sandbox').ensureSandboxNetwork(ref));
    state.setSandbox(state.sandbox.status, urls);
    state.finishStage('network');
    state.beginStage('terminal');
    publish();
    if (watchReadiness) {
      const progress = (o: SandboxObservation): Progress => {
        takeSandbox(o, shown);
        if (o.status !== 'RUNNING') {
          state.setSandbox(shown ?? 'STARTING');
          publish();
        }
        return { done: o.status === 'RUNNING', reason: o.reason, watch: { sandbox: allBut('RUNNING', 'ERROR') } };
      };
      await waitWatching(
        ['sandbox'],
        'The sandbox did not become ready',
        sbDeadline,
        timings.sandboxDeadlineMs,
        async () => progress(await guard(['sandbox'], 'Observing the sandbox', () => k8s(sbDeadline, 'observe sandbox').observeSandbox(ref))),
        (r) => progress(r.sandbox!),
      );
    } else {
      await waitFor(['sandbox'], 'The sandbox did not become ready', sbDeadline, timings.sandboxDeadlineMs, async () => {
        const o = await observeSandbox(sbDeadline, shown);
        if (o.status !== 'RUNNING') publish();
        return { done: o.status === 'RUNNING', reason: o.reason };
      });
    }
    state.appliedEnvGeneration = generation;
    state.finishStage('terminal');
  };

  const bringUp = async () => {
    await bringUpDatabase();
    state.finishStage('database');
    await bringUpSandbox();
    state.finishStage('ready');
  };

  const stopResource = async (resource: Resource, budgetMs: number) => {
    const deadline = Date.now() + budgetMs;
    const isDb = resource === 'database';
    const observe = () => (isDb ? observeDatabase(deadline, false) : observeSandbox(deadline));
    const settled = (s: string) => s === 'STOPPED' || s === 'TERMINATED';
    const set = (s: 'STOPPING' | 'STOPPED') => (isDb ? state.setDatabase(s) : state.setSandbox(s));
    // Write first: scaling what is already at 0 (or missing) is a no-op.
    const first = writeFirst ? undefined : await observe();
    if (!first || !settled(first.status)) {
      if (!writeFirst || !settled(isDb ? state.database.status : state.sandbox.status)) set('STOPPING');
      publish();
      await guard([resource], `Stopping the ${resource}`, () =>
        isDb ? k8s(deadline, 'stop database').scaleDatabase(ref, 0) : k8s(deadline, 'stop sandbox').scaleSandbox(ref, 0),
      );
      if (watchReadiness) {
        const progress = (o: SandboxObservation | DatabaseObservation): Progress => {
          if (isDb) takeDatabase(o as DatabaseObservation, false);
          else takeSandbox(o as SandboxObservation);
          if (!settled(o.status)) set('STOPPING');
          publish();
          return { done: settled(o.status), reason: o.reason, watch: { [resource]: allBut('STOPPED', 'TERMINATED', 'ERROR') } };
        };
        await waitWatching(
          [resource],
          `The ${resource} did not stop`,
          deadline,
          budgetMs,
          async () =>
            progress(
              await guard([resource], `Observing the ${resource}`, () =>
                isDb ? k8s(deadline, 'observe database').observeDatabase(ref) : k8s(deadline, 'observe sandbox').observeSandbox(ref),
              ),
            ),
          (r) => progress((isDb ? r.database : r.sandbox)!),
        );
      } else {
        await waitFor([resource], `The ${resource} did not stop`, deadline, budgetMs, async () => {
          const o = await observe();
          if (!settled(o.status)) set('STOPPING');
          publish();
          return { done: settled(o.status), reason: o.reason };
        });
      }
    }
    // Never created (stopped before creation) reads as STOPPED, not TERMINATED.
    set('STOPPED');
  };

  const bringDown = async () => {
    await Promise.all([stopResource('sandbox', timings.sandboxDeadlineMs), stopResource('database', timings.databaseDeadlineMs)]);
    state.resetStagesFrom('database');
  };

  const terminate = async () => {
    const budgetMs = Math.max(timings.sandboxDeadlineMs, timings.databaseDeadlineMs);
    const deadline = Date.now() + budgetMs;
    state.resetStagesFrom('database');
    state.setSandbox('TERMINATING');
    state.setDatabase('TERMINATING');
    publish();
    await guard(['sandbox', 'database'], 'Deleting the project', () => k8s(deadline, 'delete project resources').deleteProjectResources(ref));
    if (watchReadiness) {
      const progress = (sb: SandboxObservation | undefined, db: DatabaseObservation | undefined): Progress => {
        const sbGone = !sb || sb.status === 'TERMINATED';
        const dbGone = !db || db.status === 'TERMINATED';
        return {
          done: sbGone && dbGone,
          reason: (sbGone ? undefined : sb?.reason) ?? (dbGone ? undefined : db?.reason),
          watch: { ...(sbGone ? {} : { sandbox: allBut('TERMINATED') }), ...(dbGone ? {} : { database: allBut('TERMINATED') }) },
        };
      };
      await waitWatching(
        ['sandbox', 'database'],
        'Project resources were not deleted',
        deadline,
        budgetMs,
        async () => {
          const [sb, db] = await Promise.all([
            guard(['sandbox'], 'Observing the sandbox', () => k8s(deadline, 'observe sandbox').observeSandbox(ref)),
            guard(['database'], 'Observing the database', () => k8s(deadline, 'observe database').observeDatabase(ref)),
          ]);
          return progress(sb, db);
        },
        (r) => progress(r.sandbox, r.database),
      );
    } else {
      await waitFor(['sandbox', 'database'], 'Project resources were not deleted', deadline, budgetMs, async () => {
        const [sb, db] = await Promise.all([
          guard(['sandbox'], 'Observing the sandbox', () => k8s(deadline, 'observe sandbox').observeSandbox(ref)),
          guard(['database'], 'Observing the database', () => k8s(deadline, 'observe database').observeDatabase(ref)),
        ]);
        return { done: sb.status === 'TERMINATED' && db.status === 'TERMINATED', reason: sb.reason ?? db.reason };
      });
    }
    state.setSandbox('TERMINATED', { publicUrl: null, ttydUrl: null });
    state.setDatabase('TERMINATED', { host: undefined, port: undefined });
  };

  const reconcile = (target: DesiredState) =>
    target === 'RUNNING' ? bringUp() : target === 'STOPPED' ? bringDown() : terminate();

  /** ERROR for the fault's resources, with its reason in lastError and the timeline. */
  function reportFault(fault: LifecycleFault) {
    log.error('lifecycle fault', { message: fault.message, reason: fault.reason });
    errors.add(1, { reason: fault.reason });
    state.record(runId, { kind: 'error', message: fault.message, reason: fault.reason });
    state.settleActiveStages('failed');
    if (fault.resources.includes('database')) state.setDatabase('ERROR');
    if (fault.resources.includes('sandbox')) state.setSandbox('ERROR');
    state.fail(fault.message);
    publish();
  }

  // --- drift while settled ------------------------------------------------------------
  /** What a settled project's resources may read without that being drift (undefined: not settled). */
  const settledStatuses = (): Omit<ProjectWatchRequest, 'maxWaitMs'> | undefined => {
    if (!driftRepair) return undefined;
    if (state.desired === 'RUNNING' && state.status === 'RUNNING') return { sandbox: ['RUNNING'], database: ['RUNNING'] };
    // A resource never created (stopped before creation) or deleted by hand while stopped is fine: start re-creates it.
    if (state.desired === 'STOPPED' && state.status === 'STOPPED') return { sandbox: ['STOPPED', 'TERMINATED'], database: ['STOPPED', 'TERMINATED'] };
    return undefined;
  };
  const deviation = (allowed: Omit<ProjectWatchRequest, 'maxWaitMs'>, r: ProjectWatchResult) => ({
    sandbox: r.sandbox && allowed.sandbox && !allowed.sandbox.includes(r.sandbox.status) ? r.sandbox : undefined,
    database: r.database && allowed.database && !allowed.database.includes(r.database.status) ? r.database : undefined,
  });
  /**
   * Watches a settled project's objects (one long-lived activity, no workflow task while
   * nothing changes) until what the cluster shows leaves the settled statuses.
   */
  const watchDrift = async (allowed: Omit<ProjectWatchRequest, 'maxWaitMs'>): Promise<ReturnType<typeof deviation>> => {
    const maxWaitMs = timings.settledResyncMs;
    for (;;) {
      const r = await watcher(maxWaitMs, 'watch for drift', undefined, SETTLED_WATCH_HEARTBEAT_TIMEOUT_MS).awaitProjectChange(ref, { ...allowed, maxWaitMs });
      const d = deviation(allowed, r);
      if (d.sandbox || d.database) return d;
      // Nothing (or a change that went back by itself): watch on.
    }
  };
  /**
   * Drift seen: a failed resource is a fault (ERROR with the reason); anything else is
   * repaired by reconciling the desired state again (true). Shown as on the way there.
   */
  const takeDrift = (d: ReturnType<typeof deviation>): boolean => {
    const failed: Resource[] = [];
    if (d.sandbox?.status === 'ERROR') failed.push('sandbox');
    if (d.database?.status === 'ERROR') failed.push('database');
    if (failed.length) {
      const why = failed.includes('database')
        ? `Database cluster failed${d.database?.reason ? `: ${d.database.reason}` : ''}`
        : `Sandbox failed${d.sandbox?.reason ? `: ${d.sandbox.reason}` : ''}`;
      reportFault(new LifecycleFault(failed, why, failed.includes('database') ? 'database-failed' : 'sandbox-failed'));
      return false;
    }
    log.info('drift: the cluster no longer matches the settled state; reconciling', {
      desired: state.desired,
      sandbox: d.sandbox?.status,
      database: d.database?.status,
    });
    const moving = state.desired === 'RUNNING' ? 'STARTING' : 'STOPPING';
    if (d.sandbox) state.setSandbox(moving);
    if (d.database) state.setDatabase(moving);
    publish();
    return true;
  };

  // --- main loop ----------------------------------------------------------------------
  publish();
  for (;;) {
    const seen = wake;
    const seenIntent = intent;
    const target = state.desired;
    step = new CancellationScope();
    try {
      await step.run(() => reconcile(target));
      state.lastError = null;
      publish();
      if (target === 'TERMINATED') {
        await projectionTail;
        return state.view();
      }
    } catch (err) {
      if (isCancellation(err) && intent !== seenIntent) {
        // A new desired state interrupted this step; the loop picks it up at once.
        state.settleActiveStages('pending');
        continue;
      }
      reportFault(err instanceof LifecycleFault ? err : toFault(['sandbox', 'database'], 'Reconciling', err));
    } finally {
      step = undefined;
    }

    // Settled (or in ERROR): sleep until a signal, or hand over to a fresh run when the
    // history grows long. Handlers only mutate state, so nothing is lost across the hop.
    if (!policies) {
      await condition(() => wake !== seen || workflowInfo().continueAsNewSuggested);
      if (wake === seen) {
        await condition(allHandlersFinished);
        await projectionTail;
        await continueAsNew<typeof projectLifecycle>({ ...input, carried: state.carry() });
      }
      continue;
    }
    await settled(seen);
  }

  /**
   * The settled wait with the idle policy: one durable timer, to the warning or to the stop.
   * Activity reports only move lastActivityAt; the timer re-arms from it when it fires, so
   * an active terminal costs one timer per idle period, not one per report.
   */
  async function settled(seen: number): Promise<void> {
    // The drift watch runs beside the idle timer while the project stays settled.
    let drift: CancellationScope | undefined;
    let drifted: ReturnType<typeof deviation> | undefined;
    /** The deadline (and phase: warning or stop) the app was last asked about: once each. */
    let appAsked = '';
    const stopDriftWatch = () => {
      drift?.cancel();
      drift = undefined;
    };
    try {
      for (;;) {
        const seenIdle = idleWake;
        const stopAt = state.idleStopAt();
        let timeoutMs: number | undefined;
        if (stopAt !== null) {
          const now = Date.now();
          const warnAt = stopAt - timings.idleWarningMs;
          // Opted in to app-URL activity: before the warning and again before the stop, the
          // sandbox is asked whether the app served requests since the last activity.
          if (appUrl && state.appActivity && now >= warnAt && appAsked !== `${stopAt}:${now >= stopAt}`) {
            appAsked = `${stopAt}:${now >= stopAt}`;
            await checkAppActivity();
            if (wake !== seen) return;
            continue; // decide again: the deadline may have moved
          }
          if (now >= stopAt) {
            const idle = state.idleView()!;
            const app = appUrl && state.appActivity ? { source: state.lastActivitySource, unavailable: appUnavailable } : undefined;
            want('STOPPED', { reason: idleStopReason(state.idleTimeoutMs!, idle.lastActivityAt, idle.since, app) }, { kind: 'idle' });
            publish();
            return;
          }
          if (now >= warnAt && state.idleWarning?.stopAt !== new Date(stopAt).toISOString()) {
            state.idleWarning = { stopAt: new Date(stopAt).toISOString() };
            const unless = appUrl && state.appActivity ? `terminal activity, a request to the app's URL` : 'terminal activity';
            state.record(runId, { kind: 'idle-warning', actor: { kind: 'idle' }, message: `stops at ${state.idleWarning.stopAt} unless there is ${unless} or "keep running"` });
          }
          timeoutMs = (now >= warnAt ? stopAt : warnAt) - now;
        } else if (state.idleWarning) {
          state.idleWarning = null;
        }
        publish();
        const allowed = settledStatuses();
        if (allowed && !drift) {
          const scope = new CancellationScope();
          drift = scope;
          scope.run(() => watchDrift(allowed)).then(
            (d) => {
              if (drift === scope) drifted = d;
            },
            (err: unknown) => {
              if (isCancellation(err)) return;
              // Not retryable (e.g. the kubeconfig may no longer watch): the project is not
              // watched until its next change of intent; its status stays as it was.
              log.warn('the drift watch failed; drift is not repaired until the next intent', { error: String(err) });
            },
          );
        }
        const woken = () => wake !== seen || idleWake !== seenIdle || drifted !== undefined || workflowInfo().continueAsNewSuggested;
        if (timeoutMs === undefined) await condition(woken);
        else await condition(woken, timeoutMs);
        if (wake !== seen) return;
        if (drifted) {
          const d = drifted;
          drifted = undefined;
          drift = undefined;
          if (takeDrift(d)) return;
          continue;
        }
        if (idleWake !== seenIdle) continue;
        if (workflowInfo().continueAsNewSuggested) {
          stopDriftWatch();
          await condition(allHandlersFinished);
          publish();
          await projectionTail;
          state.statusSince = statusSince;
          await continueAsNew<typeof projectLifecycle>({ ...input, carried: state.carry() });
        }
        // The timer fired: the loop decides (warn, stop, or re-arm after recent activity).
      }
    } finally {
      stopDriftWatch();
    }
  }
}

function toFault(resources: Resource[], what: string, err: unknown): LifecycleFault {
  if (err instanceof LifecycleFault) return err;
  if (err instanceof ActivityFailure) {
    const cause = err.cause;
    if (err.retryState === 'TIMEOUT') {
      // Transient errors were retried until the stage's deadline; name the last one.
      const last = cause instanceof TimeoutFailure ? cause.cause?.message : cause?.message;
      return new LifecycleFault(resources, `${what} did not succeed before the deadline${last ? `: ${last}` : ''}`, 'deadline');
    }
    if (cause instanceof ApplicationFailure) {
      return new LifecycleFault(resources, `${what} failed: ${cause.message}`, cause.type ?? 'activity');
    }
    if (cause instanceof TimeoutFailure) {
      // Transient errors were retried until the stage's deadline; name the last one.
      const last = cause.cause?.message;
      return new LifecycleFault(resources, `${what} did not succeed before the deadline${last ? `: ${last}` : ''}`, 'deadline');
    }
    return new LifecycleFault(resources, `${what} failed: ${cause?.message || err.message || err.name}`, 'activity');
  }
  return new LifecycleFault(resources, `${what} failed: ${err instanceof Error ? err.message || err.name : String(err)}`, 'internal');
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}` : `${s}s`;
}
