import { parseLifecycleBenchArgs } from './lifecycle-args';

describe('bench-lifecycle flags', () => {
  it('has the documented defaults', () => {
    expect(parseLifecycleBenchArgs([])).toEqual({
      n: 20,
      initialBackoffMs: undefined,
      maxBackoffMs: undefined,
      idleS: 60,
      timeoutS: 1800,
      perUser: 20,
      workflowThreads: 0,
      maxCachedWorkflows: 0,
      workflowTaskSlots: 0,
      temporal: 'sqlite',
      temporalArgs: [],
      heapProfile: undefined,
      workerNodeOptions: [],
      workerEnv: {},
    });
  });

  it('reads N, numbers, repeated flags and dash-led values given with =', () => {
    const a = parseLifecycleBenchArgs([
      '1000',
      '--idle-s',
      '0',
      '--max-cached-workflows=50',
      '--temporal-arg=--dynamic-config-value=history.cacheMaxSize=4096',
      '--worker-node-option=--max-old-space-size=384',
      '--worker-env',
      'LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
      '--worker-env',
      'MALLOC_CONF=background_thread:true,dirty_decay_ms=1000',
      '--temporal',
      'memory',
    ]);
    expect(a).toMatchObject({
      n: 1000,
      idleS: 0,
      maxCachedWorkflows: 50,
      temporalArgs: ['--dynamic-config-value=history.cacheMaxSize=4096'],
      workerNodeOptions: ['--max-old-space-size=384'],
      temporal: 'memory',
      workerEnv: { LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', MALLOC_CONF: 'background_thread:true,dirty_decay_ms=1000' },
    });
  });

  it('refuses what it would otherwise ignore or misread', () => {
    expect(() => parseLifecycleBenchArgs(['--idle', '30'])).toThrow(/idle/);
    expect(() => parseLifecycleBenchArgs(['--idle-s', 'soon'])).toThrow(/--idle-s wants a whole number/);
    expect(() => parseLifecycleBenchArgs(['-5'])).toThrow();
    expect(() => parseLifecycleBenchArgs(['200', '300'])).toThrow(/one positional/);
    expect(() => parseLifecycleBenchArgs(['--worker-env', 'LD_PRELOAD'])).toThrow(/NAME=VALUE/);
    expect(() => parseLifecycleBenchArgs(['--worker-node-option', '--max-old-space-size=384'])).toThrow(/--worker-node-option=/);
    expect(() => parseLifecycleBenchArgs(['--temporal', 'cassandra'])).toThrow(/--temporal wants one of sqlite, memory, postgres/);
    expect(() => parseLifecycleBenchArgs(['--temporal', 'postgres', '--temporal-arg=--headless'])).toThrow(/--temporal-arg is for the dev server/);
  });
});
