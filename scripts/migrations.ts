// Generates SQL migrations from prisma/schema.prisma, offline.
//   npx tsx scripts/migrations.ts create <name>   diff(last snapshot → schema) into a new migration
//   npx tsx scripts/migrations.ts check           exit 1 when the schema has changes without a migration
// Prisma 7's CLI needs a downloadable schema engine for `migrate diff`; Prisma 6.19 with
// its WASM engine ('js') does the diff offline, so it is installed once into CACHE_DIR.
// It needs a reachable PostgreSQL for its adapter (DATABASE_URL or the test server).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listMigrations, MIGRATIONS_DIR } from '../server/migrate';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCHEMA = path.join(ROOT, 'prisma', 'schema.prisma');
const SNAPSHOT = 'schema.snapshot.prisma';
const PRISMA6 = '6.19.1';
const cacheDir = path.join(process.env.CACHE_DIR ?? path.join(os.homedir(), '.cache', 'fullstackagent'), 'prisma6');
const dbUrl = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/postgres';

function ensurePrisma6() {
  if (fs.existsSync(path.join(cacheDir, 'node_modules', 'prisma', 'package.json'))) return;
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.writeFileSync(path.join(cacheDir, 'package.json'), '{"private":true}\n');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--save-exact', `prisma@${PRISMA6}`, `@prisma/adapter-pg@${PRISMA6}`, 'pg@8'], { cwd: cacheDir, stdio: 'inherit' });
}

function withUrl(schemaFile: string, out: string) {
  // Prisma 6 wants a url in the datasource block; the diff itself never uses it.
  const text = fs.readFileSync(schemaFile, 'utf8').replace(/provider = "postgresql"/, `provider = "postgresql"\n  url = "${dbUrl}"`);
  fs.writeFileSync(out, text);
  return out;
}

function diff(from: string | null): string {
  ensurePrisma6();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-migrations-'));
  const config = path.join(tmp, 'prisma.config.ts');
  fs.writeFileSync(
    config,
    `import { PrismaPg } from '@prisma/adapter-pg';
export default { engine: 'js', experimental: { adapter: true }, adapter: async () => new PrismaPg({ connectionString: ${JSON.stringify(dbUrl)} }) };\n`,
  );
  const args = ['prisma', 'migrate', 'diff', '--config', config, '--script', '--to-schema-datamodel', withUrl(SCHEMA, path.join(tmp, 'to.prisma'))];
  if (from) args.push('--from-schema-datamodel', withUrl(from, path.join(tmp, 'from.prisma')));
  else args.push('--from-empty');
  const dummy = process.execPath; // any existing file: the WASM engine needs no binaries
  const out = execFileSync('npx', ['--prefix', cacheDir, '--no-install', ...args], {
    cwd: cacheDir,
    env: { ...process.env, NODE_PATH: path.join(cacheDir, 'node_modules'), PRISMA_QUERY_ENGINE_LIBRARY: dummy, PRISMA_SCHEMA_ENGINE_BINARY: dummy },
    encoding: 'utf8',
  });
  fs.rmSync(tmp, { recursive: true, force: true });
  return out;
}

const isEmpty = (sql: string) => sql.replace(/--.*$/gm, '').trim() === '';

function lastSnapshot(): string | null {
  const last = listMigrations().at(-1);
  return last ? path.join(MIGRATIONS_DIR, last.name, SNAPSHOT) : null;
}

const [command, name] = process.argv.slice(2);
if (command === 'create') {
  if (!name || !/^[a-z0-9_]+$/.test(name)) throw new Error('usage: scripts/migrations.ts create <name: a-z 0-9 _>');
  const sql = diff(lastSnapshot());
  if (isEmpty(sql)) {
    console.log('schema.prisma matches the last migration: nothing to create');
  } else {
    const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    const dir = path.join(MIGRATIONS_DIR, `${stamp}_${name}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'migration.sql'), sql);
    fs.copyFileSync(SCHEMA, path.join(dir, SNAPSHOT));
    console.log(`created ${path.relative(ROOT, dir)}`);
  }
} else if (command === 'check') {
  const sql = diff(lastSnapshot());
  if (!isEmpty(sql)) {
    console.error(`schema.prisma has changes without a migration; run: npx tsx scripts/migrations.ts create <name>\n${sql}`);
    process.exit(1);
  }
  console.log('migrations are up to date');
} else {
  console.error('usage: npx tsx scripts/migrations.ts create <name> | check');
  process.exit(2);
}
