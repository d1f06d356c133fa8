// Starts a throwaway environment for scripts/bench-api.ts — Temporal dev server, a fresh
// database, a lifecycle worker with fake activities and the web process (production
// build) — runs the benchmark against it, prints the figures and tears everything down.
//   npx tsx web/test/bench-env.ts [--duration 10] [--connections 10]
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { createDb } from '../../server/db';
import { createMigratedDatabase } from '../../scripts/services/postgres';
import { freePort } from '../../scripts/services/process';
import { startTemporalDevServer, temporalCliPath } from '../../scripts/services/temporal';
import { createFakeActivities } from '../../test/fake-activities';
import { createLifecycleWorker } from '../../worker/create-worker';
import { REPO_ROOT, buildWeb, startWebProcess } from './web-process';

const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/postgres';
const binary = temporalCliPath({ cacheDir: process.env.CACHE_DIR ?? path.join(os.homedir(), '.cache', 'fullstackagent'), cliPath: process.env.TEMPORAL_CLI_PATH });
const temporal = await startTemporalDevServer({ binary, port: await freePort(), headless: true, logFile: path.join(os.tmpdir(), 'fsa-bench-temporal.log') });
const database = await createMigratedDatabase(adminUrl, 'fsa_bench');
const db = createDb(database.url);
const taskQueue = `bench-${Date.now().toString(36)}`;
const connection = await NativeConnection.connect({ address: temporal.address });
const worker = await createLifecycleWorker({ connection, taskQueue, activities: createFakeActivities({ db }).activities });
const running = worker.run();
buildWeb();
const web = await startWebProcess({ DATABASE_URL: database.url, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TASK_QUEUE: taskQueue });
try {
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/bench-api.ts', '--url', web.baseUrl, ...process.argv.slice(2)], { cwd: REPO_ROOT, stdio: 'inherit' });
} finally {
  await web.stop();
  worker.shutdown();
  await running.catch(() => undefined);
  await connection.close();
  await db.$disconnect();
  await database.drop();
  await temporal.stop();
}
