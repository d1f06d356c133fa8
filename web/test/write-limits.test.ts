// Per-user write limits (docs/security.md "Rate limits") against the real web app, PostgreSQL
// and Temporal: API writes, project creations and page form posts answer 429 with Retry-After
// once the user's budget is spent, change nothing, and leave reads and other users alone.
import { ApiClient, startWebHarness, type WebHarness } from './harness';

let h: WebHarness;

beforeAll(async () => {
  h = await startWebHarness({
    prefix: 'fsa_web_write_limits',
    env: { WRITE_RATE_LIMIT: '6', WRITE_RATE_WINDOW_S: '600', PROJECT_CREATE_LIMIT: '2', PROJECT_CREATE_WINDOW_S: '600' },
  });
  // A stand-in page with a form action, behind the same page middleware as the Remix UI.
  h.web.mountUi((app) => app.post('/form', (_req, res) => void res.type('text/plain').send('saved')));
});

afterAll(async () => {
  await h?.close();
});

async function tokenUser(name: string): Promise<ApiClient> {
  const api = new ApiClient(h.baseUrl);
  await api.signIn(name);
  const t = await api.call('POST', '/api/tokens', { name: 'script' }); // write 1
  expect(t.status).toBe(201);
  api.token = t.body.token;
  return api;
}

it('the third project creation in the window is a 429 naming PROJECT_CREATE_LIMIT, and writes nothing', async () => {
  const api = await tokenUser('creator');
  for (const name of ['one', 'two']) expect((await api.call('POST', '/api/projects', { name })).status).toBe(202);
  const userId = (await api.call('GET', '/api/user')).body.id as string;
  const res = await api.raw('POST', '/api/projects', { body: JSON.stringify({ name: 'three' }), headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(429);
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThan(500);
  expect(retryAfter).toBeLessThanOrEqual(600);
  const body = (await res.json()) as { error: { code: string; message: string; details: Record<string, number> } };
  expect(body.error.code).toBe('too_many_requests');
  expect(body.error.message).toMatch(/too many project creations: at most 2 per 600 s per user \(PROJECT_CREATE_LIMIT\)/);
  expect(body.error.details).toMatchObject({ limit: 2, windowSeconds: 600, retryAfterSeconds: retryAfter });
  expect(await h.db.project.count({ where: { userId } })).toBe(2);
  // An invalid request is refused for what it is, before it costs a creation.
  expect((await api.call('POST', '/api/projects', { name: '' })).status).toBe(400);
});

it('writes beyond WRITE_RATE_LIMIT are 429 for that user only; reads still answer', async () => {
  const api = await tokenUser('writer');
  for (let i = 2; i <= 6; i++) expect((await api.call('POST', '/api/tokens', { name: `t${i}` })).status).toBe(201);
  const over = await api.call('POST', '/api/tokens', { name: 'one too many' });
  expect(over.status).toBe(429);
  expect(over.body.error.message).toMatch(/too many changes: at most 6 per 600 s per user \(WRITE_RATE_LIMIT\)/);
  const userId = (await api.call('GET', '/api/user')).body.id as string;
  expect(await h.db.apiToken.count({ where: { userId } })).toBe(6);
  // A DELETE counts too; GET does not.
  expect((await api.call('DELETE', '/api/tokens/whatever')).status).toBe(429);
  expect((await api.call('GET', '/api/tokens')).status).toBe(200);
  expect((await api.call('GET', '/api/projects')).status).toBe(200);
  // Another user has their own budget.
  const other = await tokenUser('bystander');
  expect((await other.call('POST', '/api/tokens', { name: 'fine' })).status).toBe(201);
});

it("a signed-in user's form posts count against the same budget", async () => {
  const browser = new ApiClient(h.baseUrl);
  await browser.signIn('form-user');
  const post = () => browser.raw('POST', '/form', { body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  for (let i = 0; i < 6; i++) expect((await post()).status).toBe(200);
  const res = await post();
  expect(res.status).toBe(429);
  expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(await res.text()).toMatch(/WRITE_RATE_LIMIT/);
  // The API shares the count.
  expect((await browser.call('POST', '/api/tokens', { name: 'x' })).status).toBe(429);
});
