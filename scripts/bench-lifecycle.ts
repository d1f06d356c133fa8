// Benchmark: N projects (default 20) through create -> RUNNING -> stop -> STOPPED ->
// start -> RUNNING -> delete -> TERMINATED, concurrently, on the local Kubernetes cluster
// with kwok nodes (simulated pods) and the real worker (workflow + activities + projection).
//
//   npx tsx scripts/bench-lifecycle.ts [N] [--backoff-ms 1000] [--max-backoff-ms 30000]
//
// Prints (no thresholds):
//   intent -> first Kubernetes write: from the client's start/signal call to the first
//     write activity (ensure*, scale*, delete*) of that transition starting in the worker;
//   Kubernetes ready -> status visible: from the moment the cluster is in the target state
//     (an independent watcher lists StatefulSets, pods and Clusters every 100 ms, so
//     +-100 ms) to the worker's projection (recordStatus) writing that status;
//   total wall time, and the RSS of this process (worker + client + watcher; the cluster
//   runs in a child process).
// Needs PostgreSQL (DATABASE_URL or TEST_DATABASE_URL, default postgres@127.0.0.1:5432) and
// the binaries of cluster/build.sh and the Temporal CLI (built on first use).
import { createProjectRows } from '../server/project-rows';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { createKubernetesActivities } from '../activities/kubernetes';
import { KubeClient, loadAdminKubeconfig, type KubeObject } from '../activities/kubernetes/kube-client';
import { userNamespace } from '../activities/kubernetes/user-clients';
import { createStatusProjection } from '../activities/status-projection';
import type { LifecycleActivities } from '../activities/types';
import { DEFAULT_TIMINGS, WORKFLOW_TYPE, type LifecycleInput, type ProjectStatusView } from '../common/lifecycle';
import { LABELS, projectResourceName, workflowIdForProject } from '../common/names';
import { aggregateProjectStatus, databaseStatusFromClusterPhase, sandboxStatusFromStatefulSet, type ProjectStatus } from '../common/status';
import { buildIfMissing, readClusterState } from '../cluster/local-cluster';
import { createMigratedDatabase } from './services/postgres';
import { freePort } from './services/process';
import { startTemporalDevServer, temporalCliPath } from './services/temporal';
import { createCipher } from '../server/crypto';
import { createDb } from '../server/db';
import { createLogger } from '../server/logger';
import { createLifecycleWorker } from '../worker/create-worker';
import { deleteSignal, startSignal, stopSignal } from '../workflows/messages';
import { lifecycleStartOptions } from '../common/start-lifecycle';

const argv = process.argv.slice(2);
const flag = (name: string, def: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const N = Number(argv.find((a, i) => /^\d+$/.test(a) && !argv[i - 1]?.startsWith('--')) ?? 20);
const timings = {
  initialBackoffMs: flag('--backoff-ms', DEFAULT_TIMINGS.initialBackoffMs),
  maxBackoffMs: flag('--max-backoff-ms', DEFAULT_TIMINGS.maxBackoffMs),
};

const WRITES = new Set(['ensureDatabase', 'ensureSandbox', 'ensureSandboxNetwork', 'scaleSandbox', 'scaleDatabase', 'deleteProjectResources']);
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

const percentile = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

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

  try {
    // The cluster in a child process, so the RSS below is the worker's side only.
    const clusterDir = path.join(work, 'cluster');
    const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../cluster/cli.ts');
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

    const binary = temporalCliPath({ cacheDir, cliPath: process.env.TEMPORAL_CLI_PATH });
    const temporal = await startTemporalDevServer({ binary, port: await freePort(), headless: true, logFile: path.join(work, 'temporal.log') });
    cleanups.push(() => temporal.stop());

    const adminUrl = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/postgres';
    const database = await createMigratedDatabase(adminUrl, 'fsa_bench');
    cleanups.push(() => database.drop());
    const db = createDb(database.url, { max: 10 });
    cleanups.push(() => db.$disconnect());
    const cipher = createCipher(randomBytes(32));

    // --- instrumented activities ------------------------------------------------------
    const transitions = new Map<string, Transition>();
    const done = new Map<string, (v: ProjectStatusView) => void>();
    const kubernetes = createKubernetesActivities({ db, cipher, clusterDomain: 'bench.localhost', adminKubeconfig, logger: createLogger('bench', 'warn') });
    const projection = createStatusProjection(db);
    const activities = { ...kubernetes, ...projection } as LifecycleActivities;
    const instrumented = Object.fromEntries(
      Object.entries(activities).map(([name, fn]) => [
        name,
        async (...args: unknown[]) => {
          const projectId = (args[0] as { projectId: string }).projectId;
          const tr = transitions.get(projectId);
          if (tr && WRITES.has(name) && tr.firstWriteAt === undefined) tr.firstWriteAt = Date.now();
          const result = await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
          if (name === 'recordStatus') {
            const view = args[0] as ProjectStatusView;
            if (tr && view.status === TARGET[tr.phase] && tr.visibleAt === undefined) {
              tr.visibleAt = Date.now();
              done.get(projectId)?.(view);
            }
          }
          return result;
        },
      ]),
    ) as unknown as LifecycleActivities;

    const connection = await NativeConnection.connect({ address: temporal.address });
    cleanups.push(() => connection.close());
    const taskQueue = `bench-${Date.now().toString(36)}`;
    const worker = await createLifecycleWorker({ connection, taskQueue, activities: instrumented, identity: `bench-${process.pid}`, shutdownGraceTime: '2s' });
    const running = worker.run();
    cleanups.push(async () => {
      worker.shutdown();
      await running;
    });
    const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
    cleanups.push(() => client.connection.close());

    // --- an independent watcher of the cluster state ----------------------------------
    const user = await db.user.create({ data: { name: 'bench' } });
    const ns = userNamespace(user.id);
    const admin = new KubeClient(loadAdminKubeconfig(adminKubeconfig));
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        try {
          const sel = { labelSelector: LABELS.projectId };
          type Any = KubeObject & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
          const [stss, pods, clusters] = await Promise.all([
            admin.list<Any>({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: ns }, sel),
            admin.list<Any>({ apiVersion: 'v1', kind: 'Pod', namespace: ns }, sel),
            admin.list<Any>({ apiVersion: 'apps.kubeblocks.io/v1alpha1', kind: 'Cluster', namespace: ns }, sel),
          ]);
          const now = Date.now();
          for (const [projectId, tr] of transitions) {
            if (tr.readyAt !== undefined || tr.firstWriteAt === undefined) continue;
            const mine = (o: KubeObject) => o.metadata.labels?.[LABELS.projectId] === projectId;
            const sts = stss.find(mine);
            const cl = clusters.find(mine);
            const sb = sts
              ? sandboxStatusFromStatefulSet({
                  exists: true,
                  specReplicas: sts.spec.replicas ?? 1,
                  readyReplicas: sts.status?.readyReplicas ?? 0,
                  currentReplicas: sts.status?.currentReplicas ?? 0,
                  updatedReplicas: sts.status?.updatedReplicas ?? 0,
                  podCount: pods.filter(mine).length,
                  generationObserved: (sts.status?.observedGeneration ?? 0) >= (sts.metadata.generation ?? 1),
                })
              : pods.some(mine)
                ? 'TERMINATING'
                : 'TERMINATED';
            const dbs = databaseStatusFromClusterPhase(cl?.status?.phase, (cl?.spec?.componentSpecs ?? []).reduce((n: number, c: { replicas?: number }) => n + (c.replicas ?? 1), 0), !!cl);
            const status: ProjectStatus = aggregateProjectStatus([sb, dbs]);
            if (status === TARGET[tr.phase]) tr.readyAt = now;
          }
        } catch {
          /* the API server is busy; next tick */
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    // --- the run -------------------------------------------------------------------------
    const results: Transition[] = [];
    let peakRss = process.memoryUsage().rss;
    const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250);
    const runStart = Date.now();
    const one = async (i: number) => {
      const name = `bench ${i}`;
      const k8sName = projectResourceName(name, Math.random);
      const project = await createProjectRows(db, cipher, { userId: user.id, name, k8sName });
      await db.environment.create({ data: { projectId: project.id, key: 'BENCH', value: String(i) } });
      const step = async (phase: Phase, act: () => Promise<unknown>) => {
        const tr: Transition = { phase, intentAt: Date.now() };
        transitions.set(project.id, tr);
        const reached = new Promise<ProjectStatusView>((resolve) => done.set(project.id, resolve));
        await act();
        await reached;
        results.push(tr);
      };
      const input: LifecycleInput = { projectId: project.id, ownerId: user.id, projectName: name, k8sName, desired: 'RUNNING', timings };
      let handle = client.workflow.getHandle(workflowIdForProject(project.id));
      await step('create', async () => {
        handle = await client.workflow.start(WORKFLOW_TYPE, lifecycleStartOptions(input, taskQueue));
      });
      await step('stop', () => handle.signal(stopSignal));
      await step('start', () => handle.signal(startSignal));
      await step('delete', () => handle.signal(deleteSignal));
      await handle.result();
    };
    // The first project provisions the user's namespace; the rest start together.
    await one(0);
    await Promise.all(Array.from({ length: N - 1 }, (_, i) => one(i + 1)));
    const wall = Date.now() - runStart;
    clearInterval(rssTimer);
    watching = false;
    await watcher;

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
    console.log(`Kubernetes ready -> status visible     ${fmt(visible)}`);
    for (const phase of ['create', 'stop', 'start', 'delete'] as const) {
      const xs = results.filter((r) => r.phase === phase && r.readyAt !== undefined && r.visibleAt !== undefined).map((r) => Math.max(0, r.visibleAt! - r.readyAt!));
      console.log(`  ${phase.padEnd(37)}${fmt(xs)}`);
    }
    console.log(`total wall time                        ${(wall / 1000).toFixed(1)} s (all ${N} lifecycles)`);
    console.log(`worker process RSS                     peak ${(peakRss / 2 ** 20).toFixed(0)} MiB, end ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
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
