// Project detail: live status pushed over Server-Sent Events (no polling; the stream
// reconnects with backoff and the indicator says whether updates arrive), the five stages
// with durations, URLs, the last error, start/stop/delete (delete asks first) and the
// environment variables by category (secret values masked; a change rolls the sandbox).
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigate, useNavigation, useRevalidator } from '@remix-run/react';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { EnvironmentDto, ProjectDto } from '../../server/web-api';
import { LiveIndicator } from '../components/LiveIndicator';
import { StatusBadge } from '../components/StatusBadge';
import { Stages } from '../components/Stages';
import { useLiveStream, type LiveStatus } from '../lib/use-live-stream';
import { formError, requireUserId } from '../lib/session.server';

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
    return json({ project: await context.api.getProject(userId, params.projectId!), renderedAt: Date.now() });
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
  try {
    switch (intent) {
      case 'start':
      case 'stop':
        await context.api.signalProject(userId, projectId, intent);
        return json({ ok: `${intent === 'start' ? 'Starting' : 'Stopping'}…`, intent });
      case 'delete':
        await context.api.signalProject(userId, projectId, 'delete');
        return redirect('/projects');
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
  const { project, renderedAt } = useLoaderData<typeof loader>();
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
      <Environment vars={environment} />
    </>
  );
}
