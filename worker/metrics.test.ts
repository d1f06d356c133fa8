// Who may read the worker's /metrics (docs/security.md, "Metrics"): the access plan for each
// configuration, and real worker processes (the SDK's Prometheus exporter, a real Temporal
// connection) with a token, and in production without one.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../scripts/services/process';
import { isLoopbackHost, workerMetricsPlan } from './metrics';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const TOKEN = 'worker-metrics-token-0123456789';

describe('workerMetricsPlan', () => {
  const base = { WORKER_METRICS_PORT: 9464, WORKER_METRICS_HOST: '0.0.0.0', METRICS_TOKEN: undefined, NODE_ENV: 'production' as const };

  it('production, no token, all interfaces: served on loopback only, with a warning naming the fix', () => {
    const plan = workerMetricsPlan(base);
    expect(plan).toEqual({ kind: 'direct', bindAddress: '127.0.0.1:9464', warning: expect.stringMatching(/set METRICS_TOKEN/) });
    expect(workerMetricsPlan({ ...base, WORKER_METRICS_HOST: '::' })).toMatchObject({ kind: 'direct', bindAddress: '127.0.0.1:9464' });
    expect(workerMetricsPlan({ ...base, WORKER_METRICS_HOST: '10.0.0.5' })).toMatchObject({ kind: 'direct', bindAddress: '127.0.0.1:9464' });
  });

  it('production, no token, loopback host: as configured', () => {
    expect(workerMetricsPlan({ ...base, WORKER_METRICS_HOST: '127.0.0.1' })).toEqual({ kind: 'direct', bindAddress: '127.0.0.1:9464' });
    expect(workerMetricsPlan({ ...base, WORKER_METRICS_HOST: '::1' })).toEqual({ kind: 'direct', bindAddress: '[::1]:9464' });
  });

  it('with a token: the token proxy on the configured host, in any environment', () => {
    expect(workerMetricsPlan({ ...base, METRICS_TOKEN: TOKEN })).toEqual({ kind: 'token', host: '0.0.0.0', port: 9464, token: TOKEN });
    expect(workerMetricsPlan({ ...base, NODE_ENV: 'development', METRICS_TOKEN: TOKEN })).toMatchObject({ kind: 'token' });
  });

  it('outside production without a token: as configured (development default)', () => {
    expect(workerMetricsPlan({ ...base, NODE_ENV: 'development' })).toEqual({ kind: 'direct', bindAddress: '0.0.0.0:9464' });
  });

  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['[::1]', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.1.2.3', false],
    ['worker.internal', false],
    ['::ffff:10.0.0.1', false],
  ])('isLoopbackHost(%s) = %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});

async function runWorker(env: Record<string, string>) {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(root, 'test/fixtures/worker-metrics-access.ts')], {
    cwd: root,
    env: { ...process.env, TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS!, TEMPORAL_NAMESPACE: 'default', LOG_LEVEL: 'info', METRICS_TOKEN: '', ...env },
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const m = /-----BEGIN RESULT-----\n([\s\S]*)\n-----END RESULT-----/.exec(stdout);
  if (!m) throw new Error(`no result:\n${stdout}\n${stderr}`);
  return { result: JSON.parse(m[1]!) as Record<string, any>, stdout };
}

describe('a real worker process', () => {
  it('with METRICS_TOKEN: /metrics on the configured host needs the bearer token', async () => {
    const port = await freePort();
    const { result, stdout } = await runWorker({ NODE_ENV: 'production', WORKER_METRICS_HOST: '0.0.0.0', WORKER_METRICS_PORT: String(port), METRICS_TOKEN: TOKEN });
    expect(result.url).toBe(`http://0.0.0.0:${port}/metrics`);
    expect(result.anonymous.status).toBe(401);
    expect(result.anonymous.body).toMatch(/Authorization: Bearer <METRICS_TOKEN>/);
    expect(result.anonymous.body).not.toContain('temporal_');
    expect(result.wrongToken.status).toBe(401);
    expect(result.withToken.status).toBe(200);
    expect(result.withToken.body).toContain('# TYPE');
    expect(result.otherPath.status).toBe(404);
    // Reachable from the network with the token (the proxy listens on all interfaces).
    if (result.external !== null) expect(result.external.status).toBe(200);
    expect(stdout).not.toContain(TOKEN);
  });

  it('in production without a token and WORKER_METRICS_HOST=0.0.0.0: loopback only', async () => {
    const port = await freePort();
    const { result, stdout } = await runWorker({ NODE_ENV: 'production', WORKER_METRICS_HOST: '0.0.0.0', WORKER_METRICS_PORT: String(port) });
    expect(result.url).toBe(`http://127.0.0.1:${port}/metrics`);
    expect(result.anonymous.status).toBe(200);
    expect(stdout).toMatch(/without METRICS_TOKEN in production: \/metrics is served on 127\.0\.0\.1 only/);
    // Not reachable on the machine's network address (when it has one); the log line shows the bound address.
    if (result.external !== null) expect(result.external).toEqual({ error: 'ECONNREFUSED' });
    expect(stdout).toContain(`"metrics":"http://127.0.0.1:${port}/metrics"`);
  });
});
