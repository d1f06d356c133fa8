// How a project's lifecycle workflow is started (web, tests, benchmark): one workflow per
// project under a fixed ID, with its search attributes and a memo operators can read.
import type { LifecycleInput } from './lifecycle';
import { workflowIdForProject } from './names';
import { initialSearchAttributes } from './search-attributes';

export function lifecycleStartOptions(input: LifecycleInput, taskQueue: string) {
  return {
    taskQueue,
    workflowId: workflowIdForProject(input.projectId),
    args: [input] as [LifecycleInput],
    typedSearchAttributes: initialSearchAttributes(input.ownerId, input.projectName),
    memo: { projectName: input.projectName, ownerId: input.ownerId },
  };
}
