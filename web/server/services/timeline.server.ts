// Lifecycle policies on the web side: a project's timeline (ProjectEvent rows the worker's
// projection writes), its idle auto-stop setting, "keep running", terminal activity reports
// and waiting for a status after start. Never calls Kubernetes; talks to the lifecycle
// through the signals in workflows/messages.ts.
import { z } from 'zod';
import type { Actor, ActorKind, TimelineKind } from '../../../common/lifecycle';
import { workflowIdForProject } from '../../../common/names';
import { IDLE_MAX_MINUTES, IDLE_MIN_MINUTES } from '../../../common/policies';
import { activitySignal, keepRunningSignal, setAppActivitySignal, setIdlePolicySignal } from '../../../workflows/messages';
import type { ServiceContext } from '../context';
import type { StatusHub } from '../events';
import { ApiError, parseInput } from '../http/errors';
import { findOwnedProject, type ProjectRow } from './ownership.server';
import { idleTimeoutMs, projectStatus, signalProject, type ProjectDto } from './projects.server';
import { isWorkflowNotFound } from './temporal-errors';

export interface TimelineEntry {
  id: string;
  seq: number;
  at: string;
  kind: TimelineKind;
  actor: Actor | null;
  action: string | null;
  effective: boolean | null;
  from: string | null;
  to: string | null;
  durationMs: number | null;
  message: string | null;
  reason: string | null;
}

export const timelineQuerySchema = z.strictObject(
  {
    history: z.enum(['1', 'true'], 'send history=1').optional(),
    limit: z.coerce.number('must be a whole number').int('must be a whole number').min(1, 'must be at least 1').max(500, 'must be at most 500').default(200),
    /** Entries older than this sequence number (the previous page's nextBefore). */
    before: z.coerce.number('must be a whole number').int('must be a whole number').min(0, 'must be at least 0').optional(),
  },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown query parameter(s) ${i.keys.join(', ')}; use history, limit, before` : 'invalid query') },
);

/** The project's timeline, newest first, `limit` at a time. */
export async function listTimeline(ctx: ServiceContext, userId: string, projectId: string, query: unknown): Promise<{ events: TimelineEntry[]; nextBefore: number | null }> {
  const q = parseInput(timelineQuerySchema, query);
  await findOwnedProject(ctx, userId, projectId);
  const rows = await ctx.db.projectEvent.findMany({
    where: { projectId, ownerId: userId, ...(q.before !== undefined ? { seq: { lt: q.before } } : {}) },
    orderBy: [{ seq: 'desc' }, { at: 'desc' }],
    take: q.limit + 1,
  });
  const page = rows.slice(0, q.limit);
  return {
    events: page.map((r) => ({
      id: r.id,
      seq: r.seq,
      at: r.at.toISOString(),
      kind: r.kind as TimelineKind,
      actor: r.actorKind ? { kind: r.actorKind as ActorKind, ...(r.actorName ? { name: r.actorName } : {}) } : null,
      action: r.action,
      effective: r.effective,
      from: r.fromStatus,
      to: r.toStatus,
      durationMs: r.durationMs,
      message: r.message,
      reason: r.reason,
    })),
    nextBefore: rows.length > q.limit ? page.at(-1)!.seq : null,
  };
}

const idleTimeoutMinutesSchema = z.union(
  [
    z
      .number({ error: 'must be a number of minutes' })
      .int('must be a whole number of minutes')
      .min(IDLE_MIN_MINUTES, `must be at least ${IDLE_MIN_MINUTES} minutes (or null for off, "default" for the platform default)`)
      .max(IDLE_MAX_MINUTES, `must be at most ${IDLE_MAX_MINUTES} minutes (24 h)`),
    z.null(),
    z.literal('default'),
  ],
  { error: `send minutes (${IDLE_MIN_MINUTES} to ${IDLE_MAX_MINUTES}), null for off, or "default"` },
);

export const idlePolicySchema = z
  .strictObject(
    {
      idleTimeoutMinutes: idleTimeoutMinutesSchema.optional(),
      /** Requests to the app's public URL count as activity (docs/decisions/0010-app-url-activity.md). */
      appActivity: z.boolean({ error: 'must be true or false' }).optional(),
    },
    {
      error: (i) =>
        i.code === 'unrecognized_keys'
          ? `unknown field(s) ${i.keys.join(', ')}; send idleTimeoutMinutes and/or appActivity`
          : 'send a JSON object { "idleTimeoutMinutes": 30 | null | "default", "appActivity": true | false }',
    },
  )
  .refine((v) => v.idleTimeoutMinutes !== undefined || v.appActivity !== undefined, { error: 'send idleTimeoutMinutes and/or appActivity' });

/** Tells a running lifecycle something; a lifecycle that is gone is not an error here. */
async function tell(ctx: ServiceContext, projectId: string, send: (h: ReturnType<ServiceContext['temporal']['workflow']['getHandle']>) => Promise<void>): Promise<void> {
  try {
    await send(ctx.temporal.workflow.getHandle(workflowIdForProject(projectId)));
  } catch (err) {
    if (isWorkflowNotFound(err)) return;
    ctx.logger.error({ err: (err as Error).message, projectId }, 'signal to the lifecycle failed');
    throw new ApiError('unavailable', 'the lifecycle service (Temporal) is not reachable; try again shortly');
  }
}

/** Sets the project's idle auto-stop: stored on the project, then told to its lifecycle. */
export async function setIdlePolicy(ctx: ServiceContext, userId: string, projectId: string, input: unknown, actor: Actor): Promise<ProjectDto> {
  const { idleTimeoutMinutes, appActivity } = parseInput(idlePolicySchema, input);
  const before = await findOwnedProject(ctx, userId, projectId);
  const stored = idleTimeoutMinutes === undefined ? undefined : idleTimeoutMinutes === 'default' ? null : idleTimeoutMinutes === null ? 0 : idleTimeoutMinutes;
  const p = (await ctx.db.project.update({
    where: { id: projectId },
    data: { ...(stored !== undefined ? { idleTimeoutMinutes: stored } : {}), ...(appActivity !== undefined ? { appActivity } : {}) },
  })) as ProjectRow;
  if (stored !== undefined) await tell(ctx, projectId, (h) => h.signal(setIdlePolicySignal, { idleTimeoutMs: idleTimeoutMs(ctx, p), actor }));
  // Told only when it changes: the timeline records the opt-in and the opt-out, not every save.
  if (appActivity !== undefined && appActivity !== (before.appActivity ?? false)) {
    await tell(ctx, projectId, (h) => h.signal(setAppActivitySignal, { enabled: appActivity, actor }));
  }
  return projectStatus(ctx, p);
}

/** "Keep running": restarts the idle clock and takes the warning down. */
export async function keepRunning(ctx: ServiceContext, userId: string, projectId: string, actor: Actor): Promise<{ id: string; accepted: true }> {
  const p = await findOwnedProject(ctx, userId, projectId);
  await tell(ctx, p.id, (h) => h.signal(keepRunningSignal, { actor }));
  return { id: p.id, accepted: true };
}

/** One batched terminal-activity report (the terminal proxy's reporter calls this). */
export async function reportActivity(ctx: ServiceContext, projectId: string, lastActivityAt: Date): Promise<void> {
  await ctx.temporal.workflow.getHandle(workflowIdForProject(projectId)).signal(activitySignal, { lastActivityAt: lastActivityAt.toISOString() });
}

export const startWaitSchema = z.strictObject(
  {
    wait: z.enum(['RUNNING'], 'only wait=RUNNING is supported').optional(),
    timeout: z.coerce.number('must be a number of seconds').int('must be a whole number of seconds').min(1, 'must be at least 1 second').optional(),
  },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown query parameter(s) ${i.keys.join(', ')}; use wait and timeout` : 'invalid query') },
);

export interface StartResult {
  id: string;
  action: 'start';
  accepted: true;
  desired?: string;
  wait?: { for: 'RUNNING'; reached: boolean; status: string; waitedMs: number };
  project?: ProjectDto;
}

/**
 * Start, and with `?wait=RUNNING` wait (at most `timeout` seconds, START_WAIT_MAX_S) until
 * the project runs. Answers 200 with the project when it runs, 202 with `reached: false` when
 * the time is up, 409 when the lifecycle reports an error on the way.
 */
export async function startProject(
  ctx: ServiceContext,
  hub: StatusHub,
  userId: string,
  projectId: string,
  query: unknown,
  actor: Actor,
): Promise<{ status: number; body: StartResult }> {
  const q = parseInput(startWaitSchema, query);
  const max = ctx.config.START_WAIT_MAX_S;
  if (q.timeout !== undefined && q.timeout > max) throw new ApiError('invalid_input', `timeout: must be at most ${max} seconds (START_WAIT_MAX_S)`, { fields: [{ field: 'timeout', message: `must be at most ${max} seconds` }] });
  if (q.timeout !== undefined && !q.wait) throw new ApiError('invalid_input', 'timeout: only with wait=RUNNING', { fields: [{ field: 'timeout', message: 'only with wait=RUNNING' }] });
  const accepted = await signalProject(ctx, userId, projectId, 'start', actor);
  if (!q.wait) return { status: 202, body: { ...accepted, action: 'start' } };
  const started = Date.now();
  const { reached, view } = await waitForRunning(ctx, hub, userId, projectId, (q.timeout ?? Math.min(300, max)) * 1000, started);
  const wait = { for: 'RUNNING' as const, reached, status: view.status, waitedMs: Date.now() - started };
  return { status: reached ? 200 : 202, body: { ...accepted, action: 'start', wait, project: view } };
}

/** Waits until the project is RUNNING (true), the time is up (false), or it fails (409). */
export async function waitForRunning(
  ctx: ServiceContext,
  hub: StatusHub,
  userId: string,
  projectId: string,
  timeoutMs: number,
  since = Date.now(),
): Promise<{ reached: boolean; view: ProjectDto }> {
  const deadline = Date.now() + timeoutMs;
  let wakeUp: () => void = () => undefined;
  // Woken by every status change (LISTEN/NOTIFY); a slow poll covers a missed notification.
  const unsubscribe = hub.subscribe(projectId, { changed: () => wakeUp() });
  try {
    for (;;) {
      const p = await findOwnedProject(ctx, userId, projectId);
      const view = await projectStatus(ctx, p);
      if (view.status === 'RUNNING' && view.desired === 'RUNNING') return { reached: true, view };
      if (view.status === 'ERROR' && view.lastError && Date.parse(view.lastError.at) >= since - 1000) {
        throw new ApiError('conflict', `the project did not start: ${view.lastError.message}`, { status: view.status });
      }
      if (view.desired !== 'RUNNING') throw new ApiError('conflict', `the project is no longer wanted running (desired ${view.desired}); it was stopped or deleted meanwhile`);
      const left = deadline - Date.now();
      if (left <= 0) return { reached: false, view };
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 2_000));
        wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  } finally {
    unsubscribe();
  }
}
