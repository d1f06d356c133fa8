// Throttles password sign-ins per account and per client address, in PostgreSQL
// (pg-rate-limiters.server.ts), so every web replica sees the same counts.
//
// - Each attempt with a well-formed username and password takes one point from the account
//   (SIGNIN_ACCOUNT_LIMIT) and from the address (SIGNIN_ADDRESS_LIMIT), both in fixed windows
//   of SIGNIN_WINDOW_S that start at the first counted attempt. Points are taken *before* the
//   password is checked, so parallel guesses cannot slip through between a check and a count.
// - A successful sign-in (or registration) gives its points back; a wrong password or an
//   unknown username keeps them. Malformed input is refused before any point is taken (no
//   password was checked). An attempt refused with 429 keeps its points too: an address that
//   goes on hammering a locked account runs into the address limit (but a refused attempt
//   never extends a window).
// - Keys: the account is the SHA-256 of the username key (NFKC, lower case), so usernames are
//   not stored in the table; the address is the IPv4 address, or the /64 prefix of an IPv6
//   one (a single client usually holds a whole /64).
// - A store failure refuses the sign-in (fails closed).
import { createHash } from 'node:crypto';
import net from 'node:net';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { createPgLimiterSet } from './pg-rate-limiters.server';

export const SIGNIN_THROTTLE_TABLE = '_fsa_signin_attempts';

export interface SignInThrottleOptions {
  databaseUrl: string;
  accountLimit: number;
  addressLimit: number;
  windowS: number;
}

export type SignInOutcome = 'success' | 'failure';

export type SignInTicket =
  | { ok: true; settle(outcome: SignInOutcome): Promise<void> }
  /** Refused: try again in retryAfterS seconds (at least 1). */
  | { ok: false; retryAfterS: number };

export interface SignInThrottle {
  /** Counts an attempt for this account key and client address. */
  begin(accountKey: string, address: string): Promise<SignInTicket>;
  close(): Promise<void>;
}

function ipv6Groups(address: string): number[] | null {
  const a = address.split('%')[0]!;
  const parts = a.split('::');
  if (parts.length > 2) return null;
  const parse = (s: string | undefined): number[] =>
    s
      ? s.split(':').flatMap((p) => {
          if (net.isIPv4(p)) {
            const [o1, o2, o3, o4] = p.split('.').map(Number) as [number, number, number, number];
            return [(o1 << 8) | o2, (o3 << 8) | o4];
          }
          return [parseInt(p, 16)];
        })
      : [];
  const head = parse(parts[0]);
  const tail = parse(parts[1]);
  const fill = parts.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...new Array<number>(Math.max(fill, 0)).fill(0), ...tail];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/** The throttle key of a client address: IPv4 as is (also when IPv4-mapped), IPv6 as its /64. */
export function addressKey(address: string | undefined): string {
  const a = (address ?? '').trim().toLowerCase();
  if (!a) return 'unknown';
  if (a.startsWith('::ffff:') && net.isIPv4(a.slice(7))) return a.slice(7);
  if (net.isIP(a.split('%')[0]!) === 6) {
    const groups = ipv6Groups(a);
    if (groups) return `${groups
      .slice(0, 4)
      .map((g) => g.toString(16))
      .join(':')}::/64`;
  }
  return a.slice(0, 100);
}

export function accountKey(usernameKey: string): string {
  return createHash('sha256').update(usernameKey, 'utf8').digest('hex');
}

export function createSignInThrottle(opts: SignInThrottleOptions): SignInThrottle {
  const set = createPgLimiterSet(opts.databaseUrl, SIGNIN_THROTTLE_TABLE, {
    account: { points: opts.accountLimit, durationS: opts.windowS },
    address: { points: opts.addressLimit, durationS: opts.windowS },
  });

  return {
    async begin(accountKeyValue, address) {
      const { account, address: byAddress } = await set.limiters();
      const account$ = accountKey(accountKeyValue);
      const address$ = addressKey(address);
      const results = await Promise.allSettled([account.consume(account$, 1), byAddress.consume(address$, 1)]);
      const refused: RateLimiterRes[] = [];
      for (const r of results) {
        if (r.status === 'fulfilled') continue;
        if (r.reason instanceof RateLimiterRes) refused.push(r.reason);
        else throw r.reason instanceof Error ? r.reason : new Error(String(r.reason));
      }
      if (refused.length) {
        const ms = Math.max(...refused.map((r) => r.msBeforeNext));
        return { ok: false, retryAfterS: Math.max(1, Math.ceil(ms / 1000)) };
      }
      return {
        ok: true,
        async settle(outcome) {
          if (outcome === 'success') await Promise.all([account.reward(account$, 1), byAddress.reward(address$, 1)]);
        },
      };
    },
    close: () => set.close(),
  };
}
