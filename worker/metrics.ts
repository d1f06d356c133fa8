// The worker's telemetry: one Temporal Runtime per process, with a Prometheus endpoint
// (SDK runtime metrics such as temporal_workflow_task_execution_latency, plus the
// lifecycle metrics the workflow emits through `metricMeter`) and the SDK's logs — core
// (Rust) logs, workflow `log` and activity `log` — forwarded to pino as JSON.
//
// Call startWorkerTelemetry(config, logger) (or installWorkerTelemetry) once, before
// NativeConnection.connect.
//
// Who may read /metrics (docs/security.md, "Metrics"): the SDK's exporter has no
// authentication, so
// - with METRICS_TOKEN set, the exporter listens on a private loopback port and the
//   endpoint at WORKER_METRICS_HOST:PORT is a small proxy that needs
//   `Authorization: Bearer <METRICS_TOKEN>`;
// - without a token, a loopback WORKER_METRICS_HOST is served as is; any other host is
//   served as is outside production, and in production (NODE_ENV=production) replaced by
//   127.0.0.1, with a warning that says how to expose it (set METRICS_TOKEN).
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { Runtime, type RuntimeOptions } from '@temporalio/worker';
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import type { Config } from '../server/config';
import type { Logger } from '../server/logger';

/** Series the workflow emits (names as scraped; counters get `_total` from the exporter). */
export const LIFECYCLE_METRICS = {
  transitions: 'fsa_lifecycle_transitions_total',
  stateSeconds: 'fsa_lifecycle_state_seconds',
  errors: 'fsa_lifecycle_errors_total',
} as const;

/**
 * Buckets of fsa_lifecycle_state_seconds: a project stays seconds in STARTING but days in
 * RUNNING or STOPPED. (The core's default buckets are for milliseconds.)
 */
export const LIFECYCLE_STATE_BUCKETS_SECONDS = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600];

export type WorkerTelemetryConfig = Pick<Config, 'WORKER_METRICS_PORT' | 'WORKER_METRICS_HOST' | 'LOG_LEVEL'>;
export type WorkerMetricsConfig = Pick<Config, 'WORKER_METRICS_PORT' | 'WORKER_METRICS_HOST' | 'METRICS_TOKEN' | 'NODE_ENV'>;

export function workerMetricsBindAddress(c: Pick<Config, 'WORKER_METRICS_PORT' | 'WORKER_METRICS_HOST'>): string {
  const host = c.WORKER_METRICS_HOST.includes(':') ? `[${c.WORKER_METRICS_HOST}]` : c.WORKER_METRICS_HOST;
  return `${host}:${c.WORKER_METRICS_PORT}`;
}

/** 127.0.0.0/8, ::1 (also as ::ffff:127.x) and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) return h === '::1' || /^(0:){7}1$/.test(h) || /^::ffff:127\./.test(h);
  return false;
}

export type WorkerMetricsPlan =
  /** The SDK's exporter at `bindAddress`, open to whoever reaches it. */
  | { kind: 'direct'; bindAddress: string; warning?: string }
  /** The exporter on loopback (port chosen at start); a token-checking proxy at `host:port`. */
  | { kind: 'token'; host: string; port: number; token: string };

/** Where the worker's /metrics is served, and whether it needs the token (see the header). */
export function workerMetricsPlan(c: WorkerMetricsConfig): WorkerMetricsPlan {
  if (c.METRICS_TOKEN) return { kind: 'token', host: c.WORKER_METRICS_HOST, port: c.WORKER_METRICS_PORT, token: c.METRICS_TOKEN };
  if (isLoopbackHost(c.WORKER_METRICS_HOST) || c.NODE_ENV !== 'production') return { kind: 'direct', bindAddress: workerMetricsBindAddress(c) };
  return {
    kind: 'direct',
    bindAddress: workerMetricsBindAddress({ ...c, WORKER_METRICS_HOST: '127.0.0.1' }),
    warning: `WORKER_METRICS_HOST=${c.WORKER_METRICS_HOST} without METRICS_TOKEN in production: /metrics is served on 127.0.0.1 only; set METRICS_TOKEN (16+ characters) to serve it on ${c.WORKER_METRICS_HOST} with Authorization: Bearer <token>`,
  };
}

const PINO_TO_TEMPORAL: Record<Config['LOG_LEVEL'], LogLevel> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: 'ERROR',
};

/**
 * Level filter for core (Rust) logs: the core is chatty at INFO (every poller start), so
 * it follows LOG_LEVEL only at debug and trace and stays at WARN otherwise.
 */
export function coreLogLevel(level: Config['LOG_LEVEL']): LogLevel {
  const mapped = PINO_TO_TEMPORAL[level];
  return mapped === 'TRACE' || mapped === 'DEBUG' || mapped === 'ERROR' ? mapped : 'WARN';
}

/** The SDK's Logger interface on top of pino. Meta (workflowId, runId, activityType, …) becomes fields. */
export function temporalLoggerFromPino(logger: Logger): TemporalLogger {
  const emit = (level: LogLevel, message: string, meta?: LogMetadata) => {
    const fields = meta ? { ...meta } : {};
    switch (level) {
      case 'TRACE':
        return logger.trace(fields, message);
      case 'DEBUG':
        return logger.debug(fields, message);
      case 'INFO':
        return logger.info(fields, message);
      case 'WARN':
        return logger.warn(fields, message);
      default:
        return logger.error(fields, message);
    }
  };
  return {
    log: emit,
    trace: (m, meta) => emit('TRACE', m, meta),
    debug: (m, meta) => emit('DEBUG', m, meta),
    info: (m, meta) => emit('INFO', m, meta),
    warn: (m, meta) => emit('WARN', m, meta),
    error: (m, meta) => emit('ERROR', m, meta),
  };
}

export function workerRuntimeOptions(c: WorkerTelemetryConfig, logger: Logger, bindAddress = workerMetricsBindAddress(c)): RuntimeOptions {
  return {
    logger: temporalLoggerFromPino(logger),
    telemetryOptions: {
      logging: { filter: { core: coreLogLevel(c.LOG_LEVEL), other: 'ERROR' }, forward: {} },
      metrics: {
        // SDK metrics keep their usual temporal_ prefix; see LIFECYCLE_METRICS for ours.
        prometheus: {
          bindAddress,
          countersTotalSuffix: true,
          useSecondsForDurations: true,
          histogramBucketOverrides: { [LIFECYCLE_METRICS.stateSeconds]: LIFECYCLE_STATE_BUCKETS_SECONDS },
        },
      },
    },
  };
}

/**
 * Installs the process-wide Temporal Runtime with the Prometheus exporter and log forwarding.
 * Must run once, before any NativeConnection is created (the SDK otherwise installs a default
 * Runtime without metrics). Returns the runtime; metrics are at http://<bind address>/metrics.
 */
export function installWorkerTelemetry(c: WorkerTelemetryConfig, logger: Logger, bindAddress = workerMetricsBindAddress(c)): Runtime {
  const runtime = Runtime.install(workerRuntimeOptions(c, logger, bindAddress));
  logger.info({ metrics: `http://${bindAddress}/metrics` }, 'worker telemetry installed');
  return runtime;
}

export interface WorkerTelemetry {
  runtime: Runtime;
  /** Where /metrics is served. */
  url: string;
  /** Stops the token proxy (the exporter stops with the Runtime). */
  close(): Promise<void>;
}

/**
 * installWorkerTelemetry with the access rule of workerMetricsPlan: what worker/index.ts
 * calls. Resolves once the endpoint listens.
 */
export async function startWorkerTelemetry(c: WorkerTelemetryConfig & WorkerMetricsConfig, logger: Logger): Promise<WorkerTelemetry> {
  const plan = workerMetricsPlan(c);
  if (plan.kind === 'direct') {
    if (plan.warning) logger.warn(plan.warning);
    const runtime = installWorkerTelemetry(c, logger, plan.bindAddress);
    return { runtime, url: `http://${plan.bindAddress}/metrics`, close: async () => undefined };
  }
  const internalPort = await freeLoopbackPort();
  const internal = `127.0.0.1:${internalPort}`;
  const runtime = installWorkerTelemetry(c, logger, internal);
  const server = metricsTokenProxy(`http://${internal}/metrics`, plan.token, logger);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(plan.port, plan.host, () => resolve());
  });
  const url = `http://${workerMetricsBindAddress({ WORKER_METRICS_HOST: plan.host, WORKER_METRICS_PORT: plan.port })}/metrics`;
  logger.info({ metrics: url }, 'worker /metrics needs Authorization: Bearer <METRICS_TOKEN>');
  return { runtime, url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** GET /metrics for `Authorization: Bearer <token>` only, answered from the exporter at `upstream`. */
export function metricsTokenProxy(upstream: string, token: string, logger: Logger): http.Server {
  const expected = Buffer.from(`Bearer ${token}`);
  return http.createServer((req, res) => {
    const send = (status: number, code: string, message: string) => {
      res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify({ error: { code, message } }));
    };
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) return send(404, 'not_found', 'only GET /metrics is served here');
    const got = Buffer.from(req.headers.authorization ?? '');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      return send(401, 'unauthorized', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>');
    }
    fetch(upstream, { signal: AbortSignal.timeout(10_000) }).then(
      async (r) => {
        res.writeHead(r.status, { 'Content-Type': r.headers.get('content-type') ?? 'text/plain; version=0.0.4', 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : Buffer.from(await r.arrayBuffer()));
      },
      (err: Error) => {
        logger.warn({ err: err.message }, 'worker metrics exporter did not answer');
        send(503, 'unavailable', 'the metrics exporter did not answer; try again');
      },
    );
  });
}
