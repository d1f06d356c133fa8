// The Temporal server as the compose file runs it (docker-compose.temporal.yml): version
// 1.29.1, PostgreSQL persistence (the postgres12 plugin) with 4 history shards, and the
// compose file's own dynamic config. For the lifecycle bench, where the embedded dev
// server (one shard, SQLite) is the limit at N = 1,000 (docs/decisions/0011). The server
// and its schema tool build once from the Go module proxy into CACHE_DIR/temporal-server;
// the schema files come with the module and are copied beside them.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { freeListenPort, startProcess, waitForPort, type ManagedProcess } from './process';
import { SEARCH_ATTRIBUTES } from './temporal';

/** The server the compose file pins (TEMPORAL_VERSION there); the Temporal CLI v1.5.1 embeds the same. */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const MODULE = 'go.temporal.io/server';

export interface TemporalServerBuild {
  server: string;
  sqlTool: string;
  /** schema/postgresql/v12 of the server's module. */
  schemaDir: string;
}

/** Builds the server and temporal-sql-tool once (a few minutes cold) and returns their paths. */
export function temporalServerBuild(cacheDir: string): TemporalServerBuild {
  const root = path.join(cacheDir, 'temporal-server', TEMPORAL_SERVER_VERSION);
  const built: TemporalServerBuild = {
    server: path.join(root, 'bin', 'temporal-server'),
    sqlTool: path.join(root, 'bin', 'temporal-sql-tool'),
    schemaDir: path.join(root, 'schema', 'postgresql', 'v12'),
  };
  if (fs.existsSync(built.server) && fs.existsSync(built.sqlTool) && fs.existsSync(built.schemaDir)) return built;
  console.log(`[temporal-server] building ${MODULE} ${TEMPORAL_SERVER_VERSION} into ${root} (one time, a few minutes)`);
  const gobin = fs.mkdtempSync(path.join(cacheDir, 'temporal-server-build-'));
  try {
    // The server's go.mod has no replace directives, so `go install pkg@version` works.
    const env = { ...process.env, CGO_ENABLED: '0', GOBIN: gobin, GOFLAGS: '-mod=mod -p=2' };
    for (const pkg of ['cmd/server', 'cmd/tools/sql']) {
      execFileSync('go', ['install', '-trimpath', '-ldflags', '-s -w', `${MODULE}/${pkg}@${TEMPORAL_SERVER_VERSION}`], { stdio: 'inherit', env });
    }
    const { Dir: modDir } = JSON.parse(execFileSync('go', ['mod', 'download', '-json', `${MODULE}@${TEMPORAL_SERVER_VERSION}`], { env, cwd: gobin, encoding: 'utf8' })) as { Dir: string };
    fs.mkdirSync(path.dirname(built.server), { recursive: true });
    fs.rmSync(path.join(root, 'schema'), { recursive: true, force: true });
    fs.cpSync(path.join(modDir, 'schema', 'postgresql', 'v12'), built.schemaDir, { recursive: true });
    // Last, so a half-done build is never taken for a finished one.
    fs.renameSync(path.join(gobin, 'sql'), built.sqlTool);
    fs.renameSync(path.join(gobin, 'server'), built.server);
  } finally {
    fs.rmSync(gobin, { recursive: true, force: true });
  }
  return built;
}

export interface TemporalServerOptions {
  build: TemporalServerBuild;
  /** Temporal CLI, for the namespace and search attributes (what the compose file's temporal-setup does). */
  cli: string;
  /** A PostgreSQL role that may create databases; the server's two databases are made under it. */
  adminUrl: string;
  dataDir: string;
  /** The dynamic config file (default: the compose file's). */
  dynamicConfigFile: string;
  namespace?: string;
  numHistoryShards?: number;
  logFile?: string;
}

export type TemporalServer = ManagedProcess & { address: string; dropDatabases(): Promise<void> };

export async function startTemporalServer(o: TemporalServerOptions): Promise<TemporalServer> {
  const admin = new URL(o.adminUrl);
  const suffix = `${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const databases = { main: `temporal_${suffix}`, visibility: `temporal_vis_${suffix}` };
  const sqlEnv = {
    ...process.env,
    SQL_PLUGIN: 'postgres12',
    SQL_HOST: admin.hostname,
    SQL_PORT: admin.port || '5432',
    SQL_USER: decodeURIComponent(admin.username),
    // From the environment, not argv: the password stays out of `ps`.
    SQL_PASSWORD: decodeURIComponent(admin.password),
  };
  const client = new pg.Client({ connectionString: o.adminUrl });
  await client.connect();
  try {
    for (const db of Object.values(databases)) await client.query(`CREATE DATABASE "${db}"`);
  } finally {
    await client.end();
  }
  const dropDatabases = async () => {
    const c = new pg.Client({ connectionString: o.adminUrl });
    await c.connect();
    try {
      for (const db of Object.values(databases)) await c.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    } finally {
      await c.end();
    }
  };
  const sqlTool = (db: string, ...args: string[]) =>
    // Its log (every statement, at debug level) is shown only when it fails.
    execFileSync(o.build.sqlTool, ['--db', db, ...args], { env: sqlEnv, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
  sqlTool(databases.main, 'setup-schema', '-v', '0.0');
  sqlTool(databases.main, 'update-schema', '-d', path.join(o.build.schemaDir, 'temporal', 'versioned'));
  sqlTool(databases.visibility, 'setup-schema', '-v', '0.0');
  sqlTool(databases.visibility, 'update-schema', '-d', path.join(o.build.schemaDir, 'visibility', 'versioned'));

  const ports = { frontend: 0, frontendMembership: 0, history: 0, historyMembership: 0, matching: 0, matchingMembership: 0, worker: 0, workerMembership: 0 };
  for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freeListenPort();
  const configDir = path.join(o.dataDir, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  const datastore = (db: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName: db,
      connectAddr: `${sqlEnv.SQL_HOST}:${sqlEnv.SQL_PORT}`,
      connectProtocol: 'tcp',
      user: sqlEnv.SQL_USER,
      password: sqlEnv.SQL_PASSWORD,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const service = (grpcPort: number, membershipPort: number) => ({ rpc: { grpcPort, membershipPort, bindOnLocalHost: true } });
  // JSON is YAML: the server reads this file as its config.
  const config = {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      // The temporalio/server image's default (NUM_HISTORY_SHARDS), which the compose file keeps.
      numHistoryShards: o.numHistoryShards ?? 4,
      datastores: { default: datastore(databases.main, 20), visibility: datastore(databases.visibility, 10) },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services: {
      frontend: service(ports.frontend, ports.frontendMembership),
      history: service(ports.history, ports.historyMembership),
      matching: service(ports.matching, ports.matchingMembership),
      worker: service(ports.worker, ports.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${ports.frontend}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: o.dynamicConfigFile, pollInterval: '10s' },
  };
  // The file holds the database password: readable by its owner only.
  fs.writeFileSync(path.join(configDir, 'development.yaml'), JSON.stringify(config, null, 2), { mode: 0o600 });

  const proc = startProcess('temporal-server', o.build.server, ['--root', o.dataDir, '--config', 'config', '--env', 'development', '--allow-no-auth', 'start'], {
    logFile: o.logFile,
    stdio: o.logFile ? undefined : ['ignore', 'ignore', 'inherit'],
  });
  const address = `127.0.0.1:${ports.frontend}`;
  try {
    await waitForPort(ports.frontend, 120_000, 'Temporal server', proc);
    // What the compose file's temporal-setup does: the namespace, then the search attributes.
    const namespace = o.namespace ?? 'default';
    const cli = (...args: string[]) => execFileSync(o.cli, [...args, '--address', address], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
    await retry(() => cli('operator', 'namespace', 'create', '--namespace', namespace, '--retention', '1d'), 'creating the namespace');
    await retry(
      () => cli('operator', 'search-attribute', 'create', '--namespace', namespace, ...SEARCH_ATTRIBUTES.flatMap((name) => ['--name', name, '--type', 'Keyword'])),
      'creating the search attributes',
    );
  } catch (err) {
    await proc.stop();
    await dropDatabases();
    throw err;
  }
  return Object.assign(proc, { address, dropDatabases });
}

/** The frontend listens before the server's other services have joined: early calls fail. */
async function retry(fn: () => unknown, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      fn();
      return;
    } catch (err) {
      const stderr = String((err as { stderr?: Buffer }).stderr ?? err);
      if (/already (exists|registered)/i.test(stderr)) return;
      if (Date.now() > deadline) throw new Error(`Temporal server: ${what} failed: ${stderr.trim()}`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}
