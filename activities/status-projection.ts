// recordStatus: writes the workflow's status into the Project, Sandbox and Database rows
// (the projection the web lists from) and notifies listeners (the web's SSE) with
// pg_notify. The worker is the only writer of these columns. With a status come the
// timeline entries the workflow queued since the last write (ProjectEvent); their ids are
// fixed by the workflow, so a retried activity writes each entry once. It also keeps
// `stoppedAt` (retention counts from it; leaving STOPPED clears a retention notice) and,
// when a project is deleted, removes its Temporal Schedules.
//
// One write is one transaction: the timeline entries, the rows and the NOTIFY commit
// together (PostgreSQL delivers a NOTIFY at commit), so a listener never reads a status
// older than the notice, and no write is seen half done.
// The workflow coalesces its queue of views (patched 'coalesce-projection'): while one
// write is in flight, only the latest view waits behind it.
import { Context } from '@temporalio/activity';
import type { ProjectStatusView, TimelineEvent } from '../common/lifecycle';
import type { Db } from '../server/db';
import { deleteProjectSchedules } from '../server/schedules';
import type { TimelineBatch } from './types';

export const STATUS_CHANNEL = 'project_status';

export function createStatusProjection(db: Db) {
  return {
    async recordStatus(view: ProjectStatusView, timeline?: TimelineBatch): Promise<void> {
      const projectId = view.projectId;
      const events = timeline?.events.length
        ? [db.projectEvent.createMany({ data: timeline.events.map((e) => eventRow(projectId, timeline, e)), skipDuplicates: true })]
        : [];
      const notify = db.$executeRaw`SELECT pg_notify(${STATUS_CHANNEL}, ${projectId})`;
      if (view.status === 'TERMINATED') {
        // Deleted in Kubernetes: the project's rows go too (cascade), then its schedules
        // (a retry after a failed schedule removal finds the rows gone already). Idempotent.
        await db.$transaction([...events, db.project.deleteMany({ where: { id: projectId } }), notify]);
        const client = activityClient();
        if (client) await deleteProjectSchedules(client, projectId);
        return;
      }
      const stopped = view.status === 'STOPPED';
      await db.$transaction([
        ...events,
        db.project.updateMany({
          where: { id: projectId },
          data: {
            status: view.status,
            lastError: view.lastError?.message ?? null,
            // Not stopped: no stop time, and a retention notice no longer applies.
            ...(stopped ? {} : { stoppedAt: null, retentionNoticeAt: null, retentionDeleteAt: null }),
          },
        }),
        // Stopped: the first write that sees it stopped sets the time, later ones keep it.
        ...(stopped ? [db.project.updateMany({ where: { id: projectId, stoppedAt: null }, data: { stoppedAt: new Date(view.updatedAt) } })] : []),
        db.sandbox.updateMany({
          where: { projectId },
          data: { status: view.sandbox.status, publicUrl: view.sandbox.publicUrl, ttydUrl: view.sandbox.ttydUrl },
        }),
        ...(view.database
          ? [
              db.database.updateMany({
                where: { projectId },
                data: { status: view.database.status, host: view.database.host ?? null, port: view.database.port ?? null },
              }),
            ]
          : []),
        notify,
      ]);
    },
  };
}

/** The worker's Temporal client inside an activity; none outside one (direct calls in tests). */
function activityClient() {
  try {
    return Context.current().client;
  } catch {
    return undefined;
  }
}

const clip = (v: string | undefined, n: number) => (v === undefined ? null : v.slice(0, n));

function eventRow(projectId: string, batch: TimelineBatch, e: TimelineEvent) {
  return {
    id: e.id,
    projectId,
    ownerId: batch.ownerId,
    projectName: batch.projectName,
    seq: e.seq,
    at: new Date(e.at),
    kind: e.kind,
    actorKind: e.actor?.kind ?? null,
    actorName: clip(e.actor?.name, 80),
    action: e.action ?? null,
    effective: e.effective ?? null,
    fromStatus: e.from ?? null,
    toStatus: e.to ?? null,
    // A duration beyond int4 (24 days) is capped; the entries' times still say how long.
    durationMs: e.durationMs === undefined ? null : Math.min(Math.round(e.durationMs), 2_147_483_647),
    message: clip(e.message, 2000),
    reason: clip(e.reason, 300),
  };
}
