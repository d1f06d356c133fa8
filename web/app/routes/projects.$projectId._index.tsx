// Project detail: live status pushed over Server-Sent Events (no polling; the stream
// reconnects with backoff and the indicator says whether updates arrive), the five stages
// with durations, URLs, the last error, start/stop/delete (delete asks first) and the
// environment variables by category (secret values masked; a change rolls the sandbox).
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigate, useNavigation, useRevalidator } from '@remix-run/react';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { EnvironmentDto, ProjectDto, TimelineEntry } from '../../server/web-api';
import { describeActor, explainState, formatMinutes } from '../../../common/policies';
import { WEEKDAYS, scheduleWindow } from '../../../common/schedules';
import { duration } from '../lib/format';
import { LiveIndicator } from '../components/LiveIndicator';
import { StatusBadge } from '../components/StatusBadge';
import { Stages } from '../components/Stages';
import { useLiveStream, type LiveStatus } from '../lib/use-live-stream';
import { formError, requireActor, requireUserId } from '../lib/session.server';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.project.name ?? 'Project'} · FullstackAgent` }];

const CATEGORIES = [
  { id: 'general', label: 'General', hint: 'Plain settings such as API URLs and feature flags.' },
  { id: 'auth', label: 'Auth', hint: 'OAuth client IDs, callback URLs, session settings.' },
  { id: 'payment', label: 'Payment', hint: 'Payment provider settings.' },
  { id: 'secret', label: 'Secrets', hint: 'Stored encrypted; never shown again after saving.' },
] as const;

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const userId = requireUserId(context, request);
  try {
    // renderedAt: the clock the stage timers start from, the same on the server and in the browser (hydration).
    const [project, timeline] = await Promise.all([context.api.getProject(userId, params.projectId!), context.api.listTimeline(userId, params.projectId!, { limit: '100' })]);
    const viewer = context.user?.actor.kind === 'user' ? context.user.actor.name : undefined;
    return json({ project, timeline: timeline.events, viewer, renderedAt: Date.now() });
  } catch (err) {
    const { error, status } = formError(err);
    throw new Response(error, { status, statusText: status === 404 ? 'Not Found' : 'Error' });
  }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const userId = requireUserId(context, request);
  const projectId = params.projectId!;
  const form = await request.formData();
  const intent = String(form.get('intent'));
  const actor = requireActor(context, request);
  try {
    switch (intent) {
      case 'start':
      case 'stop':
        await context.api.signalProject(userId, projectId, intent, actor);
        return json({ ok: `${intent === 'start' ? 'Starting' : 'Stopping'}…`, intent });
      case 'delete':
        await context.api.signalProject(userId, projectId, 'delete', actor);
        return redirect('/projects');
      case 'keep-running':
        await context.api.keepRunning(userId, projectId, actor);
        return json({ ok: 'Kept running.', intent });
      case 'schedule-save': {
        const days = form.getAll('days').map(String);
        await context.api.putSchedule(userId, projectId, { days, start: String(form.get('start') ?? ''), stop: String(form.get('stop') ?? ''), timeZone: String(form.get('timeZone') ?? '') }, actor);
        return json({ ok: 'Schedule saved.', intent });
      }
      case 'schedule-remove':
        await context.api.deleteSchedule(userId, projectId, actor);
        return json({ ok: 'Schedule removed.', intent });
      case 'retention-keep':
        await context.api.setRetention(userId, projectId, { keep: form.get('keep') === 'true' }, actor);
        return json({ ok: form.get('keep') === 'true' ? 'This project is kept.' : 'Retention applies to this project again.', intent });
      case 'idle': {
        const v = String(form.get('idleTimeoutMinutes') ?? '');
        const idleTimeoutMinutes = v === 'default' ? 'default' : v === 'off' ? null : Number(v);
        await context.api.setIdlePolicy(userId, projectId, { idleTimeoutMinutes }, actor);
        return json({ ok: 'Auto-stop saved.', intent });
      }
      case 'env-add': {
        const secret = form.get('category') === 'secret';
        await context.api.createEnvironmentVariable(userId, projectId, {
          key: String(form.get('key') ?? ''),
          value: String(form.get('value') ?? ''),
          category: String(form.get('category') ?? 'general'),
          isSecret: secret,
        });
        return json({ ok: 'Variable added. The sandbox restarts with it.', intent });
      }
      case 'env-update': {
        const value = String(form.get('value') ?? '');
        const isSecret = form.get('isSecret') === 'true';
        // An empty secret field means "keep the current value".
        if (isSecret && value === '') return json({ ok: 'Nothing changed.', intent });
        await context.api.updateEnvironmentVariable(userId, projectId, String(form.get('envId')), { value });
        return json({ ok: 'Variable saved. The sandbox restarts with it.', intent });
      }
      case 'env-delete':
        await context.api.deleteEnvironmentVariable(userId, projectId, String(form.get('envId')));
        return json({ ok: 'Variable removed. The sandbox restarts without it.', intent });
      default:
        return json({ error: `unknown action "${intent}"`, intent }, { status: 400 });
    }
  } catch (err) {
    const { error, status } = formError(err);
    return json({ error, intent }, { status });
  }
}

type LiveView = Omit<ProjectDto, 'environment'> & { deleted?: boolean };

/** Subscribes to the project's SSE stream (reconnecting with backoff); the server pushes a snapshot on every change. */
function useLiveStatus(initial: LiveView): { view: LiveView; live: LiveStatus } {
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
function useNow(active: boolean, start: number): number {
  const [now, setNow] = useState(start);
  useEffect(() => {
    setNow(Date.now());
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

function DeleteDialog({ name }: { name: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  return (
    <>
      <button type="button" className="btn btn-danger-ghost" onClick={() => ref.current?.showModal()}>
        Delete…
      </button>
      <dialog ref={ref} className="dialog" aria-labelledby="delete-title">
        <Form method="post">
          <h2 id="delete-title">Delete “{name}”?</h2>
          <p>The sandbox, its files and its database are removed for good. This cannot be undone.</p>
          <div className="row-end">
            <button type="button" className="btn btn-ghost" onClick={() => ref.current?.close()} autoFocus>
              Cancel
            </button>
            <button type="submit" name="intent" value="delete" className="btn btn-danger">
              Delete project
            </button>
          </div>
        </Form>
      </dialog>
    </>
  );
}

const clock = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/** The idle warning: the project stops soon unless someone keeps it running. */
function IdleWarning({ view }: { view: LiveView }) {
  const warning = view.idle?.warning;
  if (!warning || view.status !== 'RUNNING' || view.desired !== 'RUNNING') return null;
  return (
    <div className="alert alert-warn" role="alert" data-testid="idle-warning">
      <strong>This project stops at {clock(warning.stopAt)}</strong>: no terminal activity for a while
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

function AutoStop({ view }: { view: LiveView }) {
  const current = view.idleTimeoutMinutes === null ? 'default' : view.idleTimeoutMinutes === 0 ? 'off' : String(view.idleTimeoutMinutes);
  return (
    <Form method="post" className="inline-form" aria-label="Auto-stop">
      <input type="hidden" name="intent" value="idle" />
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
      <button className="btn btn-sm" type="submit">
        Save
      </button>
    </Form>
  );
}

function timelineText(e: TimelineEntry, viewer?: string): string {
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
    default:
      return e.message ?? e.kind;
  }
}

/** The project's timeline (newest first), refreshed whenever the live status changes. */
function Timeline({ projectId, initial, version, viewer }: { projectId: string; initial: TimelineEntry[]; version: string; viewer?: string }) {
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

const dateTime = (iso: string) => new Date(iso).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });

/** The retention notice: a stopped project is deleted at a set time unless it is started or kept. */
function RetentionNotice({ view }: { view: LiveView }) {
  const notice = view.retention?.notice;
  if (!notice || view.status !== 'STOPPED') return null;
  return (
    <div className="alert alert-warn" role="alert" data-testid="retention-notice">
      <strong>This project will be deleted on {dateTime(notice.deleteAt)}</strong>: it has been stopped since{' '}
      {view.retention.stoppedAt ? dateTime(view.retention.stoppedAt) : 'a while'} (the platform deletes projects stopped for{' '}
      {view.retention.stoppedDays} days, {view.retention.graceDays} days after this notice). Start it, or keep it:{' '}
      <Form method="post" className="inline-form">
        <input type="hidden" name="keep" value="true" />
        <button className="btn btn-sm btn-primary" name="intent" value="retention-keep" type="submit">
          Keep this project
        </button>
      </Form>
    </div>
  );
}

const DAY_LABELS: Record<string, string> = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };

/** Autostart/autostop by weekday and time in a time zone, and the retention opt-out. */
function ScheduleCard({ view }: { view: LiveView }) {
  const data = useActionData<typeof action>();
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

function EnvRow({ v }: { v: EnvironmentDto }) {
  const [editing, setEditing] = useState(false);
  return (
    <tr data-env-key={v.key}>
      <th scope="row">
        <code>{v.key}</code>
      </th>
      <td className="env-value">
        {editing ? (
          <Form method="post" className="inline-form" onSubmit={() => setEditing(false)}>
            <input type="hidden" name="intent" value="env-update" />
            <input type="hidden" name="envId" value={v.id} />
            <input type="hidden" name="isSecret" value={String(v.isSecret)} />
            <input
              name="value"
              aria-label={`New value for ${v.key}`}
              type={v.isSecret ? 'password' : 'text'}
              defaultValue={v.isSecret ? '' : v.value}
              placeholder={v.isSecret ? 'New secret value' : ''}
              autoFocus
            />
            <button className="btn btn-sm btn-primary" type="submit">
              Save
            </button>
            <button className="btn btn-sm btn-ghost" type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </Form>
        ) : v.isSecret ? (
          <span className="masked" title="Secret values are never shown">
            {v.value}
          </span>
        ) : (
          <code className="value">{v.value || <span className="muted">(empty)</span>}</code>
        )}
      </td>
      <td className="row-actions">
        {!editing ? (
          <button className="btn btn-sm btn-ghost" type="button" onClick={() => setEditing(true)}>
            Edit<span className="sr-only"> {v.key}</span>
          </button>
        ) : null}
        <Form method="post">
          <input type="hidden" name="intent" value="env-delete" />
          <input type="hidden" name="envId" value={v.id} />
          <button className="btn btn-sm btn-ghost" type="submit">
            Remove<span className="sr-only"> {v.key}</span>
          </button>
        </Form>
      </td>
    </tr>
  );
}

function Environment({ vars }: { vars: EnvironmentDto[] }) {
  const data = useActionData<typeof action>();
  const nav = useNavigation();
  const formRef = useRef<HTMLFormElement>(null);
  const envResult = data && String(data.intent).startsWith('env-') ? data : null;
  useEffect(() => {
    if (envResult && 'ok' in envResult && envResult.intent === 'env-add' && nav.state === 'idle') formRef.current?.reset();
  }, [envResult, nav.state]);
  return (
    <section className="card" aria-labelledby="env-title">
      <div className="section-head">
        <h2 id="env-title">Environment variables</h2>
        <p className="muted small">Changing a variable restarts the sandbox so it picks up the new value.</p>
      </div>
      {envResult ? (
        <p className={`alert ${'error' in envResult ? 'alert-error' : 'alert-ok'}`} role="status">
          {'error' in envResult ? envResult.error : envResult.ok}
        </p>
      ) : null}
      {CATEGORIES.map((c) => {
        const list = vars.filter((v) => v.category === c.id);
        return (
          <div key={c.id} className="env-group" data-category={c.id}>
            <h3>
              {c.label} <span className="count">{list.length}</span>
            </h3>
            <p className="muted small">{c.hint}</p>
            {list.length ? (
              <table className="env-table">
                <tbody>
                  {list.map((v) => (
                    <EnvRow key={v.id} v={v} />
                  ))}
                </tbody>
              </table>
            ) : null}
          </div>
        );
      })}
      <Form method="post" className="env-add" ref={formRef} aria-label="Add a variable">
        <input type="hidden" name="intent" value="env-add" />
        <label className="field">
          <span>Name</span>
          <input name="key" required maxLength={128} pattern="[A-Za-z_][A-Za-z0-9_]*" placeholder="API_URL" title="Letters, digits and _ ; not starting with a digit" />
        </label>
        <label className="field grow">
          <span>Value</span>
          <input name="value" maxLength={16384} placeholder="https://…" />
        </label>
        <label className="field">
          <span>Category</span>
          <select name="category" defaultValue="general">
            {CATEGORIES.map((c) => (
              <option key={c.id} value={c.id}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        <button className="btn btn-primary" type="submit" disabled={nav.state === 'submitting'}>
          Add variable
        </button>
      </Form>
    </section>
  );
}

export default function ProjectDetail() {
  const { project, renderedAt, timeline, viewer } = useLoaderData<typeof loader>();
  const environment = project.environment ?? [];
  const initial = useMemo(() => {
    const { environment: _env, ...rest } = project;
    return rest as LiveView;
  }, [project]);
  const { view, live } = useLiveStatus(initial);
  const busy = view.stages.some((s) => s.state === 'active') || ['CREATING', 'STARTING', 'STOPPING', 'TERMINATING', 'UPDATING'].includes(view.status);
  const now = useNow(busy, renderedAt);
  const data = useActionData<typeof action>();
  const lifecycleResult = data && ['start', 'stop'].includes(String(data.intent)) ? data : null;
  const revalidator = useRevalidator();
  const stopped = view.status === 'STOPPED' || view.desired === 'STOPPED';
  const deleting = view.desired === 'TERMINATED' || view.status === 'TERMINATING';
  // The schedule's window is where the reader's clock is now (the server's is as of its last push).
  const explanation = explainState({ ...view, schedule: view.schedule ? { ...view.schedule, window: scheduleWindow(view.schedule, new Date(now)) } : null }, clock, viewer);

  return (
    <>
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link to="/projects">Projects</Link> <span aria-hidden="true">/</span> {view.name}
      </nav>
      <div className="page-head">
        <div>
          <h1 className="with-badge">
            {view.name} <StatusBadge status={view.status} />
          </h1>
          <p className="muted small">
            {view.description ? `${view.description} · ` : ''}
            <code>{view.k8sName}</code>
            <LiveIndicator status={live} />
          </p>
          {explanation ? (
            <p className="small" data-testid="explanation">
              {explanation.text[0]!.toUpperCase() + explanation.text.slice(1)}.
            </p>
          ) : null}
        </div>
        <div className="actions">
          {view.sandbox.ttydUrl && view.status === 'RUNNING' ? (
            <Link className="btn" to={`/projects/${view.id}/terminal`}>
              Open terminal
            </Link>
          ) : null}
          <Form method="post" onSubmit={() => setTimeout(() => revalidator.revalidate(), 0)}>
            {stopped ? (
              <button className="btn btn-primary" name="intent" value="start" type="submit" disabled={deleting}>
                Start
              </button>
            ) : (
              <button className="btn" name="intent" value="stop" type="submit" disabled={deleting}>
                Stop
              </button>
            )}
          </Form>
          <DeleteDialog name={view.name} />
        </div>
      </div>
      {lifecycleResult && 'error' in lifecycleResult ? (
        <p className="alert alert-error" role="alert">
          {lifecycleResult.error}
        </p>
      ) : null}
      <IdleWarning view={view} />
      <RetentionNotice view={view} />
      {view.lastError ? (
        <div className="alert alert-error" role="alert">
          <strong>Last error</strong> <span className="muted small">({new Date(view.lastError.at).toLocaleString()})</span>
          <div>{view.lastError.message}</div>
        </div>
      ) : null}

      <div className="grid-2">
        <section className="card" aria-labelledby="progress-title">
          <div className="section-head">
            <h2 id="progress-title">Progress</h2>
            <p className="muted small">
              Wanted: <strong>{view.desired.toLowerCase()}</strong>
            </p>
            <AutoStop view={view} />
          </div>
          <Stages stages={view.stages} now={now} />
        </section>
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
      </div>
      <ScheduleCard view={view} />
      <Environment vars={environment} />
      <Timeline
        projectId={view.id}
        initial={timeline}
        version={`${view.status}|${view.desired}|${view.updatedAt}|${view.idle?.warning?.stopAt ?? ''}|${view.schedule?.description ?? ''}|${view.retention?.notice?.at ?? ''}|${view.retention?.keep}`}
        viewer={viewer}
      />
    </>
  );
}
