// The project page's loader and action, server-side: the project with its timeline, and the
// page's forms (lifecycle intents, idle auto-stop, schedule, retention, environment
// variables), each a call of the same service functions the JSON API uses.
import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import type { ProjectActionData } from '../components/project/live';
import { formError, requireActor, requireUserId } from './session.server';

export async function loadProjectPage({ request, params, context }: LoaderFunctionArgs) {
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

const ok = (message: string, intent: string) => json<ProjectActionData>({ ok: message, intent });

export async function projectPageAction({ request, params, context }: ActionFunctionArgs) {
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
        return ok(`${intent === 'start' ? 'Starting' : 'Stopping'}…`, intent);
      case 'delete':
        await context.api.signalProject(userId, projectId, 'delete', actor);
        return redirect('/projects');
      case 'keep-running':
        await context.api.keepRunning(userId, projectId, actor);
        return ok('Kept running.', intent);
      case 'schedule-save': {
        const days = form.getAll('days').map(String);
        await context.api.putSchedule(userId, projectId, { days, start: String(form.get('start') ?? ''), stop: String(form.get('stop') ?? ''), timeZone: String(form.get('timeZone') ?? '') }, actor);
        return ok('Schedule saved.', intent);
      }
      case 'schedule-remove':
        await context.api.deleteSchedule(userId, projectId, actor);
        return ok('Schedule removed.', intent);
      case 'retention-keep':
        await context.api.setRetention(userId, projectId, { keep: form.get('keep') === 'true' }, actor);
        return ok(form.get('keep') === 'true' ? 'This project is kept.' : 'Retention applies to this project again.', intent);
      case 'idle': {
        const v = String(form.get('idleTimeoutMinutes') ?? '');
        const idleTimeoutMinutes = v === 'default' ? 'default' : v === 'off' ? null : Number(v);
        const appActivity = form.get('appActivity') === 'true';
        // The timeout is sent when it changed (or the form does not say what it was); the app opt-in always (told to the lifecycle only when it changes).
        const changed = form.get('idleCurrent') === null || String(form.get('idleCurrent')) !== v;
        await context.api.setIdlePolicy(userId, projectId, { ...(changed ? { idleTimeoutMinutes } : {}), appActivity }, actor);
        return ok('Auto-stop saved.', intent);
      }
      case 'env-add': {
        const secret = form.get('category') === 'secret';
        await context.api.createEnvironmentVariable(userId, projectId, {
          key: String(form.get('key') ?? ''),
          value: String(form.get('value') ?? ''),
          category: String(form.get('category') ?? 'general'),
          isSecret: secret,
        });
        return ok('Variable added. The sandbox restarts with it.', intent);
      }
      case 'env-update': {
        const value = String(form.get('value') ?? '');
        const isSecret = form.get('isSecret') === 'true';
        // An empty secret field means "keep the current value".
        if (isSecret && value === '') return ok('Nothing changed.', intent);
        await context.api.updateEnvironmentVariable(userId, projectId, String(form.get('envId')), { value });
        return ok('Variable saved. The sandbox restarts with it.', intent);
      }
      case 'env-delete':
        await context.api.deleteEnvironmentVariable(userId, projectId, String(form.get('envId')));
        return ok('Variable removed. The sandbox restarts without it.', intent);
      default:
        return json<ProjectActionData>({ error: `unknown action "${intent}"`, intent }, { status: 400 });
    }
  } catch (err) {
    const { error, status } = formError(err);
    return json<ProjectActionData>({ error, intent }, { status });
  }
}
