// The Temporal server as the compose file runs it (docker-compose.temporal.yml): version
// 1.29.1, PostgreSQL persistence (the postgres12 plugin) with 4 history shards, and the
// compose file's own dynamic config. For the lifecycle bench, where the embedded dev
// server (one shard, SQLite) is the limit at N = 1,000 (docs/decisions/0011). The server
// and its schema tool build once from the Go module proxy into CACHE_DIR/temporal-server;
// the schema files come with the module and are copied beside them.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { createEmptyDatabase } from './postgres';
import { freeListenPort, startProcess, waitForPort } from './process';
import { SEARCH_ATTRIBUTES, type TemporalService } from './temporal';

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
  /** A PostgreSQL role that may create databases; the server's two databases are made under it. */
  adminUrl: string;
  dataDir: string;
  /** The dynamic config file (default: the compose file's). */
  dynamicConfigFile: string;
  namespace?: string;
  numHistoryShards?: number;
  logFile?: string;
}

export interface TemporalServerService extends TemporalService {
  /** Go's pprof on localhost: goroutine dumps show where a stuck server waits. */
  pprofUrl: string;
}

/** Its stop() also drops the server's two databases. */
export async function startTemporalServer(o: TemporalServerOptions): Promise<TemporalServerService> {
  const admin = new URL(o.adminUrl);
  const sqlEnv = {
    ...process.env,
    SQL_PLUGIN: 'postgres12',
    SQL_HOST: admin.hostname,
    SQL_PORT: admin.port || '5432',
    SQL_USER: decodeURIComponent(admin.username),
    // From the environment, not argv: the password stays out of `ps`.
    SQL_PASSWORD: decodeURIComponent(admin.password),
  };
  const main = await createEmptyDatabase(o.adminUrl, 'temporal');
  const visibility = await createEmptyDatabase(o.adminUrl, 'temporal_vis');
  const dropDatabases = async () => {
    await main.drop();
    await visibility.drop();
  };
  const sqlTool = (db: string, ...args: string[]) =>
    // Its log (every statement, at debug level) is shown only when it fails.
    execFileSync(o.build.sqlTool, ['--db', db, ...args], { env: sqlEnv, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
  try {
    sqlTool(main.name, 'setup-schema', '-v', '0.0');
    sqlTool(main.name, 'update-schema', '-d', path.join(o.build.schemaDir, 'temporal', 'versioned'));
    sqlTool(visibility.name, 'setup-schema', '-v', '0.0');
    sqlTool(visibility.name, 'update-schema', '-d', path.join(o.build.schemaDir, 'visibility', 'versioned'));
  } catch (err) {
    await dropDatabases();
    throw err;
  }

  const ports = { frontend: 0, frontendMembership: 0, history: 0, historyMembership: 0, matching: 0, matchingMembership: 0, worker: 0, workerMembership: 0 };
  for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freeListenPort();
  const pprofPort = await freeListenPort();
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
      datastores: { default: datastore(main.name, 20), visibility: datastore(visibility.name, 10) },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' }, pprof: { port: pprofPort } },
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

  const proc = startProcess(
    'temporal-server',
    o.build.server,
    ['--root', o.dataDir, '--config', 'config', '--env', 'development', '--allow-no-auth', 'start'],
    o.logFile ? { logFile: o.logFile } : { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const address = `127.0.0.1:${ports.frontend}`;
  try {
    await waitForPort(ports.frontend, 120_000, 'Temporal server', proc);
    await createNamespace(address, o.namespace ?? 'default');
  } catch (err) {
    await proc.stop();
    await dropDatabases();
    throw err;
  }
  return {
    address,
    pprofUrl: `http://127.0.0.1:${pprofPort}/debug/pprof/`,
    async stop() {
      await proc.stop();
      await dropDatabases();
    },
  };
}

/**
 * What the compose file's temporal-setup does: the namespace, then the search attributes.
 * The frontend listens before the server's other services have joined and answers
 * UNAVAILABLE until then; the client's own gRPC retry (backoff, ten attempts) waits that out.
 */
async function createNamespace(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: proto.google.protobuf.Duration.fromObject({ seconds: 86_400 }) });
    const keyword = proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((name) => [name, keyword])) });
  } finally {
    await connection.close();
  }
}
