// What the web's services need, built once per process (or per test) from injected deps.
import type { Client } from '@temporalio/client';
import type { LifecycleTimings } from '../../common/lifecycle';
import type { Config } from '../../server/config';
import { createCipher, type Cipher } from '../../server/crypto';
import type { Db } from '../../server/db';
import { egressPolicyFromConfig, type EgressPolicy } from '../../server/egress';
import type { Logger } from '../../server/logger';
import { encryptionKey } from '../../server/secrets';
import { databaseUrl } from '../../server/config';
import { createWriteLimits, type WriteLimits } from './services/write-limits.server';

export interface AppDeps {
  config: Config;
  db: Db;
  temporalClient: Client;
  logger: Logger;
}

export interface ServiceContext {
  config: Config;
  db: Db;
  temporal: Client;
  cipher: Cipher;
  logger: Logger;
  /** Task queue the lifecycle workflows run on (config, so tests can isolate workers). */
  taskQueue: string;
  /** Time budget for a status query before falling back to the projection rows. */
  queryTimeoutMs: number;
  /** Time budget of one lifecycle start (and of the describe that checks a failed one). */
  startTimeoutMs: number;
  /** Pause before retrying an unconfirmed lifecycle start (times the attempt number). */
  startRetryDelayMs: number;
  /** How long a start/stop/delete Update may wait for a worker before the signal is sent instead. */
  updateTimeoutMs: number;
  /** Time budget for reaching a user's Kubernetes API server when validating a kubeconfig. */
  kubeconfigTimeoutMs: number;
  /** Where users' clusters may be (checked when a kubeconfig is saved and at connect). */
  egress: EgressPolicy;
  /** Deadlines/backoff passed to new lifecycles (config deadlines; tests shorten backoff). */
  timings: Partial<LifecycleTimings>;
  /**
   * Length of one idle-timeout minute in milliseconds (60 000). Tests shorten it so that the
   * API's minute-based setting (5 to 1440) stops a project in seconds.
   */
  idleMinuteMs: number;
  /** Per-user limits on writes and project creations (closed with the app). */
  limits: WriteLimits;
}

export function createServiceContext(deps: AppDeps, overrides: Partial<ServiceContext> = {}): ServiceContext {
  return {
    config: deps.config,
    db: deps.db,
    temporal: deps.temporalClient,
    logger: deps.logger,
    cipher: createCipher(encryptionKey(deps.config)),
    taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
    queryTimeoutMs: 2_000,
    startTimeoutMs: 10_000,
    startRetryDelayMs: 250,
    kubeconfigTimeoutMs: 5_000,
    updateTimeoutMs: 3_000,
    egress: egressPolicyFromConfig(deps.config),
    timings: {
      sandboxDeadlineMs: deps.config.SANDBOX_DEADLINE_MS,
      databaseDeadlineMs: deps.config.DATABASE_DEADLINE_MS,
      idleWarningMs: deps.config.IDLE_WARNING_MS,
    },
    idleMinuteMs: 60_000,
    limits:
      overrides.limits ??
      createWriteLimits({
        databaseUrl: deps.config.DATABASE_URL ?? databaseUrl(deps.config),
        writeLimit: deps.config.WRITE_RATE_LIMIT,
        writeWindowS: deps.config.WRITE_RATE_WINDOW_S,
        createLimit: deps.config.PROJECT_CREATE_LIMIT,
        createWindowS: deps.config.PROJECT_CREATE_WINDOW_S,
      }),
    ...overrides,
  };
}
