// The bench's side of its worker process (scripts/bench/worker-process.ts): compiles it as
// production compiles the worker (worker/compile.ts) into node_modules/.cache, so the
// packages resolve from node_modules, starts it, turns its IPC events into callbacks and
// its calls into promises, and reads its memory from /proc.
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileWorker } from '../../worker/compile';
import type { LoopDelay, PeakMemory, WorkerMessage, WorkerProcessConfig, WorkerRequest, WorkerSample } from './worker-protocol';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.join(ROOT, 'node_modules/.cache/fullstackagent-bench');

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export interface WorkerEvents {
  onWrite(projectId: string, at: number): void;
  onStatus(projectId: string, status: string, error: string | undefined, at: number): void;
  onActivityError(key: string): void;
}

export interface WorkerProcess {
  pid: number;
  sample(o: { resetRequests: boolean }): Promise<WorkerSample>;
  loopDelayStart(): Promise<void>;
  loopDelay(): Promise<LoopDelay>;
  peakMemory(): Promise<PeakMemory>;
  heapProfileStart(): Promise<void>;
  heapProfile(file: string): Promise<Array<{ site: string; bytes: number }>>;
  /** Resident set now and its peak so far (VmRSS, VmHWM), bytes. */
  rss(): { now: number; peak: number };
  /** The malloc the process runs on: jemalloc when it is mapped (LD_PRELOAD), else glibc's. */
  allocator(): 'jemalloc' | 'glibc malloc';
  stop(): Promise<void>;
}

/**
 * Compiles and starts the worker process; resolves once it polls. Its output goes to
 * `logFile`; `nodeOptions` are Node's flags for it (e.g. --max-old-space-size=512), `env`
 * variables of its own (e.g. LD_PRELOAD of another allocator).
 */
export async function startWorkerProcess(
  config: WorkerProcessConfig,
  events: WorkerEvents,
  logFile: string,
  { nodeOptions = [], env = {} }: { nodeOptions?: string[]; env?: Record<string, string> } = {},
): Promise<WorkerProcess> {
  await compileWorker({ 'worker-process': path.join(ROOT, 'scripts/bench/worker-process.ts') }, OUT);
  const log = fs.openSync(logFile, 'a');
  const child: ChildProcess = fork(path.join(OUT, 'worker-process.js'), [], {
    env: { ...process.env, ...env, BENCH_WORKER: JSON.stringify(config) },
    execArgv: ['--enable-source-maps', ...nodeOptions],
    stdio: ['ignore', log, log, 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  child.on('message', (m: WorkerMessage) => {
    if (m.type === 'ready') ready();
    else if (m.type === 'write') events.onWrite(m.projectId, m.at);
    else if (m.type === 'status') events.onStatus(m.projectId, m.status, m.error, m.at);
    else if (m.type === 'activityError') events.onActivityError(m.key);
    else if (m.type === 'reply') {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error !== undefined) p?.reject(new Error(`worker process: ${m.error}`));
      else p?.resolve(m.value);
    }
  });
  const exitedEarly = exited.then((code) => {
    throw new Error(`the bench's worker process exited with ${code}: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
  });
  exitedEarly.catch(() => undefined);
  await Promise.race([isReady, exitedEarly]);

  let nextId = 1;
  const call = <T>(r: WithoutId<WorkerRequest>) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ ...r, id } as WorkerRequest);
    });
  const status = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  return {
    pid: child.pid!,
    sample: ({ resetRequests }) => call<WorkerSample>({ call: 'sample', resetRequests }),
    loopDelayStart: () => call<void>({ call: 'loopDelayStart' }),
    loopDelay: () => call<LoopDelay>({ call: 'loopDelay' }),
    peakMemory: () => call<PeakMemory>({ call: 'peakMemory' }),
    heapProfileStart: () => call<void>({ call: 'heapProfileStart' }),
    heapProfile: (file) => call<Array<{ site: string; bytes: number }>>({ call: 'heapProfile', file }),
    rss: () => ({ now: status('VmRSS'), peak: status('VmHWM') }),
    allocator: () => (/\/libjemalloc\.so[.\d]*$/m.test(fs.readFileSync(`/proc/${child.pid}/maps`, 'utf8')) ? 'jemalloc' : 'glibc malloc'),
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
