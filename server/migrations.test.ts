// schema.prisma is the single source of truth: every change to it comes with a
// migration (whose snapshot is the schema it was generated for), and the migrations
// build a database the Prisma client can use for every model.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createMigratedDatabase } from '../scripts/services/postgres';
import { createDb } from './db';
import { listMigrations, migrate, MIGRATIONS_DIR } from './migrate';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

it('has a migration for the current schema.prisma', () => {
  const last = listMigrations().at(-1)!;
  const snapshot = fs.readFileSync(path.join(MIGRATIONS_DIR, last.name, 'schema.snapshot.prisma'), 'utf8');
  const schema = fs.readFileSync(path.join(ROOT, 'prisma', 'schema.prisma'), 'utf8');
  // If this fails: npx tsx scripts/migrations.ts create <name>
  expect(schema).toBe(snapshot);
});

it('applies the migrations to an empty database, once, and the client can use every model', async () => {
  const database = await createMigratedDatabase(process.env.TEST_DATABASE_URL!, 'fsa_migrations');
  const db = createDb(database.url, { max: 2 });
  try {
    expect(await migrate(database.url)).toEqual([]); // second run: nothing pending
    const c = new pg.Client({ connectionString: database.url });
    await c.connect();
    const { rows } = await c.query<{ name: string }>('SELECT name FROM _fsa_migrations ORDER BY name');
    await c.end();
    expect(rows.map((r) => r.name)).toEqual(listMigrations().map((m) => m.name));

    const user = await db.user.create({ data: { name: 'm' } });
    await db.userIdentity.create({ data: { userId: user.id, provider: 'password', providerUserId: 'm' } });
    await db.userConfig.create({ data: { userId: user.id, key: 'KUBECONFIG', value: 'sealed', isSecret: true } });
    await db.apiToken.create({ data: { userId: user.id, name: 't', tokenHash: 'h', prefix: 'fsa_' } });
    const project = await db.project.create({
      data: {
        name: 'p',
        userId: user.id,
        k8sName: 'p-agentruntime-abcdef',
        sandboxes: { create: { sandboxName: 'p-agentruntime-abcdef', ttydAccessToken: 'sealed', runtimeImage: 'img' } },
        databases: { create: { name: 'p-agentruntime-abcdef-db' } },
        environments: { create: { key: 'A', value: '1' } },
      },
      include: { sandboxes: true, databases: true, environments: true },
    });
    expect(project.status).toBe('CREATING');
    expect(project.sandboxes[0]!.status).toBe('CREATING');
    await db.user.delete({ where: { id: user.id } }); // cascades
    expect(await db.project.count()).toBe(0);
  } finally {
    await db.$disconnect();
    await database.drop();
  }
});

it('refuses a migration that was edited after it was applied', async () => {
  const database = await createMigratedDatabase(process.env.TEST_DATABASE_URL!, 'fsa_migrations_edit');
  const dir = fs.mkdtempSync(path.join(ROOT, 'node_modules', '.fsa-mig-'));
  try {
    const first = listMigrations()[0]!;
    fs.mkdirSync(path.join(dir, first.name));
    fs.writeFileSync(path.join(dir, first.name, 'migration.sql'), first.sql + '\n-- edited\n');
    await expect(migrate(database.url, dir)).rejects.toThrow(/was changed after it was applied/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await database.drop();
  }
});
