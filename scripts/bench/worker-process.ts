// The lifecycle bench's worker, in a process of its own as production runs it: compiled to
// JavaScript with the prebuilt workflow bundle beside it (scripts/bench/worker-host.ts), so
// its RSS is the worker's alone, without the bench's client, watcher or bundler. The real
// activities (Kubernetes and the status projection), wrapped to report each write's start,
// each projected status and each failed attempt to the bench over IPC; the bench's calls
// (worker-protocol.ts) are answered here.
import diagnostics from 'node:diagnostics_channel';
import fs from 'node:fs';
import type { ClientRequest } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createKubernetesActivities } from '../../activities/kubernetes';
import { SharedWatches } from '../../activities/kubernetes/shared-watches';
import { createStatusProjection } from '../../activities/status-projection';
import type { LifecycleActivities } from '../../activities/types';
import type { ProjectStatusView } from '../../common/lifecycle';
import { createCipher } from '../../server/crypto';
import { createDb } from '../../server/db';
import { parseKubeconfig } from '../../server/kubeconfig';
import { createLogger } from '../../server/logger';
import { createLifecycleWorker } from '../../worker/create-worker';
import { startHeapSampling, type HeapSampler } from './heap-profile';
import { workerThreadHeaps } from './thread-heaps';
import { WRITE_ACTIVITIES, type WorkerMessage, type WorkerProcessConfig, type WorkerRequest, type WorkerSample } from './worker-protocol';

const send = (m: WorkerMessage) => process.send?.(m);

async function main() {
  const config = JSON.parse(process.env.BENCH_WORKER ?? '') as WorkerProcessConfig;
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${config.sdkMetricsPort}`, countersTotalSuffix: true } } },
  });
  const adminKubeconfig = fs.readFileSync(config.adminKubeconfigPath, 'utf8');

  // Every HTTP request of this process to the API server, watches included.
  const apiPort = new URL(parseKubeconfig(adminKubeconfig, { trusted: true }).server).port;
  let requests = new Map<string, number>();
  diagnostics.subscribe('http.client.request.start', (msg) => {
    const req = (msg as { request: ClientRequest }).request;
    if (String(req.getHeader('host') ?? '').endsWith(`:${apiPort}`)) {
      const kind = /\/(?:api|apis)\/(?:[^/]+\/)?v1[^/]*\/(?:namespaces\/[^/]+\/)?([a-z]+)/.exec(req.path)?.[1] ?? req.path.split('?')[0];
      const key = `${req.method} ${kind}${/[?&]watch=1/.test(req.path) ? ' (watch)' : ''}`;
      requests.set(key, (requests.get(key) ?? 0) + 1);
    }
  });

  const db = createDb(config.databaseUrl, { max: 10 });
  const cipher = createCipher(Buffer.from(config.encryptionKeyHex, 'hex'));
  const sharedWatches = new SharedWatches();
  const activities = {
    ...createKubernetesActivities({ db, cipher, clusterDomain: 'bench.localhost', adminKubeconfig, logger: createLogger('bench', 'warn'), sharedWatches }),
    ...createStatusProjection(db),
  } as LifecycleActivities;
  const reported = Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [
      name,
      async (...args: unknown[]) => {
        const projectId = (args[0] as { projectId: string }).projectId;
        if (WRITE_ACTIVITIES.has(name)) send({ type: 'write', projectId, activity: name, at: Date.now() });
        let result: unknown;
        try {
          result = await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
        } catch (err) {
          const e = err as Error;
          // A cancelled watch ends with the cancellation: not an error.
          if (e?.name !== 'CancelledFailure' && !/cancel/i.test(e?.name ?? '')) {
            send({ type: 'activityError', key: `${name}: ${(e?.message ?? String(err)).replace(/[0-9a-z]{20,}/g, '…').slice(0, 160)}` });
          }
          throw err;
        }
        if (name === 'recordStatus') {
          const view = args[0] as ProjectStatusView;
          send({ type: 'status', projectId, status: view.status, ...(view.lastError ? { error: view.lastError.message } : {}), at: Date.now() });
        }
        return result;
      },
    ]),
  ) as unknown as LifecycleActivities;

  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const worker = await createLifecycleWorker({
    connection,
    taskQueue: config.taskQueue,
    activities: reported,
    identity: `bench-worker-${process.pid}`,
    shutdownGraceTime: '2s',
    workflowThreadPoolSize: config.workflowThreads,
    maxCachedWorkflows: config.maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: config.workflowTaskSlots,
  });

  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  let peak = process.memoryUsage();
  setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > peak.rss) peak = m;
  }, 250).unref();
  let heapSampler: HeapSampler | undefined;
  const answer = async (r: WorkerRequest): Promise<unknown> => {
    switch (r.call) {
      case 'sample': {
        const sample: WorkerSample = { memory: process.memoryUsage(), threads: await workerThreadHeaps(), watches: sharedWatches.size, requests: [...requests] };
        if (r.resetRequests) requests = new Map();
        return sample;
      }
      case 'loopDelayStart':
        loopDelay.enable();
        return undefined;
      case 'loopDelay':
        loopDelay.disable();
        return { p50Ms: loopDelay.percentile(50) / 1e6, p99Ms: loopDelay.percentile(99) / 1e6, maxMs: loopDelay.max / 1e6 };
      case 'peakMemory':
        return peak;
      case 'heapProfileStart':
        // Compiled into one file beside node_modules: our code is that file's frames.
        heapSampler = await startHeapSampling({ ownCode: (url) => url.endsWith('/worker-process.js') });
        return undefined;
      case 'heapProfile':
        if (!heapSampler) throw new Error('heapProfileStart was not called');
        return heapSampler.collect(r.file);
    }
  };
  process.on('message', (r: WorkerRequest) => {
    answer(r).then(
      (value) => send({ type: 'reply', id: r.id, value }),
      (err: unknown) => send({ type: 'reply', id: r.id, error: String((err as Error)?.message ?? err) }),
    );
  });
  // The bench's end closes the channel: stop polling and drain like SIGTERM does.
  process.once('disconnect', () => worker.shutdown());

  const running = worker.run();
  send({ type: 'ready' });
  await running;
  sharedWatches.close();
  await connection.close();
  await db.$disconnect();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
