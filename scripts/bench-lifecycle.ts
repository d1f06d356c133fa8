// Benchmark: N projects (default 20) through create -> RUNNING -> stop -> STOPPED ->
// start -> RUNNING -> delete -> TERMINATED, concurrently, on the local Kubernetes cluster
// with kwok nodes (simulated pods) and the real worker (workflow + activities + projection)
// in a process of its own, compiled as production runs it (scripts/bench/worker-host.ts).
//
//   npx tsx scripts/bench-lifecycle.ts [N] [--backoff-ms 1000] [--max-backoff-ms 30000]
//                                          [--idle-s 60] [--timeout-s 1800] [--per-user 20]
//                                          [--workflow-threads N] [--max-cached-workflows N] [--workflow-task-slots N] (default: the worker's)
//                                          [--temporal sqlite|memory|postgres] (default sqlite: the dev server on a file,
//                                            as the platform runs it; postgres: the compose file's server, 4 shards)
//                                          [--temporal-arg=ARG]... (extra dev-server arguments)
//                                          [--heap-profile FILE] (the worker's main thread, read when settled)
//                                          [--worker-node-option=OPT]... (Node flags of the worker process)
//                                          [--worker-env NAME=VALUE]... (environment of the worker process)
//   e.g. --temporal-arg=--dynamic-config-value=history.cacheMaxSize=4096 --worker-node-option=--max-old-space-size=512
//   (scripts/bench/lifecycle-args.ts: a value that starts with a dash takes `=`; unknown flags are errors)
//
// Projects belong to users of --per-user projects each (the default MAX_PROJECTS_PER_USER,
// which the namespace's ResourceQuota is sized for), so N = 1,000 is 50 users, each with a
// namespace provisioned by the worker and a Kubernetes client of its own.
//
// Prints (no thresholds):
//   intent -> first Kubernetes write: from the client's start/signal call to the first
//     write activity (ensure*, scale*, delete*) of that transition starting in the worker;
//   Kubernetes ready -> status visible: from the moment the cluster is in the target state
//     (an independent watcher of StatefulSets, pods and Clusters in all namespaces,
//     scripts/bench/cluster-status.ts, as its watch event arrives) to the worker's
//     projection (recordStatus) writing that status;
//   total wall time, the worker process's RSS (peak and end; the bench's client and
//   watcher are in this process, the cluster in another);
//   errors: activity attempts that failed (cancellations of watches are not errors), ERROR
//     statuses written, lifecycles that failed or did not finish within --timeout-s;
//   history events per create -> RUNNING (up to the recordStatus of RUNNING, from the
//     first 20 histories) and per whole lifecycle;
//   idle cost (--idle-s S, default 60; 0 skips it): with the cluster and worker up and no
//     project, then with all N projects settled in RUNNING (the N lifecycles wait for each
//     other after create), the API server's apiserver_request_total (resource requests, by
//     verb and resource) and the worker's workflow tasks (SDK metrics) and history events
//     (all N workflows) before and after S seconds of idling (the bench's own three
//     watches stay open: a re-watch every ~5 min each), and the worker's memory then:
//     main-thread heap, the worker threads' heaps (the workflow thread's, over the
//     inspector, scripts/bench/thread-heaps.ts) and the native rest;
//   event-loop delay of the worker process during the run (p50, p99, max), and the CPU time
//     of every program on the machine meanwhile (scripts/bench/process-cpu.ts).
// Needs PostgreSQL (DATABASE_URL or TEST_DATABASE_URL, default postgres@127.0.0.1:5432) and
// the binaries of cluster/build.sh and the Temporal CLI (built on first use).
import { createProjectRows } from '../server/project-rows';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { KubeClient, loadAdminKubeconfig } from '../activities/kubernetes/kube-client';
import { DEFAULT_TIMINGS, WORKFLOW_TYPE, type LifecycleInput } from '../common/lifecycle';
import { projectResourceName, workflowIdForProject } from '../common/names';
import { buildIfMissing, readClusterState } from '../cluster/local-cluster';
import { createMigratedDatabase } from './services/postgres';
import { freePort } from './services/process';
import { startTemporalDevServer, temporalCliPath, type TemporalService } from './services/temporal';
import { startTemporalServer, temporalServerBuild } from './services/temporal-server';
import { createCipher } from '../server/crypto';
import { createDb } from '../server/db';
import { parseKubeconfig } from '../server/kubeconfig';
import { deleteSignal, startSignal, stopSignal } from '../workflows/messages';
import { lifecycleStartOptions } from '../common/start-lifecycle';
import { watchProjectStatuses } from './bench/cluster-status';
import { cpuByProgram, cpuReport } from './bench/process-cpu';
import type { ThreadHeap } from './bench/thread-heaps';
import { parseLifecycleBenchArgs } from './bench/lifecycle-args';
import { startWorkerProcess } from './bench/worker-host';
import { WRITE_ACTIVITIES as WRITES } from './bench/worker-protocol';

const args = parseLifecycleBenchArgs(process.argv.slice(2));
const N = args.n;
const timings = {
  initialBackoffMs: args.initialBackoffMs ?? DEFAULT_TIMINGS.initialBackoffMs,
  maxBackoffMs: args.maxBackoffMs ?? DEFAULT_TIMINGS.maxBackoffMs,
};

type Target = 'RUNNING' | 'STOPPED' | 'TERMINATED';
type Phase = 'create' | 'stop' | 'start' | 'delete';
const TARGET: Record<Phase, Target> = { create: 'RUNNING', stop: 'STOPPED', start: 'RUNNING', delete: 'TERMINATED' };

interface Transition {
  phase: Phase;
  intentAt: number;
  firstWriteAt?: number;
  readyAt?: number;
  visibleAt?: number;
}

/** Prometheus text: sum of the series of `name` whose labels pass `keep`, grouped by `by`. */
function promSum(text: string, name: string, by: (labels: Record<string, string>) => string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const key = by(labels);
    if (key === undefined) continue;
    out.set(key, (out.get(key) ?? 0) + Number(m[3]));
  }
  return out;
}

function diff(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const d = new Map<string, number>();
  for (const [k, v] of after) if (v - (before.get(k) ?? 0) !== 0) d.set(k, v - (before.get(k) ?? 0));
  return d;
}
const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

const percentile = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

type HistoryEvent = NonNullable<Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']>[number];

/**
 * Where intent -> first write goes, from the server's timestamps in the histories: for the
 * start and each signal, the time to the workflow task that handles it being scheduled
 * (the client's call and the server's write), from scheduled to started (dispatch to the
 * worker), started to completed (the worker's task), and completed to the first write
 * activity starting (dispatch of the activity, eager when the worker takes it at once).
 */
function intentStages() {
  const at = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;
  const names = ['intent -> task scheduled', 'task scheduled -> started', 'task started -> completed', 'task completed -> write started'] as const;
  const xs: number[][] = names.map(() => []);
  return {
    add(events: HistoryEvent[]) {
      events.forEach((e, i) => {
        if (!e.workflowExecutionStartedEventAttributes && !e.workflowExecutionSignaledEventAttributes) return;
        const next = (pred: (x: HistoryEvent) => boolean, from: number) => {
          for (let j = from; j < events.length; j++) if (pred(events[j]!)) return j;
          return -1;
        };
        const scheduled = next((x) => !!x.workflowTaskScheduledEventAttributes, i);
        const started = next((x) => !!x.workflowTaskStartedEventAttributes, scheduled);
        const completed = next((x) => !!x.workflowTaskCompletedEventAttributes, started);
        const write = next((x) => WRITES.has(x.activityTaskScheduledEventAttributes?.activityType?.name ?? ''), completed);
        if (scheduled < 0 || started < 0 || completed < 0 || write < 0) return;
        const writeId = events[write]!.eventId;
        const writeStarted = next((x) => String(x.activityTaskStartedEventAttributes?.scheduledEventId ?? '') === String(writeId), write);
        // Only when the write follows in the task that handled the intent.
        const nextTask = next((x) => !!x.workflowTaskStartedEventAttributes, completed + 1);
        if (writeStarted < 0 || (nextTask >= 0 && nextTask < write)) return;
        const t = [at(e), at(events[scheduled]!), at(events[started]!), at(events[completed]!), at(events[writeStarted]!)];
        for (let k = 0; k < names.length; k++) xs[k]!.push(Math.max(0, t[k + 1]! - t[k]!));
      });
    },
    report: () =>
      names.map((n, k) => `  ${n.padEnd(37)}p50 ${percentile(xs[k]!, 50).toFixed(0).padStart(6)} ms   p95 ${percentile(xs[k]!, 95).toFixed(0).padStart(6)} ms   (n=${xs[k]!.length}, first 20 histories)`),
  };
}

async function main() {
  const t0 = Date.now();
  const cacheDir = process.env.CACHE_DIR ?? path.join(os.homedir(), '.cache', 'fullstackagent');
  buildIfMissing(cacheDir);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-bench-'));
  const cleanups: Array<() => Promise<void> | void> = [() => fs.rmSync(work, { recursive: true, force: true })];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch((e: unknown) => console.error('cleanup:', e));
  };

  // Ctrl-C still stops the cluster and Temporal.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`\n${sig}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  // SDK metrics of the worker process (its workflow tasks).
  const sdkMetricsPort = await freePort();
  const sdkMetrics = async () => (await fetch(`http://127.0.0.1:${sdkMetricsPort}/metrics`)).text();

  try {
    // The cluster in a child process of its own.
    const clusterDir = path.join(work, 'cluster');
    const cli = path.join(REPO, 'cluster', 'cli.ts');
    const clusterProc = spawn(process.execPath, ['--import', 'tsx', cli, 'up', '--data-dir', clusterDir, '--node', 'simulated'], {
      stdio: ['ignore', fs.openSync(path.join(work, 'cluster.log'), 'a'), fs.openSync(path.join(work, 'cluster.log'), 'a')],
    });
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          if (clusterProc.exitCode !== null) return resolve();
          clusterProc.once('exit', () => resolve());
          clusterProc.kill('SIGTERM');
        }),
    );
    let state = readClusterState(clusterDir);
    for (let i = 0; !state && i < 600; i++) {
      if (clusterProc.exitCode !== null) throw new Error(`the local cluster exited: ${fs.readFileSync(path.join(work, 'cluster.log'), 'utf8')}`);
      await new Promise((r) => setTimeout(r, 100));
      state = readClusterState(clusterDir);
    }
    if (!state) throw new Error('the local cluster did not start within 60 s');
    const adminKubeconfig = fs.readFileSync(state.adminKubeconfigPath, 'utf8');
    console.log(`cluster up (${state.server}) after ${Date.now() - t0} ms`);
    const creds = parseKubeconfig(adminKubeconfig, { trusted: true });
    const apiMetrics = () =>
      new Promise<string>((resolve, reject) => {
        const req = https.get(
          `${creds.server}/metrics`,
          {
            ca: creds.ca,
            cert: creds.cert,
            key: creds.key,
            rejectUnauthorized: !creds.skipTlsVerify,
            headers: creds.token ? { authorization: `Bearer ${creds.token}` } : {},
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`GET /metrics: HTTP ${res.statusCode}`))));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
      });

    const binary = temporalCliPath({ cacheDir, cliPath: process.env.TEMPORAL_CLI_PATH });
    const adminUrl = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/postgres';
    // The dev server on a SQLite file, as the platform runs it (scripts/platform.ts), or in
    // memory; or the compose file's server on PostgreSQL (scripts/services/temporal-server.ts).
    const temporalLog = path.join(work, 'temporal.log');
    const temporal: TemporalService & { pprofUrl?: string } =
      args.temporal === 'postgres'
        ? await startTemporalServer({
            build: temporalServerBuild(cacheDir),
            adminUrl,
            dataDir: path.join(work, 'temporal-server'),
            dynamicConfigFile: path.join(REPO, 'docker-compose.temporal.dynamicconfig.yaml'),
            logFile: temporalLog,
          })
        : await startTemporalDevServer({
            binary,
            port: await freePort(),
            headless: true,
            logFile: temporalLog,
            ...(args.temporal === 'memory' ? {} : { dbFile: path.join(work, 'temporal.db') }),
            extraArgs: args.temporalArgs,
          });
    cleanups.push(() => temporal.stop());
    console.log(`temporal: ${args.temporal === 'postgres' ? 'server on PostgreSQL, 4 shards (the compose file\'s)' : `dev server (${args.temporal})`} at ${temporal.address}`);
    if (temporal.pprofUrl) console.log(`temporal: pprof (goroutine dumps of a stuck server) at ${temporal.pprofUrl}`);

    const database = await createMigratedDatabase(adminUrl, 'fsa_bench');
    cleanups.push(() => database.drop());
    const db = createDb(database.url, { max: 10 });
    cleanups.push(() => db.$disconnect());
    const encryptionKey = randomBytes(32);
    const cipher = createCipher(encryptionKey);

    // --- the worker, in its own process ---------------------------------------------------
    const transitions = new Map<string, Transition>();
    const done = new Map<string, (status: string) => void>();
    const activityErrors = new Map<string, number>();
    const errorStatuses = new Map<string, string>();
    const taskQueue = `bench-${Date.now().toString(36)}`;
    const worker = await startWorkerProcess(
      {
        temporalAddress: temporal.address,
        taskQueue,
        databaseUrl: database.url,
        adminKubeconfigPath: state.adminKubeconfigPath,
        encryptionKeyHex: encryptionKey.toString('hex'),
        sdkMetricsPort,
        workflowThreads: args.workflowThreads || undefined,
        maxCachedWorkflows: args.maxCachedWorkflows || undefined,
        workflowTaskSlots: args.workflowTaskSlots || undefined,
      },
      {
        // Events of a step that began before this transition's intent belong to the one before.
        onWrite(projectId, at) {
          const tr = transitions.get(projectId);
          if (tr && tr.firstWriteAt === undefined && at >= tr.intentAt) tr.firstWriteAt = at;
        },
        onStatus(projectId, status, error, at) {
          if (status === 'ERROR') errorStatuses.set(projectId, error ?? '(no message)');
          const tr = transitions.get(projectId);
          if (tr && status === TARGET[tr.phase] && tr.visibleAt === undefined && at >= tr.intentAt) {
            tr.visibleAt = at;
            done.get(projectId)?.(status);
          }
        },
        onActivityError(key) {
          activityErrors.set(key, (activityErrors.get(key) ?? 0) + 1);
        },
      },
      path.join(work, 'worker.log'),
      { nodeOptions: args.workerNodeOptions, env: args.workerEnv },
    );
    cleanups.push(() => worker.stop());
    const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
    cleanups.push(() => client.connection.close());

    // --- an independent watcher of the cluster state ----------------------------------
    const users = await Promise.all(Array.from({ length: Math.ceil(N / args.perUser) }, (_, u) => db.user.create({ data: { name: `bench-${u}` } })));
    const admin = new KubeClient(loadAdminKubeconfig(adminKubeconfig));
    const watcher = watchProjectStatuses(admin, (projectId, status) => {
      const tr = transitions.get(projectId);
      if (tr && tr.readyAt === undefined && tr.firstWriteAt !== undefined && status === TARGET[tr.phase]) tr.readyAt = Date.now();
    });
    await watcher.idle();

    // --- idle cost: one minute, measured twice ----------------------------------------
    const workflowIds: string[] = [];
    const historyEvents = async () => {
      let sum = 0;
      for (let i = 0; i < workflowIds.length; i += 50) {
        const ds = await Promise.all(workflowIds.slice(i, i + 50).map((id) => client.workflow.getHandle(id).describe()));
        for (const d of ds) sum += d.historyLength;
      }
      return sum;
    };
    const byVerbResource = (l: Record<string, string>) => (l.resource ? `${l.verb} ${l.resource}${l.subresource ? `/${l.subresource}` : ''}` : undefined);
    const sdkTaskSeries = (text: string) => ({
      workflowTasks: total(promSum(text, 'temporal_workflow_task_execution_latency_count', () => '')),
      workflowTaskPolls: total(promSum(text, 'temporal_workflow_task_queue_poll_succeed_total', () => '')),
      activityTasks: total(promSum(text, 'temporal_activity_execution_latency_count', () => '')),
    });
    interface IdleCost {
      projects: number;
      seconds: number;
      apiRequests: Map<string, number>;
      openWatches: number;
      workerWatches: number;
      workerRequests: Map<string, number>;
      workflowTasks: number;
      workflowTaskPolls: number;
      activityTasks: number;
      historyEvents: number;
      /** The worker process's: process.memoryUsage() of its main thread and the V8 heaps of its threads, at the end. */
      memory: NodeJS.MemoryUsage;
      threads: ThreadHeap[];
    }
    const measureIdle = async (projects: number): Promise<IdleCost> => {
      const [api0, sdk0, h0] = [await apiMetrics(), sdkTaskSeries(await sdkMetrics()), await historyEvents()];
      await worker.sample({ resetRequests: true });
      const t = Date.now();
      await new Promise((r) => setTimeout(r, args.idleS * 1000));
      const seconds = (Date.now() - t) / 1000;
      const sample = await worker.sample({ resetRequests: true });
      const [api1, sdk1, h1] = [await apiMetrics(), sdkTaskSeries(await sdkMetrics()), await historyEvents()];
      const watches = promSum(api1, 'apiserver_longrunning_requests', (l) => (l.verb === 'WATCH' ? 'w' : undefined));
      return {
        projects,
        seconds,
        apiRequests: diff(promSum(api1, 'apiserver_request_total', byVerbResource), promSum(api0, 'apiserver_request_total', byVerbResource)),
        openWatches: total(watches),
        workerWatches: sample.watches,
        workerRequests: new Map(sample.requests),
        workflowTasks: sdk1.workflowTasks - sdk0.workflowTasks,
        workflowTaskPolls: sdk1.workflowTaskPolls - sdk0.workflowTaskPolls,
        activityTasks: sdk1.activityTasks - sdk0.activityTasks,
        historyEvents: h1 - h0,
        memory: sample.memory,
        threads: sample.threads,
      };
    };
    const idle: IdleCost[] = [];
    if (args.idleS > 0) {
      console.log(`idle cost: ${args.idleS} s with no project`);
      idle.push(await measureIdle(0));
    }

    // --- the run -------------------------------------------------------------------------
    const results: Transition[] = [];
    // How long the worker's callbacks wait for its event loop.
    await worker.loopDelayStart();
    if (args.heapProfile) await worker.heapProfileStart();
    const runStart = Date.now();
    const cpuBefore = cpuByProgram();
    // With the idle measurement, every lifecycle waits after create until all are RUNNING.
    let created = 0;
    let releaseCreated!: () => void;
    const allCreated = new Promise<void>((r) => (releaseCreated = r));
    let resumeAfterIdle!: () => void;
    const idleDone = new Promise<void>((r) => (resumeAfterIdle = r));
    if (args.idleS <= 0) resumeAfterIdle();
    const phaseOf = new Map<number, Phase | 'done'>();
    const createdSignals = new Map<number, { promise: Promise<void>; resolve: () => void }>();
    const createdOf = (i: number) => {
      let d = createdSignals.get(i);
      if (!d) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        d = { promise, resolve };
        createdSignals.set(i, d);
      }
      return d.promise;
    };
    const one = async (i: number) => {
      const user = users[Math.floor(i / args.perUser)]!;
      const name = `bench ${i}`;
      const k8sName = projectResourceName(name, Math.random);
      let projectId = '';
      let handle!: ReturnType<typeof client.workflow.getHandle>;
      const step = async (phase: Phase, act: () => Promise<unknown>) => {
        phaseOf.set(i, phase);
        const tr: Transition = { phase, intentAt: Date.now() };
        transitions.set(projectId, tr);
        const reached = new Promise<string>((resolve) => done.set(projectId, resolve));
        await act();
        await reached;
        results.push(tr);
      };
      try {
        const project = await createProjectRows(db, cipher, { userId: user.id, name, k8sName });
        projectId = project.id;
        await db.environment.create({ data: { projectId, key: 'BENCH', value: String(i) } });
        workflowIds.push(workflowIdForProject(projectId));
        const input: LifecycleInput = { projectId, ownerId: user.id, projectName: name, k8sName, desired: 'RUNNING', timings };
        await step('create', async () => {
          handle = await client.workflow.start(WORKFLOW_TYPE, lifecycleStartOptions(input, taskQueue));
        });
      } finally {
        void createdOf(i);
        createdSignals.get(i)!.resolve();
        if (++created === N) releaseCreated();
      }
      await idleDone;
      await step('stop', () => handle.signal(stopSignal));
      await step('start', () => handle.signal(startSignal));
      await step('delete', () => handle.signal(deleteSignal));
      await handle.result();
      phaseOf.set(i, 'done');
    };
    // The first project of each user provisions the user's namespace (all users at once);
    // the rest start together once it has.
    const outcomes: Array<PromiseSettledResult<void>> = [];
    const lifecycles = (async () => {
      const firstRuns = users.map((_, u) => one(u * args.perUser));
      // Provisioned: the first project of every user is RUNNING (or failed on the way).
      await Promise.all(users.map((_, u) => createdOf(u * args.perUser)));
      const rest = Array.from({ length: N }, (_, i) => i).filter((i) => i % args.perUser !== 0);
      outcomes.push(...(await Promise.allSettled([...firstRuns, ...rest.map((i) => one(i))])));
    })();
    let idleMs = 0;
    const idleRun = (async () => {
      if (args.idleS <= 0) return;
      await allCreated;
      const createdAt = Date.now();
      // Settled: the last projections are written, the drift watches are open.
      await new Promise((r) => setTimeout(r, 5_000));
      console.log(`idle cost: ${args.idleS} s with ${N} settled projects (all RUNNING ${((createdAt - runStart) / 1000).toFixed(1)} s after the start)`);
      idle.push(await measureIdle(N));
      if (args.heapProfile) {
        console.log(`the worker's main-thread heap, ${N} settled: live memory by allocation site (written to ${args.heapProfile})`);
        for (const { site, bytes } of await worker.heapProfile(path.resolve(args.heapProfile))) console.log(`  ${(bytes / 2 ** 20).toFixed(1).padStart(7)} MiB  ${site}`);
      }
      idleMs = Date.now() - createdAt;
      resumeAfterIdle();
    })();
    let timedOut = false;
    const timeout = new Promise<void>((r) =>
      setTimeout(() => {
        timedOut = true;
        r();
      }, args.timeoutS * 1000).unref(),
    );
    await Promise.race([Promise.all([lifecycles, idleRun]), timeout]);
    const wall = Date.now() - runStart - idleMs;
    const cpuAfter = cpuByProgram();
    const loopDelay = await worker.loopDelay();
    const workerRss = worker.rss();
    const atPeak = await worker.peakMemory();
    await watcher.stop();
    const failures = outcomes.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error)?.message ?? r.reason).slice(0, 200)] : []));
    const unfinished = [...phaseOf].filter(([, ph]) => ph !== 'done');

    // --- history events ---------------------------------------------------------------
    const decode = (p: { data?: Uint8Array | null } | undefined) => {
      try {
        return JSON.parse(Buffer.from(p?.data ?? new Uint8Array()).toString('utf8')) as { status?: string };
      } catch {
        return undefined;
      }
    };
    const toRunning: number[] = [];
    const whole: number[] = [];
    const stages = intentStages();
    for (const id of workflowIds.slice(0, 20)) {
      const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
      const at = events.findIndex(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'recordStatus' && decode(e.activityTaskScheduledEventAttributes.input?.payloads?.[0])?.status === 'RUNNING',
      );
      if (at >= 0) toRunning.push(at + 1);
      whole.push(events.length);
      stages.add(events);
    }

    // --- report --------------------------------------------------------------------------
    const fmt = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(0).padStart(6)} ms   p95 ${percentile(xs, 95).toFixed(0).padStart(6)} ms   (n=${xs.length})`;
    const firstWrite = results.filter((r) => r.firstWriteAt !== undefined).map((r) => r.firstWriteAt! - r.intentAt);
    const visible = results.filter((r) => r.readyAt !== undefined && r.visibleAt !== undefined).map((r) => Math.max(0, r.visibleAt! - r.readyAt!));
    console.log(`\nbench-lifecycle: ${N} projects, create -> stop -> start -> delete, backoff ${timings.initialBackoffMs}..${timings.maxBackoffMs} ms`);
    console.log(`intent -> first Kubernetes write       ${fmt(firstWrite)}`);
    for (const phase of ['create', 'stop', 'start', 'delete'] as const) {
      const xs = results.filter((r) => r.phase === phase && r.firstWriteAt !== undefined).map((r) => r.firstWriteAt! - r.intentAt);
      console.log(`  ${phase.padEnd(37)}${fmt(xs)}`);
    }
    for (const line of stages.report()) console.log(line);
    // The SDK's own view of its workflow tasks (means over the whole run, idle minutes included).
    const sdkText = await sdkMetrics();
    for (const name of ['workflow_task_schedule_to_start_latency', 'workflow_task_execution_latency', 'workflow_activation_execution_latency', 'activity_schedule_to_start_latency']) {
      const family = [...new Set([...sdkText.matchAll(new RegExp(`^(temporal_${name}\\w*)_count`, 'gm'))].map((m) => m[1]!))][0];
      if (!family) continue;
      const count = total(promSum(sdkText, `${family}_count`, () => ''));
      const sum = total(promSum(sdkText, `${family}_sum`, () => ''));
      console.log(`  sdk ${family.replace(/^temporal_/, '').padEnd(50)} mean ${(sum / Math.max(1, count)).toFixed(1)} (n=${count})`);
    }
    console.log(`Kubernetes ready -> status visible     ${fmt(visible)}`);
    for (const phase of ['create', 'stop', 'start', 'delete'] as const) {
      const xs = results.filter((r) => r.phase === phase && r.readyAt !== undefined && r.visibleAt !== undefined).map((r) => Math.max(0, r.visibleAt! - r.readyAt!));
      console.log(`  ${phase.padEnd(37)}${fmt(xs)}`);
    }
    console.log(`total wall time                        ${(wall / 1000).toFixed(1)} s (all ${N} lifecycles${args.idleS > 0 ? ', the idle measurement not counted' : ''})`);
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
    console.log(`worker process RSS                     peak ${mib(workerRss.peak)}, end ${mib(workerRss.now)} (${worker.allocator()}; the bench's own process: ${mib(process.memoryUsage().rss)})`);
    console.log(`  at the peak                          main-thread heap ${mib(atPeak.heapUsed)} used of ${mib(atPeak.heapTotal)}, external ${mib(atPeak.external)}, the rest (worker threads' heaps, native) ${mib(atPeak.rss - atPeak.heapTotal - atPeak.external)}`);
    console.log(`event-loop delay (worker process)      p50 ${loopDelay.p50Ms.toFixed(0)} ms   p99 ${loopDelay.p99Ms.toFixed(0)} ms   max ${loopDelay.maxMs.toFixed(0)} ms`);
    // The idle minute is inside this window (a few cores-seconds at most when nothing runs).
    for (const line of cpuReport(cpuBefore, cpuAfter, (Date.now() - runStart) / 1000)) console.log(line);
    console.log(
      `errors                                 ${total(activityErrors)} failed activity attempts, ${errorStatuses.size} projects in ERROR, ${failures.length} lifecycles failed, ${unfinished.length} unfinished${timedOut ? ` (timed out after ${args.timeoutS} s)` : ''}`,
    );
    for (const [k, v] of [...activityErrors].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${String(v).padStart(6)}  ${k}`);
    for (const [id, m] of [...errorStatuses].slice(0, 5)) console.log(`  ERROR ${id}: ${m.slice(0, 200)}`);
    for (const f of failures.slice(0, 5)) console.log(`  failed: ${f}`);
    if (unfinished.length) {
      const counts = new Map<string, number>();
      for (const [, ph] of unfinished) counts.set(String(ph), (counts.get(String(ph)) ?? 0) + 1);
      console.log(`  unfinished by phase: ${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    }
    const avg = (xs: number[]) => (xs.length ? (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1) : 'n/a');
    console.log(`history events                         create -> RUNNING ${avg(toRunning)} (min ${Math.min(...toRunning)}, max ${Math.max(...toRunning)}), whole lifecycle ${avg(whole)} (first ${toRunning.length} workflows)`);
    for (const c of idle) {
      const perMin = (x: number) => ((x * 60) / c.seconds).toFixed(1);
      console.log(
        `idle, ${String(c.projects).padStart(4)} projects settled      ${perMin(total(c.apiRequests))} API requests/min, ${perMin(c.workflowTasks)} workflow tasks/min (${perMin(c.workflowTaskPolls)} polled), ${perMin(c.activityTasks)} activity tasks/min, ${perMin(c.historyEvents)} history events/min; ${c.openWatches} open watches (the worker's ${c.workerWatches}); worker RSS ${mib(c.memory.rss)} (${c.seconds.toFixed(0)} s)`,
      );
      const threads = c.threads.map((t) => `${t.title} ${mib(t.heapUsed)} of ${mib(t.heapTotal)}`).join(', ');
      const rest = c.memory.rss - c.memory.heapTotal - c.memory.external - c.threads.reduce((sum, t) => sum + t.heapTotal, 0);
      console.log(`  memory: main-thread heap ${mib(c.memory.heapUsed)} used of ${mib(c.memory.heapTotal)}, external ${mib(c.memory.external)}; worker-thread heaps ${threads || 'none'}; the rest (native, Rust core) ${mib(rest)}`);
      for (const [k, v] of [...c.apiRequests].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${perMin(v).padStart(8)}/min  ${k}`);
      console.log(`  of which the worker's own: ${perMin(total(c.workerRequests))}/min${[...c.workerRequests].map(([k, v]) => `, ${k} ${perMin(v)}`).join('')}`);
    }
    if (timedOut) process.exitCode = 2;
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
