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
// older than the notice, and no write is seen half done. Writes that arrive together share
// a transaction (group commit, below); each activity still returns only once its own
// write has committed, and a batch that fails is written again one by one.
// The workflow coalesces its queue of views (patched 'coalesce-projection'): while one
// write is in flight, only the latest view waits behind it.
import { Context } from '@temporalio/activity';
import type { ProjectStatusView, TimelineEvent } from '../common/lifecycle';
import { Prisma, type Db } from '../server/db';
import { deleteProjectSchedules } from '../server/schedules';
import type { TimelineBatch } from './types';

export const STATUS_CHANNEL = 'project_status';

export interface StatusProjectionOptions {
  /** Most writes committed in one transaction. */
  maxBatch?: number;
  /** Transactions in flight at once (each holds one pooled connection). */
  maxInFlight?: number;
}

interface Pending {
  view: ProjectStatusView;
  timeline?: TimelineBatch;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export function createStatusProjection(db: Db, opts: StatusProjectionOptions = {}) {
  const maxBatch = opts.maxBatch ?? 200;
  const maxInFlight = opts.maxInFlight ?? 2;
  // Group commit: a write goes out at once when a transaction is free; the writes that
  // arrive while all are busy go together in the next one. One write alone costs what it
  // did; 1,000 lifecycles writing at once cost a few transactions a second, not 1,000
  // competing for the pool (which failed with P2028 "Unable to start a transaction").
  const queue: Pending[] = [];
  let inFlight = 0;
  const pump = () => {
    while (inFlight < maxInFlight && queue.length) {
      const batch = takeBatch(queue, maxBatch);
      inFlight++;
      void writeBatch(db, batch).finally(() => {
        inFlight--;
        pump();
      });
    }
  };
  return {
    async recordStatus(view: ProjectStatusView, timeline?: TimelineBatch): Promise<void> {
      await new Promise<void>((resolve, reject) => {
        queue.push({ view, timeline, resolve, reject });
        pump();
      });
      if (view.status === 'TERMINATED') {
        // The rows are gone; then the project's schedules (a retry after a failed schedule
        // removal finds the rows gone already). Idempotent.
        const client = activityClient();
        if (client) await deleteProjectSchedules(client, view.projectId);
      }
    },
  };
}

/** The oldest writes, at most one per project (a second one of a project waits for the next batch, in order). */
function takeBatch(queue: Pending[], max: number): Pending[] {
  const batch: Pending[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < queue.length && batch.length < max; ) {
    const p = queue[i]!;
    if (seen.has(p.view.projectId)) {
      i++;
      continue;
    }
    seen.add(p.view.projectId);
    batch.push(p);
    queue.splice(i, 1);
  }
  return batch;
}

async function writeBatch(db: Db, batch: Pending[]): Promise<void> {
  try {
    await db.$transaction(statements(db, batch));
    for (const p of batch) p.resolve();
  } catch (err) {
    if (batch.length === 1) return batch[0]!.reject(err);
    // One bad write must not fail the others: each alone, so only its own activity fails.
    for (const p of batch) await db.$transaction(statements(db, [p])).then(p.resolve, p.reject);
  }
}

/** One batch's statements: timeline entries, deletions, the three tables' rows, one NOTIFY per project. */
function statements(db: Db, batch: Pending[]) {
  const events = batch.flatMap(({ view, timeline }) => (timeline?.events ?? []).map((e) => eventRow(view.projectId, timeline!, e)));
  const deleted = batch.filter((p) => p.view.status === 'TERMINATED').map((p) => p.view.projectId);
  const rows = batch
    .filter((p) => p.view.status !== 'TERMINATED')
    .map(({ view }) => ({
      id: view.projectId,
      status: view.status,
      lastError: view.lastError?.message ?? null,
      // Stopped: the first write that sees it stopped sets the time, later ones keep it.
      stoppedAt: view.status === 'STOPPED' ? new Date(view.updatedAt).toISOString() : null,
      sandboxStatus: view.sandbox.status,
      publicUrl: view.sandbox.publicUrl ?? null,
      ttydUrl: view.sandbox.ttydUrl ?? null,
      databaseStatus: view.database?.status ?? null,
      host: view.database?.host ?? null,
      port: view.database?.port ?? null,
    }));
  const json = JSON.stringify(rows);
  // Prisma's timestamps are UTC in `timestamp(3)` columns: an ISO time cast to that type
  // keeps its UTC wall time, and now() is taken in UTC for the same reason.
  const values = Prisma.sql`jsonb_to_recordset(${json}::jsonb) AS v(id text, status text, "lastError" text, "stoppedAt" timestamp(3), "sandboxStatus" text, "publicUrl" text, "ttydUrl" text, "databaseStatus" text, host text, port int)`;
  return [
    ...(events.length ? [db.projectEvent.createMany({ data: events, skipDuplicates: true })] : []),
    ...(deleted.length ? [db.project.deleteMany({ where: { id: { in: deleted } } })] : []),
    ...(rows.length
      ? [
          // Not stopped: no stop time, and a retention notice no longer applies.
          db.$executeRaw`UPDATE "Project" p SET status = v.status::"ProjectStatus", "lastError" = v."lastError",
            "stoppedAt" = CASE WHEN v.status = 'STOPPED' THEN COALESCE(p."stoppedAt", v."stoppedAt") END,
            "retentionNoticeAt" = CASE WHEN v.status = 'STOPPED' THEN p."retentionNoticeAt" END,
            "retentionDeleteAt" = CASE WHEN v.status = 'STOPPED' THEN p."retentionDeleteAt" END,
            "updatedAt" = now() AT TIME ZONE 'UTC'
            FROM ${values} WHERE p.id = v.id`,
          db.$executeRaw`UPDATE "Sandbox" s SET status = v."sandboxStatus"::"ResourceStatus", "publicUrl" = v."publicUrl", "ttydUrl" = v."ttydUrl",
            "updatedAt" = now() AT TIME ZONE 'UTC'
            FROM ${values} WHERE s."projectId" = v.id`,
          db.$executeRaw`UPDATE "Database" d SET status = v."databaseStatus"::"ResourceStatus", host = v.host, port = v.port,
            "updatedAt" = now() AT TIME ZONE 'UTC'
            FROM ${values} WHERE d."projectId" = v.id AND v."databaseStatus" IS NOT NULL`,
        ]
      : []),
    db.$executeRaw`SELECT pg_notify(${STATUS_CHANNEL}, id) FROM jsonb_array_elements_text(${JSON.stringify(batch.map((p) => p.view.projectId))}::jsonb) AS id`,
  ];
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
