// Runs projectLifecycle on the real Temporal dev server of the test run, with a worker
// in this process. Each harness uses its own task queue so test files do not interfere;
// workflowSuite() adds a database of the file's own, for the real status projection.
import { randomBytes } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { LifecycleActivities } from '../activities/types';
import { WORKFLOW_TYPE, type LifecycleInput, type LifecycleTimings, type ProjectStatusView } from '../common/lifecycle';
import { projectResourceName } from '../common/names';
import { createLifecycleWorker } from '../worker/create-worker';
import { statusQuery } from '../workflows/messages';
import { waitFor } from './wait';
import { lifecycleStartOptions } from '../common/start-lifecycle';
import { createMigratedDatabase } from '../scripts/services/postgres';
import { createCipher } from '../server/crypto';
import { createDb, type Db } from '../server/db';
import { createProjectRows } from '../server/project-rows';

/** Short backoff so tests spend milliseconds, not seconds, between observations. */
export const FAST_TIMINGS: Partial<LifecycleTimings> = { initialBackoffMs: 100, maxBackoffMs: 400 };

export interface Harness {
  env: TestWorkflowEnvironment;
  taskQueue: string;
  startWorker(activities: LifecycleActivities): Promise<RunningWorker>;
  startProject(opts?: {
    projectId?: string;
    name?: string;
    ownerId?: string;
    timings?: Partial<LifecycleTimings>;
    /** Lifecycle policies at start (idle timeout, creator). */
    input?: Pick<LifecycleInput, 'idleTimeoutMs' | 'createdBy' | 'appActivity'>;
  }): Promise<WorkflowHandleWithFirstExecutionRunId>;
  /** Stops this test's workers and moves to a fresh task queue (one worker per queue and process). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export interface RunningWorker {
  worker: Worker;
  stop(): Promise<void>;
}

let seq = 0;

export async function createHarness(address = process.env.TEST_TEMPORAL_ADDRESS): Promise<Harness> {
  if (!address) throw new Error('TEST_TEMPORAL_ADDRESS is not set: run through jest, in the temporal or cluster tier (jest.config.js)');
  const env = await TestWorkflowEnvironment.createFromExistingServer({ address });
  const newQueue = () => `lifecycle-test-${process.pid}-${Date.now().toString(36)}-${seq++}`;
  const workers: RunningWorker[] = [];
  const harness: Harness = {
    env,
    taskQueue: newQueue(),
    async startWorker(activities) {
      const worker = await createLifecycleWorker({
        connection: env.nativeConnection,
        taskQueue: harness.taskQueue,
        activities,
        shutdownGraceTime: '1s',
      });
      const running = worker.run();
      const handle: RunningWorker = {
        worker,
        async stop() {
          if (worker.getState() === 'RUNNING') worker.shutdown();
          await running;
        },
      };
      workers.push(handle);
      return handle;
    },
    async startProject(opts = {}) {
      const projectId = opts.projectId ?? `p${Date.now().toString(36)}${seq++}`;
      const name = opts.name ?? 'My Project';
      const ownerId = opts.ownerId ?? 'user-1';
      const input: LifecycleInput = {
        projectId,
        ownerId,
        projectName: name,
        k8sName: projectResourceName(name, Math.random),
        desired: 'RUNNING',
        timings: { ...FAST_TIMINGS, ...opts.timings },
        ...opts.input,
      };
      return env.client.workflow.start(WORKFLOW_TYPE, lifecycleStartOptions(input, harness.taskQueue));
    },
    async reset() {
      await Promise.all(workers.splice(0).map((w) => w.stop()));
      harness.taskQueue = newQueue();
    },
    async close() {
      await harness.reset();
      await env.teardown();
    },
  };
  return harness;
}

/**
 * The setup of a workflow test file with the real status projection, as jest hooks: a
 * migrated database of its own and a harness, reset after each test and closed after the
 * last. `ready` receives both once they exist (in beforeAll).
 */
export function workflowSuite(databasePrefix: string, ready: (suite: { harness: Harness; db: Db }) => void): { seedProject(projectId: string): Promise<void> } {
  const cipher = createCipher(randomBytes(32));
  let database: { url: string; drop(): Promise<void> } | undefined;
  let db: Db | undefined;
  let harness: Harness | undefined;
  beforeAll(async () => {
    const admin = process.env.TEST_DATABASE_URL;
    if (!admin) throw new Error('TEST_DATABASE_URL is not set: run through jest, in the temporal or cluster tier (jest.config.js)');
    database = await createMigratedDatabase(admin, databasePrefix);
    db = createDb(database.url, { max: 4 });
    harness = await createHarness();
    ready({ harness, db });
  });
  afterEach(() => harness?.reset());
  afterAll(async () => {
    await harness?.close();
    await db?.$disconnect();
    await database?.drop();
  });
  return {
    /** Inserts the rows the web writes at creation, so the projection has something to update. */
    async seedProject(projectId) {
      const user = await db!.user.upsert({ where: { id: 'user-1' }, create: { id: 'user-1', name: 'u' }, update: {} });
      await createProjectRows(db!, cipher, { id: projectId, userId: user.id, name: `n-${projectId}`, k8sName: `k-${projectId}` });
    },
  };
}

/** Polls the status query until `pred` holds; fails with the last status seen. */
export function waitForStatus(handle: WorkflowHandle, pred: (v: ProjectStatusView) => boolean, timeoutMs = 30_000): Promise<ProjectStatusView> {
  return waitFor(() => handle.query(statusQuery), pred, timeoutMs, 'status condition', 50);
}

export const isStatus = (status: ProjectStatusView['status']) => (v: ProjectStatusView) => v.status === status;
