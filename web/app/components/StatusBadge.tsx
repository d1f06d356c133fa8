// A project or resource status as a coloured pill; busy states pulse.
const TONE: Record<string, string> = {
  RUNNING: 'ok',
  CREATING: 'busy',
  STARTING: 'busy',
  UPDATING: 'busy',
  STOPPING: 'busy',
  TERMINATING: 'warn',
  STOPPED: 'idle',
  TERMINATED: 'idle',
  PARTIAL: 'warn',
  ERROR: 'bad',
};

export function StatusBadge({ status }: { status: string }) {
  const tone = TONE[status] ?? 'idle';
  return (
    <span className={`badge badge-${tone}`} data-status={status}>
      <span className="badge-dot" aria-hidden="true" />
      {status.charAt(0) + status.slice(1).toLowerCase()}
    </span>
  );
}
