// Projects: create (rows in one transaction, then the lifecycle workflow), list, read
// (status from the workflow's `status` query, projection rows as fallback) and the
// start/stop/delete intents (Workflow Updates, signals as the fallback). Never calls
// Kubernetes: it writes rows, tells the workflow, answers.
import { z } from 'zod';
import {
  STAGE_NAMES,
  WORKFLOW_TYPE,
  type Actor,
  type LifecycleInput,
  type ProjectStatusView,
  type Stage,
} from '../../../common/lifecycle';
import { projectResourceName, workflowIdForProject } from '../../../common/names';
import type { ProjectStatus, ResourceStatus } from '../../../common/status';
import type { Db } from '../../../server/db';
import { createProjectRows } from '../../../server/project-rows';
import { deleteProjectSchedules } from '../../../server/schedules';
import type { ServiceContext } from '../context';
import { ApiError, parseInput } from '../http/errors';
import { listEnvironment, type EnvironmentDto } from './environment.server';
import { findOwnedProject, type ProjectRow } from './ownership.server';
import { explainState, type Explanation } from '../../../common/policies';
import { retentionOf, storedSchedule, type RetentionDto, type ScheduleDto } from './schedules.server';
import {
  deleteSignal,
  deleteUpdateWithActor,
  environmentChangedSignal,
  startSignal,
  startUpdateWithActor,
  statusQuery,
  stopSignal,
  stopUpdateWithActor,
} from '../../../workflows/messages';
import { isAlreadyStarted, isUniqueViolation, isUpdateRejected, isWorkflowNotFound, withTimeout } from './temporal-errors';
import { descriptionSchema, projectNameSchema } from './validation';
import { lifecycleStartOptions } from '../../../common/start-lifecycle';

export const createProjectSchema = z.strictObject(
  {
    name: projectNameSchema,
    description: descriptionSchema.optional().nullable(),
  },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.join(', ')}; send only name and description` : 'send a JSON object { "name": "...", "description"?: "..." }') },
);

export interface ProjectSummary {
  id: string;
  name: string;
  description: string | null;
  k8sName: string;
  status: ProjectStatus;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  /** Set once the retention sweeper gave its notice: deleted then unless started or kept. */
  retentionDeleteAt: string | null;
}

export interface ProjectDto extends Omit<ProjectStatusView, 'projectId'> {
  id: string;
  name: string;
  description: string | null;
  k8sName: string;
  createdAt: string;
  /** Where the status came from: the live workflow or the projection rows. */
  statusSource: 'workflow' | 'projection';
  /** The project's idle auto-stop setting: minutes, 0 = off, null = the platform default. */
  idleTimeoutMinutes: number | null;
  /** The setting in effect: minutes, or null when auto-stop is off. */
  effectiveIdleTimeoutMinutes: number | null;
  /** Requests to the app's public URL count as activity (opt-in; PUT /api/projects/:id/idle {appActivity}). */
  appActivity: boolean;
  /** "kept running because …" / "stopped because …" (times in UTC). */
  explanation: Explanation | null;
  /** Autostart/autostop by weekday and time (GET/PUT/DELETE /api/projects/:id/schedule). */
  schedule: ScheduleDto | null;
  /** The platform's retention, the project's "keep" and the notice when one was given. */
  retention: RetentionDto;
  environment?: EnvironmentDto[];
}


const summary = (p: ProjectRow): ProjectSummary => ({
  id: p.id,
  name: p.name,
  description: p.description,
  k8sName: p.k8sName,
  status: p.status,
  lastError: p.lastError,
  createdAt: p.createdAt.toISOString(),
  updatedAt: p.updatedAt.toISOString(),
  retentionDeleteAt: p.retentionDeleteAt?.toISOString() ?? null,
});


export async function listProjects(ctx: ServiceContext, userId: string): Promise<ProjectSummary[]> {
  const rows = await ctx.db.project.findMany({ where: { userId }, orderBy: { createdAt: 'desc' } });
  return (rows as ProjectRow[]).map(summary);
}

const nameTaken = (name: string) => new ApiError('conflict', `name: you already have a project named "${name}"; choose another name`);

export function projectLimitError(limit: number): ApiError {
  return new ApiError(
    'conflict',
    `you have reached the limit of ${limit} projects per user (MAX_PROJECTS_PER_USER); delete a project you no longer need, then create this one`,
    { limit },
  );
}

export async function createProject(ctx: ServiceContext, userId: string, input: unknown, actor?: Actor): Promise<ProjectDto> {
  const data = parseInput(createProjectSchema, input);
  await ctx.limits.take(userId, 'create');
  const description = data.description ? data.description : null;
  const limit = ctx.config.MAX_PROJECTS_PER_USER;

  const existing = await ctx.db.project.findFirst({ where: { userId, name: data.name }, select: { id: true } });
  if (existing) throw nameTaken(data.name);

  // All rows or none; a k8sName collision (6 random letters) is retried once. The limit is
  // counted and the rows written under a per-user lock, so parallel creates cannot pass it.
  let project: ProjectRow | undefined;
  for (let attempt = 0; !project; attempt++) {
    const k8sName = projectResourceName(data.name, Math.random);
    try {
      project = (await ctx.db.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`fsa:projects:${userId}`}))`;
        const count = await tx.project.count({ where: { userId, status: { not: 'TERMINATED' } } });
        if (count >= limit) throw projectLimitError(limit);
        return createProjectRows(tx as unknown as Db, ctx.cipher, { userId, name: data.name, description, k8sName });
      })) as ProjectRow;
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const dup = await ctx.db.project.findFirst({ where: { userId, name: data.name }, select: { id: true } });
      if (dup || attempt >= 2) throw nameTaken(data.name);
    }
  }

  const outcome = await startLifecycle(ctx, lifecycleInput(ctx, project, 'RUNNING', actor));
  if (outcome === 'absent') {
    // Temporal says there is no such workflow: nothing runs for these rows, remove them.
    await ctx.db.project.deleteMany({ where: { id: project.id } });
    throw new ApiError('unavailable', 'the lifecycle service (Temporal) is not reachable; nothing was created, try again shortly');
  }
  if (outcome === 'unknown') {
    // Temporal did not say either way: the workflow may be running, so its rows stay (a
    // lifecycle without rows would have nothing to report to; rows without a lifecycle can
    // be started or deleted by the user).
    throw new ApiError(
      'unavailable',
      `the lifecycle service (Temporal) did not confirm that the project's lifecycle started; the project was kept (id ${project.id}) because it may be running. ` +
        'If it stays CREATING, start it again (POST /api/projects/<id>/start) or delete it.',
      { projectId: project.id },
    );
  }
  return { ...withPolicy(ctx, project, projectionView(project, null, null)), environment: [] };
}

/** The idle timeout in effect for a project, in minutes (null = off). */
export function effectiveIdleMinutes(ctx: ServiceContext, p: Pick<ProjectRow, 'idleTimeoutMinutes'>): number | null {
  const m = p.idleTimeoutMinutes ?? ctx.config.IDLE_TIMEOUT_MINUTES;
  return m > 0 ? m : null;
}

export function idleTimeoutMs(ctx: ServiceContext, p: Pick<ProjectRow, 'idleTimeoutMinutes'>): number | null {
  const m = effectiveIdleMinutes(ctx, p);
  return m === null ? null : m * ctx.idleMinuteMs;
}

function lifecycleInput(ctx: ServiceContext, p: ProjectRow, desired: LifecycleInput['desired'], createdBy?: Actor): LifecycleInput {
  return {
    projectId: p.id,
    ownerId: p.userId,
    k8sName: p.k8sName,
    projectName: p.name,
    desired,
    timings: ctx.timings,
    idleTimeoutMs: idleTimeoutMs(ctx, p),
    ...(p.appActivity ? { appActivity: true } : {}),
    ...(createdBy ? { createdBy } : {}),
  };
}

type PolicyFields = 'idleTimeoutMinutes' | 'effectiveIdleTimeoutMinutes' | 'appActivity' | 'explanation' | 'schedule' | 'retention';

function withPolicy(ctx: ServiceContext, p: ProjectRow, view: Omit<ProjectDto, PolicyFields>): ProjectDto {
  const schedule = storedSchedule(p);
  return {
    ...view,
    idleTimeoutMinutes: p.idleTimeoutMinutes,
    effectiveIdleTimeoutMinutes: effectiveIdleMinutes(ctx, p),
    appActivity: p.appActivity ?? false,
    explanation: explainState({ ...view, schedule }),
    schedule,
    retention: retentionOf(ctx, p),
  };
}

const START_ATTEMPTS = 3;

/**
 * Starts a project's lifecycle under its fixed workflow ID. A failed start is ambiguous (a
 * timeout or a dropped connection may come after the server started it), so it is answered
 * by the server: start again with the same ID (WorkflowExecutionAlreadyStarted = it runs) and
 * describe the workflow. `absent` only when Temporal said the workflow does not exist after
 * every attempt; `unknown` when it could not be asked.
 */
export async function startLifecycle(ctx: ServiceContext, input: LifecycleInput): Promise<'started' | 'absent' | 'unknown'> {
  const options = lifecycleStartOptions(input, ctx.taskQueue);
  const rpc = <T>(fn: () => Promise<T>) => ctx.temporal.connection.withDeadline(Date.now() + ctx.startTimeoutMs, fn);
  let absent = false;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, ctx.startRetryDelayMs * attempt));
    try {
      await rpc(() => ctx.temporal.workflow.start(WORKFLOW_TYPE, options));
      return 'started';
    } catch (err) {
      if (isAlreadyStarted(err)) return 'started';
      ctx.logger.warn({ err, projectId: input.projectId, attempt }, 'starting the lifecycle workflow failed; asking Temporal whether it started anyway');
    }
    try {
      await rpc(() => ctx.temporal.workflow.getHandle(options.workflowId).describe());
      return 'started';
    } catch (err) {
      absent = isWorkflowNotFound(err);
      if (!absent) ctx.logger.warn({ err, projectId: input.projectId, attempt }, 'describing the lifecycle workflow failed');
    }
  }
  ctx.logger.error({ projectId: input.projectId, absent }, absent ? 'the lifecycle workflow could not be started' : 'the lifecycle workflow start is unconfirmed');
  return absent ? 'absent' : 'unknown';
}

/** Status derived from the projection rows, for when the workflow cannot answer. */
function projectionView(
  p: ProjectRow,
  sandbox: { status: ResourceStatus; publicUrl: string | null; ttydUrl: string | null } | null,
  database: { status: ResourceStatus; host: string | null; port: number | null } | null,
): Omit<ProjectDto, PolicyFields> {
  const done = p.status === 'RUNNING';
  const stages: Stage[] = STAGE_NAMES.map((name) => ({ name, state: done ? 'done' : p.status === 'ERROR' ? 'failed' : 'pending' }));
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    k8sName: p.k8sName,
    createdAt: p.createdAt.toISOString(),
    status: p.status,
    desired: p.status === 'STOPPED' || p.status === 'STOPPING' ? 'STOPPED' : p.status === 'TERMINATING' ? 'TERMINATED' : 'RUNNING',
    sandbox: { status: sandbox?.status ?? 'CREATING', publicUrl: sandbox?.publicUrl ?? null, ttydUrl: sandbox?.ttydUrl ?? null },
    database: database ? { status: database.status, ...(database.host ? { host: database.host } : {}), ...(database.port ? { port: database.port } : {}) } : null,
    stages,
    lastError: p.lastError ? { message: p.lastError, at: p.updatedAt.toISOString() } : null,
    updatedAt: p.updatedAt.toISOString(),
    statusSource: 'projection',
  };
}

async function fromProjection(ctx: ServiceContext, p: ProjectRow): Promise<ProjectDto> {
  const [sandbox, database] = await Promise.all([
    ctx.db.sandbox.findFirst({ where: { projectId: p.id }, select: { status: true, publicUrl: true, ttydUrl: true } }),
    ctx.db.database.findFirst({ where: { projectId: p.id }, select: { status: true, host: true, port: true } }),
  ]);
  return withPolicy(ctx, p, projectionView(p, sandbox as never, database as never));
}

/** The live status (workflow query) merged with the project's rows. */
export async function projectStatus(ctx: ServiceContext, p: ProjectRow): Promise<ProjectDto> {
  // A deadline on the RPC itself: without a worker a query would otherwise keep retrying.
  const query = ctx.temporal.connection
    .withDeadline(Date.now() + ctx.queryTimeoutMs, () => ctx.temporal.workflow.getHandle(workflowIdForProject(p.id)).query(statusQuery))
    .then((v) => v as ProjectStatusView | null)
    .catch((err) => {
      if (!isWorkflowNotFound(err)) ctx.logger.warn({ err: (err as Error).message, projectId: p.id }, 'status query failed; using the projection');
      return null;
    });
  const view = await withTimeout(query, ctx.queryTimeoutMs + 500, () => null);
  if (!view) return fromProjection(ctx, p);
  const { projectId: _id, ...rest } = view;
  return withPolicy(ctx, p, { ...rest, id: p.id, name: p.name, description: p.description, k8sName: p.k8sName, createdAt: p.createdAt.toISOString(), statusSource: 'workflow' });
}

export async function getProject(ctx: ServiceContext, userId: string, projectId: string): Promise<ProjectDto> {
  const p = await findOwnedProject(ctx, userId, projectId);
  const [view, environment] = await Promise.all([projectStatus(ctx, p), listEnvironment(ctx, userId, projectId, p)]);
  return { ...view, environment };
}

export type ProjectAction = 'start' | 'stop' | 'delete';

/** Sends the lifecycle signal; the workflow does the work. */
const INTENTS = {
  start: { update: startUpdateWithActor, signal: startSignal },
  stop: { update: stopUpdateWithActor, signal: stopSignal },
  delete: { update: deleteUpdateWithActor, signal: deleteSignal },
} as const;

/** Who did it, for the timeline, when the caller did not say (internal callers). */
const SYSTEM_ACTOR: Actor = { kind: 'operator' };

export async function signalProject(
  ctx: ServiceContext,
  userId: string,
  projectId: string,
  action: ProjectAction,
  actor: Actor = SYSTEM_ACTOR,
): Promise<{ id: string; action: ProjectAction; accepted: true; desired?: string }> {
  const p = await findOwnedProject(ctx, userId, projectId);
  const args = { actor };
  if (action !== 'delete' && p.status === 'TERMINATING') {
    throw new ApiError('conflict', `project is being deleted; it cannot ${action}`);
  }
  const handle = ctx.temporal.workflow.getHandle(workflowIdForProject(p.id));
  // An Update gets the workflow's own answer (a start after delete is refused with the
  // reason). When no worker answers in time, or the lifecycle is gone, the signal path
  // below decides: the signal is the contract, and the intent is idempotent.
  try {
    const accepted = await ctx.temporal.withDeadline(Date.now() + ctx.updateTimeoutMs, () => handle.executeUpdate(INTENTS[action].update, { args: [args] }));
    return { id: p.id, action, accepted: true, desired: accepted.desired };
  } catch (err) {
    if (isUpdateRejected(err)) throw new ApiError('conflict', `cannot ${action}: ${(err as { cause?: Error }).cause?.message ?? 'the lifecycle refused it'}`);
    ctx.logger.debug({ projectId, err: (err as Error).message }, `update ${action} not answered; signalling`);
  }
  try {
    await handle.signal(INTENTS[action].signal, args);
  } catch (err) {
    if (!isWorkflowNotFound(err)) {
      ctx.logger.error({ err, projectId }, `signal ${action} failed`);
      throw new ApiError('unavailable', 'the lifecycle service (Temporal) is not reachable; try again shortly');
    }
    // Never started (a create whose start was unconfirmed; the worker has not written a
    // status yet): start starts it, under the same workflow ID.
    if (action === 'start' && p.status === 'CREATING') {
      const outcome = await startLifecycle(ctx, lifecycleInput(ctx, p, 'RUNNING', actor));
      if (outcome !== 'started') throw new ApiError('unavailable', 'the lifecycle service (Temporal) is not reachable; try again shortly');
      return { id: p.id, action, accepted: true };
    }
    // No lifecycle (it ended): deleting just removes the rows; anything else conflicts.
    if (action !== 'delete') throw new ApiError('conflict', 'project has no running lifecycle; delete it and create it again');
    // Its schedules go with it (the projection does this when a lifecycle deletes a project).
    await deleteProjectSchedules(ctx.temporal, p.id).catch((err) => ctx.logger.warn({ err: (err as Error).message, projectId }, 'removing the schedules failed'));
    await ctx.db.project.deleteMany({ where: { id: p.id } });
  }
  return { id: p.id, action, accepted: true };
}

/** Tells every lifecycle of the user that the environment changed (e.g. new Anthropic key). */
export async function signalEnvironmentChanged(ctx: ServiceContext, projectIds: string[]): Promise<void> {
  await Promise.all(
    projectIds.map((id) =>
      ctx.temporal.workflow
        .getHandle(workflowIdForProject(id))
        .signal(environmentChangedSignal)
        .catch((err) => {
          if (!isWorkflowNotFound(err)) ctx.logger.warn({ err: (err as Error).message, projectId: id }, 'environmentChanged signal failed');
        }),
    ),
  );
}
