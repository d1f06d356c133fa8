// projectLifecycle against the real Temporal dev server, with fake Kubernetes activities
// and the real status projection in PostgreSQL.
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ProjectStatusKey } from '../common/search-attributes';
import type { Db } from '../server/db';
import { createFakeActivities } from '../test/fake-activities';
import { isStatus, waitForStatus, workflowSuite, type Harness } from '../test/lifecycle-harness';
import { waitFor } from '../test/wait';
import { deleteSignal, deleteUpdate, environmentChangedSignal, startSignal, startUpdate, statusQuery, stopSignal, stopUpdate } from './messages';

let harness: Harness;
let db: Db;
const { seedProject } = workflowSuite('fsa_wf', (ready) => ({ harness, db } = ready));

const projectRow = (id: string) => () => db.project.findUniqueOrThrow({ where: { id }, include: { sandboxes: true, databases: true } });

describe('projectLifecycle', () => {
  it('creates a project, reports progress, projects status to PostgreSQL and search attributes', async () => {
    const { activities, fake } = createFakeActivities({ db, sandboxReadyMs: 600, databaseReadyMs: 600 });
    await harness.startWorker(activities);
    await seedProject('create1');
    const handle = await harness.startProject({ projectId: 'create1' });

    const creating = await waitForStatus(handle, isStatus('CREATING'));
    expect(creating.desired).toBe('RUNNING');
    const running = await waitForStatus(handle, isStatus('RUNNING'));

    expect(running.sandbox).toEqual({
      status: 'RUNNING',
      publicUrl: expect.stringMatching(/^https:\/\//),
      ttydUrl: expect.stringMatching(/^https:\/\//),
    });
    expect(running.database).toEqual({ status: 'RUNNING', host: expect.any(String), port: 5432 });
    expect(running.stages.map((s) => [s.name, s.state])).toEqual([
      ['database', 'done'],
      ['container', 'done'],
      ['network', 'done'],
      ['terminal', 'done'],
      ['ready', 'done'],
    ]);
    for (const s of running.stages) expect(Date.parse(s.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(s.startedAt!));
    expect(running.lastError).toBeNull();

    // The database was ready before the sandbox was created (it needs the credentials).
    const dbReady = fake.recorded.find((v) => v.database?.status === 'RUNNING')!;
    const firstEnsureSandbox = fake.callsOf('ensureSandbox', 'create1')[0]!;
    expect(Date.parse(dbReady.updatedAt)).toBeLessThanOrEqual(firstEnsureSandbox.at);

    // The projection is written by the worker.
    const row = await waitFor(projectRow('create1'), (r) => r.status === 'RUNNING');
    expect(row.status).toBe('RUNNING');
    expect(row.sandboxes[0]).toMatchObject({ status: 'RUNNING', publicUrl: running.sandbox.publicUrl });
    expect(row.databases[0]).toMatchObject({ status: 'RUNNING', port: 5432 });

    const described = await waitFor(() => handle.describe(), (d) => d.typedSearchAttributes.get(ProjectStatusKey) === 'RUNNING');
    expect(described.typedSearchAttributes.get(ProjectStatusKey)).toBe('RUNNING');
    expect(await described.memo).toMatchObject({ projectName: 'My Project', ownerId: 'user-1' });

    // Statuses seen by the projection follow the lifecycle in order.
    const seen = fake.recorded.filter((v) => v.projectId === 'create1').map((v) => v.status);
    expect(seen[0]).toBe('CREATING');
    expect(seen.at(-1)).toBe('RUNNING');
  });

  it('stops, starts and deletes; the workflow completes after TERMINATED and the rows are gone', async () => {
    const { activities, fake } = createFakeActivities({ db });
    await harness.startWorker(activities);
    await seedProject('cycle1');
    const handle = await harness.startProject({ projectId: 'cycle1' });
    await waitForStatus(handle, isStatus('RUNNING'));

    await handle.signal(stopSignal);
    const stopped = await waitForStatus(handle, isStatus('STOPPED'));
    expect(stopped.desired).toBe('STOPPED');
    expect(stopped.sandbox.status).toBe('STOPPED');
    expect(stopped.database?.status).toBe('STOPPED');
    expect(fake.sandboxes.get('cycle1')?.replicas).toBe(0);
    expect(fake.databases.get('cycle1')?.replicas).toBe(0);
    expect((await waitFor(projectRow('cycle1'), (r) => r.status === 'STOPPED')).status).toBe('STOPPED');

    await handle.signal(startSignal);
    await waitForStatus(handle, isStatus('RUNNING'));
    expect(fake.sandboxes.get('cycle1')?.replicas).toBe(1);

    await handle.signal(deleteSignal);
    const final = await handle.result();
    expect(final.status).toBe('TERMINATED');
    expect(final.sandbox).toEqual({ status: 'TERMINATED', publicUrl: null, ttydUrl: null });
    expect(fake.sandboxes.has('cycle1')).toBe(false);
    expect(fake.databases.has('cycle1')).toBe(false);
    expect(await db.project.findUnique({ where: { id: 'cycle1' } })).toBeNull();
  });

  it('retries transient activity failures with backoff and still reaches RUNNING', async () => {
    const { activities, fake } = createFakeActivities();
    await harness.startWorker(activities);
    fake.failNext('ensureSandbox', 'transient', 3);
    fake.failNext('observeDatabase', 'transient', 2);
    const handle = await harness.startProject({ projectId: 'transient1' });
    const running = await waitForStatus(handle, isStatus('RUNNING'));
    expect(running.lastError).toBeNull();
    expect(fake.callsOf('ensureSandbox', 'transient1')).toHaveLength(4);
    // Retries are spaced out (the server schedules them; it rounds short intervals up).
    const attempts = fake.callsOf('ensureSandbox', 'transient1').map((c) => c.at);
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(90);
  });

  it('waits for readiness by watching: one look, then one watch that returns on the change', async () => {
    const { activities, fake } = createFakeActivities({ sandboxReadyMs: 0 });
    await harness.startWorker(activities);
    fake.neverBecomeReady('watch1');
    const handle = await harness.startProject({ projectId: 'watch1' });
    const afterEnsure = (method: 'observeSandbox' | 'awaitProjectChange') => {
      const ensured = fake.callsOf('ensureSandbox', 'watch1')[0]?.at;
      return ensured === undefined ? [] : fake.callsOf(method, 'watch1').filter((c) => c.at >= ensured);
    };
    await waitFor(async () => afterEnsure('awaitProjectChange').length, (n) => n >= 1, 30_000, 'the readiness watch');
    // The watch looks many times inside one activity; the workflow does not poll meanwhile.
    const looks = fake.watchLooks;
    await waitFor(async () => fake.watchLooks, (n) => n >= looks + 25, 30_000, 'the watch looking on');
    expect(afterEnsure('observeSandbox')).toHaveLength(1);
    expect(afterEnsure('awaitProjectChange')).toHaveLength(1);
    fake.neverReady.delete('watch1');
    await waitForStatus(handle, isStatus('RUNNING'));
    expect(afterEnsure('observeSandbox')).toHaveLength(1);
    // The readiness watch, and (once settled) the drift watch.
    expect(afterEnsure('awaitProjectChange').length).toBeLessThanOrEqual(2);
  });

  it('repairs drift of a settled RUNNING project without any signal, and reports a failed Cluster as ERROR', async () => {
    const { activities, fake } = createFakeActivities({ db, sandboxReadyMs: 300 });
    await harness.startWorker(activities);
    await seedProject('drift1');
    const handle = await harness.startProject({ projectId: 'drift1' });
    await waitForStatus(handle, isStatus('RUNNING'));
    const ensures = () => fake.callsOf('ensureSandbox', 'drift1').length;
    expect(ensures()).toBe(1);

    // The StatefulSet deleted by hand: re-created, RUNNING again.
    fake.sandboxes.delete('drift1');
    await waitFor(async () => ensures(), (n) => n === 2, 30_000, 'the sandbox re-created');
    await waitForStatus(handle, (v) => v.status === 'RUNNING' && fake.sandboxes.get('drift1')?.replicas === 1);

    // Scaled to 0 by hand: back to 1.
    fake.sandboxes.set('drift1', { ...fake.sandboxes.get('drift1')!, replicas: 0, settlesAt: fake.now() });
    await waitFor(async () => ensures(), (n) => n === 3, 30_000, 'the sandbox scaled up again');
    await waitForStatus(handle, (v) => v.status === 'RUNNING' && fake.sandboxes.get('drift1')?.replicas === 1);
    // The timeline shows the way back each time.
    const transitions = () => fake.timeline.filter((e) => e.kind === 'transition').map((e) => e.to);
    await waitFor(async () => transitions().filter((t) => t === 'STARTING').length, (n) => n >= 2, 30_000, 'two STARTING transitions');

    // The Cluster failed: ERROR with the operator's reason, and no repair loop.
    fake.failedDatabases.set('drift1', 'volume full');
    const failed = await waitForStatus(handle, isStatus('ERROR'));
    expect(failed.database?.status).toBe('ERROR');
    expect(failed.lastError?.message).toMatch(/^Database cluster failed: .*volume full/);
    expect(ensures()).toBe(3);
    expect((await waitFor(projectRow('drift1'), (r) => r.status === 'ERROR')).lastError).toContain('volume full');

    // Fixed, then started: RUNNING again.
    fake.failedDatabases.delete('drift1');
    await handle.signal(startSignal);
    await waitForStatus(handle, isStatus('RUNNING'));
  });

  it('keeps a settled STOPPED project stopped: a sandbox scaled up by hand is scaled down again', async () => {
    const { activities, fake } = createFakeActivities();
    await harness.startWorker(activities);
    const handle = await harness.startProject({ projectId: 'drift2' });
    await waitForStatus(handle, isStatus('RUNNING'));
    await handle.signal(stopSignal);
    await waitForStatus(handle, isStatus('STOPPED'));
    const scaleDowns = () => fake.callsOf('scaleSandbox', 'drift2').length;
    const before = scaleDowns();
    fake.sandboxes.set('drift2', { ...fake.sandboxes.get('drift2')!, replicas: 1, settlesAt: fake.now() });
    await waitFor(async () => scaleDowns(), (n) => n > before, 30_000, 'the sandbox scaled down again');
    await waitForStatus(handle, (v) => v.status === 'STOPPED' && fake.sandboxes.get('drift2')?.replicas === 0);
    expect((await handle.query(statusQuery)).desired).toBe('STOPPED');
  });

  it('puts a permanent failure into ERROR at once with a readable reason; start retries', async () => {
    const { activities, fake } = createFakeActivities({ db });
    await harness.startWorker(activities);
    await seedProject('perm1');
    fake.failNext('ensureDatabase', { type: 'Forbidden', message: 'clusters.apps.kubeblocks.io "x-db" is forbidden: user cannot create' });
    const handle = await harness.startProject({ projectId: 'perm1' });
    const failed = await waitForStatus(handle, isStatus('ERROR'));
    expect(failed.database?.status).toBe('ERROR');
    expect(failed.lastError?.message).toContain('is forbidden');
    expect(failed.stages.find((s) => s.name === 'database')?.state).toBe('failed');
    expect(fake.callsOf('ensureDatabase', 'perm1')).toHaveLength(1);
    const row = await waitFor(projectRow('perm1'), (r) => r.status === 'ERROR');
    expect(row.status).toBe('ERROR');
    expect(row.lastError).toContain('is forbidden');
    const described = await waitFor(() => handle.describe(), (d) => d.typedSearchAttributes.get(ProjectStatusKey) === 'ERROR');
    expect(described.typedSearchAttributes.get(ProjectStatusKey)).toBe('ERROR');

    await handle.signal(startSignal);
    const running = await waitForStatus(handle, isStatus('RUNNING'));
    expect(running.lastError).toBeNull();
  });

  it('turns a missed readiness deadline into ERROR, and recovers on start', async () => {
    const { activities, fake } = createFakeActivities();
    await harness.startWorker(activities);
    fake.neverBecomeReady('deadline1');
    const handle = await harness.startProject({ projectId: 'deadline1', timings: { sandboxDeadlineMs: 2_000 } });
    const failed = await waitForStatus(handle, isStatus('ERROR'));
    expect(failed.sandbox.status).toBe('ERROR');
    expect(failed.database?.status).toBe('RUNNING');
    expect(failed.lastError?.message).toMatch(/sandbox did not become ready within 2s: pod not ready/);

    fake.neverReady.delete('deadline1');
    await handle.signal(startSignal);
    await waitForStatus(handle, isStatus('RUNNING'));
  });

  it('fails an activity that keeps failing transiently once the deadline passes', async () => {
    const { activities, fake } = createFakeActivities();
    await harness.startWorker(activities);
    fake.failNext('ensureSandbox', 'transient', 1000);
    const handle = await harness.startProject({ projectId: 'deadline2', timings: { sandboxDeadlineMs: 1_500 } });
    const failed = await waitForStatus(handle, isStatus('ERROR'));
    // The last transient error is named when the server reports it with the timeout.
    expect(failed.lastError?.message).toMatch(/^Creating the sandbox did not succeed before the deadline(: simulated transient failure of ensureSandbox \(HTTP 503\))?$/);
    expect(failed.sandbox.status).toBe('ERROR');
  });

  it('deletes mid-creation: cancels what is in flight and cleans up', async () => {
    const { activities, fake } = createFakeActivities({ sandboxReadyMs: 60_000 });
    await harness.startWorker(activities);
    const handle = await harness.startProject({ projectId: 'midcreate1' });
    await waitForStatus(handle, (v) => v.stages.find((s) => s.name === 'terminal')?.state === 'active');
    expect((await handle.query(statusQuery)).status).toBe('CREATING');
    await handle.signal(deleteSignal);
    const final = await handle.result();
    expect(final.status).toBe('TERMINATED');
    expect(fake.callsOf('deleteProjectResources', 'midcreate1').length).toBeGreaterThanOrEqual(1);
    expect(fake.sandboxes.has('midcreate1')).toBe(false);
  });

  it('handles a hung activity during delete-mid-creation by cancelling it', async () => {
    const { activities, fake } = createFakeActivities();
    await harness.startWorker(activities);
    fake.failNext('ensureDatabase', 'hang');
    const handle = await harness.startProject({ projectId: 'hang1' });
    await waitForStatus(handle, (v) => v.stages[0]?.state === 'active');
    await handle.signal(deleteSignal);
    expect((await handle.result()).status).toBe('TERMINATED');
  });

  it.each([
    ['stop', stopSignal, 'scaleSandbox', 'STOPPED'],
    ['delete', deleteSignal, 'deleteProjectResources', 'TERMINATED'],
  ] as const)('a %s that interrupts a sandbox write waits for the write to land first', async (what, signal, next, settled) => {
    const { activities, fake } = createFakeActivities();
    await harness.startWorker(activities);
    const projectId = `race-${what}`;
    const held = fake.holdNext('ensureSandbox');
    const handle = await harness.startProject({ projectId });
    await held.entered;
    await handle.signal(signal);
    // While the write is in flight, the interrupting step must not start.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(fake.callsOf(next, projectId)).toHaveLength(0);
    held.release();
    await waitForStatus(handle, isStatus(settled));
    const order = fake.events.filter((e) => e === 'ensureSandbox:end' || e === `${next}:start`);
    expect(order.slice(0, 2)).toEqual(['ensureSandbox:end', `${next}:start`]);
    if (what === 'stop') expect(fake.sandboxes.get(projectId)?.replicas).toBe(0);
    else expect((await handle.result()).status).toBe('TERMINATED');
  });

  it('coalesces the projection: behind a write in flight only the latest view waits, with every timeline entry', async () => {
    const { activities, fake } = createFakeActivities({ sandboxReadyMs: 200, databaseReadyMs: 200 });
    await harness.startWorker(activities);
    const projectId = 'coalesce1';
    // The first write (the CREATING view) is held while the project goes all the way up.
    const held = fake.holdNext('recordStatus');
    const handle = await harness.startProject({ projectId });
    await held.entered;
    await waitForStatus(handle, isStatus('RUNNING'));
    held.release();
    await waitFor(async () => fake.recorded.filter((v) => v.projectId === projectId), (vs) => vs.at(-1)?.status === 'RUNNING', 10_000, 'the RUNNING view written');
    await new Promise((r) => setTimeout(r, 500));
    const written = fake.recorded.filter((v) => v.projectId === projectId);
    // The held view, then the latest one: the views in between were never written.
    expect(written.map((v) => v.status)).toEqual(['CREATING', 'RUNNING']);
    // No timeline entry was lost on the way: every transition up to RUNNING, once each.
    const transitions = fake.timeline.filter((e) => e.kind === 'transition').map((e) => e.to);
    expect(transitions[0]).toBe('CREATING');
    expect(transitions.at(-1)).toBe('RUNNING');
    const ids = fake.timeline.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('accepts start/stop/delete as Updates that return the desired state, and rejects a start after delete with the reason', async () => {
    const { activities, fake } = createFakeActivities({ deleteMs: 1_000 });
    await harness.startWorker(activities);
    const handle = await harness.startProject({ projectId: 'updates1' });
    await waitForStatus(handle, isStatus('RUNNING'));
    expect(await handle.executeUpdate(stopUpdate)).toEqual({ desired: 'STOPPED', status: expect.any(String) });
    await waitForStatus(handle, isStatus('STOPPED'));
    expect((await handle.executeUpdate(startUpdate)).desired).toBe('RUNNING');
    await waitForStatus(handle, isStatus('RUNNING'));
    expect((await handle.executeUpdate(deleteUpdate)).desired).toBe('TERMINATED');
    const rejected = await handle.executeUpdate(startUpdate).then(
      () => null,
      (e: unknown) => e,
    );
    expect(rejected).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((rejected as WorkflowUpdateFailedError).cause?.message).toContain('the project is being deleted; it cannot be started');
    // A second delete is accepted (idempotent); the rejected start changed nothing.
    expect((await handle.executeUpdate(deleteUpdate)).desired).toBe('TERMINATED');
    expect((await handle.result()).status).toBe('TERMINATED');
    expect(fake.callsOf('deleteProjectResources', 'updates1').length).toBeGreaterThanOrEqual(1);
  });

  it('copes with signals in odd orders', async () => {
    const { activities, fake } = createFakeActivities();
    await harness.startWorker(activities);

    // stop before anything was created
    const a = await harness.startProject({ projectId: 'odd-stop-first' });
    await a.signal(stopSignal);
    const stopped = await waitForStatus(a, isStatus('STOPPED'));
    expect(stopped.desired).toBe('STOPPED');
    await a.signal(startSignal);
    await waitForStatus(a, isStatus('RUNNING'));

    // double start, then start during stop
    await a.signal(startSignal);
    await a.signal(startSignal);
    expect((await waitForStatus(a, isStatus('RUNNING'))).lastError).toBeNull();
    await a.signal(stopSignal);
    await waitForStatus(a, (v) => v.status === 'STOPPING' || v.status === 'STOPPED');
    await a.signal(startSignal);
    const back = await waitForStatus(a, isStatus('RUNNING'));
    expect(back.desired).toBe('RUNNING');
    expect(fake.sandboxes.get('odd-stop-first')?.replicas).toBe(1);

    // delete twice; a start after delete is ignored
    await a.signal(deleteSignal);
    await a.signal(deleteSignal);
    await a.signal(startSignal).catch(() => undefined);
    expect((await a.result()).status).toBe('TERMINATED');

    // stop then delete while stopping
    const b = await harness.startProject({ projectId: 'odd-b' });
    await waitForStatus(b, isStatus('RUNNING'));
    await b.signal(stopSignal);
    await b.signal(deleteSignal);
    expect((await b.result()).status).toBe('TERMINATED');
  });

  it('treats stop then start mid-creation as a change of mind, not a fault', async () => {
    const { activities, fake } = createFakeActivities({ sandboxReadyMs: 1_500 });
    await harness.startWorker(activities);
    const handle = await harness.startProject({ projectId: 'flip1' });
    await waitForStatus(handle, (v) => v.stages.find((s) => s.name === 'terminal')?.state === 'active');
    await handle.signal(stopSignal);
    await handle.signal(startSignal);
    const running = await waitForStatus(handle, isStatus('RUNNING'));
    expect(running.lastError).toBeNull();
    expect(fake.recorded.filter((v) => v.projectId === 'flip1').map((v) => v.status)).not.toContain('ERROR');
  });

  it('keeps the order of signals that arrive before the first workflow task', async () => {
    // No worker yet: the signals queue up and reach the run together with its start.
    const handle = await harness.startProject({ projectId: 'early1' });
    await handle.signal(stopSignal);
    await handle.signal(startSignal);
    const { activities } = createFakeActivities();
    await harness.startWorker(activities);
    const running = await waitForStatus(handle, isStatus('RUNNING'));
    expect(running.desired).toBe('RUNNING');
  });

  it('rolls the sandbox on environmentChanged with the new env, and applies env changes made while stopped at start', async () => {
    const { activities, fake } = createFakeActivities({ sandboxReadyMs: 500 });
    await harness.startWorker(activities);
    fake.env.set('env1', { A: '1', B: '2' });
    const handle = await harness.startProject({ projectId: 'env1' });
    await waitForStatus(handle, isStatus('RUNNING'));
    expect(JSON.parse(fake.sandboxes.get('env1')!.env)).toEqual({ A: '1', B: '2' });

    fake.env.set('env1', { A: '3' });
    await handle.signal(environmentChangedSignal);
    await waitForStatus(handle, isStatus('UPDATING'));
    await waitForStatus(handle, isStatus('RUNNING'));
    expect(JSON.parse(fake.sandboxes.get('env1')!.env)).toEqual({ A: '3' });

    await handle.signal(stopSignal);
    await waitForStatus(handle, isStatus('STOPPED'));
    fake.env.set('env1', { C: 'x' });
    await handle.signal(environmentChangedSignal);
    await handle.signal(startSignal);
    await waitForStatus(handle, isStatus('RUNNING'));
    expect(JSON.parse(fake.sandboxes.get('env1')!.env)).toEqual({ C: 'x' });
  });

  it('survives its worker stopping mid-lifecycle: a new worker finishes it', async () => {
    const { activities, fake } = createFakeActivities({ sandboxReadyMs: 3_000 });
    const first = await harness.startWorker(activities);
    const handle = await harness.startProject({ projectId: 'handover1' });
    await waitForStatus(handle, (v) => v.stages.find((s) => s.name === 'terminal')?.state === 'active');
    await first.stop();
    const callsBefore = fake.calls.length;

    await harness.startWorker(activities);
    // A task the stopped worker still held is handed on after its timeout (activities:
    // start-to-close 30 s), so allow more than that.
    const running = await waitForStatus(handle, isStatus('RUNNING'), 75_000);
    expect(running.stages.every((s) => s.state === 'done')).toBe(true);
    expect(fake.calls.length).toBeGreaterThan(callsBefore);
    // Creation was not started over: one ensureDatabase, one ensureSandbox.
    expect(fake.callsOf('ensureDatabase', 'handover1')).toHaveLength(1);
    expect(fake.callsOf('ensureSandbox', 'handover1')).toHaveLength(1);
  });

  it('keeps one workflow per project: a second start with the same project id is refused', async () => {
    const handle = await harness.startProject({ projectId: 'dup1' });
    await expect(harness.startProject({ projectId: 'dup1' })).rejects.toThrow(/already started/i);
    await handle.terminate('test cleanup');
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
  });
});
