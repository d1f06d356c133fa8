// Signal, update and query definitions of projectLifecycle, shared by the workflow and its
// clients (the web, the CLI's server side, tests): one definition, so names and types
// cannot drift apart. Pure: importing them pulls in no workflow runtime.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import {
  SIGNALS,
  STATUS_QUERY,
  type ActivityReport,
  type AppActivityArgs,
  type DesiredState,
  type IdlePolicyArgs,
  type IntentArgs,
  type ProjectStatusView,
} from '../common/lifecycle';
import type { ProjectStatus } from '../common/status';

// Intents take an optional `{ actor, reason }`: without one (the Temporal UI or CLI) the
// timeline names the operator.
export const startSignal = defineSignal<[IntentArgs?]>(SIGNALS.start);
export const stopSignal = defineSignal<[IntentArgs?]>(SIGNALS.stop);
export const deleteSignal = defineSignal<[IntentArgs?]>(SIGNALS.delete);
export const environmentChangedSignal = defineSignal(SIGNALS.environmentChanged);
/** Terminal activity, batched by the web: at most one per project per minute. */
export const activitySignal = defineSignal<[ActivityReport]>(SIGNALS.activity);
/** "Keep running": restarts the idle clock, dismisses the warning. */
export const keepRunningSignal = defineSignal<[IntentArgs?]>(SIGNALS.keepRunning);
export const setIdlePolicySignal = defineSignal<[IdlePolicyArgs]>(SIGNALS.setIdlePolicy);
/** Opts in or out of app-URL activity (docs/decisions/0010-app-url-activity.md). */
export const setAppActivitySignal = defineSignal<[AppActivityArgs]>(SIGNALS.setAppActivity);
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
// The same Updates with the actor argument (the web's callers; the workflow's handlers take it).
export const startUpdateWithActor = defineUpdate<IntentAccepted, [IntentArgs]>(SIGNALS.start);
export const stopUpdateWithActor = defineUpdate<IntentAccepted, [IntentArgs]>(SIGNALS.stop);
export const deleteUpdateWithActor = defineUpdate<IntentAccepted, [IntentArgs]>(SIGNALS.delete);
