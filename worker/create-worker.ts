// Builds the lifecycle worker. The workflow bundle is the one prebuilt by
// `npm run build:worker` when it sits next to this module (dist/workflow-bundle.js beside
// the compiled dist/worker.js, the production image), else built once per process from
// workflows/ (development and tests, through tsx).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker, type NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Duration } from '@temporalio/common';
import type { LifecycleActivities, RetentionActivities } from '../activities/types';
import { ACTIVITY_HEARTBEAT_MS, TASK_QUEUE } from '../common/lifecycle';
import { HeartbeatInterceptor } from './heartbeat';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const WORKFLOWS_PATH = path.resolve(HERE, '../workflows/index.ts');
/** Written by worker/build.ts next to the compiled worker; never present beside the sources. */
export const PREBUILT_WORKFLOW_BUNDLE = path.join(HERE, 'workflow-bundle.js');

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow code bundled by the SDK (webpack + swc), built once per process. */
export function lifecycleWorkflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
  return bundle;
}

/** The prebuilt bundle's path when there is one, else the bundle built here. */
export async function workflowBundleOption(): Promise<{ codePath: string } | WorkflowBundleWithSourceMap> {
  if (fs.existsSync(PREBUILT_WORKFLOW_BUNDLE)) return { codePath: PREBUILT_WORKFLOW_BUNDLE };
  return lifecycleWorkflowBundle();
}

const noop = () => undefined;
const quietBundlerLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };

export interface LifecycleWorkerOptions {
  connection: NativeConnection;
  /** The lifecycle's activities, and the retention sweeper's where retention runs. */
  activities: LifecycleActivities & Partial<RetentionActivities>;
  namespace?: string;
  taskQueue?: string;
  identity?: string;
  /** Stop polling and finish in-flight tasks within this time on shutdown. */
  shutdownGraceTime?: Duration;
  /**
   * Activity slots (default 5,000; the SDK's own is 100): each settled project's drift watch
   * holds one while it waits (decision 8), so 100 would let 100 idle projects starve writes.
   */
  maxConcurrentActivityTaskExecutions?: number;
  /**
   * Sticky cache size (default 2,000). The SDK's default depends on the heap limit (600 per
   * GiB above 200 MiB: about 2,300 with 4 GiB, 180 in a 1 GiB container); a project whose
   * workflow is not cached replays its whole history on its next task. Figures: README.md,
   * "Worker sizing".
   */
  maxCachedWorkflows?: number;
  /** Workflow task slots (default 40, the SDK's): tasks take milliseconds, the CPU is the limit. */
  maxConcurrentWorkflowTaskExecutions?: number;
  /** Threads that run workflow code (default 1, the SDK's with a reused V8 context). */
  workflowThreadPoolSize?: number;
  /**
   * How long a project's next task waits for this worker on its sticky queue before the
   * server hands it to any worker (default 60 s; the SDK's is 10 s). Under a burst the
   * worker's own queue is longer than 10 s, and at N = 1,000 the handed-over tasks sat in
   * the shared queue for 10 minutes, past their stage's deadline (docs/decisions/0012). A
   * worker that stops cleanly gives its sticky queue back at once; only a crashed one
   * costs its projects this wait.
   */
  stickyQueueScheduleToStartTimeout?: Duration;
}

export const DEFAULT_MAX_CONCURRENT_ACTIVITIES = 5_000;
export const DEFAULT_MAX_CACHED_WORKFLOWS = 2_000;
export const DEFAULT_MAX_CONCURRENT_WORKFLOW_TASKS = 40;
export const DEFAULT_STICKY_SCHEDULE_TO_START: Duration = '60s';

export async function createLifecycleWorker(o: LifecycleWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace ?? 'default',
    taskQueue: o.taskQueue ?? TASK_QUEUE,
    workflowBundle: await workflowBundleOption(),
    activities: o.activities,
    interceptors: { activity: [() => ({ inbound: new HeartbeatInterceptor(ACTIVITY_HEARTBEAT_MS) })] },
    ...(o.identity ? { identity: o.identity } : {}),
    shutdownGraceTime: o.shutdownGraceTime ?? '10s',
    maxConcurrentActivityTaskExecutions: o.maxConcurrentActivityTaskExecutions ?? DEFAULT_MAX_CONCURRENT_ACTIVITIES,
    maxCachedWorkflows: o.maxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS,
    maxConcurrentWorkflowTaskExecutions: o.maxConcurrentWorkflowTaskExecutions ?? DEFAULT_MAX_CONCURRENT_WORKFLOW_TASKS,
    ...(o.workflowThreadPoolSize ? { workflowThreadPoolSize: o.workflowThreadPoolSize } : {}),
    stickyQueueScheduleToStartTimeout: o.stickyQueueScheduleToStartTimeout ?? DEFAULT_STICKY_SCHEDULE_TO_START,
  });
}
