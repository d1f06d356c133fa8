// Fake lifecycle activities over an in-memory stand-in for Kubernetes, for workflow and
// web tests that must not depend on a cluster. They reproduce what the workflow has to
// cope with: slow readiness, transient and permanent errors, and deletion mid-creation.
// recordStatus writes the real projection when a database is given.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { createStatusProjection } from '../activities/status-projection';
import type { DatabaseObservation, LifecycleActivities, SandboxObservation } from '../activities/types';
import type { ProjectRef, ProjectStatusView, TimelineEvent } from '../common/lifecycle';
import { databaseStatusFromClusterPhase, sandboxStatusFromStatefulSet } from '../common/status';
import type { Db } from '../server/db';

type Method = keyof LifecycleActivities;

interface FakeObject {
  replicas: number;
  /** When the current replicas become real (ready, or gone when 0). */
  settlesAt: number;
  /** The env the pod runs with (JSON), as applied by ensureSandbox. */
  env: string;
  deletedAt?: number;
}

export interface FakeActivitiesOptions {
  /** Time a new or restarted resource needs to become ready. */
  sandboxReadyMs?: number;
  databaseReadyMs?: number;
  stopMs?: number;
  deleteMs?: number;
  db?: Db;
  now?: () => number;
}

export type Failure = 'transient' | { type: string; message: string } | 'hang';

export class FakeKubernetes {
  readonly sandboxes = new Map<string, FakeObject>();
  readonly databases = new Map<string, FakeObject>();
  readonly calls: { method: Method; projectId: string; at: number }[] = [];
  readonly recorded: ProjectStatusView[] = [];
  /** Timeline entries as delivered (an activity retry delivers some again). */
  readonly timeline: TimelineEvent[] = [];
  private readonly failures = new Map<Method, Failure[]>();
  readonly neverReady = new Set<string>();
  /** Databases whose Cluster reads Failed, with the operator's message. */
  readonly failedDatabases = new Map<string, string>();
  /** Looks taken inside awaitProjectChange (the stand-in for watch events). */
  watchLooks = 0;
  /** `method:start` / `method:end` of held calls, in order (see holdNext). */
  readonly events: string[] = [];
  private readonly holds = new Map<Method, { released: Promise<void>; entered: () => void }[]>();
  /** Stand-in for the project's Environment rows, read by ensureSandbox. */
  readonly env = new Map<string, Record<string, string>>();
  /**
   * Stand-in for the sandbox's app-activity log lines (runtime/app-activity.sh): the times
   * of requests to each project's app. A project without an entry gives no signal, as a
   * simulated node does.
   */
  readonly appRequests = new Map<string, number[]>();

  constructor(readonly opts: FakeActivitiesOptions = {}) {}

  now() {
    return (this.opts.now ?? Date.now)();
  }

  /** The next `count` calls of `method` fail this way. */
  failNext(method: Method, failure: Failure, count = 1) {
    const q = this.failures.get(method) ?? [];
    for (let i = 0; i < count; i++) q.push(failure);
    this.failures.set(method, q);
  }

  /**
   * The next call of `method` is held open, as a write in flight: it ignores cancellation
   * (a request already sent lands anyway) and completes only on release().
   */
  holdNext(method: Method): { entered: Promise<void>; release: () => void } {
    let release!: () => void;
    let entered!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const enteredP = new Promise<void>((r) => (entered = r));
    this.holds.set(method, [...(this.holds.get(method) ?? []), { released, entered }]);
    return { entered: enteredP, release };
  }

  /** The project's sandbox never becomes ready (to exercise deadlines). */
  neverBecomeReady(projectId: string) {
    this.neverReady.add(projectId);
  }

  callsOf(method: Method, projectId?: string) {
    return this.calls.filter((c) => c.method === method && (!projectId || c.projectId === projectId));
  }

  async enter(method: Method, ref: { projectId: string }) {
    this.calls.push({ method, projectId: ref.projectId, at: this.now() });
    this.events.push(`${method}:start`);
    const hold = this.holds.get(method)?.shift();
    if (hold) {
      hold.entered();
      await hold.released;
    }
    const f = this.failures.get(method)?.shift();
    if (!f) return;
    if (f === 'transient') throw new Error(`simulated transient failure of ${method} (HTTP 503)`);
    // Hangs until the worker cancels it (on shutdown, or when a heartbeat carries a cancel).
    if (f === 'hang') return Context.current().cancelled;
    throw ApplicationFailure.nonRetryable(f.message, f.type);
  }

  scale(map: Map<string, FakeObject>, id: string, replicas: number, readyMs: number) {
    const o = map.get(id);
    if (!o || o.deletedAt !== undefined) return;
    if (o.replicas !== replicas) map.set(id, { ...o, replicas, settlesAt: this.now() + readyMs });
  }

  ensure(map: Map<string, FakeObject>, id: string, readyMs: number, env: string) {
    const o = map.get(id);
    if (o && o.deletedAt === undefined && o.replicas === 1 && o.env === env) return;
    map.set(id, { replicas: 1, settlesAt: this.now() + readyMs, env });
  }

  present(map: Map<string, FakeObject>, id: string): FakeObject | undefined {
    const o = map.get(id);
    if (o?.deletedAt !== undefined && this.now() >= o.deletedAt) {
      map.delete(id);
      return undefined;
    }
    return o;
  }
}

export function createFakeActivities(opts: FakeActivitiesOptions = {}): { activities: LifecycleActivities; fake: FakeKubernetes } {
  const fake = new FakeKubernetes(opts);
  const sandboxReadyMs = opts.sandboxReadyMs ?? 300;
  const databaseReadyMs = opts.databaseReadyMs ?? 300;
  const stopMs = opts.stopMs ?? 200;
  const deleteMs = opts.deleteMs ?? 200;
  const projection = opts.db ? createStatusProjection(opts.db) : undefined;

  const observeDatabaseNow = (ref: ProjectRef): DatabaseObservation => {
    const o = fake.present(fake.databases, ref.projectId);
    if (!o) return { status: 'TERMINATED' };
    const settled = fake.now() >= o.settlesAt;
    const failed = fake.failedDatabases.get(ref.projectId);
    const phase = failed !== undefined ? 'Failed' : o.deletedAt !== undefined ? 'Deleting' : o.replicas === 0 ? (settled ? 'Stopped' : 'Stopping') : settled ? 'Running' : 'Creating';
    const status = databaseStatusFromClusterPhase(phase, o.replicas);
    if (failed !== undefined) return { status, reason: `cluster phase ${phase}: ${failed}` };
    return { status, host: status === 'RUNNING' ? `${ref.k8sName}-db-postgresql` : undefined, port: status === 'RUNNING' ? 5432 : undefined, reason: `cluster phase ${phase}` };
  };
  const observeSandboxNow = (ref: ProjectRef): SandboxObservation => {
    const o = fake.present(fake.sandboxes, ref.projectId);
    const urls = o ? { publicUrl: `https://${ref.k8sName}-app.sandbox.test`, ttydUrl: `https://${ref.k8sName}-ttyd.sandbox.test` } : { publicUrl: null, ttydUrl: null };
    if (!o) return { status: 'TERMINATED', ...urls };
    const settled = fake.now() >= o.settlesAt && !fake.neverReady.has(ref.projectId);
    const ready = o.replicas === 1 && settled ? 1 : 0;
    const status = sandboxStatusFromStatefulSet({
      exists: true,
      specReplicas: o.replicas,
      readyReplicas: ready,
      currentReplicas: ready,
      updatedReplicas: ready,
      podCount: o.replicas === 0 ? (settled ? 0 : 1) : 1,
      generationObserved: true,
    });
    return { status, ...urls, reason: ready ? undefined : 'pod not ready: readiness probe on ttyd failing' };
  };

  const activities: LifecycleActivities = {
    async ensureDatabase(ref: ProjectRef) {
      await fake.enter('ensureDatabase', ref);
      fake.ensure(fake.databases, ref.projectId, databaseReadyMs, '');
    },
    async scaleDatabase(ref, replicas) {
      await fake.enter('scaleDatabase', ref);
      fake.scale(fake.databases, ref.projectId, replicas, replicas === 0 ? stopMs : databaseReadyMs);
    },
    async observeDatabase(ref) {
      await fake.enter('observeDatabase', ref);
      return observeDatabaseNow(ref);
    },
    async ensureSandbox(ref) {
      await fake.enter('ensureSandbox', ref);
      // The env is read at ensure time, as the real activity reads the Environment rows.
      fake.ensure(fake.sandboxes, ref.projectId, sandboxReadyMs, JSON.stringify(fake.env.get(ref.projectId) ?? {}));
      fake.events.push('ensureSandbox:end');
    },
    async ensureSandboxNetwork(ref) {
      await fake.enter('ensureSandboxNetwork', ref);
      return { publicUrl: `https://${ref.k8sName}-app.sandbox.test`, ttydUrl: `https://${ref.k8sName}-ttyd.sandbox.test` };
    },
    async scaleSandbox(ref, replicas) {
      await fake.enter('scaleSandbox', ref);
      fake.scale(fake.sandboxes, ref.projectId, replicas, replicas === 0 ? stopMs : sandboxReadyMs);
    },
    async observeSandbox(ref) {
      await fake.enter('observeSandbox', ref);
      return observeSandboxNow(ref);
    },
    // The stand-in cluster has no watch: it looks every 20 ms (inside the activity, as the
    // real one's watch does; the workflow sees one activity per change).
    async awaitProjectChange(ref, request) {
      await fake.enter('awaitProjectChange', ref);
      const signal = Context.current().cancellationSignal;
      const until = Date.now() + request.maxWaitMs;
      for (;;) {
        fake.watchLooks++;
        const sandbox = request.sandbox ? observeSandboxNow(ref) : undefined;
        const database = request.database ? observeDatabaseNow(ref) : undefined;
        const changed = (!!sandbox && !request.sandbox!.includes(sandbox.status)) || (!!database && !request.database!.includes(database.status));
        if (changed || Date.now() >= until) return { changed, ...(sandbox ? { sandbox } : {}), ...(database ? { database } : {}) };
        if (signal.aborted) throw signal.reason;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async observeAppActivity(ref, since) {
      await fake.enter('observeAppActivity', ref);
      const times = fake.appRequests.get(ref.projectId);
      if (!times) return { lastRequestAt: null, unavailable: 'no app-activity log (simulated)' };
      const after = times.filter((t) => t > Date.parse(since));
      return { lastRequestAt: after.length ? new Date(Math.max(...after)).toISOString() : null };
    },
    async deleteProjectResources(ref) {
      await fake.enter('deleteProjectResources', ref);
      const at = fake.now() + deleteMs;
      for (const map of [fake.sandboxes, fake.databases]) {
        const o = map.get(ref.projectId);
        if (o && o.deletedAt === undefined) map.set(ref.projectId, { ...o, deletedAt: at });
      }
    },
    async recordStatus(view, timeline) {
      await fake.enter('recordStatus', view);
      fake.recorded.push(view);
      if (timeline) fake.timeline.push(...timeline.events);
      await projection?.recordStatus(view, timeline);
    },
  };
  return { activities, fake };
}
