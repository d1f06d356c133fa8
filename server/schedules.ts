// Temporal Schedules of the platform: a project's autostart/autostop pair and the retention
// sweeper. Created, updated and removed through @temporalio/client's ScheduleClient by the
// web (a user saves or removes a schedule), the worker's projection (a deleted project's
// schedules go with it) and the worker at start (the retention sweeper follows the config).
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import {
  RETENTION_SWEEP_WORKFLOW,
  SCHEDULED_INTENT_WORKFLOW,
  describeSchedule,
  retentionScheduleId,
  scheduleIdFor,
  type ProjectSchedule,
  type RetentionSweepInput,
  type ScheduleAction,
  type ScheduledIntentInput,
  type Weekday,
} from '../common/schedules';
import type { Config } from './config';

type ScheduleClientOwner = Pick<Client, 'schedule'>;

const DAY_OF_WEEK = { mon: 'MONDAY', tue: 'TUESDAY', wed: 'WEDNESDAY', thu: 'THURSDAY', fri: 'FRIDAY', sat: 'SATURDAY', sun: 'SUNDAY' } as const;
const ACTIONS: ScheduleAction[] = ['start', 'stop'];

function hm(time: string): { hour: number; minute: number } {
  const [h, m] = time.split(':');
  return { hour: Number(h), minute: Number(m) };
}

/** The spec and action of one of a project's two schedules. */
export function projectScheduleOptions(projectId: string, ownerId: string, s: ProjectSchedule, action: ScheduleAction, taskQueue: string): Omit<ScheduleOptions, 'scheduleId'> {
  const input: ScheduledIntentInput = { projectId, action, schedule: describeSchedule(s) };
  return {
    spec: {
      calendars: [{ dayOfWeek: s.days.map((d: Weekday) => DAY_OF_WEEK[d]), ...hm(action === 'start' ? s.start : s.stop), comment: `auto${action}` }],
      timezone: s.timeZone,
    },
    action: {
      type: 'startWorkflow',
      workflowType: SCHEDULED_INTENT_WORKFLOW,
      workflowId: scheduleIdFor(projectId, action),
      taskQueue,
      args: [input],
      workflowExecutionTimeout: '10m',
    },
    // A start or stop missed while Temporal was down is taken if it is less than an hour late.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' },
    state: { paused: false, note: `auto${action} of project ${projectId} (owner ${ownerId}): ${describeSchedule(s)}` },
  };
}

async function upsert(client: ScheduleClientOwner, scheduleId: string, options: Omit<ScheduleOptions, 'scheduleId'>): Promise<void> {
  try {
    await client.schedule.create({ scheduleId, ...options });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec: options.spec, action: options.action, policies: { ...prev.policies, ...options.policies }, state: { ...prev.state, ...options.state } }));
  }
}

async function remove(client: ScheduleClientOwner, scheduleId: string): Promise<boolean> {
  try {
    await client.schedule.getHandle(scheduleId).delete();
    return true;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return false;
    throw err;
  }
}

/** Creates or updates the project's autostart and autostop schedules. */
export async function upsertProjectSchedules(client: ScheduleClientOwner, taskQueue: string, projectId: string, ownerId: string, s: ProjectSchedule): Promise<void> {
  for (const action of ACTIONS) await upsert(client, scheduleIdFor(projectId, action), projectScheduleOptions(projectId, ownerId, s, action, taskQueue));
}

/** Removes the project's schedules; missing ones are fine. True when any existed. */
export async function deleteProjectSchedules(client: ScheduleClientOwner, projectId: string): Promise<boolean> {
  const removed = await Promise.all(ACTIONS.map((a) => remove(client, scheduleIdFor(projectId, a))));
  return removed.some(Boolean);
}

/** The next times Temporal will take each action (absent when a schedule is missing). */
export async function nextScheduledTimes(client: ScheduleClientOwner, projectId: string): Promise<Partial<Record<ScheduleAction, string | null>>> {
  const out: Partial<Record<ScheduleAction, string | null>> = {};
  await Promise.all(
    ACTIONS.map(async (a) => {
      try {
        const d = await client.schedule.getHandle(scheduleIdFor(projectId, a)).describe();
        out[a] = d.info.nextActionTimes[0]?.toISOString() ?? null;
      } catch (err) {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      }
    }),
  );
  return out;
}

export interface RetentionSchedule extends RetentionSweepInput {
  /** How often the sweeper runs. */
  intervalMs: number;
}

const DAY_MS = 86_400_000;

/** The sweeper's durations from the configuration; null when retention is off. */
export function retentionFromConfig(c: Pick<Config, 'RETENTION_STOPPED_DAYS' | 'RETENTION_GRACE_DAYS' | 'RETENTION_SWEEP_INTERVAL_MS'>): RetentionSchedule | null {
  if (c.RETENTION_STOPPED_DAYS <= 0) return null;
  return { stoppedForMs: c.RETENTION_STOPPED_DAYS * DAY_MS, graceMs: c.RETENTION_GRACE_DAYS * DAY_MS, intervalMs: c.RETENTION_SWEEP_INTERVAL_MS };
}

/**
 * The retention sweeper follows the configuration: created or updated when retention is on,
 * removed when it is off (null). Every worker calls this at start; the last one wins, and
 * they all run with the same configuration.
 */
export async function ensureRetentionSchedule(client: ScheduleClientOwner, taskQueue: string, retention: RetentionSchedule | null): Promise<'on' | 'off'> {
  const scheduleId = retentionScheduleId(taskQueue);
  if (!retention) {
    await remove(client, scheduleId);
    return 'off';
  }
  const { intervalMs, ...input } = retention;
  await upsert(client, scheduleId, {
    spec: { intervals: [{ every: intervalMs }] },
    action: { type: 'startWorkflow', workflowType: RETENTION_SWEEP_WORKFLOW, workflowId: scheduleId, taskQueue, args: [input], workflowExecutionTimeout: '30m' },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' },
    state: { paused: false, note: `retention: notice after ${input.stoppedForMs} ms stopped, delete ${input.graceMs} ms after the notice` },
  });
  return 'on';
}
