// scheduledIntent: started by a project's Temporal Schedule (project-<id>-autostart or
// -autostop); sends the project's lifecycle its start or stop signal with the actor
// "schedule", so the timeline records who asked. A lifecycle that is gone (the project was
// deleted and its schedules not yet) ends it quietly.
import { getExternalWorkflowHandle, log } from '@temporalio/workflow';
import { workflowIdForProject } from '../common/names';
import type { ScheduledIntentInput } from '../common/schedules';
import { startSignal, stopSignal } from './messages';

export async function scheduledIntent(input: ScheduledIntentInput): Promise<'sent' | 'no-lifecycle'> {
  const lifecycle = getExternalWorkflowHandle(workflowIdForProject(input.projectId));
  const signal = input.action === 'start' ? startSignal : stopSignal;
  try {
    await lifecycle.signal(signal, { actor: { kind: 'schedule' }, reason: `schedule ${input.schedule}` });
    return 'sent';
  } catch (err) {
    // The only failure of an external signal is a workflow that is not running.
    log.warn('the project has no running lifecycle; nothing to do', { projectId: input.projectId, error: String(err) });
    return 'no-lifecycle';
  }
}
