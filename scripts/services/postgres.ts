// PostgreSQL for tests: a real server (installed and started by scripts/test.sh). Each
// test file gets its own fresh database with the migrations applied.
import pg from 'pg';
import { migrate } from '../../server/migrate';

export async function canConnect(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export interface TestDatabase {
  name: string;
  url: string;
  /** Drops it, closing its connections. */
  drop(): Promise<void>;
}

/** Creates an empty database named `prefix_<random>` under the admin role. */
export async function createEmptyDatabase(adminUrl: string, prefix: string): Promise<TestDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`.toLowerCase();
  await asAdmin(adminUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  return {
    name,
    url: withDatabase(adminUrl, name),
    drop: () => asAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)),
  };
}

/** Creates an empty database named `prefix_<random>`, applies migrations, returns its URL. */
export async function createMigratedDatabase(adminUrl: string, prefix = 'fsa_test'): Promise<TestDatabase> {
  const database = await createEmptyDatabase(adminUrl, prefix);
  await migrate(database.url);
  return database;
}

async function asAdmin(adminUrl: string, fn: (c: pg.Client) => Promise<unknown>): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await fn(c);
  } finally {
    await c.end();
  }
}
