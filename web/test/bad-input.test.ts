// Bad input at the edge: empty, 10,000-character, unicode and injection-like project names
// and env keys, wrong types, unknown fields, malformed JSON and oversized bodies. Each is a
// 4xx in the contract's shape whose message names the field, and no row is written.
import { ApiClient, startWebHarness, type WebHarness } from './harness';

let h: WebHarness;
let api: ApiClient;
let projectId: string;

beforeAll(async () => {
  h = await startWebHarness({ prefix: 'fsa_web_input' });
  api = new ApiClient(h.baseUrl);
  await api.signIn('input-tester');
  const p = await api.call('POST', '/api/projects', { name: 'valid project' });
  expect(p.status).toBe(202);
  projectId = p.body.id;
});

afterAll(async () => {
  await h?.close();
});

async function counts() {
  const [projects, sandboxes, databases, envs, tokens] = await Promise.all([
    h.db.project.count(),
    h.db.sandbox.count(),
    h.db.database.count(),
    h.db.environment.count(),
    h.db.apiToken.count(),
  ]);
  return { projects, sandboxes, databases, envs, tokens };
}

function expectFieldError(res: { status: number; body: any }, field: RegExp | string) {
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(Object.keys(res.body)).toEqual(['error']);
  expect(typeof res.body.error.code).toBe('string');
  expect(res.body.error.message).toMatch(typeof field === 'string' ? new RegExp(`(^|; )${field}: `) : field);
}

const BAD_NAMES: [string, unknown][] = [
  ['empty', ''],
  ['only spaces', '    '],
  ['10,000 characters', 'a'.repeat(10_000)],
  ['65 characters', 'b'.repeat(65)],
  // Punctuation, emoji and injection-looking text are valid display names (web/test/project-names.test.ts).
  ['control characters', 'name\u0000with\u0007controls'],
  ['a line break', 'two\nlines'],
  ['bidi override', 'abc\u202Eevil'],
  ['zero-width joiner', 'pro\u200Dject'],
  ['number', 42],
  ['null', null],
  ['object', { toString: 'x' }],
];

describe('POST /api/projects rejects bad names without writing rows', () => {
  it.each(BAD_NAMES)('%s', async (_label, name) => {
    const before = await counts();
    const res = await api.call('POST', '/api/projects', { name });
    expectFieldError(res, 'name');
    expect(res.status).toBe(400);
    expect(await counts()).toEqual(before);
  });

  it('a missing name', async () => {
    const res = await api.call('POST', '/api/projects', { description: 'no name' });
    expectFieldError(res, 'name');
  });

  it('unknown fields', async () => {
    const res = await api.call('POST', '/api/projects', { name: 'ok name', userId: 'someone-else' });
    expectFieldError(res, /unknown field\(s\) userId/);
  });

  it('a description of 10,000 characters', async () => {
    const before = await counts();
    const res = await api.call('POST', '/api/projects', { name: 'long description', description: 'd'.repeat(10_000) });
    expectFieldError(res, 'description');
    expect(await counts()).toEqual(before);
  });

  it('accepts unicode letters in the display name and keeps them', async () => {
    const res = await api.call('POST', '/api/projects', { name: 'Café Überlingen 東京' });
    expect(res.status).toBe(202);
    expect(res.body.name).toBe('Café Überlingen 東京');
    expect(res.body.k8sName).toMatch(/^cafe-uberlingen-agentruntime-[a-z]{6}$/);
  });
});

const BAD_KEYS: [string, unknown][] = [
  ['empty', ''],
  ['10,000 characters', 'K'.repeat(10_000)],
  ['starts with a digit', '1ABC'],
  ['contains a dash', 'MY-KEY'],
  ['contains a space', 'MY KEY'],
  ['unicode', 'CLÉ_ÜBER'],
  ['SQL injection', "A'; DELETE FROM \"Environment\"; --"],
  ['shell injection', 'A=$(id)'],
  ['newline injection', 'A\nB=1'],
  ['reserved DATABASE_URL', 'DATABASE_URL'],
  ['reserved ttyd token', 'TTYD_ACCESS_TOKEN'],
  ['number', 7],
];

describe('POST /api/projects/:id/environment rejects bad keys and values without writing rows', () => {
  it.each(BAD_KEYS)('key: %s', async (_label, key) => {
    const before = await counts();
    const res = await api.call('POST', `/api/projects/${projectId}/environment`, { key, value: 'v' });
    expectFieldError(res, 'key');
    expect(await counts()).toEqual(before);
  });

  it('a bad category', async () => {
    const res = await api.call('POST', `/api/projects/${projectId}/environment`, { key: 'OK_KEY', value: 'v', category: 'database' });
    expectFieldError(res, 'category');
  });

  it('a value that is not a string', async () => {
    const res = await api.call('POST', `/api/projects/${projectId}/environment`, { key: 'OK_KEY', value: { nested: true } });
    expectFieldError(res, 'value');
  });

  it('a value over 16 KiB', async () => {
    const res = await api.call('POST', `/api/projects/${projectId}/environment`, { key: 'OK_KEY', value: 'v'.repeat(20_000) });
    expectFieldError(res, 'value');
  });

  it('an update with nothing to change, or a bad key', async () => {
    const created = await api.call('POST', `/api/projects/${projectId}/environment`, { key: 'GOOD', value: 'one' });
    expect(created.status).toBe(201);
    expectFieldError(await api.call('PUT', `/api/projects/${projectId}/environment/${created.body.id}`, {}), /at least one of/);
    expectFieldError(await api.call('PUT', `/api/projects/${projectId}/environment/${created.body.id}`, { key: 'bad key' }), 'key');
    const row = await h.db.environment.findUnique({ where: { id: created.body.id } });
    expect(row).toMatchObject({ key: 'GOOD', value: 'one' });
  });
});

describe('malformed and oversized bodies', () => {
  it('malformed JSON is a 400 naming the body', async () => {
    const before = await counts();
    const res = await api.raw('POST', '/api/projects', { body: '{"name": "half', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('malformed_json');
    expect(body.error.message).toMatch(/^body: /);
    expect(await counts()).toEqual(before);
  });

  it('a JSON array or string instead of an object is a 400', async () => {
    expectFieldError(await api.call('POST', '/api/projects', ['name']), /body|name/);
    const res = await api.raw('POST', '/api/projects', { body: '"just a string"', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
  });

  it('a body over 100 kB is refused in the contract shape', async () => {
    const before = await counts();
    const res = await api.call('POST', `/api/projects/${projectId}/environment`, { key: 'BIG', value: 'x'.repeat(200_000) });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
    expect(res.body.error.message).toMatch(/^body: /);
    expect(await counts()).toEqual(before);
  });

  it('a token name of 10,000 characters or none at all', async () => {
    const before = await counts();
    expectFieldError(await api.call('POST', '/api/tokens', { name: 'n'.repeat(10_000) }), 'name');
    expectFieldError(await api.call('POST', '/api/tokens', {}), 'name');
    expect(await counts()).toEqual(before);
  });

  it('a kubeconfig that is empty or not a string', async () => {
    expectFieldError(await api.call('PUT', '/api/user/kubeconfig', { kubeconfig: '' }), 'kubeconfig');
    expectFieldError(await api.call('PUT', '/api/user/kubeconfig', { kubeconfig: 12 }), 'kubeconfig');
    expect(await h.db.userConfig.count()).toBe(0);
  });

  it('an unknown API route is a 404 in the contract shape', async () => {
    const res = await api.call('GET', '/api/nope');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });
});
