// Records workflow histories for the replay test (workflows/replay.test.ts). Run after
// an intended change of projectLifecycle's behaviour, on a throwaway dev server:
//   npx tsx scripts/record-histories.ts
// Committed histories make CI fail when a change would break running workflows.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { freePort } from './services/process';
import { startTemporalDevServer, temporalCliPath } from './services/temporal';
import { createFakeActivities } from '../test/fake-activities';
import { createHarness, isStatus, waitForStatus } from '../test/lifecycle-harness';
import { deleteSignal, environmentChangedSignal, startSignal, stopSignal } from '../workflows/messages';

const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../workflows/histories');

const binary = temporalCliPath({ cacheDir: process.env.CACHE_DIR ?? path.join(os.homedir(), '.cache', 'fullstackagent') });
const server = await startTemporalDevServer({ binary, port: await freePort(), headless: true, logFile: path.join(os.tmpdir(), 'fsa-record.log') });
const harness = await createHarness(server.address);
const { activities, fake } = createFakeActivities({ sandboxReadyMs: 300, databaseReadyMs: 300 });
await harness.startWorker(activities);

const scenarios: Record<string, () => Promise<import('@temporalio/client').WorkflowHandle>> = {
  'full-lifecycle': async () => {
    const h = await harness.startProject({ projectId: 'rec-full' });
    await waitForStatus(h, isStatus('RUNNING'));
    fake.env.set('rec-full', { A: '1' });
    await h.signal(environmentChangedSignal);
    await waitForStatus(h, isStatus('UPDATING'));
    await waitForStatus(h, isStatus('RUNNING'));
    await h.signal(stopSignal);
    await waitForStatus(h, isStatus('STOPPED'));
    await h.signal(startSignal);
    await waitForStatus(h, isStatus('RUNNING'));
    await h.signal(deleteSignal);
    await h.result();
    return h;
  },
  'error-then-retry': async () => {
    fake.failNext('ensureSandbox', { type: 'InvalidSpec', message: 'StatefulSet "x" is invalid: spec.template.spec.containers[0].image: Required value' });
    fake.failNext('observeDatabase', 'transient');
    const h = await harness.startProject({ projectId: 'rec-error' });
    await waitForStatus(h, isStatus('ERROR'));
    await h.signal(startSignal);
    await waitForStatus(h, isStatus('RUNNING'));
    await h.signal(deleteSignal);
    await h.result();
    return h;
  },
  'delete-mid-creation': async () => {
    fake.neverBecomeReady('rec-mid');
    const h = await harness.startProject({ projectId: 'rec-mid' });
    await waitForStatus(h, (v) => v.stages.find((s) => s.name === 'terminal')?.state === 'active');
    await h.signal(stopSignal);
    await h.signal(deleteSignal);
    await h.signal(deleteSignal);
    await h.result();
    return h;
  },
};

fs.mkdirSync(OUT, { recursive: true });
try {
  for (const [name, run] of Object.entries(scenarios)) {
    const handle = await run();
    const history = await handle.fetchHistory();
    fs.writeFileSync(path.join(OUT, `${name}.json`), historyToJSON(history) + '\n');
    console.log(`recorded ${name}: ${history.events?.length} events`);
  }
} finally {
  await harness.close();
  await server.stop();
}
