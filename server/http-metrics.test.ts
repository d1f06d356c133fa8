// The web's metrics: an Express app with the middleware serves requests, then /metrics
// has the latency histogram labelled by route pattern (never by raw ids), plus the default
// process metrics. Also the request log: ids in and out, one JSON line per request.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import express from 'express';
import { createWebMetricsRegistry, httpMetricsMiddleware, metricsHandler, normalizePath } from './http-metrics';
import { createLogger } from './logger';
import { REQUEST_ID_HEADER, requestLogMiddleware, requestLogger } from './request-log';

const METRICS_TOKEN = 'metrics-token-0123456789';
const logLines: string[] = [];
let server: Server;
let base = '';

beforeAll(async () => {
  const logger = createLogger('web', 'debug', new Writable({ write: (c, _e, cb) => (logLines.push(String(c)), cb()) }));
  const registry = createWebMetricsRegistry();
  const app = express();
  app.use(httpMetricsMiddleware(registry));
  app.use(requestLogMiddleware(logger));
  app.get('/metrics', metricsHandler(registry));
  app.get('/secured-metrics', metricsHandler(registry, { token: METRICS_TOKEN }));
  app.get('/api/projects/:id', (req, res) => {
    requestLogger(res, logger).info({ projectId: req.params.id }, 'project read');
    res.json({ id: req.params.id });
  });
  const projects = express.Router({ mergeParams: true });
  projects.post('/:action', (_req, res) => void res.status(202).json({}));
  app.use('/api/projects/:id/lifecycle', projects);
  app.get('/boom', () => {
    throw new Error('boom');
  });
  // A catch-all like Remix's request handler.
  app.all('*', (req, res) => void res.status(req.path.startsWith('/projects') ? 200 : 404).send('page'));
  await new Promise<void>((resolve) => {
    server = app.listen(0, '127.0.0.1', () => resolve());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  for (const id of ['ckabc123def456ghi789jkl0', 'ckzzz999yyy888xxx777www6', '42']) await fetch(`${base}/api/projects/${id}`);
  await fetch(`${base}/api/projects/ckabc123def456ghi789jkl0/lifecycle/start`, { method: 'POST' });
  await fetch(`${base}/boom`);
  await fetch(`${base}/projects/ckabc123def456ghi789jkl0/terminal`);
  await fetch(`${base}/wp-login.php?x=1`);
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** The value of the one sample of `name` whose labels include `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const hits = text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .filter((l) => Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  if (hits.length > 1) throw new Error(`several samples of ${name} match ${JSON.stringify(labels)}:\n${hits.join('\n')}`);
  return hits[0] === undefined ? undefined : Number(hits[0].split(' ').pop());
}

async function scrape(): Promise<string> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

describe('httpMetricsMiddleware + metricsHandler', () => {
  it('exposes the latency histogram with route patterns as labels', async () => {
    const text = await scrape();
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    const count = 'http_request_duration_seconds_count';
    expect(sample(text, count, { method: 'GET', route: '/api/projects/:id', status_code: '200', service: 'web' })).toBe(3);
    expect(sample(text, count, { method: 'POST', route: '/api/projects/:id/lifecycle/:action', status_code: '202' })).toBe(1);
    expect(sample(text, count, { method: 'GET', route: '/boom', status_code: '500' })).toBe(1);
    expect(sample(text, count, { method: 'GET', route: '/projects/:id/terminal', status_code: '200' })).toBe(1);
    expect(sample(text, count, { method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
    expect(sample(text, 'http_request_duration_seconds_bucket', { le: '+Inf', route: '/api/projects/:id' })).toBe(3);
  });

  it('never labels a series with a raw id', async () => {
    const text = await scrape();
    const routes = [...text.matchAll(/route="([^"]*)"/g)].map((m) => m[1]);
    expect(routes.length).toBeGreaterThan(0);
    for (const id of ['ckabc123def456ghi789jkl0', 'ckzzz999yyy888xxx777www6', '42', 'wp-login']) {
      expect(routes.filter((r) => r!.includes(id))).toEqual([]);
    }
  });

  it('includes the default process metrics', async () => {
    const text = await scrape();
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    expect(text).toContain('# TYPE http_requests_in_flight gauge');
  });

  it('asks for the token when METRICS_TOKEN is set', async () => {
    expect((await fetch(`${base}/secured-metrics`)).status).toBe(401);
    expect((await fetch(`${base}/secured-metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await fetch(`${base}/secured-metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('http_request_duration_seconds');
  });
});

describe('normalizePath', () => {
  it.each([
    ['/api/projects/ckabc123def456ghi789jkl0/start', '/api/projects/:id/start'],
    ['/api/tokens/123', '/api/tokens/:id'],
    ['/api/x/5f1c3b2a-9d8e-4f7a-b6c5-d4e3f2a1b0c9', '/api/x/:id'],
    ['/sandbox/my-app-agentruntime-abcdef/logs', '/sandbox/:id/logs'],
    ['/', '/'],
    ['/a/b/c/d/e/f/g/h', '/a/b/c/d/e/f/…'],
  ])('%s → %s', (input, expected) => {
    expect(normalizePath(input)).toBe(expected);
  });
});

describe('requestLogMiddleware', () => {
  const parsed = () => logLines.map((l) => JSON.parse(l) as Record<string, unknown>);

  it('echoes a caller X-Request-Id and logs with it', async () => {
    const res = await fetch(`${base}/api/projects/p-1`, { headers: { [REQUEST_ID_HEADER]: 'trace-abc-123' } });
    expect(res.headers.get(REQUEST_ID_HEADER)).toBe('trace-abc-123');
    const mine = parsed().filter((l) => l.requestId === 'trace-abc-123');
    expect(mine.map((l) => l.msg)).toEqual(['project read', 'request']);
    expect(mine[1]).toMatchObject({ method: 'GET', path: '/api/projects/p-1', route: '/api/projects/:id', status: 200, level: 'info' });
  });

  it('generates an id when none or a malformed one is sent', async () => {
    const plain = await fetch(`${base}/api/projects/p-2`);
    expect(plain.headers.get(REQUEST_ID_HEADER)).toMatch(/^[0-9a-f-]{36}$/);
    const bad = await fetch(`${base}/api/projects/p-3`, { headers: { [REQUEST_ID_HEADER]: 'a b"c<script>' } });
    expect(bad.headers.get(REQUEST_ID_HEADER)).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('logs server errors at error level and keeps query strings out', async () => {
    await fetch(`${base}/boom?token=abc-secret-query-token`);
    const line = parsed().find((l) => l.msg === 'request' && l.path === '/boom' && l.level === 'error');
    expect(line).toMatchObject({ status: 500, route: '/boom' });
    expect(logLines.join('')).not.toContain('abc-secret-query-token');
  });
});
