// Builds the lifecycle worker. The workflow bundle is built once per process (or passed
// in, e.g. by tests that start several workers).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker, type NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Duration } from '@temporalio/common';
import type { LifecycleActivities, RetentionActivities } from '../activities/types';
import { ACTIVITY_HEARTBEAT_MS, TASK_QUEUE } from '../common/lifecycle';
import { HeartbeatInterceptor } from './heartbeat';

export const WORKFLOWS_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../workflows/index.ts');

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow code bundled by the SDK (webpack + swc), built once per process. */
export function lifecycleWorkflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
  return bundle;
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
  /** Sticky cache size; absent: the SDK's default (600 per GiB of heap above 200 MB). */
  maxCachedWorkflows?: number;
}

export const DEFAULT_MAX_CONCURRENT_ACTIVITIES = 5_000;

export async function createLifecycleWorker(o: LifecycleWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace ?? 'default',
    taskQueue: o.taskQueue ?? TASK_QUEUE,
    workflowBundle: await lifecycleWorkflowBundle(),
    activities: o.activities,
    interceptors: { activity: [() => ({ inbound: new HeartbeatInterceptor(ACTIVITY_HEARTBEAT_MS) })] },
    ...(o.identity ? { identity: o.identity } : {}),
    shutdownGraceTime: o.shutdownGraceTime ?? '10s',
    maxConcurrentActivityTaskExecutions: o.maxConcurrentActivityTaskExecutions ?? DEFAULT_MAX_CONCURRENT_ACTIVITIES,
    ...(o.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: o.maxCachedWorkflows } : {}),
  });
}
