// Body size limit of the pages' form actions (Remix). The JSON API has its own (express.json
// in http/api.ts, BODY_LIMIT); Remix reads request bodies itself (request.formData()) with no
// limit, so the check happens here, before Remix sees the request: a Content-Length above
// the limit is refused with 413 without reading the body, and a body without a length
// (chunked) is refused with 411 — browsers always send a length for forms. Node's parser
// delivers no more than Content-Length bytes, so the length is a real bound.
//
// The answer is a page a person can read: a plain HTML document for a form posted without
// JavaScript, and for Remix's data requests (`?_data=`) a thrown response (X-Remix-Catch),
// which the root ErrorBoundary shows with its status and message.
import type { Request, RequestHandler, Response } from 'express';

/** Pages: the largest form (a 64 KiB kubeconfig, URL-encoded) fits with room to spare. */
export const PAGE_BODY_LIMIT = 256 * 1024;

const BODYLESS = new Set(['GET', 'HEAD', 'OPTIONS']);

function kib(n: number): string {
  return `${Math.round(n / 1024)} KiB`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sendPageError(req: Request, res: Response, status: 411 | 413, title: string, message: string): void {
  res.status(status).setHeader('Cache-Control', 'no-store');
  // The rest of the body is not read: make sure the connection does not carry it into the next request.
  res.setHeader('Connection', 'close');
  if (req.query._data !== undefined) {
    res.setHeader('X-Remix-Catch', 'yes');
    res.type('text/plain').send(message);
    return;
  }
  res
    .type('html')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
        `<title>${escapeHtml(title)} · FullstackAgent</title></head><body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>` +
        `<p><a href="/projects">Back to projects</a></p></main></body></html>`,
    );
}

export function pageBodyLimit(limit = PAGE_BODY_LIMIT): RequestHandler {
  return (req, res, next) => {
    if (BODYLESS.has(req.method)) return next();
    const length = req.headers['content-length'];
    if (length === undefined) {
      if (req.headers['transfer-encoding'] === undefined) return next(); // no body at all
      return sendPageError(req, res, 411, 'Length required', 'The form was sent without a Content-Length; send it again from the page.');
    }
    const n = Number(length);
    if (!Number.isSafeInteger(n) || n < 0 || n > limit) {
      return sendPageError(
        req,
        res,
        413,
        'Form too large',
        `The form you sent is too large (${Number.isSafeInteger(n) ? kib(n) : 'unknown size'}; the limit is ${kib(limit)}). Go back, shorten what you typed or pasted, and send it again.`,
      );
    }
    next();
  };
}
