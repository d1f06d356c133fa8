// The web's Prometheus endpoint exposes request latency by route pattern after a
// lifecycle's worth of API calls (ids never appear as labels).
import { ApiClient, startWebHarness, waitFor, type WebHarness } from './harness';

let h: WebHarness;

beforeAll(async () => {
  h = await startWebHarness({ prefix: 'fsa_web_metrics', worker: true });
});

afterAll(async () => {
  await h?.close();
});

it('records http_request_duration_seconds by route after create, status and stop', async () => {
  const api = new ApiClient(h.baseUrl);
  await api.signIn('metrics-user');
  const created = await api.call('POST', '/api/projects', { name: 'Metrics project' });
  expect(created.status).toBe(202);
  const id = created.body.id as string;
  await waitFor(() => api.call('GET', `/api/projects/${id}`), (r) => r.body.status === 'RUNNING', 60_000, 'RUNNING');
  expect((await api.call('POST', `/api/projects/${id}/stop`)).status).toBe(202);

  const res = await fetch(`${h.baseUrl}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  expect(text).toMatch(/http_request_duration_seconds_bucket\{[^}]*route="\/api\/projects"[^}]*method="POST"|http_request_duration_seconds_bucket\{[^}]*method="POST"[^}]*route="\/api\/projects"/);
  expect(text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/api\/projects\/:id"/);
  expect(text).toMatch(/route="\/api\/projects\/:id\/stop"/);
  expect(text).not.toContain(id);
});
