// projectLifecycle: one long-running workflow per project. Signals set the desired state;
// a reconcile loop compares it with what Kubernetes reports (through activities), acts,
// and waits for readiness on durable timers with backoff, waking at once on a signal.
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
import type { LifecycleActivities } from '../activities/types';
import {
  ACTIVITY_HEARTBEAT_TIMEOUT_MS,
  DEFAULT_TIMINGS,
  NON_RETRYABLE_ERROR_TYPES,
  type DesiredState,
  type LifecycleInput,
  type ProjectRef,
  type ProjectStatusView,
} from '../common/lifecycle';
import { ProjectNameKey, ProjectOwnerKey, ProjectStatusKey } from '../common/search-attributes';
import type { ProjectStatus } from '../common/status';
import { LifecycleState, nextBackoff, visibleKey } from './lifecycle-state';
import {
  deleteSignal,
  deleteUpdate,
  environmentChangedSignal,
  startSignal,
  startUpdate,
  statusQuery,
  stopSignal,
  stopUpdate,
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
  const want = (desired: DesiredState) => {
    wake++;
    if (state.desired === 'TERMINATED') {
      if (desired !== 'TERMINATED') log.warn('ignoring signal: the project is being deleted', { desired });
      return;
    }
    if (state.desired !== desired) {
      state.desired = desired;
      intent++;
      step?.cancel();
    }
  };
  const signals: Record<string, () => void> = {
    [startSignal.name]: () => want('RUNNING'),
    [stopSignal.name]: () => want('STOPPED'),
    [deleteSignal.name]: () => want('TERMINATED'),
    [environmentChangedSignal.name]: () => {
      state.envGeneration++;
      wake++;
    },
  };
  // One handler for every signal, on purpose: signals that arrive with a run's first task
  // (right after start or continue-as-new) are buffered until registration, and per-name
  // handlers would replay them grouped by name — [stop, start] would end up stopped.
  setDefaultSignalHandler((name) => {
    const handle = signals[name];
    if (handle) handle();
    else log.warn('ignoring unknown signal', { name });
  });
  setHandler(statusQuery, () => state.view());
  const intentUpdate = (desired: DesiredState) => ({
    handler: (): IntentAccepted => {
      want(desired);
      return { desired: state.desired, status: state.view().status };
    },
    validator: () => {
      if (state.desired === 'TERMINATED' && desired !== 'TERMINATED') {
        throw ApplicationFailure.nonRetryable(`the project is being deleted; it cannot be ${desired === 'RUNNING' ? 'started' : 'stopped'}`, 'Conflict');
      }
    },
  });
  for (const [def, desired] of [
    [startUpdate, 'RUNNING'],
    [stopUpdate, 'STOPPED'],
    [deleteUpdate, 'TERMINATED'],
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

  // --- status projection --------------------------------------------------------------
  let published = '';
  let lastStatus: ProjectStatus | undefined = input.carried ? state.status : undefined;
  let statusSince = Date.now();
  // Projection writes run one after another, in order, beside the lifecycle: Kubernetes
  // work never waits for them. The run awaits the tail before it ends or hands over.
  let projectionTail: Promise<void> = Promise.resolve();
  const publish = () => {
    if (visibleKey(state.view()) === published) return;
    state.touch();
    const view = state.view();
    published = visibleKey(view);
    if (view.status !== lastStatus) {
      upsertSearchAttributes([{ key: ProjectStatusKey, value: view.status }]);
      if (lastStatus) {
        transitions.add(1, { from: lastStatus, to: view.status });
        stateSeconds.record((Date.now() - statusSince) / 1000, { state: lastStatus });
      }
      lastStatus = view.status;
      statusSince = Date.now();
    }
    // The projection must not be lost to a cancellation: it runs outside the step scope.
    projectionTail = projectionTail
      .then(() => CancellationScope.nonCancellable(() => projection.recordStatus(view)))
      .catch((err: unknown) => log.warn('status projection failed; it is written again on the next change', { error: String(err) }));
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

  const observeDatabase = async (deadline: number, creating: boolean) => {
    const o = await guard(['database'], 'Observing the database', () => k8s(deadline, 'observe database').observeDatabase(ref));
    if (o.status === 'ERROR') throw new LifecycleFault(['database'], `Database cluster failed${o.reason ? `: ${o.reason}` : ''}`, 'database-failed');
    // While a resource is first created it reads CREATING, whatever the cluster says.
    state.setDatabase(creating && o.status !== 'RUNNING' ? 'CREATING' : o.status, { host: o.host, port: o.port });
    return o;
  };
  const observeSandbox = async (deadline: number, shown?: 'CREATING' | 'UPDATING') => {
    const o = await guard(['sandbox'], 'Observing the sandbox', () => k8s(deadline, 'observe sandbox').observeSandbox(ref));
    if (o.status === 'ERROR') throw new LifecycleFault(['sandbox'], `Sandbox failed${o.reason ? `: ${o.reason}` : ''}`, 'sandbox-failed');
    const urls = o.publicUrl || o.ttydUrl ? { publicUrl: o.publicUrl, ttydUrl: o.ttydUrl } : undefined;
    state.setSandbox(shown && o.status === 'STARTING' ? shown : o.status, urls);
    return o;
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
    await waitFor(['sandbox'], 'The sandbox did not become ready', sbDeadline, timings.sandboxDeadlineMs, async () => {
      const o = await observeSandbox(sbDeadline, shown);
      if (o.status !== 'RUNNING') publish();
      return { done: o.status === 'RUNNING', reason: o.reason };
    });
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
      await waitFor([resource], `The ${resource} did not stop`, deadline, budgetMs, async () => {
        const o = await observe();
        if (!settled(o.status)) set('STOPPING');
        publish();
        return { done: settled(o.status), reason: o.reason };
      });
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
    await waitFor(['sandbox', 'database'], 'Project resources were not deleted', deadline, budgetMs, async () => {
      const [sb, db] = await Promise.all([
        guard(['sandbox'], 'Observing the sandbox', () => k8s(deadline, 'observe sandbox').observeSandbox(ref)),
        guard(['database'], 'Observing the database', () => k8s(deadline, 'observe database').observeDatabase(ref)),
      ]);
      return { done: sb.status === 'TERMINATED' && db.status === 'TERMINATED', reason: sb.reason ?? db.reason };
    });
    state.setSandbox('TERMINATED', { publicUrl: null, ttydUrl: null });
    state.setDatabase('TERMINATED', { host: undefined, port: undefined });
  };

  const reconcile = (target: DesiredState) =>
    target === 'RUNNING' ? bringUp() : target === 'STOPPED' ? bringDown() : terminate();

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
      const fault = err instanceof LifecycleFault ? err : toFault(['sandbox', 'database'], 'Reconciling', err);
      log.error('lifecycle fault', { message: fault.message, reason: fault.reason });
      errors.add(1, { reason: fault.reason });
      state.settleActiveStages('failed');
      if (fault.resources.includes('database')) state.setDatabase('ERROR');
      if (fault.resources.includes('sandbox')) state.setSandbox('ERROR');
      state.fail(fault.message);
      publish();
    } finally {
      step = undefined;
    }

    // Settled (or in ERROR): sleep until a signal, or hand over to a fresh run when the
    // history grows long. Handlers only mutate state, so nothing is lost across the hop.
    await condition(() => wake !== seen || workflowInfo().continueAsNewSuggested);
    if (wake === seen) {
      await condition(allHandlersFinished);
      await projectionTail;
      await continueAsNew<typeof projectLifecycle>({ ...input, carried: state.carry() });
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
