// GET /api/events — Server-Sent Events for the projects list: `{ projects: ProjectSummary[] }`
// (the same rows GET /api/projects returns) on connect and whenever one of the user's
// projects changes, is created or goes away. Driven by the same hub as the per-project
// streams (PostgreSQL LISTEN project_status, or its polling fallback), counted against the
// same per-user stream cap, closed with `event: revoked` when the sign-in ends.
import type { Request, RequestHandler, Response } from 'express';
import type { AuthedUser } from './auth';
import type { ServiceContext } from './context';
import type { StatusHub } from './events';
import { ApiError, sendError } from './http/errors';
import { listProjects } from './services/projects.server';
import { tooManyStreamsMessage, type StreamLease, type StreamRegistry } from './streams';
import { coalesced, startEventStream } from './sse';

const HEARTBEAT_MS = 15_000;

export function projectListEvents(ctx: ServiceContext, hub: StatusHub, streams: StreamRegistry): RequestHandler {
  return (req, res) => {
    const userId = (res.locals.user as AuthedUser).userId;
    let end: (last?: { event: string; data: unknown }) => void = () => undefined;
    const lease = streams.open(userId, req, 'sse', (reason) => end({ event: 'revoked', data: { error: { code: 'unauthenticated', message: reason } } }));
    if (!lease) return sendError(res, new ApiError('too_many_requests', tooManyStreamsMessage(streams.maxPerUser), { limit: streams.maxPerUser }));
    end = streamList(ctx, hub, req, res, userId, lease);
  };
}

function streamList(ctx: ServiceContext, hub: StatusHub, req: Request, res: Response, userId: string, lease: StreamLease) {
  startEventStream(res);

  let closed = false;
  let last = '';
  let seq = 0;
  /** The user's projects as of the last snapshot, with their per-project subscriptions. */
  const mine = new Map<string, () => void>();

  const push = coalesced(
    async () => {
      if (closed) return;
      const projects = await listProjects(ctx, userId);
      if (closed) return;
      // Per-project subscriptions keep the polling fallback (which only watches subscribed ids) working.
      const ids = new Set(projects.map((p) => p.id));
      for (const [id, unsubscribe] of mine) {
        if (ids.has(id)) continue;
        unsubscribe();
        mine.delete(id);
      }
      for (const id of ids) if (!mine.has(id)) mine.set(id, hub.subscribe(id, { changed: () => void push() }));
      const key = JSON.stringify(projects.map(({ updatedAt: _u, ...p }) => p));
      if (key !== last) {
        last = key;
        res.write(`id: ${++seq}\ndata: ${JSON.stringify({ projects })}\n\n`);
      }
    },
    (err) => ctx.logger.warn({ err: (err as Error).message, userId }, 'project list snapshot failed'),
  );

  // A project this stream does not know yet may be a new one of this user's.
  const checkUnknown = async (projectId: string) => {
    try {
      const n = await ctx.db.project.count({ where: { id: projectId, userId } });
      if (n > 0 && !closed) await push();
    } catch (err) {
      ctx.logger.warn({ err: (err as Error).message, userId }, 'project list check failed');
    }
  };
  const unsubscribeAll = hub.subscribeAll((projectId) => {
    if (!mine.has(projectId)) void checkUnknown(projectId);
    // Known ids arrive through their own subscription.
  });

  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
  heartbeat.unref();

  const end = (lastEvent?: { event: string; data: unknown }) => {
    if (closed) return;
    closed = true;
    lease.release();
    unsubscribeAll();
    for (const unsubscribe of mine.values()) unsubscribe();
    mine.clear();
    clearInterval(heartbeat);
    if (lastEvent) res.write(`event: ${lastEvent.event}\ndata: ${JSON.stringify(lastEvent.data)}\n\n`);
    res.end();
  };
  req.on('close', () => end());
  void push();
  return end;
}
