/// <reference types="vite/client" />
// The project's web terminal. xterm.js needs window, so the workspace is loaded only in
// the browser; the server renders a placeholder. The WebSocket goes to the web server's
// terminal proxy (web/server/terminal), never to the sandbox directly.
import { Suspense, lazy, useEffect, useState } from 'react';
import type { LinksFunction, MetaFunction } from '@remix-run/node';
import { Link, useParams } from '@remix-run/react';
import xtermStyles from '@xterm/xterm/css/xterm.css?url';

const TerminalWorkspace = lazy(() => import('../components/terminal-workspace.client'));

export const links: LinksFunction = () => [{ rel: 'stylesheet', href: xtermStyles }];

export const meta: MetaFunction = () => [{ title: 'Terminal · FullstackAgent' }];

function useProjectName(projectId: string): string | undefined {
  const [name, setName] = useState<string>();
  useEffect(() => {
    let cancelled = false;
    fetch(`/api/projects/${encodeURIComponent(projectId)}`, { headers: { Accept: 'application/json' } })
      .then((r) => (r.ok ? (r.json() as Promise<{ name?: unknown }>) : null))
      .then((p) => {
        if (!cancelled && typeof p?.name === 'string') setName(p.name);
      })
      .catch(() => undefined);
    return () => {
      cancelled = true;
    };
  }, [projectId]);
  return name;
}

export default function ProjectTerminalRoute() {
  const projectId = useParams().projectId ?? '';
  const [inBrowser, setInBrowser] = useState(false);
  useEffect(() => setInBrowser(true), []);
  const projectName = useProjectName(projectId);
  const placeholder = <p style={{ color: '#ccc', padding: 16, font: '14px system-ui, sans-serif' }}>Loading terminal…</p>;

  return (
    <div className="terminal-page">
      <div className="crumbs">
        <Link to="/projects">Projects</Link> / <Link to={`/projects/${encodeURIComponent(projectId)}`}>{projectName ?? 'Project'}</Link> / Terminal
      </div>
      {/* Fills the window below the top bar; the terminal refits when the window resizes. */}
      <div style={{ height: 'calc(100vh - 190px)', minHeight: 360, borderRadius: 12, overflow: 'hidden', background: '#1e1e1e', boxShadow: '0 1px 3px rgba(0,0,0,.2)' }}>
        {inBrowser ? (
          <Suspense fallback={placeholder}>
            <TerminalWorkspace projectId={projectId} projectName={projectName} />
          </Suspense>
        ) : (
          placeholder
        )}
      </div>
    </div>
  );
}
