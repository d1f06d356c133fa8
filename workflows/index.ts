// Entry point of the workflow bundle: exports only workflow functions.
export { projectLifecycle } from './project-lifecycle';
