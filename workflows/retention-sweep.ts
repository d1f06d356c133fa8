// retentionSweep: started by the platform's retention Schedule (retention-sweeper). One
// activity, in one PostgreSQL transaction, gives the notice to projects stopped for
// `stoppedForMs` (a timeline entry with the actor "retention") and lists the projects whose
// notice is older than `graceMs`; those get the delete signal with the actor "retention".
// Deleting needs a notice given at least `graceMs` before, and a project that is started or
// kept loses its notice, so a deletion is always preceded by one.
import { getExternalWorkflowHandle, log, proxyActivities } from '@temporalio/workflow';
import type { RetentionActivities } from '../activities/types';
import { workflowIdForProject } from '../common/names';
import type { RetentionSweepInput, RetentionSweepResult } from '../common/schedules';
import { deleteSignal } from './messages';

const { retentionSweepStep } = proxyActivities<RetentionActivities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5 },
  summary: 'retention: notices and due projects',
});

export async function retentionSweep(input: RetentionSweepInput): Promise<RetentionSweepResult> {
  const step = await retentionSweepStep(input);
  const deleted: string[] = [];
  for (const due of step.due) {
    try {
      await getExternalWorkflowHandle(workflowIdForProject(due.projectId)).signal(deleteSignal, { actor: { kind: 'retention' }, reason: due.reason });
      deleted.push(due.projectId);
    } catch (err) {
      log.warn('the project has no running lifecycle; not deleted by retention', { projectId: due.projectId, error: String(err) });
    }
  }
  return { noticed: step.noticed, deleted };
}
