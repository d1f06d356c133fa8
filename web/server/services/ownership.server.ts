// Ownership of projects: the one lookup every project-scoped route goes through. Its own
// module, so the project and environment services can both use it without importing
// each other.
import type { ProjectStatus } from '../../../common/status';
import type { ServiceContext } from '../context';
import { notFound } from '../http/errors';

export type ProjectRow = {
  id: string;
  name: string;
  description: string | null;
  userId: string;
  k8sName: string;
  status: ProjectStatus;
  lastError: string | null;
  /** null: the platform default; 0: off. */
  idleTimeoutMinutes: number | null;
  /** Requests to the app's public URL count as activity (opt-in). */
  appActivity?: boolean;
  /** The autostart/autostop schedule as stored (validated when read). */
  schedule: unknown;
  stoppedAt: Date | null;
  retentionKeep: boolean;
  retentionNoticeAt: Date | null;
  retentionDeleteAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
};

/** The project if it belongs to the user; anyone else's (or none) is a 404. */
export async function findOwnedProject(ctx: ServiceContext, userId: string, projectId: string): Promise<ProjectRow> {
  if (typeof projectId !== 'string' || projectId.length === 0 || projectId.length > 64) throw notFound();
  const p = await ctx.db.project.findFirst({ where: { id: projectId, userId } });
  if (!p) throw notFound();
  return p as ProjectRow;
}
