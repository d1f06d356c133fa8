// Idle auto-stop on the project page: the warning banner ("keep running") and the setting.
import { Form } from '@remix-run/react';
import { formatMinutes } from '../../../../common/policies';
import { clock, type LiveView } from './live';

/** The idle warning: the project stops soon unless someone keeps it running. */
export function IdleWarning({ view }: { view: LiveView }) {
  const warning = view.idle?.warning;
  if (!warning || view.status !== 'RUNNING' || view.desired !== 'RUNNING') return null;
  return (
    <div className="alert alert-warn" role="alert" data-testid="idle-warning">
      <strong>This project stops at {clock(warning.stopAt)}</strong>: no terminal activity{view.idle?.appActivity ? " or requests to the app's URL" : ''} for a while
      {view.idle?.timeoutMs ? ` (auto-stop after ${formatMinutes(view.idle.timeoutMs)} idle)` : ''}.{' '}
      <Form method="post" className="inline-form">
        <button className="btn btn-sm btn-primary" name="intent" value="keep-running" type="submit">
          Keep running
        </button>
      </Form>
    </div>
  );
}

const IDLE_CHOICES = [5, 15, 30, 60, 120, 240, 480, 1440];

export function AutoStop({ view }: { view: LiveView }) {
  const current = view.idleTimeoutMinutes === null ? 'default' : view.idleTimeoutMinutes === 0 ? 'off' : String(view.idleTimeoutMinutes);
  return (
    <Form method="post" className="inline-form" aria-label="Auto-stop">
      <input type="hidden" name="intent" value="idle" />
      <input type="hidden" name="idleCurrent" value={current} />
      <label>
        <span className="muted small">Auto-stop when idle </span>
        <select name="idleTimeoutMinutes" defaultValue={current} key={current}>
          <option value="default">platform default{view.idleTimeoutMinutes === null && view.effectiveIdleTimeoutMinutes ? ` (${view.effectiveIdleTimeoutMinutes} min)` : ''}</option>
          <option value="off">off</option>
          {IDLE_CHOICES.map((m) => (
            <option key={m} value={m}>
              {formatMinutes(m * 60_000)}
            </option>
          ))}
        </select>
      </label>
      <label title="Requests to the app's public URL keep the project running too (the sandbox reports them).">
        <input type="checkbox" name="appActivity" value="true" defaultChecked={view.appActivity} key={String(view.appActivity)} data-testid="app-activity" />{' '}
        <span className="muted small">requests to the app count</span>
      </label>
      <button className="btn btn-sm" type="submit">
        Save
      </button>
    </Form>
  );
}
