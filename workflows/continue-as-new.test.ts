// Continue-as-new on a real dev server configured to suggest it after a short history:
// state is carried and no signal is lost across the hop.
import os from 'node:os';
import path from 'node:path';
import type { ManagedProcess } from '../scripts/services/process';
import { freePort } from '../scripts/services/process';
import { startTemporalDevServer } from '../scripts/services/temporal';
import { createFakeActivities } from '../test/fake-activities';
import { createHarness, isStatus, waitForStatus, type Harness } from '../test/lifecycle-harness';
import { environmentChangedSignal, startSignal, statusQuery, stopSignal } from './messages';

let server: ManagedProcess;
let harness: Harness;

beforeAll(async () => {
  server = await startTemporalDevServer({
    binary: process.env.TEMPORAL_CLI_PATH!,
    port: await freePort(),
    headless: true,
    logFile: path.join(os.tmpdir(), 'fsa-test-temporal-can.log'),
    extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=60'],
  });
  harness = await createHarness((server as ManagedProcess & { address: string }).address);
});

afterAll(async () => {
  await harness?.close();
  await server?.stop();
});

it('continues as new when the server suggests it, carrying state and losing no signal', async () => {
  const { activities, fake } = createFakeActivities({ sandboxReadyMs: 100, databaseReadyMs: 100, stopMs: 50 });
  await harness.startWorker(activities);
  const handle = await harness.startProject({ projectId: 'can1' });
  const firstRunId = handle.firstExecutionRunId;
  await waitForStatus(handle, isStatus('RUNNING'));

  // Enough traffic for several runs; the signals land while runs hand over.
  for (let i = 1; i <= 6; i++) {
    fake.env.set('can1', { ROUND: String(i) });
    await handle.signal(environmentChangedSignal);
    await handle.signal(stopSignal);
    await handle.signal(startSignal);
    await waitForStatus(handle, (v) => v.status === 'RUNNING' && JSON.parse(fake.sandboxes.get('can1')!.env).ROUND === String(i));
  }
  await handle.signal(stopSignal);
  const stopped = await waitForStatus(handle, isStatus('STOPPED'));

  // The hop happens once the run is idle; wait for the latest run to differ.
  const current = harness.env.client.workflow.getHandle('project-can1');
  let described = await current.describe();
  for (let i = 0; i < 100 && described.runId === firstRunId; i++) {
    await new Promise((r) => setTimeout(r, 100));
    described = await current.describe();
  }
  expect(described.runId).not.toBe(firstRunId);
  expect((await current.query(statusQuery)).status).toBe('STOPPED');
  expect(described.status.name).toBe('RUNNING');
  expect(stopped.desired).toBe('STOPPED');
  expect(JSON.parse(fake.sandboxes.get('can1')!.env)).toEqual({ ROUND: '6' });
  // Stage timestamps and URLs survived the hops.
  expect(stopped.sandbox.publicUrl).toMatch(/^https:\/\//);
  expect(stopped.lastError).toBeNull();
  // The timeline runs on across the hops: one sequence without gaps or repeats, every intent in it.
  const entries = new Map(fake.timeline.map((e) => [e.seq, e]));
  const seqs = [...entries.keys()].sort((a, b) => a - b);
  expect(seqs).toEqual(seqs.map((_s, i) => i));
  const intents = seqs.map((s) => entries.get(s)!).filter((e) => e.kind === 'intent');
  expect(intents.map((e) => e.action)).toEqual(['RUNNING', ...Array.from({ length: 6 }, () => ['STOPPED', 'RUNNING']).flat(), 'STOPPED']);
  expect(intents.every((e) => e.actor?.kind === 'operator')).toBe(true);
  expect(new Set(fake.timeline.map((e) => e.id.split(':')[0])).size).toBeGreaterThan(1); // written by several runs
});
