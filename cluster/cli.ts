// npx tsx cluster/cli.ts up|down|status [--data-dir DIR] [--node real|simulated]
//   up      start the local control plane in the foreground (Ctrl-C stops it)
//   down    stop the cluster started by `up` for that data dir
//   status  print whether it runs, its server and admin kubeconfig
// Defaults: data dir $DATA_DIR/cluster (DATA_DIR defaults to ./.data), cache $CACHE_DIR,
// node $EMBEDDED_CLUSTER_NODE or `real`.
import os from 'node:os';
import path from 'node:path';
import { readClusterState, startLocalCluster } from './local-cluster';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const cacheDir = process.env.CACHE_DIR || path.join(os.homedir(), '.cache', 'fullstackagent');
const dataDir = path.resolve(arg('--data-dir') ?? path.join(process.env.DATA_DIR || '.data', 'cluster'));
const command = process.argv[2];
const node = arg('--node') ?? process.env.EMBEDDED_CLUSTER_NODE ?? 'real';

async function main(): Promise<number> {
  switch (command) {
    case 'up': {
      const running = readClusterState(dataDir);
      if (running) {
        console.error(`a local cluster already runs for ${dataDir} (pid ${running.pid}, ${running.server}); run \`npx tsx cluster/cli.ts down\` first`);
        return 1;
      }
      if (node !== 'real' && node !== 'simulated') {
        console.error(`--node must be real or simulated, got "${node}"`);
        return 2;
      }
      const cluster = await startLocalCluster({ cacheDir, dataDir, node });
      console.log(`\nexport KUBECONFIG=${cluster.adminKubeconfigPath}\n(Ctrl-C stops the cluster)`);
      await new Promise<void>((resolve) => {
        const done = () => resolve();
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      console.log('[cluster] stopping');
      await cluster.stop();
      return 0;
    }
    case 'down': {
      const state = readClusterState(dataDir);
      if (!state) {
        console.log(`no local cluster runs for ${dataDir}`);
        return 0;
      }
      process.kill(state.pid, 'SIGTERM');
      for (let i = 0; i < 300 && readClusterState(dataDir); i++) await new Promise((r) => setTimeout(r, 100));
      console.log(readClusterState(dataDir) ? `pid ${state.pid} did not stop within 30 s` : 'stopped');
      return 0;
    }
    case 'status': {
      const state = readClusterState(dataDir);
      if (!state) {
        console.log(`not running (data dir ${dataDir})`);
        return 1;
      }
      console.log(JSON.stringify(state, null, 2));
      return 0;
    }
    default:
      console.error('usage: npx tsx cluster/cli.ts up|down|status [--data-dir DIR] [--node real|simulated]');
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
