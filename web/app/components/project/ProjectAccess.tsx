// The access card: the app's public URL, the terminal, the sandbox's and the database's status.
import { Link } from '@remix-run/react';
import { StatusBadge } from '../StatusBadge';
import type { LiveView } from './live';

export function ProjectAccess({ view, stopped }: { view: LiveView; stopped: boolean }) {
  return (
    <section className="card" aria-labelledby="access-title">
      <h2 id="access-title">Access</h2>
      <dl className="facts">
        <dt>App URL</dt>
        <dd>
          {view.sandbox.publicUrl ? (
            <a href={view.sandbox.publicUrl} target="_blank" rel="noreferrer">
              {view.sandbox.publicUrl}
            </a>
          ) : (
            <span className="muted">available when the network is ready</span>
          )}
        </dd>
        <dt>Terminal</dt>
        <dd>
          {view.sandbox.ttydUrl && view.status === 'RUNNING' ? (
            <Link to={`/projects/${view.id}/terminal`}>Open in the browser</Link>
          ) : (
            <span className="muted">{stopped ? 'available while the project runs' : 'not ready yet'}</span>
          )}
        </dd>
        <dt>Sandbox</dt>
        <dd>
          <StatusBadge status={view.sandbox.status} />
        </dd>
        <dt>Database</dt>
        <dd>
          {view.database ? <StatusBadge status={view.database.status} /> : <span className="muted">—</span>}
          {view.database?.host ? (
            <code className="small">
              {' '}
              {view.database.host}:{view.database.port}
            </code>
          ) : null}
        </dd>
      </dl>
    </section>
  );
}
