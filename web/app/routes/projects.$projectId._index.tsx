// Project detail: live status pushed over Server-Sent Events (no polling; the stream
// reconnects with backoff and the indicator says whether updates arrive), the five stages
// with durations, URLs, the last error, start/stop/delete (delete asks first) and the
// environment variables by category (secret values masked; a change rolls the sandbox).
// The cards live in components/project/, the loader and action in lib/project-page.server.ts.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useRevalidator } from '@remix-run/react';
import { useMemo } from 'react';
import { explainState } from '../../../common/policies';
import { scheduleWindow } from '../../../common/schedules';
import { LiveIndicator } from '../components/LiveIndicator';
import { StatusBadge } from '../components/StatusBadge';
import { Stages } from '../components/Stages';
import { DeleteDialog } from '../components/project/DeleteDialog';
import { Environment } from '../components/project/Environment';
import { AutoStop, IdleWarning } from '../components/project/IdlePolicy';
import { ProjectAccess } from '../components/project/ProjectAccess';
import { RetentionNotice } from '../components/project/RetentionNotice';
import { ScheduleCard } from '../components/project/ScheduleCard';
import { Timeline } from '../components/project/Timeline';
import { clock, useLiveStatus, useNow, type LiveView, type ProjectActionData } from '../components/project/live';
import { loadProjectPage, projectPageAction } from '../lib/project-page.server';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.project.name ?? 'Project'} · FullstackAgent` }];

export const loader = (args: LoaderFunctionArgs) => loadProjectPage(args);

export const action = (args: ActionFunctionArgs) => projectPageAction(args);

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
  const data = useActionData<ProjectActionData>();
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
        <ProjectAccess view={view} stopped={stopped} />
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
