// The JSON API (docs/design.md "HTTP contract"): thin transport over the services. Every
// project route goes through findOwnedProject (another user's project is a 404).
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { AuthKit, AuthedUser } from '../auth';
import type { ServiceContext } from '../context';
import type { StatusHub } from '../events';
import { projectListEvents } from '../list-stream';
import { createEnvironmentVariable, deleteEnvironmentVariable, listEnvironment, updateEnvironmentVariable } from '../services/environment.server';
import { findOwnedProject } from '../services/ownership.server';
import { createProject, getProject, listProjects, projectStatus, signalProject, type ProjectAction } from '../services/projects.server';
import { deleteSchedule, getSchedule, putSchedule, setRetention } from '../services/schedules.server';
import { getSettings, saveAnthropic, saveKubeconfig } from '../services/settings.server';
import { keepRunning, listTimeline, setIdlePolicy, startProject } from '../services/timeline.server';
import { createToken, listTokens, revokeToken } from '../services/tokens.server';
import { findUser } from '../services/users.server';
import { tooManyStreamsMessage, type StreamLease, type StreamRegistry } from '../streams';
import { ApiError, errorHandler, sendError } from './errors';
import { coalesced, startEventStream } from '../sse';

export const BODY_LIMIT = '100kb';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const HEARTBEAT_MS = 15_000;

type Handler = (req: Request, res: Response, user: AuthedUser) => Promise<unknown>;

const userOf = (res: Response) => res.locals.user as AuthedUser;

/** Wraps an async handler: JSON result with `status`, errors to the error handler. */
const json =
  (status: number, fn: Handler): RequestHandler =>
  (req, res, next) => {
    fn(req, res, userOf(res)).then((body) => res.status(status).json(body), next);
  };

const param = (req: Request, name: string) => String(req.params[name] ?? '');

/** Cross-site requests carrying a session cookie are refused (CSRF); tokens are not cookies. */
export function sameOriginCheck(req: Request, via: AuthedUser['via'] | undefined, publicHost?: string): ApiError | null {
  if (via !== 'session' || SAFE_METHODS.has(req.method)) return null;
  if (req.headers['sec-fetch-site'] === 'cross-site') return new ApiError('forbidden', 'cross-site request refused; call the API from this site or use an API token');
  const origin = req.headers.origin;
  if (origin && origin !== 'null') {
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      return new ApiError('forbidden', 'Origin header is not a URL');
    }
    if (host !== req.headers.host && host !== publicHost) return new ApiError('forbidden', 'cross-site request refused; call the API from this site or use an API token');
  } else if (origin === 'null') {
    return new ApiError('forbidden', 'cross-site request refused (Origin: null)');
  }
  return null;
}

export function createApiRouter(ctx: ServiceContext, auth: AuthKit, hub: StatusHub, streams: StreamRegistry): express.Router {
  const r = express.Router();
  // Behind a proxy the Host header may differ from the public address browsers use.
  const publicHost = ctx.config.PUBLIC_URL ? new URL(ctx.config.PUBLIC_URL).host : undefined;
  r.use(express.json({ limit: BODY_LIMIT, strict: true, type: ['application/json', 'application/*+json'] }));

  r.use((req: Request, res: Response, next: NextFunction) => {
    auth.authenticate(req).then((user) => {
      if (!user) {
        return sendError(
          res,
          new ApiError('unauthenticated', 'not signed in: sign in through /auth (GET /auth/csrf, POST /auth/callback/password) or send Authorization: Bearer <api token>'),
        );
      }
      const denied = sameOriginCheck(req, user.via, publicHost);
      if (denied) return sendError(res, denied);
      res.locals.user = user;
      // Writes count against the user's limit before anything is read or changed.
      if (SAFE_METHODS.has(req.method)) return next();
      ctx.limits.take(user.userId, 'write').then(() => next(), next);
    }, next);
  });

  r.get('/user', json(200, async (_req, _res, u) => ({ ...(await findUser(ctx, u.userId)), settings: await getSettings(ctx, u.userId) })));
  r.put('/user/kubeconfig', json(200, (req, _res, u) => saveKubeconfig(ctx, u.userId, req.body)));
  r.put('/user/anthropic', json(200, (req, _res, u) => saveAnthropic(ctx, u.userId, req.body)));

  r.post('/tokens', json(201, (req, _res, u) => createToken(ctx, u.userId, req.body)));
  r.get('/tokens', json(200, (_req, _res, u) => listTokens(ctx, u.userId)));
  r.delete('/tokens/:id', json(200, (req, _res, u) => revokeToken(ctx, u.userId, param(req, 'id'))));

  r.get('/projects', json(200, (_req, _res, u) => listProjects(ctx, u.userId)));
  r.post(
    '/projects',
    json(202, async (req, res, u) => {
      const project = await createProject(ctx, u.userId, req.body, u.actor);
      res.setHeader('Location', `/api/projects/${project.id}`);
      return project;
    }),
  );
  r.get('/projects/:id', json(200, (req, _res, u) => getProject(ctx, u.userId, param(req, 'id'))));
  // start?wait=RUNNING&timeout=S waits for the project to run (200), or answers 202 when the time is up.
  r.post('/projects/:id/start', (req, res, next) => {
    const u = userOf(res);
    startProject(ctx, hub, u.userId, param(req, 'id'), req.query, u.actor).then((r) => res.status(r.status).json(r.body), next);
  });
  for (const action of ['stop', 'delete'] as ProjectAction[]) {
    r.post(`/projects/:id/${action}`, json(202, (req, _res, u) => signalProject(ctx, u.userId, param(req, 'id'), action, u.actor)));
  }
  r.delete('/projects/:id', json(202, (req, _res, u) => signalProject(ctx, u.userId, param(req, 'id'), 'delete', u.actor)));
  // Lifecycle policies: idle auto-stop setting, "keep running", the timeline.
  r.put('/projects/:id/idle', json(200, (req, _res, u) => setIdlePolicy(ctx, u.userId, param(req, 'id'), req.body, u.actor)));
  r.post('/projects/:id/keep-running', json(202, (req, _res, u) => keepRunning(ctx, u.userId, param(req, 'id'), u.actor)));
  // Schedules (autostart/autostop) and retention ("keep").
  r.get('/projects/:id/schedule', json(200, (req, _res, u) => getSchedule(ctx, u.userId, param(req, 'id'))));
  r.put('/projects/:id/schedule', json(200, (req, _res, u) => putSchedule(ctx, u.userId, param(req, 'id'), req.body, u.actor)));
  r.delete('/projects/:id/schedule', json(200, (req, _res, u) => deleteSchedule(ctx, u.userId, param(req, 'id'), u.actor)));
  r.put('/projects/:id/retention', json(200, (req, _res, u) => setRetention(ctx, u.userId, param(req, 'id'), req.body, u.actor)));
  r.get('/projects/:id/timeline', json(200, (req, _res, u) => listTimeline(ctx, u.userId, param(req, 'id'), req.query)));

  r.get('/projects/:id/environment', json(200, (req, _res, u) => listEnvironment(ctx, u.userId, param(req, 'id'))));
  r.post('/projects/:id/environment', json(201, (req, _res, u) => createEnvironmentVariable(ctx, u.userId, param(req, 'id'), req.body)));
  r.put('/projects/:id/environment/:envId', json(200, (req, _res, u) => updateEnvironmentVariable(ctx, u.userId, param(req, 'id'), param(req, 'envId'), req.body)));
  r.delete('/projects/:id/environment/:envId', json(200, (req, _res, u) => deleteEnvironmentVariable(ctx, u.userId, param(req, 'id'), param(req, 'envId'))));

  // The projects list's live updates (web/server/list-stream.ts).
  r.get('/events', projectListEvents(ctx, hub, streams));
  r.get('/projects/:id/events', (req, res, next) => {
    const userId = userOf(res).userId;
    const projectId = param(req, 'id');
    // ?history=1: the stored timeline as JSON (the same as /timeline), not the live stream.
    if (req.query.history !== undefined) {
      return void listTimeline(ctx, userId, projectId, req.query).then((body) => res.json(body), next);
    }
    findOwnedProject(ctx, userId, projectId).then(() => {
      let end: (event?: { event: string; data: unknown }) => void = () => undefined;
      const lease = streams.open(userId, req, 'sse', (reason) => end({ event: 'revoked', data: { error: { code: 'unauthenticated', message: reason } } }));
      if (!lease) {
        return sendError(res, new ApiError('too_many_requests', tooManyStreamsMessage(streams.maxPerUser), { limit: streams.maxPerUser }));
      }
      end = streamStatus(ctx, hub, req, res, userId, projectId, lease);
    }, next);
  });

  r.use((req, res) => sendError(res, new ApiError('not_found', `no API route ${req.method} ${req.baseUrl}${req.path}; see docs/design.md "HTTP contract"`)));
  r.use(errorHandler(ctx.logger));
  return r;
}

/**
 * SSE: a snapshot on connect, then one whenever the project changes; heartbeats keep proxies
 * open. Returns `end`, which closes the stream (with a last event, e.g. when the credential
 * that opened it was revoked); the lease is released whenever the stream ends.
 */
function streamStatus(
  ctx: ServiceContext,
  hub: StatusHub,
  req: Request,
  res: Response,
  userId: string,
  projectId: string,
  lease: StreamLease,
): (last?: { event: string; data: unknown }) => void {
  startEventStream(res);

  let closed = false;
  let last = '';
  let seq = 0;

  const end = (last?: { event: string; data: unknown }) => {
    if (closed) return;
    closed = true;
    lease.release();
    unsubscribe();
    clearInterval(heartbeat);
    if (last) res.write(`event: ${last.event}\ndata: ${JSON.stringify(last.data)}\n\n`);
    res.end();
  };

  const push = coalesced(
    async () => {
      if (closed) return;
      const row = await ctx.db.project.findFirst({ where: { id: projectId, userId } });
      // Gone: the lifecycle deleted it (TERMINATED); say so once and end the stream.
      const view = row
        ? await projectStatus(ctx, row as never)
        : { id: projectId, status: 'TERMINATED', deleted: true, updatedAt: new Date().toISOString() };
      if (closed) return;
      const { updatedAt: _u, ...comparable } = view as { updatedAt?: string };
      const key = JSON.stringify(comparable);
      if (key !== last) {
        last = key;
        res.write(`id: ${++seq}\ndata: ${JSON.stringify(view)}\n\n`);
      }
      if (!row) end();
    },
    (err) => ctx.logger.warn({ err: (err as Error).message, projectId }, 'status snapshot failed'),
  );

  const unsubscribe = hub.subscribe(projectId, { changed: () => void push() });
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  req.on('close', () => end());
  void push();
  return end;
}
