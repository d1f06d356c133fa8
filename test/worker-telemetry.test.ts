// The worker's telemetry end to end: a real worker process with installWorkerTelemetry
// runs a projectLifecycle (fake Kubernetes) through ERROR, RUNNING and STOPPED; its
// Prometheus endpoint then shows the SDK runtime series and fsa_lifecycle_*, and the
// SDK's logs come out as redacted JSON.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../scripts/services/process';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

let stdout = '';
let metrics = '';

beforeAll(async () => {
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS!,
    TEMPORAL_NAMESPACE: 'default',
    WORKER_METRICS_PORT: String(await freePort()),
    WORKER_METRICS_HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
  };
  const run = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(here, 'fixtures/telemetry-worker.ts')], {
    cwd: root,
    env,
    timeout: 90_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  stdout = run.stdout;
  const m = /-----BEGIN METRICS-----\n([\s\S]*)\n-----END METRICS-----/.exec(stdout);
  if (!m) throw new Error(`the worker printed no metrics:\n${stdout}\n${run.stderr}`);
  metrics = m[1]!;
});

const series = (name: string) => metrics.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));

describe('worker Prometheus endpoint', () => {
  it('exposes the SDK runtime metrics', () => {
    expect(metrics).toContain('# TYPE temporal_activity_execution_latency histogram');
    expect(metrics).toContain('# TYPE temporal_workflow_task_execution_latency histogram');
  });

  it('counts lifecycle transitions by from and to', () => {
    expect(metrics).toContain('# TYPE fsa_lifecycle_transitions_total counter');
    const lines = series('fsa_lifecycle_transitions_total');
    expect(lines.find((l) => l.includes('from="CREATING"') && l.includes('to="ERROR"'))).toMatch(/ 1$/);
    expect(lines.find((l) => l.includes('from="ERROR"'))).toMatch(/ 1$/);
    expect(lines.find((l) => l.includes('to="RUNNING"'))).toBeDefined();
    expect(lines.find((l) => l.includes('from="STOPPING"') && l.includes('to="STOPPED"'))).toMatch(/ 1$/);
  });

  it('records the time spent in each state in seconds', () => {
    expect(metrics).toContain('# TYPE fsa_lifecycle_state_seconds histogram');
    const counts = series('fsa_lifecycle_state_seconds_count');
    const states = counts.map((l) => /state="([A-Z]+)"/.exec(l)?.[1]);
    for (const s of ['CREATING', 'ERROR', 'RUNNING', 'STOPPING']) expect(states).toContain(s);
    // The custom buckets (seconds up to a week), not the core's millisecond defaults.
    expect(metrics).toMatch(/fsa_lifecycle_state_seconds_bucket\{[^}]*le="604800"\}/);
  });

  it('counts errors by reason', () => {
    expect(series('fsa_lifecycle_errors_total').find((l) => l.includes('reason="Forbidden"'))).toMatch(/ 1$/);
  });
});

describe('worker logs', () => {
  const lines = () =>
    stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('forwards workflow logs to pino as JSON with the workflow id', () => {
    const line = lines().find((l) => l.msg === 'lifecycle fault');
    expect(line).toMatchObject({ name: 'worker', sdkComponent: 'workflow', workflowType: 'projectLifecycle', reason: 'Forbidden' });
    expect(String(line?.workflowId)).toMatch(/^telemetry-/);
  });

  it('redacts secrets logged from a workflow', () => {
    expect(stdout).toContain('clusters is forbidden');
    expect(stdout).not.toContain('sekrit-bearer-token-123');
  });
});
