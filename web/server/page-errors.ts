// Unexpected failures on the pages (Remix), shown as a short message and the request id:
// - guardWebApi: the services a loader or action calls, wrapped so that any error that is
//   not a service answer (ApiError: 4xx, "unavailable", …) is logged with the request id
//   and rethrown as a JSON Response { message, requestId, code } with 500, or 503 when the
//   database is not reachable. Remix hands a thrown Response to the error boundary as is,
//   so neither a Prisma message nor SQL nor a stack reaches the browser, in development too.
// - pageErrorHandler: the same for errors that escape Remix (e.g. the sign-in lookup of a
//   page request): a small HTML page, or for Remix data requests (?_data) a caught response
//   the boundary shows.
// - pageLoadContext: the load context with both of the above.
import type { ErrorRequestHandler, Request, Response as ExpressResponse } from 'express';
import type { Logger } from '../../server/logger';
import { requestLogger } from '../../server/request-log';
import { publicFailure } from './unexpected-errors';
import type { WebApi } from './web-api';

/** A service's answer meant for the user (ApiError and friends): passed through untouched. */
function isServiceAnswer(err: unknown): boolean {
  const e = err as { status?: unknown; code?: unknown } | null;
  return typeof e?.status === 'number' && typeof e.code === 'string';
}

function isResponse(err: unknown): boolean {
  return err instanceof Response || (typeof err === 'object' && err !== null && 'status' in err && 'headers' in err && 'body' in err && !('code' in err));
}

export interface PageFailureBody {
  message: string;
  code: 'internal' | 'unavailable';
  requestId?: string;
}

/** The Response an unexpected error becomes; the error itself goes to the log. */
export function failureResponse(err: unknown, log: Logger, requestId: string | undefined, what: string): Response {
  const f = publicFailure(err, requestId);
  log.error({ err, status: f.status }, what);
  const body: PageFailureBody = { message: f.message, code: f.code, requestId };
  return new Response(JSON.stringify(body), { status: f.status, headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' } });
}

export function guardWebApi(api: WebApi, log: Logger, requestId?: string): WebApi {
  const translate = (name: string, err: unknown): unknown =>
    isServiceAnswer(err) || isResponse(err) ? err : failureResponse(err, log, requestId, `page service call ${name} failed`);
  return new Proxy(api, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const name = String(prop);
      return (...args: unknown[]) => {
        try {
          const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
          return result instanceof Promise
            ? result.catch((err: unknown) => {
                throw translate(name, err);
              })
            : result;
        } catch (err) {
          throw translate(name, err);
        }
      };
    },
  });
}

/** getLoadContext for createRequestHandler: user, guarded services, request id. */
export function pageLoadContext(res: ExpressResponse, api: WebApi, fallback: Logger) {
  const requestId = res.locals.requestId as string | undefined;
  return { user: res.locals.user ?? null, api: guardWebApi(api, requestLogger(res, fallback), requestId), requestId };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Express error handler for page requests (mounted after the Remix handler). */
export function pageErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req: Request, res: ExpressResponse, next) => {
    if (res.headersSent) return next(err);
    const requestId = res.locals.requestId as string | undefined;
    const f = publicFailure(err, requestId);
    requestLogger(res, logger).error({ err, method: req.method, path: req.path, status: f.status }, 'page request failed');
    res.status(f.status).setHeader('Cache-Control', 'no-store');
    if (f.status === 503) res.setHeader('Retry-After', '5');
    const body: PageFailureBody = { message: f.message, code: f.code, requestId };
    if (req.query._data !== undefined) {
      // Remix's data request: a caught response, which the error boundary renders.
      res.setHeader('X-Remix-Catch', 'yes');
      res.json(body);
      return;
    }
    if (req.accepts(['html', 'json']) === 'json') {
      res.json({ error: { code: f.code, message: f.messageWithId, ...(requestId ? { details: { requestId } } : {}) } });
      return;
    }
    const title = f.status === 503 ? 'Temporarily unavailable' : 'Something went wrong';
    res
      .type('html')
      .send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
          `<link rel="icon" href="/favicon.svg" type="image/svg+xml"><title>${title} · FullstackAgent</title>` +
          `<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;background:#f6f7f9;color:#1f2330}` +
          `main{max-width:32rem;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 1px 3px #0002}code{background:#eef;padding:0 .3em;border-radius:4px}</style></head>` +
          `<body><main><h1>${title}</h1><p>${escapeHtml(f.message)}</p>` +
          (requestId ? `<p>Request id: <code data-request-id>${escapeHtml(requestId)}</code></p>` : '') +
          `<p><a href="">Try again</a> · <a href="/projects">Projects</a></p></main></body></html>`,
      );
  };
}
