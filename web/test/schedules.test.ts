// Schedules and retention through the HTTP API on real Temporal (its Schedules included),
// PostgreSQL and a worker with fake Kubernetes: a project's autostart/autostop schedule is
// validated, created as two Temporal Schedules, starts and stops the project when triggered
// (ScheduleHandle.trigger(), no waiting for 09:00) with the actor "schedule" in the timeline,
// and goes with the project; the retention sweeper (its own Schedule, second-long durations)
// gives the notice, deletes after the grace period, and spares kept and restarted projects.
// Ends with one project's simulated day, printed from the events API.
import fs from 'node:fs';
import path from 'node:path';
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { retentionScheduleId, scheduleIdFor } from '../../common/schedules';
import { ensureRetentionSchedule } from '../../server/schedules';
import { activitySignal } from '../../workflows/messages';
import { workflowIdForProject } from '../../common/names';
import { ApiClient, startWebHarness, waitFor, type WebHarness } from './harness';

const STOPPED_FOR_MS = 1_500;
const GRACE_MS = 3_000;

let h: WebHarness;
let ada: ApiClient;
let bob: ApiClient;

beforeAll(async () => {
  h = await startWebHarness({
    prefix: 'fsa_web_schedules',
    worker: true,
    env: { IDLE_TIMEOUT_MINUTES: '0', RETENTION_STOPPED_DAYS: '30' },
    // One idle "minute" is 600 ms (5 minutes = 3 s); the warning shows 1.5 s before the stop.
    app: { context: { idleMinuteMs: 600, timings: { initialBackoffMs: 100, maxBackoffMs: 400, idleWarningMs: 1_500 } } },
  });
  // The sweeper as the worker creates it, with seconds instead of days; hourly, so in this
  // test it runs when triggered.
  await ensureRetentionSchedule(h.temporal, h.taskQueue, { stoppedForMs: STOPPED_FOR_MS, graceMs: GRACE_MS, intervalMs: 3_600_000 });
  ada = new ApiClient(h.baseUrl);
  await ada.signIn('ada');
  bob = new ApiClient(h.baseUrl);
  await bob.signIn('bob');
});

afterAll(async () => {
  await ensureRetentionSchedule(h.temporal, h.taskQueue, null).catch(() => undefined);
  await h?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Triggers a Temporal Schedule now and returns the result of the workflow it started. */
async function trigger<T = unknown>(client: Client, scheduleId: string): Promise<T> {
  const handle = client.schedule.getHandle(scheduleId);
  const before = (await handle.describe()).info.numActionsTaken;
  await handle.trigger();
  const d = await waitFor(() => handle.describe(), (x) => x.info.numActionsTaken > before && x.info.recentActions.length > 0, 30_000, `${scheduleId} triggered`);
  const last = d.info.recentActions.at(-1)!.action.workflow;
  return (await client.workflow.getHandle(last.workflowId, last.firstExecutionRunId).result()) as T;
}

const sweep = () => trigger<{ noticed: string[]; deleted: string[] }>(h.temporal, retentionScheduleId(h.taskQueue));

async function scheduleExists(client: Client, id: string): Promise<boolean> {
  try {
    await client.schedule.getHandle(id).describe();
    return true;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return false;
    throw err;
  }
}

const get = (c: ApiClient, id: string) => c.call('GET', `/api/projects/${id}`);
const status = (c: ApiClient, id: string, want: string) => waitFor(() => get(c, id), (r) => r.body.status === want, 30_000, want);
const history = async (c: ApiClient, id: string) => (await c.call('GET', `/api/projects/${id}/events?history=1&limit=500`)).body.events.slice().reverse();

async function newRunningProject(name: string): Promise<string> {
  const created = await ada.call('POST', '/api/projects', { name });
  expect(created.status).toBe(202);
  await status(ada, created.body.id, 'RUNNING');
  return created.body.id;
}

const OFFICE_HOURS = { days: 'weekdays', start: '09:00', stop: '19:00', timeZone: 'europe/berlin' };

describe('schedules', () => {
  it('validates a schedule with errors naming the field, and only the owner may see or change it', async () => {
    const id = await newRunningProject('validated');
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...OFFICE_HOURS, days: [] }, /^days: must name at least one day/],
      [{ ...OFFICE_HOURS, days: ['mon', 'funday'] }, /^days\.1: each day must be one of mon, tue/],
      [{ ...OFFICE_HOURS, days: ['mon', 'mon'] }, /^days: must not name a day twice/],
      [{ ...OFFICE_HOURS, days: 'sometimes' }, /^days: must be "weekdays", "weekends", "daily" or a list of days/],
      [{ ...OFFICE_HOURS, start: '9:00' }, /^start: must be a time HH:MM/],
      [{ ...OFFICE_HOURS, stop: '24:00' }, /^stop: must be a time HH:MM/],
      [{ ...OFFICE_HOURS, timeZone: 'Mars/Olympus_Mons' }, /^timeZone: must be an IANA time zone such as Europe\/Berlin/],
      [{ ...OFFICE_HOURS, timeZone: '+01:00' }, /^timeZone: must be an IANA time zone/],
      [{ ...OFFICE_HOURS, start: '19:00', stop: '09:00' }, /^stop: must be later than start \(19:00\)/],
      [{ ...OFFICE_HOURS, start: '09:00', stop: '09:00' }, /^stop: must be later than start/],
      [{ ...OFFICE_HOURS, every: 'day' }, /unknown field\(s\) every; send days, start, stop and timeZone/],
      [{ days: 'weekdays', start: '09:00', stop: '19:00' }, /^timeZone: must be an IANA time zone/],
    ];
    for (const [body, message] of cases) {
      const r = await ada.call('PUT', `/api/projects/${id}/schedule`, body);
      expect([body, r.status, r.body.error.code]).toEqual([body, 400, 'invalid_input']);
      expect([body, r.body.error.message]).toEqual([body, expect.stringMatching(message)]);
      expect(r.body.error.details.fields[0].field).toBe(r.body.error.message.split(':')[0]);
    }
    // Nothing was created by the refused ones.
    expect(await scheduleExists(h.temporal, scheduleIdFor(id, 'start'))).toBe(false);
    expect((await ada.call('GET', `/api/projects/${id}/schedule`)).body).toEqual({ id, schedule: null });
    // Another user's project is a 404 on every route.
    expect((await bob.call('PUT', `/api/projects/${id}/schedule`, OFFICE_HOURS)).status).toBe(404);
    expect((await bob.call('GET', `/api/projects/${id}/schedule`)).status).toBe(404);
    expect((await bob.call('DELETE', `/api/projects/${id}/schedule`)).status).toBe(404);
    expect(await scheduleExists(h.temporal, scheduleIdFor(id, 'start'))).toBe(false);
  });

  it('starts and stops a project through its Temporal Schedules; the timeline names the schedule', async () => {
    const id = await newRunningProject('office-hours');
    const saved = await ada.call('PUT', `/api/projects/${id}/schedule`, OFFICE_HOURS);
    expect(saved.status).toBe(200);
    expect(saved.body.schedule).toMatchObject({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', stop: '19:00', timeZone: 'Europe/Berlin', description: 'weekdays 09:00–19:00 Europe/Berlin' });
    // Temporal's own next times: a weekday, 09:00 and 19:00 in Berlin.
    const berlin = (iso: string) => new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', weekday: 'short', hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
    expect(berlin(saved.body.next.start)).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 09:00$/);
    expect(berlin(saved.body.next.stop)).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 19:00$/);

    const stopSchedule = await h.temporal.schedule.getHandle(scheduleIdFor(id, 'stop')).describe();
    expect(stopSchedule.spec.timezone).toBe('Europe/Berlin');
    expect(stopSchedule.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 19, end: 19, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] });
    expect(stopSchedule.action).toMatchObject({ type: 'startWorkflow', workflowType: 'scheduledIntent', taskQueue: h.taskQueue });
    expect((await get(ada, id)).body.schedule.description).toBe('weekdays 09:00–19:00 Europe/Berlin');

    // 19:00: the schedule stops it.
    expect(await trigger(h.temporal, scheduleIdFor(id, 'stop'))).toBe('sent');
    const stopped = await status(ada, id, 'STOPPED');
    expect(stopped.body.lastIntent).toMatchObject({ desired: 'STOPPED', actor: { kind: 'schedule' } });
    expect(stopped.body.explanation.text).toMatch(/^stopped by the schedule \(weekdays 09:00–19:00 Europe\/Berlin\) at \d\d:\d\d UTC; it starts again (today|tomorrow|Mon) 09:00 Europe\/Berlin$/);
    // 09:00: it starts it.
    expect(await trigger(h.temporal, scheduleIdFor(id, 'start'))).toBe('sent');
    await status(ada, id, 'RUNNING');

    // The status may come from the workflow's query before the worker wrote the timeline.
    const events = await waitFor(() => history(ada, id), (ev) => ev.filter((e: any) => e.kind === 'intent').length >= 3, 30_000, 'three intents in the timeline');
    const intents = events.filter((e: any) => e.kind === 'intent').map((e: any) => [e.action, e.actor, e.reason]);
    expect(intents).toEqual([
      ['RUNNING', { kind: 'user', name: 'ada' }, null],
      ['STOPPED', { kind: 'schedule' }, 'schedule weekdays 09:00–19:00 Europe/Berlin'],
      ['RUNNING', { kind: 'schedule' }, 'schedule weekdays 09:00–19:00 Europe/Berlin'],
    ]);
    expect(events.find((e: any) => e.kind === 'schedule')).toMatchObject({ action: 'set', actor: { kind: 'user', name: 'ada' }, message: 'schedule weekdays 09:00–19:00 Europe/Berlin' });

    // Changed: the same two Schedules, updated.
    const changed = await ada.call('PUT', `/api/projects/${id}/schedule`, { days: ['sat'], start: '08:30', stop: '12:00', timeZone: 'America/New_York' });
    expect(changed.body.schedule.description).toBe('Sat 08:30–12:00 America/New_York');
    const start = await h.temporal.schedule.getHandle(scheduleIdFor(id, 'start')).describe();
    expect(start.spec.timezone).toBe('America/New_York');
    expect(start.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 8, end: 8, step: 1 }], minute: [{ start: 30, end: 30, step: 1 }], dayOfWeek: [{ start: 'SATURDAY', end: 'SATURDAY', step: 1 }] });

    // Removed: both Schedules go.
    expect((await ada.call('DELETE', `/api/projects/${id}/schedule`)).body).toEqual({ id, schedule: null });
    expect(await scheduleExists(h.temporal, scheduleIdFor(id, 'start'))).toBe(false);
    expect(await scheduleExists(h.temporal, scheduleIdFor(id, 'stop'))).toBe(false);
    expect((await get(ada, id)).body.schedule).toBeNull();
    expect((await history(ada, id)).filter((e: any) => e.kind === 'schedule').map((e: any) => e.action)).toEqual(['set', 'set', 'removed']);
  });

  it('removes the schedules with the project', async () => {
    const id = await newRunningProject('short-lived');
    expect((await ada.call('PUT', `/api/projects/${id}/schedule`, OFFICE_HOURS)).status).toBe(200);
    expect(await scheduleExists(h.temporal, scheduleIdFor(id, 'start'))).toBe(true);
    expect((await ada.call('DELETE', `/api/projects/${id}`)).status).toBe(202);
    await waitFor(() => get(ada, id), (r) => r.status === 404, 30_000, 'project gone');
    expect(await scheduleExists(h.temporal, scheduleIdFor(id, 'start'))).toBe(false);
    expect(await scheduleExists(h.temporal, scheduleIdFor(id, 'stop'))).toBe(false);
  });
});

describe('retention', () => {
  it('gives a stopped project the notice, deletes it after the grace period, and spares kept and restarted ones', async () => {
    const doomed = await newRunningProject('forgotten');
    const kept = await newRunningProject('kept');
    const revived = await newRunningProject('revived');
    for (const id of [doomed, kept, revived]) expect((await ada.call('POST', `/api/projects/${id}/stop`)).status).toBe(202);
    for (const id of [doomed, kept, revived]) await status(ada, id, 'STOPPED');

    for (const bad of [{}, { keep: 'yes' }, { keep: true, forever: 1 }]) {
      const r = await ada.call('PUT', `/api/projects/${kept}/retention`, bad);
      expect([bad, r.status]).toEqual([bad, 400]);
    }
    expect((await ada.call('PUT', `/api/projects/${kept}/retention`, { keep: 'yes' })).body.error.message).toMatch(/^keep: must be true/);
    expect((await bob.call('PUT', `/api/projects/${kept}/retention`, { keep: true })).status).toBe(404);
    const keep = await ada.call('PUT', `/api/projects/${kept}/retention`, { keep: true });
    expect(keep.body.retention).toMatchObject({ enabled: true, stoppedDays: 30, graceDays: 7, keep: true, notice: null });

    // Stopped longer than the retention's "days" (1.5 s here): the notice, no deletion yet.
    await sleep(STOPPED_FOR_MS + 500);
    const first = await sweep();
    expect(first.noticed.sort()).toEqual([doomed, revived].sort());
    expect(first.deleted).toEqual([]);
    const noticed = await get(ada, doomed);
    expect(noticed.body.retention.notice).toEqual({ at: expect.any(String), deleteAt: expect.any(String) });
    expect(Date.parse(noticed.body.retention.notice.deleteAt) - Date.parse(noticed.body.retention.notice.at)).toBe(GRACE_MS);
    expect((await get(ada, kept)).body.retention).toMatchObject({ keep: true, notice: null });
    const notice = (await history(ada, doomed)).find((e: any) => e.kind === 'retention-notice');
    expect(notice).toMatchObject({ actor: { kind: 'retention' }, message: expect.stringMatching(/^stopped since .* \(more than 2 s\): deleted at .* unless it is started or kept$/) });
    // The list says so too.
    const list = await ada.call('GET', '/api/projects');
    expect(list.body.find((p: any) => p.id === doomed).retentionDeleteAt).toBe(noticed.body.retention.notice.deleteAt);

    // Started after the notice: the notice is gone with the stop.
    await ada.call('POST', `/api/projects/${revived}/start`);
    await status(ada, revived, 'RUNNING');
    expect((await get(ada, revived)).body.retention.notice).toBeNull();

    // After the grace period: deleted, with the actor "retention", after its notice.
    await waitFor(async () => Date.now(), (now) => now > Date.parse(noticed.body.retention.notice.deleteAt) + 200, 30_000, 'grace period over');
    const second = await sweep();
    expect(second.deleted).toEqual([doomed]);
    await waitFor(() => get(ada, doomed), (r) => r.status === 404, 30_000, 'deleted');
    const rows = await h.db.projectEvent.findMany({ where: { projectId: doomed }, orderBy: [{ seq: 'asc' }, { at: 'asc' }] });
    const noticeAt = rows.findIndex((r) => r.kind === 'retention-notice');
    const deleteAt = rows.findIndex((r) => r.kind === 'intent' && r.action === 'TERMINATED');
    expect(noticeAt).toBeGreaterThan(-1);
    expect(deleteAt).toBeGreaterThan(noticeAt);
    expect(rows[deleteAt]).toMatchObject({ actorKind: 'retention', reason: expect.stringMatching(/^stopped since .*; notice given at .*, 3 s before$/) });
    expect(rows.at(-1)).toMatchObject({ kind: 'transition', toStatus: 'TERMINATED' });

    // The kept one and the restarted one are still there.
    expect((await get(ada, kept)).body.status).toBe('STOPPED');
    expect((await get(ada, revived)).body.status).toBe('RUNNING');
    // Kept no longer: the next sweep gives it the notice (never a deletion without one).
    await ada.call('PUT', `/api/projects/${kept}/retention`, { keep: false });
    const third = await sweep();
    expect(third).toEqual({ noticed: [kept], deleted: [] });
  });
});

describe('a simulated day', () => {
  it('records one project through create, activity, idle warning, keep running, idle stop, scheduled start and stop, retention notice', async () => {
    const id = await newRunningProject('simulated-day');
    await ada.call('PUT', `/api/projects/${id}/schedule`, OFFICE_HOURS);
    // Terminal activity, as the terminal proxy's reporter sends it (batched, at most one a minute).
    await h.temporal.workflow.getHandle(workflowIdForProject(id)).signal(activitySignal, { lastActivityAt: new Date().toISOString() });
    await ada.call('PUT', `/api/projects/${id}/idle`, { idleTimeoutMinutes: 5 });
    const warned = await waitFor(() => get(ada, id), (r) => !!r.body.idle?.warning || r.body.status !== 'RUNNING', 30_000, 'idle warning');
    expect(warned.body.status).toBe('RUNNING');
    expect((await ada.call('POST', `/api/projects/${id}/keep-running`)).status).toBe(202);
    const idleStopped = await status(ada, id, 'STOPPED');
    expect(idleStopped.body.lastIntent.actor).toEqual({ kind: 'idle' });
    // Evening: auto-stop off, the schedule takes over.
    await ada.call('PUT', `/api/projects/${id}/idle`, { idleTimeoutMinutes: null });
    await trigger(h.temporal, scheduleIdFor(id, 'start'));
    await status(ada, id, 'RUNNING');
    await trigger(h.temporal, scheduleIdFor(id, 'stop'));
    await status(ada, id, 'STOPPED');
    await sleep(STOPPED_FOR_MS + 500);
    const swept = await sweep();
    expect(swept.noticed).toContain(id);

    const events = await history(ada, id);
    const lines = events.map((e: any) => {
      const actor = e.actor ? `${e.actor.kind}${e.actor.name ? ` ${e.actor.name}` : ''}` : '';
      const what =
        e.kind === 'transition'
          ? `${e.from ?? '∅'} → ${e.to}${e.durationMs !== null && e.from ? ` (${e.durationMs} ms in ${e.from})` : ''}`
          : [e.action, e.effective === false ? '(no change)' : '', e.message, e.reason].filter(Boolean).join(' · ');
      return `${e.at}  #${String(e.seq).padStart(2)}  ${e.kind.padEnd(16)} ${actor.padEnd(12)} ${what}`;
    });
    const out = path.resolve('test-results', 'simulated-day-timeline.txt');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `GET /api/projects/${id}/events?history=1 (oldest first)\n${lines.join('\n')}\n`);
    console.log(`[simulated day] ${out}\n${lines.join('\n')}`);

    const kinds = events.map((e: any) => [e.kind, e.actor?.kind ?? null, e.action]);
    const order = [
      ['intent', 'user', 'RUNNING'],
      ['schedule', 'user', 'set'],
      ['policy', 'user', 'idle'],
      ['idle-warning', 'idle', null],
      ['keep-running', 'user', 'keepRunning'],
      ['intent', 'idle', 'STOPPED'],
      ['intent', 'schedule', 'RUNNING'],
      ['intent', 'schedule', 'STOPPED'],
      ['retention-notice', 'retention', null],
    ];
    let at = -1;
    for (const step of order) {
      const next = kinds.findIndex((k: unknown[], i: number) => i > at && JSON.stringify(k) === JSON.stringify(step));
      expect([step, next > at]).toEqual([step, true]);
      at = next;
    }
  });
});
