// recordStatus: writes the workflow's status into the Project, Sandbox and Database rows
// (the projection the web lists from) and notifies listeners (the web's SSE) with
// pg_notify. The worker is the only writer of these columns.
import type { ProjectStatusView } from '../common/lifecycle';
import type { Db } from '../server/db';

export const STATUS_CHANNEL = 'project_status';

export function createStatusProjection(db: Db) {
  return {
    async recordStatus(view: ProjectStatusView): Promise<void> {
      const projectId = view.projectId;
      if (view.status === 'TERMINATED') {
        // Deleted in Kubernetes: the project's rows go too (cascade). Idempotent.
        await db.project.deleteMany({ where: { id: projectId } });
      } else {
        await db.$transaction([
          db.project.updateMany({
            where: { id: projectId },
            data: { status: view.status, lastError: view.lastError?.message ?? null },
          }),
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
        ]);
      }
      await db.$executeRaw`SELECT pg_notify(${STATUS_CHANNEL}, ${projectId})`;
    },
  };
}
