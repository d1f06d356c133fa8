// The worker's telemetry: one Temporal Runtime per process, with a Prometheus endpoint
// (SDK runtime metrics such as temporal_workflow_task_execution_latency, plus the
// lifecycle metrics the workflow emits through `metricMeter`) and the SDK's logs — core
// (Rust) logs, workflow `log` and activity `log` — forwarded to pino as JSON.
//
// Call installWorkerTelemetry(config, logger) once, before NativeConnection.connect.
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

export function workerMetricsBindAddress(c: Pick<Config, 'WORKER_METRICS_PORT' | 'WORKER_METRICS_HOST'>): string {
  const host = c.WORKER_METRICS_HOST.includes(':') ? `[${c.WORKER_METRICS_HOST}]` : c.WORKER_METRICS_HOST;
  return `${host}:${c.WORKER_METRICS_PORT}`;
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

export function workerRuntimeOptions(c: WorkerTelemetryConfig, logger: Logger): RuntimeOptions {
  return {
    logger: temporalLoggerFromPino(logger),
    telemetryOptions: {
      logging: { filter: { core: coreLogLevel(c.LOG_LEVEL), other: 'ERROR' }, forward: {} },
      metrics: {
        // SDK metrics keep their usual temporal_ prefix; see LIFECYCLE_METRICS for ours.
        prometheus: {
          bindAddress: workerMetricsBindAddress(c),
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
export function installWorkerTelemetry(c: WorkerTelemetryConfig, logger: Logger): Runtime {
  const runtime = Runtime.install(workerRuntimeOptions(c, logger));
  logger.info({ metrics: `http://${workerMetricsBindAddress(c)}/metrics` }, 'worker telemetry installed');
  return runtime;
}
