// The worker process: task queue project-lifecycle, Kubernetes activities with the
// owner's kubeconfig, the status projection, Prometheus metrics. SIGTERM/SIGINT stop
// polling, let in-flight tasks finish, then exit.
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createKubernetesActivities } from '../activities/kubernetes';
import { SharedWatches } from '../activities/kubernetes/shared-watches';
import { createRetentionActivities } from '../activities/retention';
import { createStatusProjection } from '../activities/status-projection';
import { ConfigError, databaseUrl, loadConfig } from '../server/config';
import { createCipher } from '../server/crypto';
import { createDb } from '../server/db';
import { egressPolicyFromConfig } from '../server/egress';
import { readAdminKubeconfig } from '../server/kubeconfig';
import { ensureRetentionSchedule, retentionFromConfig } from '../server/schedules';
import { createLogger } from '../server/logger';
import { migrate } from '../server/migrate';
import { encryptionKey } from '../server/secrets';
import { temporalConnectionOptions } from '../server/temporal-connection';
import { createLifecycleWorker } from './create-worker';
import { startWorkerTelemetry } from './metrics';

async function main() {
  const config = loadConfig();
  const logger = createLogger('worker', config.LOG_LEVEL);
  const telemetry = await startWorkerTelemetry(config, logger); // once, before any connection

  const dbUrl = databaseUrl(config);
  await migrate(dbUrl);
  const db = createDb(dbUrl);
  const cipher = createCipher(encryptionKey(config));
  const adminKubeconfig = readAdminKubeconfig(config.CLUSTER_ADMIN_KUBECONFIG);

  const sharedWatches = new SharedWatches();
  const activities = {
    ...createKubernetesActivities({
      db,
      cipher,
      clusterDomain: config.CLUSTER_DOMAIN,
      urlScheme: config.SANDBOX_URL_SCHEME,
      urlPort: config.SANDBOX_URL_PORT,
      adminKubeconfig,
      egress: egressPolicyFromConfig(config),
      logger,
      sharedWatches,
    }),
    ...createStatusProjection(db),
    ...createRetentionActivities(db),
  };

  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  const worker = await createLifecycleWorker({
    connection,
    activities,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    shutdownGraceTime: config.SHUTDOWN_TIMEOUT_MS,
    maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
  });
  // The retention sweeper's Temporal Schedule follows the configuration (removed when off).
  const retention = await ensureRetentionSchedule(new Client({ connection, namespace: config.TEMPORAL_NAMESPACE }), config.TEMPORAL_TASK_QUEUE, retentionFromConfig(config));
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, namespace: config.TEMPORAL_NAMESPACE, retention }, 'worker polling');
  // The SDK's Runtime stops the worker on SIGINT/SIGTERM; run() resolves once drained.
  await worker.run();
  sharedWatches.close();
  await connection.close();
  await telemetry.close();
  await db.$disconnect();
  logger.info('worker stopped');
}

main().catch((err) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
