// Project schedules (autostart/autostop by weekday and time in a time zone) and retention:
// the shapes, the Temporal names, and the plain-text descriptions shared by the web, the
// worker and the workflows. Pure (Intl only for local times; the workflows call only the
// naming and describing functions).

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** A project's schedule: running from `start` to `stop` (local HH:MM) on `days` in `timeZone`. */
export interface ProjectSchedule {
  days: Weekday[];
  start: string;
  stop: string;
  timeZone: string;
}

export type ScheduleAction = 'start' | 'stop';

/** Workflow types started by Temporal Schedules (workflows/scheduled-intent.ts, workflows/retention-sweep.ts). */
export const SCHEDULED_INTENT_WORKFLOW = 'scheduledIntent';
export const RETENTION_SWEEP_WORKFLOW = 'retentionSweep';
/** The platform's retention sweeper schedule (one per task queue, so deployments sharing a namespace stay apart). */
export function retentionScheduleId(taskQueue: string): string {
  return `retention-sweeper-${taskQueue}`;
}

/** Input of scheduledIntent: which project, which intent, and the schedule for the reason. */
export interface ScheduledIntentInput {
  projectId: string;
  action: ScheduleAction;
  /** "weekdays 09:00–19:00 Europe/Berlin", for the timeline's reason. */
  schedule: string;
}

/** Input of retentionSweep (durations in milliseconds, so tests can use seconds). */
export interface RetentionSweepInput {
  /** A project stopped this long gets the notice. */
  stoppedForMs: number;
  /** Deleted this long after the notice, unless kept or started. */
  graceMs: number;
}

export interface RetentionSweepResult {
  noticed: string[];
  deleted: string[];
}

/** The Temporal Schedule ids of a project: one starts it, one stops it. */
export function scheduleIdFor(projectId: string, action: ScheduleAction): string {
  return `project-${projectId}-auto${action}`;
}

const DAY_NAMES: Record<Weekday, string> = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };

/** "weekdays", "every day", "weekends" or "Mon, Wed, Fri". */
export function describeDays(days: readonly Weekday[]): string {
  const set = new Set(days);
  const has = (list: readonly Weekday[]) => list.every((d) => set.has(d));
  if (set.size === 7) return 'every day';
  if (set.size === 5 && has(['mon', 'tue', 'wed', 'thu', 'fri'])) return 'weekdays';
  if (set.size === 2 && has(['sat', 'sun'])) return 'weekends';
  return WEEKDAYS.filter((d) => set.has(d))
    .map((d) => DAY_NAMES[d])
    .join(', ');
}

/** "weekdays 09:00–19:00 Europe/Berlin". */
export function describeSchedule(s: ProjectSchedule): string {
  return `${describeDays(s.days)} ${s.start}–${s.stop} ${s.timeZone}`;
}

/** Weekday and HH:MM of `at` in `timeZone`. */
export function localTime(at: Date, timeZone: string): { day: Weekday; time: string } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = get('weekday').toLowerCase().slice(0, 3) as Weekday;
  return { day, time: `${get('hour').padStart(2, '0')}:${get('minute').padStart(2, '0')}` };
}

export interface ScheduleWindow {
  /** Inside a scheduled running window now. */
  running: boolean;
  /** The next scheduled stop ("19:00 Europe/Berlin") while inside a window. */
  until: string | null;
  /** The next scheduled start ("Mon 09:00 Europe/Berlin", "today 09:00 …", "tomorrow 09:00 …"). */
  nextStart: string;
}

/** Where `now` falls in the schedule, in the schedule's own time zone. */
export function scheduleWindow(s: ProjectSchedule, now: Date): ScheduleWindow {
  const { day, time } = localTime(now, s.timeZone);
  const today = WEEKDAYS.indexOf(day);
  const running = s.days.includes(day) && time >= s.start && time < s.stop;
  let nextStart = '';
  for (let i = 0; i < 8 && !nextStart; i++) {
    const d = WEEKDAYS[(today + i) % 7]!;
    if (!s.days.includes(d) || (i === 0 && time >= s.start)) continue;
    nextStart = `${i === 0 ? 'today' : i === 1 ? 'tomorrow' : DAY_NAMES[d]} ${s.start} ${s.timeZone}`;
  }
  return { running, until: running ? `${s.stop} ${s.timeZone}` : null, nextStart };
}

/** The canonical IANA name of a time zone ("europe/berlin" → "Europe/Berlin"), or null if unknown. */
export function canonicalTimeZone(tz: string): string | null {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}
