// Per-user limits on what changes state (docs/security.md "Rate limits"): every write through
// the API, a page form or a terminal wake takes one point of WRITE_RATE_LIMIT per
// WRITE_RATE_WINDOW_S, and creating a project (which costs Kubernetes objects and a
// lifecycle) also one of PROJECT_CREATE_LIMIT per PROJECT_CREATE_WINDOW_S. Counts live in
// PostgreSQL, shared by web replicas. Refused: 429 too_many_requests with Retry-After; the
// refused request changes nothing. A store failure refuses the write (fails closed).
import { RateLimiterRes } from 'rate-limiter-flexible';
import { ApiError } from '../http/errors';
import { createPgLimiterSet } from './pg-rate-limiters.server';

export const WRITE_LIMITS_TABLE = '_fsa_write_limits';

export type WriteKind = 'write' | 'create';

export interface WriteLimitsOptions {
  databaseUrl: string;
  writeLimit: number;
  writeWindowS: number;
  createLimit: number;
  createWindowS: number;
}

export interface WriteLimits {
  /** Takes one point of `kind` for the user, or throws the 429 ApiError. */
  take(userId: string, kind: WriteKind): Promise<void>;
  close(): Promise<void>;
}

function refusal(kind: WriteKind, opts: WriteLimitsOptions, retryAfterS: number): ApiError {
  const [limit, window, setting] =
    kind === 'create' ? [opts.createLimit, opts.createWindowS, 'PROJECT_CREATE_LIMIT'] : [opts.writeLimit, opts.writeWindowS, 'WRITE_RATE_LIMIT'];
  const what = kind === 'create' ? 'project creations' : 'changes';
  return new ApiError('too_many_requests', `too many ${what}: at most ${limit} per ${window} s per user (${setting}); try again in ${retryAfterS} s`, {
    retryAfterSeconds: retryAfterS,
    limit,
    windowSeconds: window,
  });
}

export function createWriteLimits(opts: WriteLimitsOptions): WriteLimits {
  const set = createPgLimiterSet(opts.databaseUrl, WRITE_LIMITS_TABLE, {
    write: { points: opts.writeLimit, durationS: opts.writeWindowS },
    create: { points: opts.createLimit, durationS: opts.createWindowS },
  });
  return {
    async take(userId, kind) {
      const limiters = await set.limiters();
      try {
        await limiters[kind].consume(userId, 1);
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw err instanceof Error ? err : new Error(String(err));
        throw refusal(kind, opts, Math.max(1, Math.ceil(err.msBeforeNext / 1000)));
      }
    },
    close: () => set.close(),
  };
}
