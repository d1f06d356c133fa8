// The API's error shape (docs/design.md contract): { "error": { code, message, details? } }.
// Services throw ApiError; the Express error handler turns anything into that shape.
import type { ErrorRequestHandler, Response } from 'express';
import type { z } from 'zod';
import type { Logger } from '../../../server/logger';
import { requestLogger } from '../../../server/request-log';
import { publicFailure } from '../unexpected-errors';

export type ErrorCode =
  | 'invalid_input'
  | 'malformed_json'
  | 'payload_too_large'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'unprocessable'
  | 'too_many_requests'
  | 'unavailable'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  invalid_input: 400,
  malformed_json: 400,
  payload_too_large: 413,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  too_many_requests: 429,
  unavailable: 503,
  internal: 500,
};

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = STATUS[code];
  }
}

export const notFound = (what = 'project') => new ApiError('not_found', `${what} not found`);

export interface FieldProblem {
  field: string;
  message: string;
}

/** A zod error as 400 whose message names every field and what to do about it. */
export function validationError(err: z.ZodError): ApiError {
  const problems: FieldProblem[] = err.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
  return new ApiError('invalid_input', problems.map((p) => `${p.field}: ${p.message}`).join('; '), { fields: problems });
}

/** Parses with a zod schema or throws the 400 above. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const r = schema.safeParse(input ?? {});
  if (!r.success) throw validationError(r.error);
  return r.data;
}

export function sendError(res: Response, err: ApiError): void {
  const retryAfter = (err.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  if (err.status === 429 && typeof retryAfter === 'number') res.setHeader('Retry-After', String(retryAfter));
  const body: { error: { code: string; message: string; details?: unknown } } = { error: { code: err.code, message: err.message } };
  if (err.details !== undefined) body.error.details = err.details;
  res.status(err.status).json(body);
}

/** Maps body-parser failures (malformed JSON, too large) and unknown errors to the contract. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof ApiError) return sendError(res, err);
    const e = err as { type?: string; status?: number; limit?: number };
    if (e.type === 'entity.parse.failed') {
      return sendError(res, new ApiError('malformed_json', 'body: not valid JSON; send a JSON object with Content-Type: application/json'));
    }
    if (e.type === 'entity.too.large' || e.status === 413) {
      return sendError(res, new ApiError('payload_too_large', `body: larger than the ${e.limit ?? 'allowed'} byte limit; send less data`));
    }
    if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') {
      return sendError(res, new ApiError('invalid_input', 'body: unsupported encoding; send UTF-8 JSON'));
    }
    // Details (and the request id) go to the log only; the answer names the request id.
    const requestId = res.locals.requestId as string | undefined;
    const f = publicFailure(err, requestId);
    requestLogger(res, logger).error({ err, method: req.method, path: req.path, status: f.status }, 'unhandled error');
    if (f.status === 503) res.setHeader('Retry-After', '5');
    sendError(res, new ApiError(f.code, f.messageWithId, requestId ? { requestId } : undefined));
  };
}
