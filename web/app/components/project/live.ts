// The project page's live view: the status the server pushes over Server-Sent Events (no
// polling; the stream reconnects with backoff), the ticking clock of the stage timers, and
// what the page's action answers. Shared by the route and the cards it is made of.
import { useNavigate } from '@remix-run/react';
import { useEffect, useState } from 'react';
import type { ProjectDto } from '../../../server/web-api';
import { useLiveStream, type LiveStatus } from '../../lib/use-live-stream';

export type LiveView = Omit<ProjectDto, 'environment'> & { deleted?: boolean };

/** What the page's action answers (web/app/lib/project-page.server.ts). */
export type ProjectActionData = { ok: string; intent: string } | { error: string; intent: string };

/** Subscribes to the project's SSE stream (reconnecting with backoff); the server pushes a snapshot on every change. */
export function useLiveStatus(initial: LiveView): { view: LiveView; live: LiveStatus } {
  const [view, setView] = useState(initial);
  const navigate = useNavigate();
  // Fresh loader data (after an action) replaces the view; re-renders alone do not.
  useEffect(() => setView(initial), [initial]);
  const live = useLiveStream<LiveView>(`/api/projects/${encodeURIComponent(initial.id)}/events`, (next) => {
    if (next.deleted) {
      navigate('/projects');
      return;
    }
    setView((v) => ({ ...v, ...next }));
  });
  return { view, live };
}

/** A clock for the running stage timers: `start` (from the loader) until mounted, then ticking each second. */
export function useNow(active: boolean, start: number): number {
  const [now, setNow] = useState(start);
  useEffect(() => {
    setNow(Date.now());
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

export const clock = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

export const dateTime = (iso: string) => new Date(iso).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
