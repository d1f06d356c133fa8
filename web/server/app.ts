// Builds the web's Express app from injected deps, so tests can run it on a random port
// against their own database and Temporal. The Remix UI is mounted by the caller
// (index.ts: Vite middleware in development, the built server in production).
import type { IncomingMessage } from 'node:http';
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import { databaseUrl } from '../../server/config';
import type { Logger } from '../../server/logger';
import { createWebMetricsRegistry, httpMetricsMiddleware, metricsHandler } from '../../server/http-metrics';
import { createAuth, type AuthKit } from './auth';
import { createServiceContext, type AppDeps, type ServiceContext } from './context';
import { createStatusHub, type StatusHub } from './events';
import { createApiRouter, sameOriginCheck } from './http/api';
import { pageBodyLimit } from './http/body-limit';
import { createStreamRegistry, type StreamRegistry } from './streams';
import { ApiError, errorHandler, sendError } from './http/errors';
import { createWebApi, type WebApi } from './web-api';
import { withTimeout } from './services/temporal-errors';
import { reportActivity, waitForRunning } from './services/timeline.server';
import { signalProject } from './services/projects.server';
import { createActivityReporter, type ActivityReporter } from './terminal/activity';
import { resolveTerminalTarget } from './terminal/resolve-target';
import type { TerminalTarget } from './terminal/proxy';
import type { Actor } from '../../common/lifecycle';

export interface CreateAppOptions {
  /** Overrides of the service context (timeouts, task queue). */
  context?: Partial<ServiceContext>;
  /** Use the 1-second polling fallback instead of LISTEN (tests of the fallback). */
  disableListen?: boolean;
  /** Middleware that runs before everything else (request logging, metrics). */
  before?: RequestHandler[];
  /** How often open SSE/terminal streams re-check their credential (default one minute). */
  streamRecheckMs?: number;
  /** How long opening the terminal of a stopped project waits for it to run (default 5 minutes). */
  wakeTimeoutMs?: number;
}

export interface WebApp {
  app: Express;
  ctx: ServiceContext;
  auth: AuthKit;
  hub: StatusHub;
  webApi: WebApi;
  /** Open SSE streams and terminals per user (cap, credential re-check); shared with the terminal proxy. */
  streams: StreamRegistry;
  /** Session cookie or bearer token → user; for the terminal WebSocket proxy. */
  authenticate(req: IncomingMessage): Promise<{ userId: string } | null>;
  /** Terminal activity, batched into `activity` signals (at most one per project per IDLE_REPORT_INTERVAL_MS). */
  activity: ActivityReporter;
  /** Wake on access for the terminal proxy: starts a stopped project and resolves its terminal once it runs. */
  wakeTerminal(user: { userId: string; actor?: unknown }, projectId: string): Promise<TerminalTarget>;
  /** Mounts a request handler for the pages (Remix) after the API. */
  mountUi(mount: (app: Express) => void): void;
  close(): Promise<void>;
}

export function createApp(deps: AppDeps, opts: CreateAppOptions = {}): WebApp {
  const ctx = createServiceContext(deps, opts.context);
  const auth = createAuth(ctx);
  const hub = createStatusHub({
    databaseUrl: deps.config.DATABASE_URL ?? databaseUrl(deps.config),
    logger: ctx.logger,
    disableListen: opts.disableListen,
    async readUpdatedAt(ids) {
      const rows = await ctx.db.project.findMany({ where: { id: { in: ids } }, select: { id: true, updatedAt: true } });
      return new Map(rows.map((r) => [r.id, r.updatedAt.getTime()]));
    },
  });
  const webApi = createWebApi(ctx, auth);
  const streams = createStreamRegistry({
    authenticate: auth.authenticate,
    maxPerUser: deps.config.MAX_STREAMS_PER_USER,
    recheckMs: opts.streamRecheckMs,
    logger: ctx.logger,
  });
  const publicHost = deps.config.PUBLIC_URL ? new URL(deps.config.PUBLIC_URL).host : undefined;
  const activity = createActivityReporter({
    intervalMs: deps.config.IDLE_REPORT_INTERVAL_MS,
    logger: ctx.logger,
    report: (projectId, at) => reportActivity(ctx, projectId, at),
  });
  const wakeTerminal = async (user: { userId: string; actor?: unknown }, projectId: string): Promise<TerminalTarget> => {
    const actor = (user.actor as Actor | undefined) ?? { kind: 'operator' };
    await ctx.limits.take(user.userId, 'write');
    await signalProject(ctx, user.userId, projectId, 'start', actor);
    const { reached, view } = await waitForRunning(ctx, hub, user.userId, projectId, opts.wakeTimeoutMs ?? 5 * 60_000);
    if (!reached) return { kind: 'not_running', status: view.status };
    // RUNNING in the workflow; the projection row the target is read from follows it.
    for (let i = 0; i < 20; i++) {
      const target = await resolveTerminalTarget(ctx.db, ctx.cipher, user.userId, projectId);
      if (target.kind !== 'not_running') return target;
      await new Promise((r) => setTimeout(r, 250));
    }
    return resolveTerminalTarget(ctx.db, ctx.cipher, user.userId, projectId);
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  // Request latency by route for Prometheus; first, so it times everything after it.
  const metrics = createWebMetricsRegistry();
  app.use(httpMetricsMiddleware(metrics));
  for (const m of opts.before ?? []) app.use(m);
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader('X-Frame-Options', 'DENY');
    next();
  });

  // In production /metrics needs METRICS_TOKEN: without one it is not served at all (404),
  // since the web's port is the public one. Elsewhere it is open unless a token is set.
  if (deps.config.METRICS_TOKEN || deps.config.NODE_ENV !== 'production') {
    app.get('/metrics', metricsHandler(metrics, { token: deps.config.METRICS_TOKEN }));
  } else {
    ctx.logger.info('GET /metrics is off: NODE_ENV=production and no METRICS_TOKEN is set');
    app.get('/metrics', (_req, res) => sendError(res, new ApiError('not_found', 'no route GET /metrics')));
  }
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    void readiness(deps, ctx.logger).then((checks) => {
      const ok = checks.database === 'ok' && checks.temporal === 'ok';
      res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready', checks });
    });
  });

  app.use('/auth/*', auth.handler);
  app.use('/api', createApiRouter(ctx, auth, hub, streams));

  let uiMounted = false;
  const webApp: WebApp = {
    app,
    ctx,
    auth,
    hub,
    webApi,
    streams,
    activity,
    wakeTerminal,
    authenticate: auth.authenticate,
    mountUi(mount) {
      if (uiMounted) throw new Error('UI already mounted');
      uiMounted = true;
      // Pages: who is signed in, and CSRF (same-origin) for form posts with a session.
      // Form actions: Remix reads bodies without a limit, so the size is checked first.
      app.use(pageBodyLimit());
      app.use((req: Request, res: Response, next) => {
        auth.authenticate(req).then((user) => {
          res.locals.user = user;
          const denied = sameOriginCheck(req, user?.via ?? (req.method === 'POST' ? 'session' : undefined), publicHost);
          if (denied) return res.status(403).type('text/plain').send(denied.message);
          // A signed-in user's form post counts against their write limit (as an API write does).
          if (!user || req.method !== 'POST') return next();
          ctx.limits.take(user.userId, 'write').then(
            () => next(),
            (err: unknown) => (err instanceof ApiError && err.status === 429 ? sendPageThrottled(res, err) : next(err)),
          );
        }, next);
      });
      mount(app);
      app.use(errorHandler(ctx.logger));
    },
    async close() {
      await activity.close();
      streams.close();
      await hub.close();
      await auth.close();
      await ctx.limits.close();
    },
  };
  if (!uiMounted) {
    // Without a UI (API-only tests), unknown paths still answer in the contract's shape.
    app.use((req, res, next) => (uiMounted ? next() : sendError(res, new ApiError('not_found', `no route ${req.method} ${req.path}`))));
  }
  return webApp;
}

/** A throttled form post: 429 with Retry-After; JSON for Remix data requests, plain text otherwise. */
function sendPageThrottled(res: Response, err: ApiError): void {
  res.setHeader('Cache-Control', 'no-store');
  if (res.req.query._data !== undefined) {
    sendError(res, err);
    return;
  }
  const retryAfter = (err.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
  if (retryAfter) res.setHeader('Retry-After', String(retryAfter));
  res.status(429).type('text/plain').send(`${err.message}.`);
}

type Check = 'ok' | 'down';

/**
 * Which dependency is up: `ok` or `down`, nothing more — the answer is public (probes), so
 * the reason (an error text may name hosts, users or paths) goes to the log only.
 */
async function readiness(deps: AppDeps, logger: Logger): Promise<{ database: Check; temporal: Check }> {
  const check = (what: string, p: Promise<unknown>): Promise<Check> =>
    withTimeout(
      p.then(
        (): Check => 'ok',
        (e: Error): Check => {
          logger.warn({ dependency: what, err: e.message }, `readiness: ${what} is down`);
          return 'down';
        },
      ),
      2_000,
      (): Check => {
        logger.warn({ dependency: what }, `readiness: ${what} did not answer within 2s`);
        return 'down';
      },
    );
  const database = check('database', deps.db.$queryRaw`SELECT 1`);
  const temporal = check('temporal', deps.temporalClient.workflowService.getSystemInfo({}));
  return { database: await database, temporal: await temporal };
}
