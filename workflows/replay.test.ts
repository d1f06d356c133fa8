// Replays checked-in histories (scripts/record-histories.ts) against the current
// workflow code: a non-deterministic change fails here before it breaks running
// lifecycles.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { lifecycleWorkflowBundle } from '../worker/create-worker';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'histories');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json'));

it('has recorded histories to replay', () => {
  expect(files.length).toBeGreaterThanOrEqual(3);
});

it.each(files)('replays %s deterministically', async (file) => {
  const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')));
  const results = Worker.runReplayHistories({ workflowBundle: await lifecycleWorkflowBundle() }, [{ workflowId: file, history }]);
  for await (const result of results) {
    expect(result.error).toBeUndefined();
  }
});
