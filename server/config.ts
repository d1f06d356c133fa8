// The one module that reads and validates configuration. Every process (web, worker,
// scripts) calls loadConfig() once at start; an invalid value stops it with a message
// naming the variable and the fix.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { embeddedDatabaseUrl } from './embedded-db';
import { parseAllowList } from './egress';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''], 'must be true or false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const PORT_MSG = 'must be a TCP port number between 1 and 65535';
const port = z.coerce.number(PORT_MSG).int(PORT_MSG).min(1, PORT_MSG).max(65535, PORT_MSG);
const MS_MSG = 'must be a whole number of milliseconds greater than 0';
const positiveMs = z.coerce.number(MS_MSG).int(MS_MSG).positive(MS_MSG);
const url = (what: string) => z.url(`must be an absolute URL such as ${what}`);

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** Folder for embedded state: PostgreSQL data, Temporal SQLite, generated keys, cluster. */
  DATA_DIR: z.string().min(1).default(path.resolve(process.cwd(), '.data')),
  /** Folder for heavy builds (Temporal CLI, Kubernetes binaries); outside the repository. */
  CACHE_DIR: z.string().min(1).default(path.join(process.env.HOME ?? '/tmp', '.cache', 'fullstackagent')),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  PORT: port.default(3000),
  /** Public base URL of the web app (Auth.js callbacks); defaults to http://localhost:PORT. */
  PUBLIC_URL: url('https://agents.example.com').optional(),

  /** Absent: the embedded PostgreSQL on EMBEDDED_DB_PORT (started by scripts/platform.ts) is used. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgresql://')
    .optional(),
  EMBEDDED_DB_PORT: port.default(5433),

  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  /** Namespace of the lifecycles; on a remote cluster it must exist (temporal operator namespace create). */
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('project-lifecycle'),
  /** TLS to Temporal without client certificates; implied by any TEMPORAL_TLS_* or TEMPORAL_API_KEY. */
  TEMPORAL_TLS: bool.optional(),
  /** PEM files for mTLS to a remote Temporal; both or neither. */
  TEMPORAL_TLS_CERT: z.string().optional(),
  TEMPORAL_TLS_KEY: z.string().optional(),
  /** PEM file of the CA that signed the server's certificate (default: system roots). */
  TEMPORAL_TLS_CA: z.string().optional(),
  /** Name to verify the server certificate against when it differs from the address host. */
  TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
  /** API key (e.g. Temporal Cloud); sent as a bearer token over TLS. */
  TEMPORAL_API_KEY: z.string().optional(),
  /** An existing `temporal` CLI binary; otherwise it is built into CACHE_DIR. */
  TEMPORAL_CLI_PATH: z.string().optional(),
  TEMPORAL_UI_PORT: port.default(8233),

  /** base64 of 32 bytes (AES-256-GCM); generated into DATA_DIR when absent. */
  ENCRYPTION_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be base64 of exactly 32 bytes (openssl rand -base64 32)')
    .optional(),
  /** Auth.js secret; generated into DATA_DIR when absent. */
  AUTH_SECRET: z.string().min(32, 'must be at least 32 characters (openssl rand -base64 33)').optional(),
  AUTH_GITHUB_ID: z.string().optional(),
  AUTH_GITHUB_SECRET: z.string().optional(),
  SEALOS_JWT_SECRET: z.string().optional(),
  AIPROXY_ENDPOINT: url('https://aiproxy.example.com').optional(),

  /** Admin kubeconfig of the cluster that gets a namespace per user (embedded default). */
  CLUSTER_ADMIN_KUBECONFIG: z.string().optional(),
  /** Domain under which sandbox Ingress hostnames are made. */
  CLUSTER_DOMAIN: z
    .string()
    .regex(/^(?=.{1,240}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a lower-case DNS name such as sandbox.example.com (no scheme, port or trailing dot)')
    .default('sandbox.localhost'),
  /** Start the local Kubernetes control plane with the platform. */
  EMBEDDED_CLUSTER: bool.default(true),
  /**
   * What runs the embedded cluster's pods: `real` (containerd + kubelet on this machine; the
   * terminal, the database and the app URL work; needs root) or `simulated` (kwok: pods are
   * marked Running without running; for machines without root and for scale benchmarks).
   */
  EMBEDDED_CLUSTER_NODE: z.enum(['real', 'simulated']).default('real'),
  /** Loopback port of the embedded real node's ingress controller (sandbox public URLs). */
  EMBEDDED_INGRESS_PORT: port.default(3080),
  /**
   * Public sandbox URLs are `<scheme>://<label>.<CLUSTER_DOMAIN>[:<port>]`. The platform sets
   * http and EMBEDDED_INGRESS_PORT for the embedded real node; production ingress is https on 443.
   */
  SANDBOX_URL_SCHEME: z.enum(['http', 'https']).default('https'),
  SANDBOX_URL_PORT: port.optional(),

  /**
   * User clusters on loopback, link-local or private addresses are refused unless listed here:
   * comma-separated `host`, `host:port`, `CIDR` or `CIDR:port`... entries (e.g.
   * `10.0.0.0/8,kube.internal:6443`). The admin cluster's server (CLUSTER_ADMIN_KUBECONFIG,
   * the embedded cluster included) is always allowed.
   */
  KUBE_EGRESS_ALLOW: z
    .string()
    .superRefine((v, ctx) => {
      try {
        parseAllowList(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    })
    .optional(),

  /** Who may register by signing in with an unknown username: open, closed, or allowlist. */
  REGISTRATION: z.enum(['open', 'closed', 'allowlist'], 'must be open, closed or allowlist').default('open'),
  /** With REGISTRATION=allowlist: comma-separated usernames or e-mail patterns (`*@example.com`). */
  REGISTRATION_ALLOWLIST: z.string().optional(),
  /** Projects one user may have (not counting deleted ones). */
  MAX_PROJECTS_PER_USER: z.coerce.number('must be a whole number').int('must be a whole number').min(1, 'must be at least 1').default(20),
  /** Failed password sign-ins allowed per account, and per client address, in SIGNIN_WINDOW_S. */
  SIGNIN_ACCOUNT_LIMIT: z.coerce.number('must be a whole number').int('must be a whole number').min(1, 'must be at least 1').default(10),
  SIGNIN_ADDRESS_LIMIT: z.coerce.number('must be a whole number').int('must be a whole number').min(1, 'must be at least 1').default(20),
  SIGNIN_WINDOW_S: z.coerce.number('must be a whole number of seconds').int('must be a whole number of seconds').min(1, 'must be at least 1').default(900),
  /** Writes (API calls that change state, page form posts, terminal wakes) per user in WRITE_RATE_WINDOW_S. */
  WRITE_RATE_LIMIT: z.coerce.number('must be a whole number').int('must be a whole number').min(1, 'must be at least 1').default(120),
  WRITE_RATE_WINDOW_S: z.coerce.number('must be a whole number of seconds').int('must be a whole number of seconds').min(1, 'must be at least 1').default(60),
  /** Project creations per user in PROJECT_CREATE_WINDOW_S (each costs Kubernetes objects and a lifecycle). */
  PROJECT_CREATE_LIMIT: z.coerce.number('must be a whole number').int('must be a whole number').min(1, 'must be at least 1').default(60),
  PROJECT_CREATE_WINDOW_S: z.coerce.number('must be a whole number of seconds').int('must be a whole number of seconds').min(1, 'must be at least 1').default(3600),
  /** Sealos sign-in JWTs must carry this `iss` / `aud` when set. */
  SEALOS_JWT_ISSUER: z.string().optional(),
  SEALOS_JWT_AUDIENCE: z.string().optional(),
  /** Open SSE streams plus terminal WebSockets one user may hold at once. */
  MAX_STREAMS_PER_USER: z.coerce.number('must be a whole number').int('must be a whole number').min(1, 'must be at least 1').default(20),

  SANDBOX_DEADLINE_MS: positiveMs.default(10 * 60_000),
  DATABASE_DEADLINE_MS: positiveMs.default(15 * 60_000),

  /**
   * Idle auto-stop of a project without its own setting: minutes without terminal input or
   * output before it stops (5 to 1440), or 0 for off.
   */
  IDLE_TIMEOUT_MINUTES: z.coerce
    .number('must be a whole number of minutes')
    .int('must be a whole number of minutes')
    .refine((v) => v === 0 || (v >= 5 && v <= 1440), 'must be 0 (off) or between 5 and 1440 minutes')
    .default(30),
  /** How long before an idle stop the warning shows (default 5 minutes). */
  IDLE_WARNING_MS: positiveMs.default(5 * 60_000),
  /** The web reports terminal activity to a project's lifecycle at most this often (default one minute). */
  IDLE_REPORT_INTERVAL_MS: positiveMs.default(60_000),
  /** Longest `POST /api/projects/:id/start?wait=RUNNING&timeout=S` may wait, in seconds. */
  START_WAIT_MAX_S: z.coerce.number('must be a whole number of seconds').int('must be a whole number of seconds').min(1, 'must be at least 1').default(900),

  /**
   * Retention: a project stopped this many days gets a notice (page and API) and is deleted
   * RETENTION_GRACE_DAYS after it unless it is started or kept. 0 (the default) is off.
   */
  RETENTION_STOPPED_DAYS: z.coerce.number('must be a whole number of days').int('must be a whole number of days').min(0, 'must be 0 (off) or more days').default(0),
  /** Days between the retention notice and the deletion (default 7). */
  RETENTION_GRACE_DAYS: z.coerce.number('must be a whole number of days').int('must be a whole number of days').min(1, 'must be at least 1 day').default(7),
  /** How often the retention sweeper runs (default one hour). */
  RETENTION_SWEEP_INTERVAL_MS: positiveMs.refine((v) => v >= 1_000, 'must be at least 1000 (one second)').default(60 * 60_000),

  /**
   * Activity slots of a worker (the SDK's default is 100). Every settled project holds one
   * for its drift watch (an idle socket and a heartbeat a minute, decision 8), so this bounds
   * the projects a worker watches; the writes and readiness watches use the rest.
   */
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number('must be a whole number').int('must be a whole number').min(10, 'must be at least 10').default(5_000),
  /** Workflows kept in the worker's sticky cache; absent: DEFAULT_MAX_CACHED_WORKFLOWS in worker/create-worker.ts (README "Worker sizing"). */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number('must be a whole number').int('must be a whole number').min(0, 'must be 0 or more').optional(),
  /** Workflow task slots of a worker (default 40, the SDK's; README.md, "Worker sizing"). */
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number('must be a whole number').int('must be a whole number').min(2, 'must be at least 2').default(40),
  /** Prometheus endpoint of the worker (SDK + lifecycle metrics) at http://HOST:PORT/metrics. */
  WORKER_METRICS_PORT: port.default(9464),
  WORKER_METRICS_HOST: z.string().min(1).default('0.0.0.0'),
  /** When set, the web's GET /metrics requires `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters (openssl rand -hex 16)').optional(),
  /** How long web and worker wait for in-flight work on SIGTERM before exiting. */
  SHUTDOWN_TIMEOUT_MS: positiveMs.default(30_000),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Variables whose values never appear in error messages or logs. */
export const SECRET_VARIABLES = new Set([
  'DATABASE_URL',
  'ENCRYPTION_KEY',
  'AUTH_SECRET',
  'AUTH_GITHUB_SECRET',
  'SEALOS_JWT_SECRET',
  'TEMPORAL_API_KEY',
  'METRICS_TOKEN',
]);

const TLS_FILES = ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CA'] as const;

function crossChecks(c: Config): string[] {
  const problems: string[] = [];
  if (!!c.TEMPORAL_TLS_CERT !== !!c.TEMPORAL_TLS_KEY) {
    problems.push('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: set both for mTLS, or neither');
  }
  for (const name of TLS_FILES) {
    const file = c[name];
    if (file && !fs.existsSync(file)) problems.push(`${name}: file ${file} does not exist (a PEM file path is expected, not the PEM text)`);
  }
  if (c.TEMPORAL_TLS === false && (c.TEMPORAL_TLS_CERT || c.TEMPORAL_TLS_CA || c.TEMPORAL_API_KEY)) {
    problems.push('TEMPORAL_TLS: is false but TEMPORAL_TLS_CERT, TEMPORAL_TLS_CA or TEMPORAL_API_KEY needs TLS; remove one of them');
  }
  if (!!c.AUTH_GITHUB_ID !== !!c.AUTH_GITHUB_SECRET) {
    problems.push('AUTH_GITHUB_ID and AUTH_GITHUB_SECRET: set both to enable GitHub sign-in, or neither');
  }
  return problems;
}

/** Parses the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset", as in most .env files.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  // The default cache follows the HOME of the environment being parsed, not of this process.
  if (!cleaned.CACHE_DIR && cleaned.HOME) cleaned.CACHE_DIR = path.join(cleaned.HOME, '.cache', 'fullstackagent');
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const name = String(i.path[0] ?? '(root)');
        // Secret values are never echoed: the message goes to logs and terminals.
        const got = SECRET_VARIABLES.has(name) ? 'a value that is hidden because it is secret' : JSON.stringify(cleaned[name] ?? null);
        return `${i.path.join('.') || '(root)'}: ${i.message} (got ${got})`;
      }),
    );
  }
  const problems = crossChecks(parsed.data);
  if (problems.length) throw new ConfigError(problems);
  return parsed.data;
}

export function publicUrl(c: Config): string {
  return c.PUBLIC_URL ?? `http://localhost:${c.PORT}`;
}

export function databaseUrl(c: Config): string {
  if (c.DATABASE_URL) return c.DATABASE_URL;
  const embedded = embeddedDatabaseUrl(c.DATA_DIR, c.EMBEDDED_DB_PORT);
  if (!embedded) {
    throw new ConfigError([`DATABASE_URL: not set, and no embedded PostgreSQL was initialized in ${c.DATA_DIR}; start the platform with ./scripts/start.sh, or set DATABASE_URL`]);
  }
  return embedded;
}
