// What a person sees when something fails that they did not cause: a short message and the
// request id, never a stack, a Prisma message or SQL. The details go to the log line that
// carries the same request id (redacted like every log line). Shared by the JSON API's
// error handler, the page guard (page-errors.ts) and the Remix error boundary's data.

/** Is this a failure to reach the database (down, restarting, refusing connections)? */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  const e = err as {
    code?: unknown;
    kind?: unknown;
    originalCode?: unknown;
    errno?: unknown;
    meta?: { driverAdapterError?: { cause?: unknown } };
    cause?: unknown;
    errors?: unknown[];
  };
  const code = typeof e.code === 'string' ? e.code : '';
  // Prisma: can't reach (P1001), timed out (P1002, P1008), connection closed (P1017), pool timeout (P2024).
  if (['P1001', 'P1002', 'P1008', 'P1017', 'P2024'].includes(code)) return true;
  // node-postgres / sockets.
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN'].includes(code)) return true;
  // PostgreSQL SQLSTATEs: connection exceptions (08xxx), shutting down / starting up (57P01-57P03), too many connections (53300).
  const sqlstate = typeof e.originalCode === 'string' ? e.originalCode : /^[0-9A-Z]{5}$/.test(code) ? code : '';
  if (/^08/.test(sqlstate) || ['57P01', '57P02', '57P03', '53300'].includes(sqlstate)) return true;
  if (typeof e.kind === 'string' && ['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections'].includes(e.kind)) return true;
  if (e.meta?.driverAdapterError?.cause && isDatabaseUnavailable(e.meta.driverAdapterError.cause, depth + 1)) return true;
  if (e.cause && isDatabaseUnavailable(e.cause, depth + 1)) return true;
  if (Array.isArray(e.errors)) return e.errors.some((x) => isDatabaseUnavailable(x, depth + 1)); // AggregateError (dual-stack connect)
  return false;
}

export interface PublicFailure {
  status: 500 | 503;
  code: 'internal' | 'unavailable';
  /** One sentence a person can act on; includes nothing from the error itself. */
  message: string;
  /** The same, naming the request id to report (for answers that have no other place for it). */
  messageWithId: string;
  requestId?: string;
}

/** The part of an unexpected failure that may be shown. */
export function publicFailure(err: unknown, requestId?: string): PublicFailure {
  const unavailable = isDatabaseUnavailable(err);
  const message = unavailable ? 'The database is not reachable right now. Try again in a moment.' : 'Something went wrong on our side. Try again.';
  const messageWithId = requestId ? `${message} If it keeps happening, report request id ${requestId}.` : message;
  return unavailable ? { status: 503, code: 'unavailable', message, messageWithId, requestId } : { status: 500, code: 'internal', message, messageWithId, requestId };
}
