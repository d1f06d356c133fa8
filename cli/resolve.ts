// ID|NAME arguments: the API addresses projects by id; names are looked up by listing
// (there is no lookup-by-name endpoint), exact id first, then the exact name as the server
// stores it (NFC, trimmed), then a unique case-insensitive match.
import type { Api } from './api';
import { CliError, EXIT } from './errors';
import type { z } from 'zod';
import { projectListSchema, projectViewSchema, type ProjectView } from './schemas';

export type ProjectSummary = z.infer<typeof projectListSchema>[number];

export async function resolveProject(api: Api, ref: string): Promise<ProjectSummary> {
  const list = await api.request('GET', '/api/projects', projectListSchema);
  const wanted = ref.normalize('NFC').trim();
  const byId = list.find((p) => p.id === ref);
  if (byId) return byId;
  const byName = list.find((p) => p.name === wanted);
  if (byName) return byName;
  const folded = list.filter((p) => p.name.toLowerCase() === wanted.toLowerCase());
  if (folded.length === 1) return folded[0]!;
  if (folded.length > 1) {
    throw new CliError(`"${ref}" matches several projects (${folded.map((p) => `${p.name} ${p.id}`).join(', ')})`, EXIT.USAGE, 'pass the exact name or the id', 'ambiguous');
  }
  throw new CliError(`no project "${ref}"`, EXIT.NOT_FOUND, 'fsa projects ls lists your projects (by id and name)', 'not_found', 404);
}

/** Reads one project's live status. */
export async function getProjectView(api: Api, id: string): Promise<ProjectView> {
  return api.request('GET', `/api/projects/${encodeURIComponent(id)}`, projectViewSchema, { notFoundFix: 'fsa projects ls lists your projects' });
}
