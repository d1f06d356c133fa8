// Lifecycle policies on the real Temporal dev server with the real projection in PostgreSQL:
// the timeline (every intent with its actor, transitions with durations, errors with their
// reason; idempotent on activity retry; complete across a worker restart) and the idle
// auto-stop (warning, "keep running", activity, off), with second-long durations.
import type { LifecycleActivities } from '../activities/types';
import type { ProjectStatusView } from '../common/lifecycle';
import type { Db } from '../server/db';
import { createFakeActivities } from '../test/fake-activities';
import { isStatus, waitForStatus, workflowSuite, type Harness } from '../test/lifecycle-harness';
import { waitFor } from '../test/wait';
import { activitySignal, keepRunningSignal, setAppActivitySignal, setIdlePolicySignal, startSignal, startUpdateWithActor, statusQuery, stopSignal, stopUpdateWithActor } from './messages';

let harness: Harness;
let db: Db;
const { seedProject } = workflowSuite('fsa_wf_policies', (ready) => ({ harness, db } = ready));

const timeline = (projectId: string) => db.projectEvent.findMany({ where: { projectId }, orderBy: { seq: 'asc' } });
const fast = { sandboxReadyMs: 100, databaseReadyMs: 100, stopMs: 50 };

describe('timeline', () => {
  it('records every intent with its actor, every transition with its duration and every error with its reason, once each even when the write is retried', async () => {
    const { activities, fake } = createFakeActivities({ ...fast, db });
    // The first two projection writes land and then fail, as a worker that dies after its
    // commit: Temporal retries them, and the ids keep the rows single.
    let failures = 2;
    const flaky: LifecycleActivities = {
      ...activities,
      async recordStatus(view, batch) {
        await activities.recordStatus(view, batch);
        if (batch && failures-- > 0) throw new Error('simulated crash after the commit');
      },
    };
    await seedProject('tl1');
    await harness.startWorker(flaky);
    const handle = await harness.startProject({ projectId: 'tl1', input: { createdBy: { kind: 'user', name: 'ada' } } });
    await waitForStatus(handle, isStatus('RUNNING'));

    await handle.executeUpdate(stopUpdateWithActor, { args: [{ actor: { kind: 'token', name: 'ci' } }] });
    await waitForStatus(handle, isStatus('STOPPED'));
    // A signal without an argument (Temporal UI / CLI) is the operator's.
    await handle.signal(startSignal);
    await waitForStatus(handle, isStatus('RUNNING'));
    // An intent that changes nothing is still recorded, as not effective.
    await handle.executeUpdate(startUpdateWithActor, { args: [{ actor: { kind: 'cli', name: 'fsa CLI on box' } }] });
    // A fault: the sandbox spec is refused.
    fake.failNext('ensureSandbox', { type: 'InvalidSpec', message: 'spec.replicas: Invalid value' });
    await handle.signal(stopSignal, { actor: { kind: 'user', name: 'ada' } });
    await waitForStatus(handle, isStatus('STOPPED'));
    await handle.signal(startSignal, { actor: { kind: 'user', name: 'ada' } });
    const failed = await waitForStatus(handle, isStatus('ERROR'));
    expect(failed.lastError?.message).toMatch(/Invalid value/);

    const rows = await waitFor(() => timeline('tl1'), (r) => r.some((e) => e.kind === 'error'), 15_000, 'error in the timeline');
    // Once each, in order, no gaps.
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_r, i) => i));
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    const intents = rows.filter((r) => r.kind === 'intent').map((r) => [r.action, r.actorKind, r.actorName, r.effective]);
    expect(intents).toEqual([
      ['RUNNING', 'user', 'ada', true],
      ['STOPPED', 'token', 'ci', true],
      ['RUNNING', 'operator', null, true],
      ['RUNNING', 'cli', 'fsa CLI on box', false],
      ['STOPPED', 'user', 'ada', true],
      ['RUNNING', 'user', 'ada', true],
    ]);
    const transitions = rows.filter((r) => r.kind === 'transition');
    expect(transitions[0]).toMatchObject({ fromStatus: null, toStatus: 'CREATING' });
    expect(transitions.map((t) => t.toStatus)).toEqual(expect.arrayContaining(['RUNNING', 'STOPPING', 'STOPPED', 'STARTING', 'ERROR']));
    for (const t of transitions.slice(1)) {
      expect(t.fromStatus).toBeTruthy();
      expect(t.durationMs).toBeGreaterThanOrEqual(0);
    }
    const error = rows.find((r) => r.kind === 'error')!;
    expect(error.reason).toBe('InvalidSpec');
    expect(error.message).toMatch(/Creating the sandbox failed: spec.replicas: Invalid value/);
    expect(rows.every((r) => r.ownerId === 'user-1' && r.projectName === 'My Project')).toBe(true);
    // The retried writes delivered some entries twice; the table holds them once.
    expect(fake.timeline.length).toBeGreaterThan(rows.length);
    // The status query explains the desired state by its last intent.
    expect((await handle.query(statusQuery)).lastIntent).toMatchObject({ desired: 'RUNNING', actor: { kind: 'user', name: 'ada' } });
  });

  it('loses nothing across a worker restart: intents sent while no worker runs are recorded when one is back', async () => {
    const { activities } = createFakeActivities({ ...fast, db });
    await seedProject('tl2');
    const first = await harness.startWorker(activities);
    const handle = await harness.startProject({ projectId: 'tl2' });
    await waitForStatus(handle, isStatus('RUNNING'));
    await first.stop();

    await handle.signal(stopSignal, { actor: { kind: 'token', name: 'nightly' } });
    await handle.signal(startSignal, { actor: { kind: 'user', name: 'ada' } });
    await handle.signal(stopSignal, { actor: { kind: 'user', name: 'ada' } });

    await harness.startWorker(createFakeActivities({ ...fast, db }).activities);
    await waitForStatus(handle, (v) => v.status === 'STOPPED' && v.desired === 'STOPPED');
    const rows = await waitFor(
      () => timeline('tl2'),
      (r) => r.filter((e) => e.kind === 'intent').length === 4 && r.at(-1)?.toStatus === 'STOPPED',
      15_000,
      'all intents and the final STOPPED',
    );
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_r, i) => i));
    expect(rows.filter((e) => e.kind === 'intent').map((e) => `${e.action}:${e.actorKind}:${e.actorName ?? ''}`)).toEqual([
      'RUNNING:operator:',
      'STOPPED:token:nightly',
      'RUNNING:user:ada',
      'STOPPED:user:ada',
    ]);
  });
});

describe('idle auto-stop', () => {
  const idleTimings = { idleWarningMs: 1_500 };

  it('warns before the stop and then stops, recording why', async () => {
    const { activities } = createFakeActivities({ ...fast, db });
    await seedProject('idle1');
    await harness.startWorker(activities);
    const handle = await harness.startProject({ projectId: 'idle1', timings: idleTimings, input: { idleTimeoutMs: 3_000 } });
    const running = await waitForStatus(handle, isStatus('RUNNING'));
    expect(running.idle).toMatchObject({ timeoutMs: 3_000, warning: null });
    expect(running.idle?.stopAt).toBeTruthy();

    const warned = await waitForStatus(handle, (v) => !!v.idle?.warning || v.status !== 'RUNNING');
    expect(warned.status).toBe('RUNNING');
    expect(warned.idle!.warning!.stopAt).toBe(warned.idle!.stopAt);

    const stopped = await waitForStatus(handle, isStatus('STOPPED'));
    expect(stopped.lastIntent).toMatchObject({ desired: 'STOPPED', actor: { kind: 'idle' } });
    expect(stopped.lastIntent!.reason).toMatch(/^idle for 3 s: no terminal activity since it started at \d\d:\d\d UTC$/);
    expect(stopped.idle).toMatchObject({ warning: null, stopAt: null });

    const rows = await waitFor(() => timeline('idle1'), (r) => r.at(-1)?.toStatus === 'STOPPED', 15_000, 'STOPPED in the timeline');
    const kinds = rows.map((r) => r.kind);
    expect(kinds.indexOf('idle-warning')).toBeGreaterThan(-1);
    const stop = rows.find((r) => r.kind === 'intent' && r.action === 'STOPPED')!;
    expect(stop).toMatchObject({ actorKind: 'idle', effective: true });
    expect(stop.seq).toBeGreaterThan(rows.find((r) => r.kind === 'idle-warning')!.seq);
  });

  it('keeps running while the terminal is active, names the activity when it stops, and "keep running" takes the warning down', async () => {
    const { activities } = createFakeActivities({ ...fast, db });
    await seedProject('idle2');
    await harness.startWorker(activities);
    const handle = await harness.startProject({ projectId: 'idle2', timings: idleTimings, input: { idleTimeoutMs: 4_000 } });
    await waitForStatus(handle, isStatus('RUNNING'));

    // Activity every 300 ms for 6 s, longer than the 4 s timeout: no stop, no warning.
    let sawWarning = false;
    let last = '';
    for (let i = 0; i < 20; i++) {
      last = new Date().toISOString();
      await handle.signal(activitySignal, { lastActivityAt: last });
      await new Promise((r) => setTimeout(r, 300));
      const v = await handle.query(statusQuery);
      if (v.idle?.warning) sawWarning = true;
      expect(v.status).toBe('RUNNING');
    }
    expect(sawWarning).toBe(false);
    const active = await handle.query(statusQuery);
    expect(active.idle!.lastActivityAt).toBe(last);

    // Quiet: the warning comes; "keep running" takes it down and restarts the clock.
    const warned = await waitForStatus(handle, (v) => !!v.idle?.warning);
    await handle.signal(keepRunningSignal, { actor: { kind: 'user', name: 'ada' } });
    const kept = await waitForStatus(handle, (v) => v.idle?.warning === null);
    expect(kept.status).toBe('RUNNING');
    expect(Date.parse(kept.idle!.stopAt!)).toBeGreaterThan(Date.parse(warned.idle!.stopAt!));

    // Activity during a warning takes it down too.
    await waitForStatus(handle, (v) => !!v.idle?.warning);
    last = new Date().toISOString();
    await handle.signal(activitySignal, { lastActivityAt: last });
    await waitForStatus(handle, (v) => v.idle?.warning === null);

    const stopped: ProjectStatusView = await waitForStatus(handle, isStatus('STOPPED'));
    expect(stopped.lastIntent!.actor).toEqual({ kind: 'idle' });
    expect(stopped.lastIntent!.reason).toBe(`idle for 4 s: no terminal activity since ${last.slice(11, 16)} UTC`);
    const rows = await waitFor(() => timeline('idle2'), (r) => r.at(-1)?.toStatus === 'STOPPED', 15_000, 'STOPPED in the timeline');
    expect(rows.find((r) => r.kind === 'keep-running')).toMatchObject({ actorKind: 'user', actorName: 'ada', effective: true });
  });

  it('can be turned off and on while running', async () => {
    const { activities } = createFakeActivities({ ...fast, db });
    await seedProject('idle3');
    await harness.startWorker(activities);
    const handle = await harness.startProject({ projectId: 'idle3', timings: idleTimings, input: { idleTimeoutMs: 3_000 } });
    await waitForStatus(handle, isStatus('RUNNING'));
    await handle.signal(setIdlePolicySignal, { idleTimeoutMs: null, actor: { kind: 'user', name: 'ada' } });
    const off = await waitForStatus(handle, (v) => v.idle?.timeoutMs === null);
    expect(off.idle).toMatchObject({ stopAt: null, warning: null });
    await handle.signal(setIdlePolicySignal, { idleTimeoutMs: 2_500, actor: { kind: 'token', name: 'ci' } });
    const stopped = await waitForStatus(handle, isStatus('STOPPED'));
    expect(stopped.lastIntent!.reason).toMatch(/^idle for 3 s: /);
    const policy = (await timeline('idle3')).filter((r) => r.kind === 'policy').map((r) => [r.actorKind, r.message]);
    expect(policy).toEqual([
      ['user', 'auto-stop off'],
      ['token', 'auto-stop after 3 s without terminal activity'],
    ]);
  });
});

describe('app-URL activity (opt-in per project)', () => {
  const idleTimings = { idleWarningMs: 1_500 };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** Requests to the app every 300 ms for `ms`, as the sandbox's log would show them (fake). */
  async function serveRequests(fake: ReturnType<typeof createFakeActivities>['fake'], projectId: string, ms: number, check?: () => Promise<void>) {
    const until = Date.now() + ms;
    const times = fake.appRequests.get(projectId) ?? [];
    fake.appRequests.set(projectId, times);
    while (Date.now() < until) {
      times.push(Date.now());
      await sleep(300);
      await check?.();
    }
  }

  it('keeps an opted-in project running while its app serves requests, says so in the timeline, and names them when it stops', async () => {
    const { activities, fake } = createFakeActivities({ ...fast, db });
    await seedProject('app1');
    await harness.startWorker(activities);
    const handle = await harness.startProject({ projectId: 'app1', timings: idleTimings, input: { idleTimeoutMs: 4_000, appActivity: true } });
    const running = await waitForStatus(handle, isStatus('RUNNING'));
    expect(running.idle).toMatchObject({ appActivity: true, lastActivitySource: null });

    // Requests for 9 s, more than twice the 4 s timeout, and no terminal activity: no stop, no warning.
    let sawWarning = false;
    await serveRequests(fake, 'app1', 9_000, async () => {
      const v = await handle.query(statusQuery);
      if (v.idle?.warning) sawWarning = true;
      expect(v.status).toBe('RUNNING');
    });
    expect(sawWarning).toBe(false);
    const active = await handle.query(statusQuery);
    expect(active.idle).toMatchObject({ lastActivitySource: 'app' });

    const stopped = await waitForStatus(handle, isStatus('STOPPED'));
    expect(stopped.lastIntent!.actor).toEqual({ kind: 'idle' });
    expect(stopped.lastIntent!.reason).toMatch(/^idle for 4 s: no terminal activity or requests to the app's URL since \d\d:\d\d UTC \(the last was a request to the app\)$/);
    const rows = await waitFor(() => timeline('app1'), (r) => r.at(-1)?.toStatus === 'STOPPED', 15_000, 'STOPPED in the timeline');
    const seen = rows.filter((r) => r.kind === 'app-activity');
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen[0]!.message).toMatch(/^requests to the app's URL until \d\d:\d\d UTC: the idle clock restarts, stops at \d\d:\d\d UTC$/);
    // Asked at most twice per idle period (before the warning, before the stop), never per request.
    const asked = fake.calls.filter((c) => c.method === 'observeAppActivity').length;
    expect(asked).toBeGreaterThanOrEqual(seen.length);
    expect(asked).toBeLessThanOrEqual(seen.length * 2 + 2);
    expect(rows.find((r) => r.kind === 'idle-warning')!.message).toMatch(/unless there is terminal activity, a request to the app's URL or "keep running"$/);
  });

  it('does not count requests of a project that did not opt in; the opt-in signal turns them on while running, recorded with its actor', async () => {
    const { activities, fake } = createFakeActivities({ ...fast, db });
    await seedProject('app2');
    await harness.startWorker(activities);
    const handle = await harness.startProject({ projectId: 'app2', timings: idleTimings, input: { idleTimeoutMs: 3_000 } });
    await waitForStatus(handle, isStatus('RUNNING'));
    const requests = serveRequests(fake, 'app2', 8_000);
    const stopped = await waitForStatus(handle, isStatus('STOPPED'));
    await requests;
    expect(stopped.lastIntent!.reason).toMatch(/^idle for 3 s: no terminal activity since it started at /);
    expect(fake.calls.some((c) => c.method === 'observeAppActivity')).toBe(false);

    await handle.signal(startSignal, { actor: { kind: 'user', name: 'ada' } });
    await waitForStatus(handle, isStatus('RUNNING'));
    await handle.signal(setAppActivitySignal, { enabled: true, actor: { kind: 'user', name: 'ada' } });
    await waitForStatus(handle, (v) => v.idle?.appActivity === true);
    await serveRequests(fake, 'app2', 7_000, async () => expect((await handle.query(statusQuery)).status).toBe('RUNNING'));
    await handle.signal(stopSignal, { actor: { kind: 'user', name: 'ada' } });
    const rows = await waitFor(() => timeline('app2'), (r) => r.at(-1)?.toStatus === 'STOPPED' && r.some((e) => e.kind === 'app-activity'), 15_000, 'STOPPED');
    expect(rows.filter((r) => r.kind === 'policy').map((r) => [r.action, r.actorKind, r.actorName, r.message])).toEqual([
      ['app-activity', 'user', 'ada', "requests to the app's URL count as activity"],
    ]);
  });

  it('without a signal from the sandbox (a simulated node, no pod, no log) stops on time and says the requests could not be seen', async () => {
    const { activities, fake } = createFakeActivities({ ...fast, db });
    await seedProject('app3');
    await harness.startWorker(activities);
    const started = Date.now();
    const handle = await harness.startProject({ projectId: 'app3', timings: idleTimings, input: { idleTimeoutMs: 3_000, appActivity: true } });
    const stopped = await waitForStatus(handle, isStatus('STOPPED'));
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(stopped.lastIntent!.reason).toMatch(
      /^idle for 3 s: no terminal activity or requests to the app's URL since it started at \d\d:\d\d UTC; requests to the app could not be seen: no app-activity log \(simulated\)$/,
    );
    expect(fake.calls.filter((c) => c.method === 'observeAppActivity')).toHaveLength(2);
  });
});
