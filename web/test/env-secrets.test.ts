// A secret variable can never be read back: every way of turning it into plain text
// without sending a new value is refused (isSecret: false → 422 naming the field) or keeps
// it secret (a new category, a new key). Checked against the API, the stored row and the
// project view.
import { MASK } from '../server/services/environment.server';
import { ApiClient, startWebHarness, type WebHarness } from './harness';

let h: WebHarness;
let api: ApiClient;
let projectId: string;
const SECRET = 'sk_live_never_shown_42';

beforeAll(async () => {
  h = await startWebHarness({ prefix: 'fsa_web_envsecrets' });
  api = new ApiClient(h.baseUrl);
  await api.signIn('secret-keeper');
  const p = await api.call('POST', '/api/projects', { name: 'secrets project' });
  expect(p.status).toBe(202);
  projectId = p.body.id;
});

afterAll(async () => {
  await h?.close();
});

const envUrl = (id = '') => `/api/projects/${projectId}/environment${id ? `/${id}` : ''}`;

async function newSecret(key: string, category = 'secret') {
  const r = await api.call('POST', envUrl(), { key, value: SECRET, category, isSecret: true });
  expect(r.status).toBe(201);
  return r.body.id as string;
}

/** Every place a value could come back from: the variable list, the project view, the row. */
async function expectStillSecret(id: string) {
  const row = (await h.db.environment.findUniqueOrThrow({ where: { id } }))!;
  expect(row.isSecret).toBe(true);
  expect(row.value).toMatch(/^v1:/);
  expect(row.value).not.toContain(SECRET);
  const list = await api.call('GET', envUrl());
  const project = await api.call('GET', `/api/projects/${projectId}`);
  const text = JSON.stringify(list.body) + JSON.stringify(project.body);
  expect(text).not.toContain(SECRET);
  const dto = list.body.find((e: { id: string }) => e.id === id);
  expect(dto).toMatchObject({ isSecret: true, value: MASK });
}

describe('a secret variable stays secret', () => {
  it('isSecret: false without a new value is refused with 422 naming isSecret and the fix; nothing changes', async () => {
    const id = await newSecret('STRIPE_KEY');
    const before = await h.db.environment.findUniqueOrThrow({ where: { id } });
    for (const body of [{ isSecret: false }, { isSecret: false, category: 'general' }, { isSecret: false, key: 'RENAMED' }]) {
      const r = await api.call('PUT', envUrl(id), body);
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('unprocessable');
      expect(r.body.error.message).toMatch(/^isSecret: /);
      expect(r.body.error.message).toContain('"value"');
      expect(r.body.error.details).toEqual({ fields: [{ field: 'isSecret', message: expect.stringContaining('new plain value') }] });
      expect(JSON.stringify(r.body)).not.toContain(SECRET);
    }
    // Not even the ciphertext moved.
    expect(await h.db.environment.findUniqueOrThrow({ where: { id } })).toEqual(before);
    await expectStillSecret(id);
  });

  it.each(['general', 'auth', 'payment'])('moving a secret to category %s keeps it secret (same ciphertext)', async (category) => {
    const id = await newSecret(`MOVE_TO_${category.toUpperCase()}`);
    const before = await h.db.environment.findUniqueOrThrow({ where: { id } });
    const r = await api.call('PUT', envUrl(id), { category });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ category, isSecret: true, value: MASK });
    const after = await h.db.environment.findUniqueOrThrow({ where: { id } });
    expect(after.value).toBe(before.value);
    expect(after.category).toBe(category);
    await expectStillSecret(id);
  });

  it('a secret in a non-secret category (e.g. auth) moved elsewhere, or renamed, stays secret', async () => {
    const id = await newSecret('AUTH_TOKEN', 'auth');
    expect((await api.call('PUT', envUrl(id), { category: 'general' })).body).toMatchObject({ isSecret: true });
    expect((await api.call('PUT', envUrl(id), { key: 'AUTH_TOKEN_2' })).body).toMatchObject({ key: 'AUTH_TOKEN_2', isSecret: true });
    expect((await api.call('PUT', envUrl(id), { isSecret: true })).status).toBe(200);
    await expectStillSecret(id);
  });

  it('made non-secret WITH a new value: the new plain value is shown, the old one never', async () => {
    const id = await newSecret('WAS_SECRET');
    const r = await api.call('PUT', envUrl(id), { isSecret: false, value: 'now-public', category: 'general' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ isSecret: false, value: 'now-public', category: 'general' });
    const row = await h.db.environment.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({ isSecret: false, value: 'now-public' });
    const list = await api.call('GET', envUrl());
    expect(JSON.stringify(list.body)).not.toContain(SECRET);
  });

  it('a new secret value replaces the old one, encrypted and masked', async () => {
    const id = await newSecret('ROTATE_ME');
    const r = await api.call('PUT', envUrl(id), { value: 'rotated-secret-value' });
    expect(r.status).toBe(200);
    expect(r.body.value).toBe(MASK);
    const row = await h.db.environment.findUniqueOrThrow({ where: { id } });
    expect(row.value).toMatch(/^v1:/);
    expect(row.value).not.toContain('rotated');
  });

  it('a plain variable may still become secret (by flag or by category), and is encrypted then', async () => {
    const plain = await api.call('POST', envUrl(), { key: 'PLAIN_ONE', value: 'visible' });
    expect(plain.body.isSecret).toBe(false);
    const byCategory = await api.call('PUT', envUrl(plain.body.id), { category: 'secret' });
    expect(byCategory.body).toMatchObject({ isSecret: true, value: MASK });
    const row = await h.db.environment.findUniqueOrThrow({ where: { id: plain.body.id } });
    expect(row.value).toMatch(/^v1:/);
    const other = await api.call('POST', envUrl(), { key: 'PLAIN_TWO', value: 'visible2' });
    expect((await api.call('PUT', envUrl(other.body.id), { isSecret: true })).body).toMatchObject({ isSecret: true, value: MASK });
  });
});
