// Authorization matrix: user B can neither read, signal, nor change the environment of
// user A's project, by session or by API token: every such request is a 404 (the project
// "does not exist" for B), and nothing changes. Cross-site cookie requests are refused.
import { ApiClient, startWebHarness, type WebHarness } from './harness';

let h: WebHarness;
let aliceSession: ApiClient;
let aliceToken: ApiClient;
let bobSession: ApiClient;
let bobToken: ApiClient;
let projectId: string;
let envId: string;

beforeAll(async () => {
  // No worker: the matrix is about the web's checks; signals to A's workflow just queue.
  h = await startWebHarness({ prefix: 'fsa_web_authz' });
  aliceSession = new ApiClient(h.baseUrl);
  await aliceSession.signIn('alice-authz');
  bobSession = new ApiClient(h.baseUrl);
  await bobSession.signIn('bob-authz');
  aliceToken = new ApiClient(h.baseUrl);
  aliceToken.token = (await aliceSession.call('POST', '/api/tokens', { name: 'a' })).body.token;
  bobToken = new ApiClient(h.baseUrl);
  bobToken.token = (await bobSession.call('POST', '/api/tokens', { name: 'b' })).body.token;

  const created = await aliceToken.call('POST', '/api/projects', { name: 'Alice private' });
  expect(created.status).toBe(202);
  projectId = created.body.id;
  const env = await aliceToken.call('POST', `/api/projects/${projectId}/environment`, { key: 'SECRET_THING', value: 'alice-only', category: 'secret' });
  expect(env.status).toBe(201);
  envId = env.body.id;
});

afterAll(async () => {
  await h?.close();
});

// Paths are templates: the ids exist only after beforeAll.
const MATRIX: [method: string, path: string, body?: unknown][] = [
  ['GET', '/api/projects/:id'],
  ['POST', '/api/projects/:id/start'],
  ['POST', '/api/projects/:id/stop'],
  ['POST', '/api/projects/:id/delete'],
  ['GET', '/api/projects/:id/events'],
  ['GET', '/api/projects/:id/environment'],
  ['POST', '/api/projects/:id/environment', { key: 'INJECTED', value: 'x' }],
  ['PUT', '/api/projects/:id/environment/:envId', { value: 'overwritten' }],
  ['DELETE', '/api/projects/:id/environment/:envId'],
];

describe.each([
  ['session', () => bobSession],
  ['API token', () => bobToken],
])("user B by %s on user A's project", (_how, bob) => {
  it.each(MATRIX.map((m) => [`${m[0]} ${m[1]}`, m] as const))('%s → 404', async (_label, [method, template, body]) => {
    const res = await bob().call(method, template.replace(':id', projectId).replace(':envId', envId), body);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('does not list A’s project', async () => {
    const list = await bob().call('GET', '/api/projects');
    expect(list.status).toBe(200);
    expect(list.body).toEqual([]);
  });
});

it('left A’s project and its variable untouched', async () => {
  const project = await aliceToken.call('GET', `/api/projects/${projectId}`);
  expect(project.status).toBe(200);
  expect(project.body.environment.map((e: { key: string }) => e.key)).toEqual(['SECRET_THING']);
  const row = await h.db.environment.findUnique({ where: { id: envId } });
  expect(row && h.web.ctx.cipher.decrypt(row.value)).toBe('alice-only');
  expect(await h.db.environment.count({ where: { key: 'INJECTED' } })).toBe(0);
});

it('A reaches her own project by session and by token', async () => {
  expect((await aliceSession.call('GET', `/api/projects/${projectId}`)).status).toBe(200);
  expect((await aliceToken.call('GET', `/api/projects/${projectId}/environment`)).status).toBe(200);
});

it('B cannot revoke A’s token', async () => {
  const tokens = await aliceSession.call('GET', '/api/tokens');
  const res = await bobSession.call('DELETE', `/api/tokens/${tokens.body[0].id}`);
  expect(res.status).toBe(404);
  expect((await aliceToken.call('GET', '/api/projects')).status).toBe(200);
});

it('refuses a cross-site request that carries A’s session cookie (CSRF) with 403', async () => {
  const res = await aliceSession.raw('POST', '/api/projects', {
    body: JSON.stringify({ name: 'csrf project' }),
    headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
  });
  expect(res.status).toBe(403);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
  expect(await h.db.project.count({ where: { name: 'csrf project' } })).toBe(0);
});

it('an unknown project id is the same 404 as someone else’s', async () => {
  const a = await bobToken.call('GET', '/api/projects/does-not-exist');
  const b = await bobToken.call('GET', `/api/projects/${projectId}`);
  expect(a.status).toBe(404);
  expect(b).toEqual(a);
});
