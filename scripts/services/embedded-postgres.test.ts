// The embedded default's database, started exactly as scripts/platform.ts starts it
// (startAppDatabase): a real PostgreSQL under DATA_DIR with the migrations applied,
// LISTEN/NOTIFY across connections, ordinary concurrency through Prisma without protocol
// errors, data kept across a restart, a second start on the same folder refused, and — as
// root — both ways of not running as root.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDb } from '../../server/db';
import { startAppDatabase, startEmbeddedPostgres, SYSTEM_USER, type AppDatabase } from './embedded-postgres';
import { createMigratedDatabase } from './postgres';
import { freePort } from './process';

const dirs: string[] = [];
const running: AppDatabase[] = [];

function dataDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-embedded-pg-'));
  fs.chmodSync(d, 0o755); // reachable by the system user, should that mode be used
  dirs.push(d);
  return d;
}

afterAll(async () => {
  for (const db of running) await db.stop().catch(() => undefined);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function start(dir: string, port: number, runAs?: 'userns' | 'system-user') {
  const db = await startAppDatabase({ DATA_DIR: dir, EMBEDDED_DB_PORT: port }, { portExplicit: true, runAs });
  running.push(db);
  return db;
}

it('starts a migrated PostgreSQL 17 under DATA_DIR with LISTEN/NOTIFY, concurrency and restarts', async () => {
  const dir = dataDir();
  const port = await freePort();
  const db = await start(dir, port);
  expect(db.kind).toBe('embedded');
  expect(db.migrations.length).toBeGreaterThan(0);
  expect(db.url).toContain(`127.0.0.1:${port}/fullstackagent`);
  expect(fs.existsSync(path.join(dir, 'postgres', 'PG_VERSION'))).toBe(true);
  expect(fs.statSync(path.join(dir, 'postgres.password')).mode & 0o777).toBe(0o600);

  const listener = new pg.Client({ connectionString: db.url });
  const sender = new pg.Client({ connectionString: db.url });
  await listener.connect();
  await sender.connect();
  try {
    const version = (await sender.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
    expect(version).toMatch(/^17\./);
    const got = new Promise<string | undefined>((resolve) => listener.on('notification', (m) => resolve(m.payload)));
    await listener.query('LISTEN project_status');
    await sender.query(`SELECT pg_notify('project_status', 'p-1')`);
    await expect(got).resolves.toBe('p-1');
  } finally {
    await listener.end();
    await sender.end();
  }

  // What broke PGlite: many connections with extended-protocol queries of different arity at once.
  const prisma = createDb(db.url, { max: 10 });
  try {
    const user = await prisma.user.create({ data: { name: 'concurrency' } });
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        i % 3 === 0
          ? prisma.user.findUnique({ where: { id: user.id } })
          : i % 3 === 1
            ? prisma.project.findMany({ where: { userId: user.id, name: { in: ['a', 'b', String(i)] } } })
            : prisma.user.findFirst({ where: { id: user.id, name: 'concurrency', createdAt: { lte: new Date() } } }),
      ),
    );
    expect(results.filter((r) => r === null)).toHaveLength(0);
  } finally {
    await prisma.$disconnect();
  }

  // A second platform on the same folder is refused while this one runs.
  await expect(startEmbeddedPostgres({ dataDir: dir, port: await freePort() })).rejects.toThrow(/already running/);

  await db.stop();
  const again = await start(dir, port);
  expect(again.migrations).toEqual([]);
  const c = new pg.Client({ connectionString: again.url });
  await c.connect();
  expect((await c.query(`SELECT count(*)::int AS n FROM "User" WHERE name = 'concurrency'`)).rows[0].n).toBe(1);
  await c.end();
  await again.stop();
});

it('uses DATABASE_URL instead when it is set (and migrates it)', async () => {
  const external = await createMigratedDatabase(process.env.TEST_DATABASE_URL!, 'fsa_external');
  try {
    const db = await startAppDatabase({ DATABASE_URL: external.url, DATA_DIR: dataDir(), EMBEDDED_DB_PORT: 1 });
    expect(db).toMatchObject({ kind: 'external', url: external.url, migrations: [] });
    await db.stop();
  } finally {
    await external.drop();
  }
});

const asRoot = process.getuid?.() === 0 ? it : it.skip;

asRoot(`as root, runs without root rights: in a user namespace, or as the system user ${SYSTEM_USER}`, async () => {
  for (const runAs of ['userns', 'system-user'] as const) {
    const dir = dataDir();
    const db = await start(dir, await freePort(), runAs);
    expect(db.embedded!.runAs.kind).toBe(runAs);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    expect((await c.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    await c.end();
    const owner = fs.statSync(path.join(dir, 'postgres')).uid;
    if (runAs === 'userns') expect(owner).toBe(0);
    else expect(owner).toBe(db.embedded!.runAs.kind === 'system-user' ? db.embedded!.runAs.uid : -1);
    // The server's processes do not run as root.
    const pid = Number(fs.readFileSync(path.join(dir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const uid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
    if (runAs === 'system-user') expect(uid).not.toBe(0);
    else expect(fs.readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim()).toMatch(/^\d+\s+0\s+1$/); // one uid, mapped to the caller
    await db.stop();
  }
});
