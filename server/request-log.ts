// Express middleware: one JSON line per request with its id, route, status and duration,
// and a child logger on res.locals.log carrying the request id for handlers to use.
// The id comes from the caller's X-Request-Id (when it is a sane token) or is generated,
// and is echoed back in the response header so a user can quote it in a bug report.
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { withRequestId, type Logger } from './logger';
import { routeLabel } from './http-metrics';

export const REQUEST_ID_HEADER = 'X-Request-Id';

// Ids from outside are accepted only if short and plain: they end up in every log line.
const ACCEPTED_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(req: Pick<Request, 'get'>): string {
  const incoming = req.get(REQUEST_ID_HEADER);
  return incoming && ACCEPTED_ID.test(incoming) ? incoming : randomUUID();
}

/** The request's logger (set by requestLogMiddleware), or `fallback` outside a request. */
export function requestLogger(res: Response, fallback: Logger): Logger {
  return (res.locals.log as Logger | undefined) ?? fallback;
}

export interface RequestLogOptions {
  /** Paths logged at debug instead of info (probes and scrapes would flood the log). */
  quietPaths?: string[];
}

export function requestLogMiddleware(logger: Logger, options: RequestLogOptions = {}): RequestHandler {
  const quiet = new Set(options.quietPaths ?? ['/healthz', '/readyz', '/metrics']);
  return (req: Request, res: Response, next: NextFunction) => {
    const requestId = requestIdFrom(req);
    const log = withRequestId(logger, requestId);
    res.locals.requestId = requestId;
    res.locals.log = log;
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const started = process.hrtime.bigint();
    let logged = false;
    const done = (aborted: boolean) => {
      if (logged) return;
      logged = true;
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const status = res.statusCode;
      const line = {
        method: req.method,
        // Path without the query string: queries may carry tokens (they are scrubbed anyway).
        path: req.path,
        route: routeLabel(req),
        status,
        durationMs: Math.round(durationMs * 10) / 10,
        ...(aborted ? { aborted: true } : {}),
        userAgent: req.get('user-agent'),
      };
      const level = quiet.has(req.path) && status < 400 ? 'debug' : status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      log[level](line, 'request');
    };
    res.once('finish', () => done(false));
    res.once('close', () => done(!res.writableFinished));
    next();
  };
}
