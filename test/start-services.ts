// Starts the real services the suite talks to, once per run, and passes their addresses
// to the test files through the environment.
import path from 'node:path';
import os from 'node:os';
import { canConnect } from '../scripts/services/postgres';
import { freePort } from '../scripts/services/process';
import { startTemporalDevServer, temporalCliPath } from '../scripts/services/temporal';
import { stopAll, track } from './services';

export async function startServices(): Promise<void> {
  const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/postgres';
  if (!(await canConnect(adminUrl))) {
    throw new Error(`PostgreSQL is not reachable at ${adminUrl}. Run the tests with scripts/test.sh, which installs and starts it, or set TEST_DATABASE_URL.`);
  }
  process.env.TEST_DATABASE_URL = adminUrl;

  try {
    const binary = temporalCliPath({
      cacheDir: process.env.CACHE_DIR ?? path.join(os.homedir(), '.cache', 'fullstackagent'),
      cliPath: process.env.TEMPORAL_CLI_PATH,
    });
    process.env.TEMPORAL_CLI_PATH = binary;
    const temporal = track(
      await startTemporalDevServer({ binary, port: await freePort(), headless: true, logFile: path.join(os.tmpdir(), 'fsa-test-temporal.log') }),
    );
    process.env.TEST_TEMPORAL_ADDRESS = temporal.address;

    // The local Kubernetes control plane (cluster/): one for the whole run, on free ports.
    // Tests read TEST_KUBECONFIG (admin) and TEST_CLUSTER_DATA_DIR (for an extra API server).
    {
      const fs = await import('node:fs');
      const { buildIfMissing, startLocalCluster } = await import('../cluster/local-cluster');
      const cacheDir = process.env.CACHE_DIR ?? path.join(os.homedir(), '.cache', 'fullstackagent');
      buildIfMissing(cacheDir);
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-test-cluster-'));
      const clusterLog = path.join(os.tmpdir(), 'fsa-test-cluster.log');
      const cluster = await startLocalCluster({
        cacheDir,
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
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
}
