// The flags of scripts/bench-lifecycle.ts, read with Node's util.parseArgs (strict: an
// unknown or misspelt flag is an error, not silently ignored). A value that itself starts
// with a dash is given with `=`: --temporal-arg=--dynamic-config-value=... .
import { parseArgs } from 'node:util';

export const TEMPORAL_STORES = ['sqlite', 'memory', 'postgres'] as const;
export type TemporalStore = (typeof TEMPORAL_STORES)[number];

export interface LifecycleBenchArgs {
  /** Projects (positional, default 20). */
  n: number;
  initialBackoffMs: number | undefined;
  maxBackoffMs: number | undefined;
  idleS: number;
  timeoutS: number;
  perUser: number;
  /** 0: the worker's own default. */
  workflowThreads: number;
  maxCachedWorkflows: number;
  workflowTaskSlots: number;
  /**
   * The Temporal server: the dev server on a SQLite file as the platform runs it (sqlite),
   * the dev server in memory (memory), or the compose file's server on PostgreSQL (postgres).
   */
  temporal: TemporalStore;
  /** Extra dev-server arguments on top of the platform's (diagnostics). */
  temporalArgs: string[];
  heapProfile: string | undefined;
  /** Node's flags for the worker process. */
  workerNodeOptions: string[];
  /** Environment of the worker process alone. */
  workerEnv: Record<string, string>;
}

const NUMBER_FLAGS = ['backoff-ms', 'max-backoff-ms', 'idle-s', 'timeout-s', 'per-user', 'workflow-threads', 'max-cached-workflows', 'workflow-task-slots'] as const;

export function parseLifecycleBenchArgs(argv: string[]): LifecycleBenchArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...(Object.fromEntries(NUMBER_FLAGS.map((k) => [k, { type: 'string' }])) as Record<(typeof NUMBER_FLAGS)[number], { type: 'string' }>),
      temporal: { type: 'string', default: 'sqlite' },
      'temporal-arg': { type: 'string', multiple: true, default: [] },
      'heap-profile': { type: 'string' },
      'worker-node-option': { type: 'string', multiple: true, default: [] },
      'worker-env': { type: 'string', multiple: true, default: [] },
    },
  });
  const count = (name: string, raw: string | undefined): number => {
    const n = Number(raw);
    if (raw === undefined || raw === '' || !Number.isInteger(n) || n < 0) throw new Error(`${name} wants a whole number ≥ 0, got ${raw}`);
    return n;
  };
  const optional = (name: (typeof NUMBER_FLAGS)[number]) => (values[name] === undefined ? undefined : count(`--${name}`, values[name]));
  const number = (name: (typeof NUMBER_FLAGS)[number], def: number) => optional(name) ?? def;
  if (positionals.length > 1) throw new Error(`one positional argument (N), got ${positionals.join(' ')}`);
  const workerEnv = Object.fromEntries(
    values['worker-env'].map((kv) => {
      const eq = kv.indexOf('=');
      if (eq < 1) throw new Error(`--worker-env wants NAME=VALUE, got ${kv}`);
      return [kv.slice(0, eq), kv.slice(eq + 1)];
    }),
  );
  const temporal = values.temporal as TemporalStore;
  if (!TEMPORAL_STORES.includes(temporal)) throw new Error(`--temporal wants one of ${TEMPORAL_STORES.join(', ')}, got ${values.temporal}`);
  if (temporal === 'postgres' && values['temporal-arg'].length) throw new Error('--temporal-arg is for the dev server (--temporal sqlite or memory)');
  return {
    n: positionals[0] === undefined ? 20 : count('N', positionals[0]),
    initialBackoffMs: optional('backoff-ms'),
    maxBackoffMs: optional('max-backoff-ms'),
    idleS: number('idle-s', 60),
    timeoutS: number('timeout-s', 1800),
    perUser: number('per-user', 20),
    workflowThreads: number('workflow-threads', 0),
    maxCachedWorkflows: number('max-cached-workflows', 0),
    workflowTaskSlots: number('workflow-task-slots', 0),
    temporal,
    temporalArgs: values['temporal-arg'],
    heapProfile: values['heap-profile'],
    workerNodeOptions: values['worker-node-option'],
    workerEnv,
  };
}
