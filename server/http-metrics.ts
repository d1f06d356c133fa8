// Prometheus metrics of the web process: request latency by route (the matched route
// pattern, never the raw URL, so ids do not explode the series count) and the default
// Node process metrics. Mounting, in web/server:
//
//   const metrics = createWebMetricsRegistry();
//   app.use(httpMetricsMiddleware(metrics));                                  // first, before routes
//   app.get('/metrics', metricsHandler(metrics, { token: config.METRICS_TOKEN }));
import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export const HTTP_DURATION_METRIC = 'http_request_duration_seconds';
export const HTTP_IN_FLIGHT_METRIC = 'http_requests_in_flight';
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** A registry with the default process metrics (CPU, memory, event loop lag, GC, handles). */
export function createWebMetricsRegistry(defaultLabels: Record<string, string> = { service: 'web' }): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(defaultLabels);
  collectDefaultMetrics({ register: registry });
  return registry;
}

// Segments that identify one object rather than a kind of page: numbers, UUIDs, cuids,
// long hex strings, long random-looking tokens, and sandbox names (…-agentruntime-xxxxxx).
const ID_SEGMENT = [
  /^\d+$/,
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  /^c[a-z0-9]{20,}$/,
  /^[0-9a-f]{16,}$/i,
  /^(?=.*\d)[A-Za-z0-9_-]{20,}$/,
  /-agentruntime-[a-z0-9]{6}$/,
];
const MAX_SEGMENTS = 6;

/** `/api/projects/ckz1…/start` → `/api/projects/:id/start`. */
export function normalizePath(path: string): string {
  const segments = path.split('/').filter(Boolean);
  const kept = segments.slice(0, MAX_SEGMENTS).map((s) => (ID_SEGMENT.some((re) => re.test(s)) ? ':id' : s));
  if (segments.length > MAX_SEGMENTS) kept.push('…');
  return `/${kept.join('/')}`;
}

/**
 * The label for a request: the Express route pattern that handled it (with the router's
 * mount path, itself normalized since it may hold parameter values), or, for catch-all
 * handlers such as Remix's `*`, the normalized path. A 404 from no route or from a
 * catch-all is `unmatched` (scanners would otherwise create a series per probe).
 */
export function routeLabel(req: Pick<Request, 'route' | 'baseUrl' | 'path'>, statusCode?: number): string {
  const pattern = req.route?.path as unknown;
  const catchAll = pattern === undefined || pattern === '*' || pattern === '/*' || pattern instanceof RegExp;
  if (!catchAll) {
    const base = req.baseUrl ? normalizePath(req.baseUrl) : '';
    const joined = `${base === '/' ? '' : base}${Array.isArray(pattern) ? pattern.join('|') : String(pattern)}`;
    return joined === '' ? '/' : joined;
  }
  if (statusCode === 404) return 'unmatched';
  const full = `${req.baseUrl ?? ''}${req.path ?? ''}`;
  if (full.startsWith('/assets/') || full.startsWith('/build/')) return '/assets/*';
  return normalizePath(full);
}

function metric<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** Records every request's latency by method, route and status code. Mount before the routes. */
export function httpMetricsMiddleware(registry: Registry): RequestHandler {
  const duration = metric(
    registry,
    HTTP_DURATION_METRIC,
    () =>
      new Histogram({
        name: HTTP_DURATION_METRIC,
        help: 'HTTP request latency in seconds, by method, route pattern and status code.',
        labelNames: ['method', 'route', 'status_code'] as const,
        buckets: HTTP_DURATION_BUCKETS,
        registers: [registry],
      }),
  );
  const inFlight = metric(
    registry,
    HTTP_IN_FLIGHT_METRIC,
    () => new Gauge({ name: HTTP_IN_FLIGHT_METRIC, help: 'HTTP requests being served.', registers: [registry] }),
  );
  return (req: Request, res: Response, next: NextFunction) => {
    const end = duration.startTimer();
    inFlight.inc();
    let recorded = false;
    const record = () => {
      if (recorded) return;
      recorded = true;
      inFlight.dec();
      end({ method: req.method, route: routeLabel(req, res.statusCode), status_code: String(res.statusCode) });
    };
    res.once('finish', record);
    res.once('close', record);
    next();
  };
}

/** GET /metrics in the Prometheus text format; with `token`, only for `Authorization: Bearer <token>`. */
export function metricsHandler(registry: Registry, options: { token?: string } = {}): RequestHandler {
  const expected = options.token ? Buffer.from(`Bearer ${options.token}`) : undefined;
  return async (req: Request, res: Response, next: NextFunction) => {
    if (expected) {
      const got = Buffer.from(req.get('authorization') ?? '');
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        res.status(401).json({ error: { code: 'unauthorized', message: 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>' } });
        return;
      }
    }
    try {
      res.setHeader('Content-Type', registry.contentType);
      res.end(await registry.metrics());
    } catch (err) {
      next(err);
    }
  };
}
