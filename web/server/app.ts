// Builds the web's Express app from injected deps, so tests can run it on a random port
// against their own database and Temporal. The Remix UI is mounted by the caller
// (index.ts: Vite middleware in development, the built server in production).
import type { IncomingMessage } from 'node:http';
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import { databaseUrl } from '../../server/config';
import { createWebMetricsRegistry, httpMetricsMiddleware, metricsHandler } from '../../server/http-metrics';
import { createAuth, type AuthKit } from './auth';
import { createServiceContext, type AppDeps, type ServiceContext } from './context';
import { createStatusHub, type StatusHub } from './events';
import { createApiRouter, sameOriginCheck } from './http/api';
import { ApiError, errorHandler, sendError } from './http/errors';
import { createWebApi, type WebApi } from './web-api';
import { withTimeout } from './services/temporal-errors';

export interface CreateAppOptions {
  /** Overrides of the service context (timeouts, task queue). */
  context?: Partial<ServiceContext>;
  /** Use the 1-second polling fallback instead of LISTEN (tests of the fallback). */
  disableListen?: boolean;
  /** Middleware that runs before everything else (request logging, metrics). */
  before?: RequestHandler[];
}

export interface WebApp {
  app: Express;
  ctx: ServiceContext;
  auth: AuthKit;
  hub: StatusHub;
  webApi: WebApi;
  /** Session cookie or bearer token → user; for the terminal WebSocket proxy. */
  authenticate(req: IncomingMessage): Promise<{ userId: string } | null>;
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
  const publicHost = deps.config.PUBLIC_URL ? new URL(deps.config.PUBLIC_URL).host : undefined;

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

  app.get('/metrics', metricsHandler(metrics, { token: deps.config.METRICS_TOKEN }));
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    void readiness(deps).then((checks) => {
      const ok = checks.database === 'ok' && checks.temporal === 'ok';
      res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready', checks });
    });
  });

  app.use('/auth/*', auth.handler);
  app.use('/api', createApiRouter(ctx, auth, hub));

  let uiMounted = false;
  const webApp: WebApp = {
    app,
    ctx,
    auth,
    hub,
    webApi,
    authenticate: auth.authenticate,
    mountUi(mount) {
      if (uiMounted) throw new Error('UI already mounted');
      uiMounted = true;
      // Pages: who is signed in, and CSRF (same-origin) for form posts with a session.
      app.use((req: Request, res: Response, next) => {
        auth.authenticate(req).then((user) => {
          res.locals.user = user;
          const denied = sameOriginCheck(req, user?.via ?? (req.method === 'POST' ? 'session' : undefined), publicHost);
          if (denied) return res.status(403).type('text/plain').send(denied.message);
          next();
        }, next);
      });
      mount(app);
      app.use(errorHandler(ctx.logger));
    },
    async close() {
      await hub.close();
    },
  };
  if (!uiMounted) {
    // Without a UI (API-only tests), unknown paths still answer in the contract's shape.
    app.use((req, res, next) => (uiMounted ? next() : sendError(res, new ApiError('not_found', `no route ${req.method} ${req.path}`))));
  }
  return webApp;
}

async function readiness(deps: AppDeps): Promise<{ database: string; temporal: string }> {
  const timeout = (what: string) => () => `${what} did not answer within 2s`;
  const database = withTimeout(
    deps.db.$queryRaw`SELECT 1`.then(
      () => 'ok',
      (e: Error) => `error: ${e.message.split('\n')[0]}`,
    ),
    2_000,
    timeout('database'),
  );
  const temporal = withTimeout(
    deps.temporalClient.workflowService.getSystemInfo({}).then(
      () => 'ok',
      (e: Error) => `error: ${e.message.split('\n')[0]}`,
    ),
    2_000,
    timeout('temporal'),
  );
  return { database: await database, temporal: await temporal };
}
