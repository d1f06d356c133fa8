// Schedules in plain text and in time: descriptions, where a moment falls in a weekly window
// in the schedule's own time zone (DST included), and the explanation a schedule adds.
import { explainState } from './policies';
import { canonicalTimeZone, describeDays, describeSchedule, scheduleWindow, type ProjectSchedule } from './schedules';

const office: ProjectSchedule = { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', stop: '19:00', timeZone: 'Europe/Berlin' };

it('describes days and schedules', () => {
  expect(describeDays(['mon', 'tue', 'wed', 'thu', 'fri'])).toBe('weekdays');
  expect(describeDays(['sun', 'sat'])).toBe('weekends');
  expect(describeDays(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])).toBe('every day');
  expect(describeDays(['fri', 'mon', 'wed'])).toBe('Mon, Wed, Fri');
  expect(describeSchedule(office)).toBe('weekdays 09:00–19:00 Europe/Berlin');
});

it('knows where a moment falls in the window, in the schedule time zone, across DST', () => {
  // Wednesday 2026-07-15 10:00 UTC = 12:00 in Berlin (CEST, UTC+2).
  expect(scheduleWindow(office, new Date('2026-07-15T10:00:00Z'))).toEqual({ running: true, until: '19:00 Europe/Berlin', nextStart: 'tomorrow 09:00 Europe/Berlin' });
  // 17:30 UTC = 19:30 CEST: after the stop.
  expect(scheduleWindow(office, new Date('2026-07-15T17:30:00Z'))).toMatchObject({ running: false, until: null, nextStart: 'tomorrow 09:00 Europe/Berlin' });
  // In winter (CET, UTC+1) 17:30 UTC is 18:30: still inside.
  expect(scheduleWindow(office, new Date('2026-01-14T17:30:00Z')).running).toBe(true);
  // Friday evening: next start Monday; Saturday: Monday; Monday early: today.
  expect(scheduleWindow(office, new Date('2026-07-17T18:00:00Z')).nextStart).toBe('Mon 09:00 Europe/Berlin');
  expect(scheduleWindow(office, new Date('2026-07-18T12:00:00Z'))).toMatchObject({ running: false, nextStart: 'Mon 09:00 Europe/Berlin' });
  expect(scheduleWindow(office, new Date('2026-07-20T05:00:00Z')).nextStart).toBe('today 09:00 Europe/Berlin');
  // The same instant on the other side of the world is another day.
  const tokyo = { ...office, timeZone: 'Asia/Tokyo' };
  expect(scheduleWindow(tokyo, new Date('2026-07-17T23:00:00Z'))).toMatchObject({ running: false, nextStart: 'Mon 09:00 Asia/Tokyo' });
});

it('canonicalizes IANA time zones and refuses unknown ones', () => {
  expect(canonicalTimeZone('europe/berlin')).toBe('Europe/Berlin');
  expect(canonicalTimeZone('UTC')).toBe('UTC');
  expect(canonicalTimeZone('Mars/Olympus_Mons')).toBeNull();
});

it('explains "kept running because of the schedule until …" and "starts again …"', () => {
  const running = { status: 'RUNNING' as const, desired: 'RUNNING' as const, lastIntent: null };
  const within = { description: describeSchedule(office), window: scheduleWindow(office, new Date('2026-07-15T10:00:00Z')) };
  expect(explainState({ ...running, idle: { timeoutMs: null, lastActivityAt: null, since: null, stopAt: null, warning: null }, schedule: within })?.text).toBe(
    'kept running because of the schedule (weekdays 09:00–19:00 Europe/Berlin) until 19:00 Europe/Berlin',
  );
  const idle = { timeoutMs: 30 * 60_000, lastActivityAt: null, since: '2026-07-15T10:00:00.000Z', stopAt: '2026-07-15T10:30:00.000Z', warning: null };
  expect(explainState({ ...running, idle, schedule: within })?.text).toBe(
    'kept running because of the schedule (weekdays 09:00–19:00 Europe/Berlin) until 19:00 Europe/Berlin; it stops earlier, at 10:30 UTC, after 30 min without terminal activity',
  );
  // Outside the window the schedule does not keep it running.
  const outside = { description: describeSchedule(office), window: scheduleWindow(office, new Date('2026-07-15T18:00:00Z')) };
  expect(explainState({ ...running, idle, schedule: outside })?.text).toMatch(/^kept running because it was started or kept running at 10:00 UTC; stops at 10:30 UTC/);
  const byTheSchedule = { status: 'STOPPED' as const, desired: 'STOPPED' as const, lastIntent: { desired: 'STOPPED' as const, actor: { kind: 'schedule' as const }, at: '2026-07-15T17:00:00.000Z', reason: 'schedule weekdays 09:00–19:00 Europe/Berlin' } };
  expect(explainState({ ...byTheSchedule, schedule: outside })?.text).toBe('stopped by the schedule (weekdays 09:00–19:00 Europe/Berlin) at 17:00 UTC; it starts again tomorrow 09:00 Europe/Berlin');
  const byYou = { ...byTheSchedule, lastIntent: { ...byTheSchedule.lastIntent, actor: { kind: 'user' as const, name: 'ada' }, reason: undefined } };
  expect(explainState({ ...byYou, schedule: within }, undefined, 'ada')?.text).toBe('stopped by you at 17:00 UTC; the schedule (weekdays 09:00–19:00 Europe/Berlin) starts it tomorrow 09:00 Europe/Berlin');
});
