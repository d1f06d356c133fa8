// Starts the real services of a test tier (jest.config.js), once per run, and passes their
// addresses to the test files through the environment. Tiers are cumulative: `database`
// checks PostgreSQL (scripts/test.sh starts it), `temporal` adds the Temporal dev server,
// `cluster` adds the local Kubernetes control plane. A run over several tiers starts each
// service once: what an earlier tier's setup started is reused.
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { canConnect } from '../scripts/services/postgres';
import { freePort } from '../scripts/services/process';
import { startTemporalDevServer, temporalCliPath } from '../scripts/services/temporal';
import { once, stopAll, track } from './services';

export type Tier = 'database' | 'temporal' | 'cluster';

const cacheDir = () => process.env.CACHE_DIR ?? path.join(os.homedir(), '.cache', 'fullstackagent');

const start: Record<Tier, () => Promise<void>> = {
  // Tests read TEST_DATABASE_URL (an admin URL; each file creates its own database).
  async database() {
    const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/postgres';
    if (!(await canConnect(adminUrl))) {
      throw new Error(`PostgreSQL is not reachable at ${adminUrl}. Run the tests with scripts/test.sh, which installs and starts it, or set TEST_DATABASE_URL.`);
    }
    process.env.TEST_DATABASE_URL = adminUrl;
  },

  // Tests read TEST_TEMPORAL_ADDRESS, and TEMPORAL_CLI_PATH to start a dev server of their own.
  async temporal() {
    const binary = temporalCliPath({ cacheDir: cacheDir(), cliPath: process.env.TEMPORAL_CLI_PATH });
    process.env.TEMPORAL_CLI_PATH = binary;
    const temporal = track(
      await startTemporalDevServer({ binary, port: await freePort(), headless: true, logFile: path.join(os.tmpdir(), 'fsa-test-temporal.log') }),
    );
    process.env.TEST_TEMPORAL_ADDRESS = temporal.address;
  },

  // The local Kubernetes control plane (cluster/), on free ports. Tests read TEST_KUBECONFIG
  // (admin) and TEST_CLUSTER_DATA_DIR (for an extra API server).
  async cluster() {
    const { buildIfMissing, startLocalCluster } = await import('../cluster/local-cluster');
    buildIfMissing(cacheDir());
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-test-cluster-'));
    const clusterLog = path.join(os.tmpdir(), 'fsa-test-cluster.log');
    const cluster = await startLocalCluster({
      cacheDir: cacheDir(),
      dataDir,
      phaseDelayMs: 500,
      log: (m) => fs.appendFileSync(clusterLog, `${new Date().toISOString()} ${m}\n`),
    });
    track({
      name: 'kubernetes',
      child: cluster.apiserver.child,
      async stop() {
        await cluster.stop();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    });
    process.env.TEST_KUBECONFIG = cluster.adminKubeconfigPath;
    process.env.TEST_CLUSTER_DATA_DIR = dataDir;
  },
};

const ORDER: Tier[] = ['database', 'temporal', 'cluster'];

export async function startServices(tier: Tier): Promise<void> {
  try {
    for (const service of ORDER.slice(0, ORDER.indexOf(tier) + 1)) await once(service, start[service]);
  } catch (err) {
    await stopAll();
    throw err;
  }
}
