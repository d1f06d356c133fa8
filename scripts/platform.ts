// Runs the whole platform on embedded defaults: the app database (a real PostgreSQL server
// under DATA_DIR/postgres on EMBEDDED_DB_PORT, unless DATABASE_URL is set), the Temporal dev
// server (unless TEMPORAL_ADDRESS points at a reachable server) and the local Kubernetes
// control plane (unless CLUSTER_ADMIN_KUBECONFIG is set or EMBEDDED_CLUSTER=false), side
// by side, then the worker and the web process. Ctrl-C stops everything in reverse order.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, type Config } from '../server/config';
import { authSecret, encryptionKey } from '../server/secrets';
import { startAppDatabase } from './services/embedded-postgres';
import { isPortOpen, startProcess, waitForPort, type ManagedProcess } from './services/process';
import { startTemporalDevServer, temporalCliPath } from './services/temporal';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

type Stoppable = { name: string; stop(): Promise<void> };
const started: Stoppable[] = [];
const say = (msg: string) => console.log(`[platform] ${msg}`);

async function startDatabase(config: Config, env: NodeJS.ProcessEnv) {
  const database = await startAppDatabase(config, { log: (m) => say(m) });
  if (database.kind === 'embedded') started.push({ name: 'postgres', stop: database.stop });
  env.DATABASE_URL = database.url;
  say(database.migrations.length ? `migrations applied: ${database.migrations.join(', ')}` : 'migrations: up to date');
}

async function startTemporal(config: Config, env: NodeJS.ProcessEnv) {
  const [host, portText] = config.TEMPORAL_ADDRESS.split(':');
  const port = Number(portText);
  const local = host === 'localhost' || host === '127.0.0.1';
  if (!local || (await isPortOpen(port))) {
    say(`Temporal: ${config.TEMPORAL_ADDRESS} (already running)`);
    return;
  }
  const binary = temporalCliPath({ cacheDir: config.CACHE_DIR, cliPath: config.TEMPORAL_CLI_PATH });
  const dbFile = path.join(config.DATA_DIR, 'temporal.db');
  say(`Temporal: dev server on ${port}, SQLite ${dbFile}, Web UI http://localhost:${config.TEMPORAL_UI_PORT}`);
  const server = await startTemporalDevServer({
    binary,
    port,
    uiPort: config.TEMPORAL_UI_PORT,
    dbFile,
    namespace: config.TEMPORAL_NAMESPACE,
    logFile: path.join(config.DATA_DIR, 'temporal.log'),
  });
  started.push(server);
  env.TEMPORAL_ADDRESS = server.address;
}

async function startCluster(config: Config, env: NodeJS.ProcessEnv) {
  if (config.CLUSTER_ADMIN_KUBECONFIG) {
    say(`Kubernetes: CLUSTER_ADMIN_KUBECONFIG=${config.CLUSTER_ADMIN_KUBECONFIG}`);
    return;
  }
  if (!config.EMBEDDED_CLUSTER) {
    say('Kubernetes: each user brings a kubeconfig (EMBEDDED_CLUSTER=false)');
    return;
  }
  const { buildIfMissing, startLocalCluster } = await import('../cluster/local-cluster');
  buildIfMissing(config.CACHE_DIR);
  const dataDir = path.join(config.DATA_DIR, 'cluster');
  say(`Kubernetes: local cluster in ${dataDir} (${config.EMBEDDED_CLUSTER_NODE} node)`);
  const cluster = await startLocalCluster({ cacheDir: config.CACHE_DIR, dataDir, node: config.EMBEDDED_CLUSTER_NODE, ingressPort: config.EMBEDDED_INGRESS_PORT });
  started.push({ name: 'kubernetes', stop: () => cluster.stop() });
  env.CLUSTER_ADMIN_KUBECONFIG = cluster.adminKubeconfigPath;
  if (cluster.realNode) {
    // Sandbox URLs point at the node's ingress controller, unless the operator chose otherwise.
    env.SANDBOX_URL_SCHEME ??= 'http';
    env.SANDBOX_URL_PORT ??= String(cluster.realNode.ingressPort);
    say(`sandbox apps: http://<name>.${config.CLUSTER_DOMAIN}:${cluster.realNode.ingressPort} (Traefik on the real node)`);
  }
}

function startNode(name: string, entry: string, env: NodeJS.ProcessEnv): ManagedProcess {
  const proc = startProcess(name, TSX, [path.join(ROOT, entry)], { env, cwd: ROOT });
  started.push(proc);
  proc.child.once('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited (${signal ?? code}); stopping the platform`);
      void shutdown(1);
    }
  });
  return proc;
}

let stopping = false;
async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  say('stopping');
  for (const s of started.splice(0).reverse()) {
    await s.stop().catch((err: unknown) => say(`${s.name}: ${String(err)}`));
  }
  process.exit(code);
}

async function main() {
  const config = loadConfig();
  fs.mkdirSync(config.DATA_DIR, { recursive: true });
  // Generate the at-rest keys once, before two processes race to do it.
  encryptionKey(config);
  authSecret(config);
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: config.DATA_DIR };
  // Independent of each other: started together (what is up is stopped again if one fails).
  const results = await Promise.allSettled([startDatabase(config, env), startTemporal(config, env), startCluster(config, env)]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;

  startNode('worker', 'worker/index.ts', env);
  const web = startNode('web', 'web/server/index.ts', env);
  await waitForPort(config.PORT, 120_000, 'web', web);
  say(`ready: http://localhost:${config.PORT}  (Temporal UI http://localhost:${config.TEMPORAL_UI_PORT}; Ctrl-C stops)`);
}

main().catch(async (err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  await shutdown(1);
});
