// The schedule card: autostart/autostop by weekday and time in a time zone, and the
// retention opt-out.
import { Form, useActionData } from '@remix-run/react';
import { useEffect, useState } from 'react';
import { WEEKDAYS } from '../../../../common/schedules';
import type { LiveView, ProjectActionData } from './live';

const DAY_LABELS: Record<string, string> = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };

/** Autostart/autostop by weekday and time in a time zone, and the retention opt-out. */
export function ScheduleCard({ view }: { view: LiveView }) {
  const data = useActionData<ProjectActionData>();
  const result = data && ['schedule-save', 'schedule-remove', 'retention-keep'].includes(String(data.intent)) ? data : null;
  const s = view.schedule;
  const [zone, setZone] = useState(s?.timeZone ?? 'UTC');
  useEffect(() => {
    if (!s) setZone(Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
  }, [s]);
  const key = s ? `${s.days.join(',')}|${s.start}|${s.stop}|${s.timeZone}` : 'none';
  return (
    <section className="card" aria-labelledby="schedule-title">
      <div className="section-head">
        <h2 id="schedule-title">Schedule</h2>
        <p className="muted small" data-testid="schedule-summary">
          {s ? `Runs ${s.description}: started at ${s.start} and stopped at ${s.stop} (${s.timeZone}).` : 'No schedule: the project runs until it is stopped or idle.'}
        </p>
      </div>
      {result ? (
        <p className={`alert ${'error' in result ? 'alert-error' : 'alert-ok'}`} role="status">
          {'error' in result ? result.error : result.ok}
        </p>
      ) : null}
      <Form method="post" className="schedule-form" aria-label="Schedule" key={key}>
        <fieldset className="days">
          <legend className="muted small">Days</legend>
          {WEEKDAYS.map((d) => (
            <label key={d} className="day">
              <input type="checkbox" name="days" value={d} defaultChecked={s ? s.days.includes(d) : !['sat', 'sun'].includes(d)} /> {DAY_LABELS[d]}
            </label>
          ))}
        </fieldset>
        <label className="field">
          <span>Start</span>
          <input type="time" name="start" defaultValue={s?.start ?? '09:00'} required />
        </label>
        <label className="field">
          <span>Stop</span>
          <input type="time" name="stop" defaultValue={s?.stop ?? '19:00'} required />
        </label>
        <label className="field grow">
          <span>Time zone</span>
          <input name="timeZone" value={zone} onChange={(e) => setZone(e.target.value)} placeholder="Europe/Berlin" required />
        </label>
        <button className="btn btn-sm btn-primary" name="intent" value="schedule-save" type="submit">
          {s ? 'Save schedule' : 'Add schedule'}
        </button>
        {s ? (
          <button className="btn btn-sm btn-ghost" name="intent" value="schedule-remove" type="submit" formNoValidate>
            Remove
          </button>
        ) : null}
      </Form>
      {view.retention?.enabled ? (
        <Form method="post" className="inline-form" aria-label="Retention">
          <input type="hidden" name="keep" value={view.retention.keep ? 'false' : 'true'} />
          <p className="muted small" data-testid="retention-summary">
            Retention: projects stopped for {view.retention.stoppedDays} days are deleted {view.retention.graceDays} days after a notice.{' '}
            {view.retention.keep ? 'This project is kept.' : 'This project is not kept.'}{' '}
            <button className="btn btn-sm" name="intent" value="retention-keep" type="submit">
              {view.retention.keep ? 'Stop keeping it' : 'Keep it'}
            </button>
          </p>
        </Form>
      ) : null}
    </section>
  );
}
