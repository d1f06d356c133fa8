// Measurement: what an active project costs the lifecycle per hour with the idle auto-stop
// on: `activity` signals and workflow history events of a terminal session with continuous
// output, through the web's real reporter (web/server/terminal/activity.ts), and of an app
// serving requests without a terminal (app-URL activity, decision 10) for comparison.
//
//   npx tsx scripts/bench-idle-signals.ts [--compress 60] [--hours 1] [--idle-min 30]
//
// Time compression, honestly: every duration is divided by --compress (K): the report
// interval (IDLE_REPORT_INTERVAL_MS, 60 s -> 60/K s), the idle timeout (30 min -> 30/K min)
// and its warning (5 min -> 5/K min), and the session lasts --hours × 60/K minutes. Counts
// per simulated hour do not depend on K as long as a workflow task (milliseconds here) is
// short against the compressed report interval (1 s at K = 60); a higher K is faster but
// less exact. The terminal is "busy" with one output frame every 10 ms the whole time (a
// build log; real output has fewer frames, the reporter sends the same either way).
// The real Temporal dev server (TEMPORAL_ADDRESS, or started here headless from the cached
// CLI) and the real workflow run it, with fake Kubernetes activities; no database needed.
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { WORKFLOW_TYPE, type LifecycleInput, type ProjectStatusView } from '../common/lifecycle';
import { projectResourceName } from '../common/names';
import { lifecycleStartOptions } from '../common/start-lifecycle';
import { createFakeActivities } from '../test/fake-activities';
import { createActivityReporter } from '../web/server/terminal/activity';
import { createLifecycleWorker } from '../worker/create-worker';
import { activitySignal, statusQuery } from '../workflows/messages';
import { freePort } from './services/process';
import { startTemporalDevServer, temporalCliPath } from './services/temporal';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const K = arg('compress', 60);
const HOURS = arg('hours', 1);
const IDLE_MIN = arg('idle-min', 30);
const REPORT_MS = 60_000 / K;
const SESSION_MS = (HOURS * 3_600_000) / K;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const EventType = proto.temporal.api.enums.v1.EventType;

async function main() {
  let server: Awaited<ReturnType<typeof startTemporalDevServer>> | undefined;
  let address = process.env.TEMPORAL_ADDRESS;
  if (!address) {
    const cacheDir = process.env.CACHE_DIR ?? path.join(os.homedir(), '.cache', 'fullstackagent');
    server = await startTemporalDevServer({ binary: temporalCliPath({ cacheDir, cliPath: process.env.TEMPORAL_CLI_PATH }), port: await freePort(), headless: true });
    address = server.address;
  }
  const taskQueue = `bench-idle-${process.pid}`;
  const { activities, fake } = createFakeActivities({ sandboxReadyMs: 50, databaseReadyMs: 50, stopMs: 50 });
  const native = await NativeConnection.connect({ address });
  const worker = await createLifecycleWorker({ connection: native, taskQueue, activities, shutdownGraceTime: '1s' });
  const running = worker.run();
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  try {
    const start = (projectId: string, extra: Partial<LifecycleInput>) =>
      client.workflow.start(
        WORKFLOW_TYPE,
        lifecycleStartOptions(
          {
            projectId,
            ownerId: 'bench',
            projectName: projectId,
            k8sName: projectResourceName(projectId, Math.random),
            desired: 'RUNNING',
            timings: { initialBackoffMs: 100, maxBackoffMs: 400, idleWarningMs: (5 * 60_000) / K },
            idleTimeoutMs: (IDLE_MIN * 60_000) / K,
            ...extra,
          },
          taskQueue,
        ),
      );
    const id = Date.now().toString(36);
    const terminal = await start(`term-${id}`, {});
    const app = await start(`app-${id}`, { appActivity: true });
    for (const h of [terminal, app]) {
      for (let v: ProjectStatusView = await h.query(statusQuery); v.status !== 'RUNNING'; v = await h.query(statusQuery)) await sleep(50);
    }
    await sleep(500); // the projection write of RUNNING lands
    const lengthOf = async (h: typeof terminal) => Number((await h.describe()).historyLength);
    const before = { terminal: await lengthOf(terminal), app: await lengthOf(app) };

    const reporter = createActivityReporter({
      intervalMs: REPORT_MS,
      report: (_projectId, at) => terminal.signal(activitySignal, { lastActivityAt: at.toISOString() }),
    });
    console.log(`simulating ${HOURS} h of continuous terminal output (and of app requests) in ${(SESSION_MS / 1000).toFixed(0)} s (time ÷ ${K}); idle timeout ${IDLE_MIN} min`);
    const requests: number[] = [];
    fake.appRequests.set(`app-${id}`, requests);
    let frames = 0;
    const until = Date.now() + SESSION_MS;
    while (Date.now() < until) {
      reporter.touch(`term-${id}`);
      frames++;
      if (frames % 10 === 0) requests.push(Date.now());
      await sleep(10);
    }
    await reporter.close();
    await sleep(300);
    const after = { terminal: await lengthOf(terminal), app: await lengthOf(app) };
    const count = async (h: typeof terminal, from: number) => {
      const events = (await h.fetchHistory()).events ?? [];
      const c = { signals: 0, timers: 0, workflowTasks: 0, activities: 0 };
      for (const e of events.slice(from)) {
        if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) c.signals++;
        if (e.eventType === EventType.EVENT_TYPE_TIMER_STARTED) c.timers++;
        if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) c.workflowTasks++;
        if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) c.activities++;
      }
      return c;
    };
    const states = { terminal: (await terminal.query(statusQuery)).status, app: (await app.query(statusQuery)).status };
    const perHour = (n: number) => (n / HOURS).toFixed(1);
    const t = await count(terminal, before.terminal);
    const a = await count(app, before.app);
    console.log(`\nper hour of activity (${HOURS} h simulated; report interval ${REPORT_MS} ms = 1 min):`);
    console.log(`  terminal session: ${perHour(reporter.sent())} activity signals, ${perHour(after.terminal - before.terminal)} history events ` +
      `(${perHour(t.signals)} signaled, ${perHour(t.workflowTasks)} workflow tasks, ${perHour(t.timers)} timers, ${perHour(t.activities)} activities); ${frames} frames; still ${states.terminal}`);
    console.log(`  app requests (opted in, no terminal): 0 signals, ${perHour(after.app - before.app)} history events ` +
      `(${perHour(a.workflowTasks)} workflow tasks, ${perHour(a.timers)} timers, ${perHour(a.activities)} app-activity reads); still ${states.app}`);
    for (const h of [terminal, app]) await h.terminate('bench done').catch(() => undefined);
  } finally {
    worker.shutdown();
    await running.catch(() => undefined);
    await native.close();
    await connection.close();
    await server?.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
