// Entry point of the workflow bundle: exports only workflow functions.
export { projectLifecycle } from './project-lifecycle';
export { scheduledIntent } from './scheduled-intent';
export { retentionSweep } from './retention-sweep';
