// start/stop/delete through the API: Workflow Updates answered by the workflow (a start
// after delete is refused with its reason), and the signal as the fallback when no worker
// answers in time.
import { ApiClient, startWebHarness, waitFor, type WebHarness } from './harness';

describe('intents with a worker: Updates', () => {
  let h: WebHarness;
  let api: ApiClient;
  beforeAll(async () => {
    h = await startWebHarness({ prefix: 'fsa_web_intents', worker: true });
    api = new ApiClient(h.baseUrl);
    await api.signIn('intent-tester');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers with the accepted desired state, and refuses a start after delete with the reason', async () => {
    const created = await api.call('POST', '/api/projects', { name: 'intents' });
    expect(created.status).toBe(202);
    const id = created.body.id;
    await waitFor(() => api.call('GET', `/api/projects/${id}`), (r) => r.body.status === 'RUNNING', 30_000, 'RUNNING');
    const stop = await api.call('POST', `/api/projects/${id}/stop`);
    expect(stop.status).toBe(202);
    expect(stop.body).toMatchObject({ id, action: 'stop', accepted: true, desired: 'STOPPED' });
    expect((await api.call('POST', `/api/projects/${id}/delete`)).body).toMatchObject({ desired: 'TERMINATED' });
    const start = await api.call('POST', `/api/projects/${id}/start`);
    expect(start.status).toBe(409);
    expect(start.body.error.message).toMatch(/being deleted/);
    await waitFor(() => api.call('GET', `/api/projects/${id}`), (r) => r.status === 404, 30_000, 'project gone');
  });
});

describe('intents without a worker: the signal fallback', () => {
  let h: WebHarness;
  let api: ApiClient;
  beforeAll(async () => {
    h = await startWebHarness({ prefix: 'fsa_web_intents_nw', app: { context: { updateTimeoutMs: 300 } } });
    api = new ApiClient(h.baseUrl);
    await api.signIn('intent-tester-2');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('still accepts the intent (202) when no worker answers the Update, and the signal waits in the history', async () => {
    const created = await api.call('POST', '/api/projects', { name: 'no worker' });
    expect(created.status).toBe(202);
    const stop = await api.call('POST', `/api/projects/${created.body.id}/stop`);
    expect(stop.status).toBe(202);
    expect(stop.body).toMatchObject({ accepted: true });
    expect(stop.body.desired).toBeUndefined();
    const history = await h.web.ctx.temporal.workflow.getHandle(`project-${created.body.id}`).fetchHistory();
    const signals = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).map((e) => e.workflowExecutionSignaledEventAttributes!.signalName);
    expect(signals).toContain('stop');
  });
});
