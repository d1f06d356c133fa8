// Whether the page's live updates are arriving: "live" (connected; changes are pushed),
// "connecting…", "reconnecting…" (with the next attempt), or "signed out".
import type { LiveStatus } from '../lib/use-live-stream';

const LABEL = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', 'signed-out': 'signed out' } as const;

export function LiveIndicator({ status }: { status: LiveStatus }) {
  const { state, detail } = status;
  const title =
    state === 'live'
      ? 'Live updates connected: changes appear as they happen'
      : state === 'reconnecting'
        ? `Live updates interrupted; reconnecting${detail?.retryInMs ? ` in ${Math.ceil(detail.retryInMs / 1000)} s` : ''}. What you see may be out of date.`
        : state === 'signed-out'
          ? (detail?.message ?? 'Your sign-in ended; sign in again for live updates.')
          : 'Connecting to live updates…';
  return (
    <span className={`live live-${state}${state === 'live' ? ' live-on' : ''}`} data-live={state} role="status" aria-live="polite" title={title}>
      {LABEL[state]}
    </span>
  );
}
