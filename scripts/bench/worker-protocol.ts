// Messages between the lifecycle bench and its worker process (scripts/bench/worker-process.ts)
// over the child's IPC channel.
import type { ThreadHeap } from './thread-heaps';

/** What the worker process is started with (JSON in the BENCH_WORKER environment variable). */
export interface WorkerProcessConfig {
  temporalAddress: string;
  taskQueue: string;
  databaseUrl: string;
  adminKubeconfigPath: string;
  /** The bench's throwaway encryption key (hex): the bench writes the rows the worker decrypts. */
  encryptionKeyHex: string;
  sdkMetricsPort: number;
  workflowThreads?: number;
  maxCachedWorkflows?: number;
  workflowTaskSlots?: number;
}

/** process.memoryUsage() of the worker's main thread when its RSS was highest (sampled every 250 ms). */
export type PeakMemory = NodeJS.MemoryUsage;

export interface WorkerSample {
  memory: NodeJS.MemoryUsage;
  /** The V8 heaps of the worker threads (the SDK's workflow thread among them). */
  threads: ThreadHeap[];
  /** Open shared watches of the worker. */
  watches: number;
  /** The worker's own HTTP requests to the API server since the last reset, by "VERB kind". */
  requests: Array<[string, number]>;
}

export interface LoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Calls of the bench, answered with a `reply` of the same id. */
export type WorkerRequest =
  | { id: number; call: 'sample'; resetRequests: boolean }
  | { id: number; call: 'loopDelayStart' }
  | { id: number; call: 'loopDelay' }
  | { id: number; call: 'peakMemory' }
  | { id: number; call: 'heapProfileStart' }
  | { id: number; call: 'heapProfile'; file: string };

/** Events of the worker (times are Date.now() of the worker process; same machine clock). */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'write'; projectId: string; activity: string; at: number }
  | { type: 'status'; projectId: string; status: string; error?: string; at: number }
  | { type: 'activityError'; key: string }
  | { type: 'reply'; id: number; value?: unknown; error?: string };

/** The activities that write to Kubernetes: the first of a transition ends "intent -> first write". */
export const WRITE_ACTIVITIES = new Set(['ensureDatabase', 'ensureSandbox', 'ensureSandboxNetwork', 'scaleSandbox', 'scaleDatabase', 'deleteProjectResources']);
