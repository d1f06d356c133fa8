// Rate limiters kept in PostgreSQL (rate-limiter-flexible's RateLimiterPostgres on the
// platform's database), so every web replica sees the same counts and a restart forgets
// nothing. One pool and one table per set; the table is created by the library (CREATE TABLE
// IF NOT EXISTS) once per process, on first use, and a failure (database down) is retried on
// the next use.
import pg from 'pg';
import { RateLimiterPostgres } from 'rate-limiter-flexible';

export interface LimiterSpec {
  points: number;
  /** Window in seconds; it starts at the first counted point. */
  durationS: number;
}

export interface PgLimiterSet<K extends string> {
  limiters(): Promise<Record<K, RateLimiterPostgres>>;
  close(): Promise<void>;
}

export function createPgLimiterSet<K extends string>(databaseUrl: string, tableName: string, specs: Record<K, LimiterSpec>): PgLimiterSet<K> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
  pool.on('error', () => undefined); // an idle client's broken connection; the next query reconnects
  const keys = Object.keys(specs) as K[];
  const make = (key: K, tableCreated: boolean, ready?: (err?: unknown) => void) =>
    new RateLimiterPostgres(
      { storeClient: pool, storeType: 'pool', tableName, tableCreated, keyPrefix: key, points: specs[key].points, duration: specs[key].durationS },
      ready,
    );

  let ready: Promise<Record<K, RateLimiterPostgres>> | undefined;
  return {
    limiters: () =>
      (ready ??= new Promise<RateLimiterPostgres>((resolve, reject) => {
        const first: RateLimiterPostgres = make(keys[0]!, false, (err?: unknown) =>
          err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(first),
        );
      }).then(
        (first) => Object.fromEntries(keys.map((k, i) => [k, i === 0 ? first : make(k, true)])) as Record<K, RateLimiterPostgres>,
        (err: unknown) => {
          ready = undefined;
          throw err;
        },
      )),
    async close() {
      await pool.end().catch(() => undefined);
    },
  };
}
