// Schedules and retention on the web side. A schedule (autostart/autostop by weekday and time
// in a time zone) is stored on the project and run by two Temporal Schedules whose action
// starts workflows/scheduled-intent.ts; retention is the platform's (config), with the
// project's "keep" opt-out and the notice the sweeper gives. Never calls Kubernetes.
import { z } from 'zod';
import type { Actor } from '../../../common/lifecycle';
import { WEEKDAYS, canonicalTimeZone, describeSchedule, scheduleWindow, type ProjectSchedule, type ScheduleWindow, type Weekday } from '../../../common/schedules';
import { Prisma } from '../../../server/db';
import { deleteProjectSchedules, nextScheduledTimes, upsertProjectSchedules } from '../../../server/schedules';
import { appendTimelineEvent } from '../../../server/timeline-rows';
import type { ServiceContext } from '../context';
import { ApiError, parseInput } from '../http/errors';
import { findOwnedProject, type ProjectRow } from './ownership.server';

const STATUS_CHANNEL = 'project_status';
const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
const TZ_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;
const DAY_SETS: Record<string, Weekday[]> = {
  weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'],
  weekends: ['sat', 'sun'],
  daily: [...WEEKDAYS],
};

const time = (what: string) => z.string({ error: `must be a time HH:MM (24-hour), e.g. ${what}` }).regex(HHMM, `must be a time HH:MM (24-hour, 00:00 to 23:59), e.g. ${what}`);

export const scheduleSchema = z
  .strictObject(
    {
      days: z.preprocess(
        (v) => (typeof v === 'string' && v in DAY_SETS ? DAY_SETS[v] : v),
        z
          .array(z.enum(WEEKDAYS, `each day must be one of ${WEEKDAYS.join(', ')}`), { error: `must be "weekdays", "weekends", "daily" or a list of days (${WEEKDAYS.join(', ')})` })
          .min(1, 'must name at least one day')
          .refine((d) => new Set(d).size === d.length, 'must not name a day twice'),
      ),
      start: time('09:00'),
      stop: time('19:00'),
      timeZone: z
        .string({ error: 'must be an IANA time zone such as Europe/Berlin' })
        .refine((tz) => TZ_NAME.test(tz) && canonicalTimeZone(tz) !== null, 'must be an IANA time zone such as Europe/Berlin or America/New_York')
        .transform((tz) => canonicalTimeZone(tz)!),
    },
    {
      error: (i) =>
        i.code === 'unrecognized_keys'
          ? `unknown field(s) ${i.keys.join(', ')}; send days, start, stop and timeZone`
          : 'send a JSON object { "days": "weekdays", "start": "09:00", "stop": "19:00", "timeZone": "Europe/Berlin" }',
    },
  )
  .superRefine((s, ctx) => {
    if (s.start >= s.stop) ctx.addIssue({ code: 'custom', path: ['stop'], message: `must be later than start (${s.start}); a range over midnight is not supported` });
  });

export interface ScheduleDto extends ProjectSchedule {
  /** "weekdays 09:00–19:00 Europe/Berlin". */
  description: string;
  /** Where now falls in it (in its time zone). */
  window: ScheduleWindow;
}

export interface ScheduleResponse {
  id: string;
  schedule: ScheduleDto | null;
  /** The next start and stop Temporal will take (absent when Temporal could not be asked). */
  next?: { start: string | null; stop: string | null };
}

/** The stored schedule of a project row (validated again: the column is JSON). */
export function storedSchedule(p: Pick<ProjectRow, 'schedule'>, now = new Date()): ScheduleDto | null {
  if (!p.schedule) return null;
  const r = scheduleSchema.safeParse(p.schedule);
  if (!r.success) return null;
  const s = { days: r.data.days, start: r.data.start, stop: r.data.stop, timeZone: r.data.timeZone };
  return { ...s, description: describeSchedule(s), window: scheduleWindow(s, now) };
}

async function notify(ctx: ServiceContext, projectId: string) {
  await ctx.db.$executeRaw`SELECT pg_notify(${STATUS_CHANNEL}, ${projectId})`;
}

function temporalUnavailable(ctx: ServiceContext, err: unknown, projectId: string): ApiError {
  const e = err as { code?: number; message?: string };
  // INVALID_ARGUMENT: Temporal refused the spec (a time zone its database lacks).
  if (e.code === 3) return new ApiError('invalid_input', `timeZone: Temporal refused the schedule: ${e.message ?? 'invalid'}`, { fields: [{ field: 'timeZone', message: e.message ?? 'refused' }] });
  ctx.logger.error({ err: e.message, projectId }, 'schedule change failed');
  return new ApiError('unavailable', 'the lifecycle service (Temporal) is not reachable; the schedule was not changed, try again shortly');
}

export async function getSchedule(ctx: ServiceContext, userId: string, projectId: string): Promise<ScheduleResponse> {
  const p = await findOwnedProject(ctx, userId, projectId);
  const schedule = storedSchedule(p);
  if (!schedule) return { id: p.id, schedule: null };
  try {
    const next = await nextScheduledTimes(ctx.temporal, p.id);
    return { id: p.id, schedule, next: { start: next.start ?? null, stop: next.stop ?? null } };
  } catch (err) {
    ctx.logger.warn({ err: (err as Error).message, projectId }, 'describing the schedules failed');
    return { id: p.id, schedule };
  }
}

/** Saves the schedule: Temporal Schedules first (created or updated), then the row. */
export async function putSchedule(ctx: ServiceContext, userId: string, projectId: string, input: unknown, actor: Actor): Promise<ScheduleResponse> {
  const data = parseInput(scheduleSchema, input);
  const p = await findOwnedProject(ctx, userId, projectId);
  if (p.status === 'TERMINATING') throw new ApiError('conflict', 'project is being deleted; it cannot get a schedule');
  const s: ProjectSchedule = { days: data.days, start: data.start, stop: data.stop, timeZone: data.timeZone };
  try {
    await upsertProjectSchedules(ctx.temporal, ctx.taskQueue, p.id, p.userId, s);
  } catch (err) {
    throw temporalUnavailable(ctx, err, p.id);
  }
  await ctx.db.project.update({ where: { id: p.id }, data: { schedule: { ...s } } });
  await appendTimelineEvent(ctx.db, {
    id: eventId('schedule', p.id),
    projectId: p.id,
    ownerId: p.userId,
    projectName: p.name,
    kind: 'schedule',
    actor,
    action: 'set',
    message: `schedule ${describeSchedule(s)}`,
  });
  await notify(ctx, p.id);
  return getSchedule(ctx, userId, projectId);
}

export async function deleteSchedule(ctx: ServiceContext, userId: string, projectId: string, actor: Actor): Promise<ScheduleResponse> {
  const p = await findOwnedProject(ctx, userId, projectId);
  try {
    await deleteProjectSchedules(ctx.temporal, p.id);
  } catch (err) {
    throw temporalUnavailable(ctx, err, p.id);
  }
  if (p.schedule) {
    await ctx.db.project.update({ where: { id: p.id }, data: { schedule: Prisma.DbNull } });
    await appendTimelineEvent(ctx.db, { id: eventId('schedule', p.id), projectId: p.id, ownerId: p.userId, projectName: p.name, kind: 'schedule', actor, action: 'removed', message: 'schedule removed' });
    await notify(ctx, p.id);
  }
  return { id: p.id, schedule: null };
}

// --- retention -------------------------------------------------------------------------

export interface RetentionDto {
  /** The platform's policy: on when RETENTION_STOPPED_DAYS > 0. */
  enabled: boolean;
  stoppedDays: number | null;
  graceDays: number | null;
  /** The project's opt-out: never deleted by retention. */
  keep: boolean;
  /** Stopped since (null while not stopped). */
  stoppedAt: string | null;
  /** The notice given by the sweeper: deleted at `deleteAt` unless started or kept. */
  notice: { at: string; deleteAt: string } | null;
}

export function retentionOf(ctx: ServiceContext, p: Pick<ProjectRow, 'retentionKeep' | 'stoppedAt' | 'retentionNoticeAt' | 'retentionDeleteAt'>): RetentionDto {
  const days = ctx.config.RETENTION_STOPPED_DAYS;
  return {
    enabled: days > 0,
    stoppedDays: days > 0 ? days : null,
    graceDays: days > 0 ? ctx.config.RETENTION_GRACE_DAYS : null,
    keep: p.retentionKeep,
    stoppedAt: p.stoppedAt?.toISOString() ?? null,
    notice: p.retentionNoticeAt && p.retentionDeleteAt ? { at: p.retentionNoticeAt.toISOString(), deleteAt: p.retentionDeleteAt.toISOString() } : null,
  };
}

export const retentionSchema = z.strictObject(
  { keep: z.boolean({ error: 'must be true (never delete this project for being stopped) or false' }) },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.join(', ')}; send only keep` : 'send a JSON object { "keep": true }') },
);

/** Keep (or no longer keep) the project: keeping takes a retention notice down. */
export async function setRetention(ctx: ServiceContext, userId: string, projectId: string, input: unknown, actor: Actor): Promise<{ id: string; retention: RetentionDto }> {
  const { keep } = parseInput(retentionSchema, input);
  const p = await findOwnedProject(ctx, userId, projectId);
  const row = (await ctx.db.project.update({
    where: { id: p.id },
    data: { retentionKeep: keep, ...(keep ? { retentionNoticeAt: null, retentionDeleteAt: null } : {}) },
  })) as ProjectRow;
  if (keep !== p.retentionKeep) {
    await appendTimelineEvent(ctx.db, {
      id: eventId('retention', p.id),
      projectId: p.id,
      ownerId: p.userId,
      projectName: p.name,
      kind: 'policy',
      actor,
      action: 'retention',
      message: keep ? (p.retentionNoticeAt ? 'kept: the retention notice is withdrawn, never deleted for being stopped' : 'kept: never deleted for being stopped') : 'retention applies again',
    });
  }
  await notify(ctx, p.id);
  return { id: p.id, retention: retentionOf(ctx, row) };
}

function eventId(kind: string, projectId: string): string {
  return `${kind}:${projectId}:${Date.now()}:${Math.random().toString(36).slice(2, 8)}`;
}
