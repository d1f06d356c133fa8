// Creation without orphans: an ambiguous `workflow.start` error (the answer was lost, the
// server may have started the workflow) must not delete the project's rows blindly. The web
// runs with a Temporal client whose start/describe fail on purpose, against the real Temporal
// dev server and a lifecycle worker (fake Kubernetes activities).
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { workflowIdForProject } from '../../common/names';
import { createLogger } from '../../server/logger';
import { createApp, type WebApp } from '../server/app';
import { ApiClient, startWebHarness, waitFor, type WebHarness } from './harness';

let h: WebHarness;
let token: string;

beforeAll(async () => {
  h = await startWebHarness({ prefix: 'fsa_web_orphans', worker: true });
  const user = new ApiClient(h.baseUrl);
  await user.signIn('orphan-user');
  token = (await user.call('POST', '/api/tokens', { name: 'orphans' })).body.token;
});

afterAll(async () => {
  await h?.close();
});

/** What a lost answer looks like: the connection broke, nobody knows whether the call landed. */
const ambiguous = () => Object.assign(new Error('14 UNAVAILABLE: Connection dropped'), { name: 'ServiceError', code: 14 });

interface Hooks {
  start?: (real: () => Promise<unknown>, call: number) => Promise<unknown>;
  describe?: (real: () => Promise<unknown>, call: number) => Promise<unknown>;
}

/** The real client, with start and describe going through `hooks`. */
function hookedClient(real: Client, hooks: Hooks): { client: Client; calls: { start: number; describe: number } } {
  const calls = { start: 0, describe: 0 };
  const workflow = Object.create(real.workflow) as Client['workflow'];
  workflow.start = ((...args: Parameters<Client['workflow']['start']>) => {
    const n = calls.start++;
    const call = () => real.workflow.start(...args);
    return hooks.start ? hooks.start(call, n) : call();
  }) as Client['workflow']['start'];
  workflow.getHandle = ((...args: Parameters<Client['workflow']['getHandle']>) => {
    const handle = real.workflow.getHandle(...args);
    return {
      ...handle,
      describe: () => {
        const n = calls.describe++;
        return hooks.describe ? hooks.describe(() => handle.describe(), n) : handle.describe();
      },
    };
  }) as Client['workflow']['getHandle'];
  const client = Object.create(real) as Client;
  Object.defineProperty(client, 'workflow', { value: workflow });
  return { client, calls };
}

async function webWith(hooks: Hooks): Promise<{ api: ApiClient; web: WebApp; calls: { start: number; describe: number }; close(): Promise<void> }> {
  const { client, calls } = hookedClient(h.web.ctx.temporal, hooks);
  const web = createApp(
    { config: h.config, db: h.db, temporalClient: client, logger: createLogger('orphans-test', 'silent') },
    { context: { startRetryDelayMs: 20, startTimeoutMs: 5_000, timings: { initialBackoffMs: 100, maxBackoffMs: 400 } } },
  );
  const server = web.app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const api = new ApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  api.token = token;
  return {
    api,
    web,
    calls,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await web.close();
    },
  };
}

const describeWorkflow = (projectId: string) =>
  h.web.ctx.temporal.workflow
    .getHandle(workflowIdForProject(projectId))
    .describe()
    .then((d) => d.status.name, (e: Error) => `missing: ${e.name}`);

function untilRunning(projectId: string) {
  const api = new ApiClient(h.baseUrl);
  api.token = token;
  return waitFor(() => api.call('GET', `/api/projects/${projectId}`), (r) => r.body.status === 'RUNNING', 60_000, `${projectId} RUNNING`);
}

it('the workflow started but the answer was lost: the project is kept and runs', async () => {
  const w = await webWith({
    start: async (real, n) => {
      const r = await real();
      if (n === 0) throw ambiguous();
      return r;
    },
  });
  try {
    const res = await w.api.call('POST', '/api/projects', { name: 'answer lost' });
    expect(res.status).toBe(202);
    const id = res.body.id as string;
    expect(await h.db.project.count({ where: { id } })).toBe(1);
    expect(await h.db.sandbox.count({ where: { projectId: id } })).toBe(1);
    expect(await h.db.database.count({ where: { projectId: id } })).toBe(1);
    expect(await describeWorkflow(id)).toBe('RUNNING');
    await untilRunning(id);
  } finally {
    await w.close();
  }
});

it('the start was lost before it reached Temporal: it is retried under the same workflow ID', async () => {
  const w = await webWith({ start: async (real, n) => (n === 0 ? Promise.reject(ambiguous()) : real()) });
  try {
    const res = await w.api.call('POST', '/api/projects', { name: 'start retried' });
    expect(res.status).toBe(202);
    expect(w.calls.start).toBe(2);
    expect(w.calls.describe).toBe(1); // asked in between: not found, so started again
    await untilRunning(res.body.id);
  } finally {
    await w.close();
  }
});

it('a retried start that finds the workflow already started counts as started', async () => {
  // The first answer is lost, describe cannot tell (also lost), the second start is refused as a duplicate.
  const w = await webWith({
    start: async (real, n) => {
      if (n === 0) {
        await real();
        throw ambiguous();
      }
      return real();
    },
    describe: async () => Promise.reject(ambiguous()),
  });
  try {
    const res = await w.api.call('POST', '/api/projects', { name: 'duplicate start' });
    expect(res.status).toBe(202);
    expect(w.calls.start).toBe(2);
    expect(await describeWorkflow(res.body.id)).toBe('RUNNING');
  } finally {
    await w.close();
  }
});

it('Temporal says there is no such workflow after every attempt: the rows are removed (nothing half-written)', async () => {
  const w = await webWith({ start: async () => Promise.reject(ambiguous()) });
  try {
    const before = await h.db.project.count();
    const res = await w.api.call('POST', '/api/projects', { name: 'never started' });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('unavailable');
    expect(res.body.error.message).toMatch(/nothing was created/);
    expect(w.calls.start).toBe(3);
    expect(w.calls.describe).toBe(3);
    expect(await h.db.project.count()).toBe(before);
    expect(await h.db.project.count({ where: { name: 'never started' } })).toBe(0);
  } finally {
    await w.close();
  }
});

it('Temporal cannot be asked at all: the rows stay (it may be running) and start recovers the project', async () => {
  const w = await webWith({ start: async () => Promise.reject(ambiguous()), describe: async () => Promise.reject(ambiguous()) });
  let id: string;
  try {
    const res = await w.api.call('POST', '/api/projects', { name: 'unconfirmed' });
    expect(res.status).toBe(503);
    expect(res.body.error.message).toMatch(/did not confirm/);
    expect(res.body.error.message).toMatch(/was kept/);
    id = res.body.error.details.projectId;
    expect(await h.db.project.count({ where: { id } })).toBe(1);
    expect(await describeWorkflow(id)).toMatch(/^missing/);
  } finally {
    await w.close();
  }
  // With Temporal reachable again, start starts the lifecycle that never started.
  const api = new ApiClient(h.baseUrl);
  api.token = token;
  expect((await api.call('POST', `/api/projects/${id}/start`)).status).toBe(202);
  expect(await describeWorkflow(id)).toBe('RUNNING');
  await untilRunning(id);
});
