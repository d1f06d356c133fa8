// Timeline entries written outside the lifecycle workflow: the retention notice (by the
// sweeper's activity) and schedule changes (by the web). The workflow's own entries come
// through the projection with `<runId>:<seq>` ids; these carry their own idempotent ids
// and the sequence number of the project's latest entry, so they sort after it (ties go
// by time).
import type { Actor, TimelineKind } from '../common/lifecycle';
import type { Db } from './db';

export interface ExternalTimelineEvent {
  id: string;
  projectId: string;
  ownerId: string;
  projectName: string;
  kind: TimelineKind;
  actor: Actor;
  action?: string;
  message?: string;
  reason?: string;
  at?: Date;
}

/** Appends one entry; writing the same id again is a no-op. */
export async function appendTimelineEvent(db: Pick<Db, '$executeRaw'>, e: ExternalTimelineEvent): Promise<void> {
  const at = e.at ?? new Date();
  await db.$executeRaw`
    INSERT INTO "ProjectEvent" ("id", "projectId", "ownerId", "projectName", "seq", "at", "kind", "actorKind", "actorName", "action", "message", "reason")
    SELECT ${e.id}, ${e.projectId}, ${e.ownerId}, ${e.projectName},
           COALESCE((SELECT max("seq") FROM "ProjectEvent" WHERE "projectId" = ${e.projectId}), 0),
           ${at}, ${e.kind}, ${e.actor.kind}, ${e.actor.name?.slice(0, 80) ?? null}, ${e.action ?? null}, ${e.message?.slice(0, 2000) ?? null}, ${e.reason?.slice(0, 300) ?? null}
    ON CONFLICT ("id") DO NOTHING`;
}

/** "7 days", "3 h", "12 s": a retention span for people. */
export function formatSpan(ms: number): string {
  const day = 86_400_000;
  if (ms >= day && ms % day === 0) return `${ms / day} day${ms === day ? '' : 's'}`;
  if (ms >= 3_600_000) return `${Math.round(ms / 3_600_000)} h`;
  if (ms >= 60_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.max(1, Math.round(ms / 1000))} s`;
}
