// The retention sweeper's activity (workflows/retention-sweep.ts): notices and due projects
// from PostgreSQL, in one transaction, with the database's clock. A notice is a timeline
// entry (actor "retention") and the delete time on the project's row; the projection clears
// both when the project leaves STOPPED, and "keep" clears them too.
import type { RetentionSweepInput } from '../common/schedules';
import type { Db } from '../server/db';
import { appendTimelineEvent, formatSpan } from '../server/timeline-rows';
import { STATUS_CHANNEL } from './status-projection';
import type { RetentionActivities, RetentionDue } from './types';

interface NoticedRow {
  id: string;
  userId: string;
  name: string;
  stoppedAt: Date;
  retentionNoticeAt: Date;
  retentionDeleteAt: Date;
}

export function createRetentionActivities(db: Db): RetentionActivities {
  return {
    async retentionSweepStep({ stoppedForMs, graceMs }: RetentionSweepInput) {
      const { noticed, due } = await db.$transaction(async (tx) => {
        const noticed = await tx.$queryRaw<NoticedRow[]>`
          UPDATE "Project"
             SET "updatedAt" = now(), "retentionNoticeAt" = now(), "retentionDeleteAt" = now() + ${graceMs}::double precision * interval '1 millisecond'
           WHERE "status" = 'STOPPED' AND NOT "retentionKeep" AND "retentionNoticeAt" IS NULL
             AND "stoppedAt" IS NOT NULL AND "stoppedAt" <= now() - ${stoppedForMs}::double precision * interval '1 millisecond'
          RETURNING "id", "userId", "name", "stoppedAt", "retentionNoticeAt", "retentionDeleteAt"`;
        for (const p of noticed) {
          await appendTimelineEvent(tx, {
            id: `retention-notice:${p.id}:${p.stoppedAt.getTime()}`,
            projectId: p.id,
            ownerId: p.userId,
            projectName: p.name,
            kind: 'retention-notice',
            actor: { kind: 'retention' },
            at: p.retentionNoticeAt,
            message: `stopped since ${p.stoppedAt.toISOString()} (more than ${formatSpan(stoppedForMs)}): deleted at ${p.retentionDeleteAt.toISOString()} unless it is started or kept`,
          });
        }
        const dueRows = await tx.$queryRaw<Array<{ id: string; stoppedAt: Date; retentionNoticeAt: Date }>>`
          SELECT "id", "stoppedAt", "retentionNoticeAt" FROM "Project"
           WHERE "status" = 'STOPPED' AND NOT "retentionKeep" AND "retentionDeleteAt" IS NOT NULL AND "retentionDeleteAt" <= now()`;
        const due: RetentionDue[] = dueRows.map((r) => ({
          projectId: r.id,
          reason: `stopped since ${r.stoppedAt.toISOString()}; notice given at ${r.retentionNoticeAt.toISOString()}, ${formatSpan(graceMs)} before`,
        }));
        return { noticed: noticed.map((p) => p.id), due };
      });
      for (const id of noticed) await db.$executeRaw`SELECT pg_notify(${STATUS_CHANNEL}, ${id})`;
      return { noticed, due };
    },
  };
}
