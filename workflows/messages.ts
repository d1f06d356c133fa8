// Signal, update and query definitions of projectLifecycle, shared by the workflow and its
// clients (the web, the CLI's server side, tests): one definition, so names and types
// cannot drift apart. Pure: importing them pulls in no workflow runtime.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { SIGNALS, STATUS_QUERY, type DesiredState, type ProjectStatusView } from '../common/lifecycle';
import type { ProjectStatus } from '../common/status';

export const startSignal = defineSignal(SIGNALS.start);
export const stopSignal = defineSignal(SIGNALS.stop);
export const deleteSignal = defineSignal(SIGNALS.delete);
export const environmentChangedSignal = defineSignal(SIGNALS.environmentChanged);
export const statusQuery = defineQuery<ProjectStatusView>(STATUS_QUERY);

/** What an accepted intent update returns: the desired state it set and the status now. */
export interface IntentAccepted {
  desired: DesiredState;
  status: ProjectStatus;
}

// The same intents as Workflow Updates: the validator rejects what the workflow would
// ignore (a start or stop after delete), so a caller gets an answer instead of silence.
// The signals stay for scripts and operators (Temporal UI / CLI).
export const startUpdate = defineUpdate<IntentAccepted>(SIGNALS.start);
export const stopUpdate = defineUpdate<IntentAccepted>(SIGNALS.stop);
export const deleteUpdate = defineUpdate<IntentAccepted>(SIGNALS.delete);
