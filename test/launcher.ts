// Runs the platform launcher (scripts/platform.ts, what ./scripts/start.sh execs) as a child
// process on a fresh DATA_DIR with free ports: the embedded PostgreSQL it starts, the
// worker with the real Kubernetes activities, the web in development mode (Vite), as a
// newcomer gets them. Temporal and Kubernetes may be the test run's (TEMPORAL_ADDRESS of a
// running server is used as is; CLUSTER_ADMIN_KUBECONFIG replaces the embedded cluster).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { embeddedUrls } from '../scripts/services/embedded-postgres';
import { freeListenPort } from '../scripts/services/process';
import { reclaimLeftovers, unmountUnder } from '../cluster/node';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface Platform {
  baseUrl: string;
  port: number;
  dataDir: string;
  dbPort: number;
  /** The platform's database (as the app role) and the embedded server's admin database. */
  databaseUrl: string;
  adminUrl: string;
  logFile: string;
  child: ChildProcess;
  /** Log lines so far (launcher, worker and web output). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Whatever still runs with this data folder in its command line once the launcher is gone
 * (it died, or was killed before its shutdown finished): stopped, and the node's mounts
 * released, so the folder can be removed and the next test starts clean.
 */
async function killLeftovers(dataDir: string): Promise<void> {
  const pids = fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    .filter((d) => {
      try {
        // The cluster's processes name the folder in their arguments; the web and the worker in DATA_DIR.
        return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(dataDir) || fs.readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(`DATA_DIR=${dataDir}`);
      } catch {
        return false;
      }
    })
    .map(Number);
  if (pids.length) console.warn(`[launcher] ${pids.length} process(es) of ${dataDir} outlived the platform; killing them`);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  if (pids.length) await new Promise((r) => setTimeout(r, 1_000));
  await reclaimLeftovers(() => {});
  await unmountUnder(dataDir);
}

export async function startPlatform(env: Record<string, string>, opts: { timeoutMs?: number; dataDir?: string } = {}): Promise<Platform> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-platform-'));
  fs.chmodSync(dataDir, 0o755); // like ./.data: searchable by the database's system user
  // Bound only after the platform's slower steps (a real node imports images first).
  const [port, dbPort, metricsPort, uiPort] = await Promise.all([freeListenPort(), freeListenPort(), freeListenPort(), freeListenPort()]);
  const logFile = path.join(dataDir, 'platform.log');
  const out = fs.openSync(logFile, 'a');
  const childEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    CACHE_DIR: process.env.CACHE_DIR,
    TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH,
    NODE_ENV: 'development',
    DATA_DIR: dataDir,
    PORT: String(port),
    EMBEDDED_DB_PORT: String(dbPort),
    WORKER_METRICS_PORT: String(metricsPort),
    TEMPORAL_UI_PORT: String(uiPort),
    LOG_LEVEL: 'info',
    ...env,
  };
  for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k];
  // One process (no tsx wrapper in between), so SIGTERM reaches the platform's own handler.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'scripts', 'platform.ts')], {
    cwd: REPO_ROOT,
    env: childEnv,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = () => fs.readFileSync(logFile, 'utf8');
  const baseUrl = `http://127.0.0.1:${port}`;
  const { url, adminUrl } = embeddedUrls(dataDir, dbPort);
  const platform: Platform = {
    baseUrl,
    port,
    dataDir,
    dbPort,
    databaseUrl: url,
    adminUrl,
    logFile,
    child,
    log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        // A real node drains its pods first: give it time before the hard stop.
        const t = setTimeout(() => child.kill('SIGKILL'), 120_000);
        await exited;
        clearTimeout(t);
      }
      await killLeftovers(dataDir);
    },
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 180_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the platform exited (${child.exitCode}) while starting:\n${log().slice(-4000)}`);
    try {
      const res = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(3_000) });
      if (res.status === 200) return platform;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await platform.stop();
  throw new Error(`the platform was not ready within ${opts.timeoutMs ?? 180_000} ms:\n${log().slice(-4000)}`);
}
