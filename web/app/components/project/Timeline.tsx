// The project's timeline: who did what, every status change and every error (ProjectEvent
// rows), newest first; fetched again whenever the live status changes.
import { useEffect, useState } from 'react';
import type { TimelineEntry } from '../../../server/web-api';
import { describeActor } from '../../../../common/policies';
import { duration } from '../../lib/format';

export function timelineText(e: TimelineEntry, viewer?: string): string {
  const who = e.actor ? describeActor(e.actor, viewer) : '';
  switch (e.kind) {
    case 'intent': {
      const what = e.message === 'created' ? 'created' : e.action === 'RUNNING' ? 'start' : e.action === 'STOPPED' ? 'stop' : 'delete';
      return `${what} by ${who}${e.effective === false ? ' (no change)' : ''}${e.reason ? `: ${e.reason}` : ''}`;
    }
    case 'transition':
      return `${e.from ? `${e.from} → ` : ''}${e.to}${e.from && e.durationMs !== null ? ` (after ${duration(e.durationMs) || '0s'} ${e.from})` : ''}`;
    case 'error':
      return `error (${e.reason}): ${e.message}`;
    case 'idle-warning':
      return `idle warning: ${e.message}`;
    case 'keep-running':
      return `kept running by ${who}`;
    case 'policy':
      return `${e.message} (set by ${who})`;
    case 'schedule':
      return e.action === 'removed' ? `schedule removed by ${who}` : `${e.message} (set by ${who})`;
    case 'retention-notice':
      return `retention notice: ${e.message}`;
    case 'app-activity':
      return `app activity: ${e.message}`;
    default:
      return e.message ?? e.kind;
  }
}

/** The project's timeline (newest first), refreshed whenever the live status changes. */
export function Timeline({ projectId, initial, version, viewer }: { projectId: string; initial: TimelineEntry[]; version: string; viewer?: string }) {
  const [events, setEvents] = useState(initial);
  useEffect(() => setEvents(initial), [initial]);
  useEffect(() => {
    const ctl = new AbortController();
    const t = setTimeout(() => {
      fetch(`/api/projects/${encodeURIComponent(projectId)}/timeline?limit=100`, { signal: ctl.signal, headers: { accept: 'application/json' } })
        .then((r) => (r.ok ? (r.json() as Promise<{ events: TimelineEntry[] }>) : null))
        .then((b) => b && setEvents(b.events))
        .catch(() => undefined);
    }, 300);
    return () => {
      clearTimeout(t);
      ctl.abort();
    };
  }, [projectId, version]);
  return (
    <section className="card" aria-labelledby="timeline-title">
      <div className="section-head">
        <h2 id="timeline-title">Timeline</h2>
        <p className="muted small">Who did what, every status change and every error; kept after Temporal forgets.</p>
      </div>
      {events.length ? (
        <ol className="timeline" data-testid="timeline">
          {events.map((e) => (
            <li key={e.id} className={`timeline-${e.kind}`} data-kind={e.kind}>
              <time dateTime={e.at} className="muted small">
                {new Date(e.at).toLocaleString()}
              </time>{' '}
              <span>{timelineText(e, viewer)}</span>
            </li>
          ))}
        </ol>
      ) : (
        <p className="muted">Nothing recorded yet.</p>
      )}
    </section>
  );
}
