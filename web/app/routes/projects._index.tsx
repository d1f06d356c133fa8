// The user's projects, kept live: GET /api/events pushes the list on every change (status,
// new, gone), so statuses change on screen without a reload.
import { json, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { LiveIndicator } from '../components/LiveIndicator';
import { StatusBadge } from '../components/StatusBadge';
import { ago } from '../lib/format';
import { useLiveList } from '../lib/use-live-list';
import { requireUserId } from '../lib/session.server';

export const meta: MetaFunction = () => [{ title: 'Projects · FullstackAgent' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const userId = requireUserId(context, request);
  return json({ projects: await context.api.listProjects(userId) });
}

export default function Projects() {
  const loaded = useLoaderData<typeof loader>();
  const { items: projects, live } = useLiveList(loaded.projects, '/api/events', (m: { projects: typeof loaded.projects }) => m.projects);
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Projects</h1>
          <p className="muted">
            Each project is a sandbox with a terminal, an AI coding agent and its own PostgreSQL.
            <LiveIndicator status={live} />
          </p>
        </div>
        <Link to="/projects/new" className="btn btn-primary">
          New project
        </Link>
      </div>
      {projects.length === 0 ? (
        <div className="card empty">
          <h2>No projects yet</h2>
          <p className="muted">Create one and it is provisioned for you: database, container, network and terminal.</p>
          <Link to="/projects/new" className="btn btn-primary">
            Create your first project
          </Link>
        </div>
      ) : (
        <ul className="project-list" aria-label="Your projects">
          {projects.map((p) => (
            <li key={p.id}>
              <Link to={`/projects/${p.id}`} className="card project-row">
                <div className="project-main">
                  <span className="project-name">{p.name}</span>
                  <span className="muted small">{p.description || p.k8sName}</span>
                </div>
                {p.lastError && p.status === 'ERROR' ? <span className="small error-text">{p.lastError}</span> : null}
                {p.retentionDeleteAt && p.status === 'STOPPED' ? (
                  <span className="small error-text nowrap" data-testid="retention-mark">
                    deleted {new Date(p.retentionDeleteAt).toLocaleDateString([], { dateStyle: 'medium' })} unless kept
                  </span>
                ) : null}
                <span className="muted small nowrap">created {ago(p.createdAt)}</span>
                <StatusBadge status={p.status} />
              </Link>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
