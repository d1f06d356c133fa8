// Route tests of the JSON API against a real PostgreSQL and Temporal, with a lifecycle
// worker running fake activities: sign-in, tokens, the project lifecycle through signals,
// environment variables (secrets masked), SSE snapshots, health and readiness.
import { ApiClient, startWebHarness, waitFor, type WebHarness } from './harness';

let h: WebHarness;
let alice: ApiClient;

beforeAll(async () => {
  h = await startWebHarness({ prefix: 'fsa_web_api', worker: true });
  alice = new ApiClient(h.baseUrl);
  const res = await alice.signIn('alice');
  expect(res.status).toBe(302);
  expect(alice.signedIn).toBe(true);
});

afterAll(async () => {
  await h?.close();
});

describe('health', () => {
  it('answers /healthz and /readyz with database and Temporal reachable', async () => {
    const anon = new ApiClient(h.baseUrl);
    expect((await anon.call('GET', '/healthz')).status).toBe(200);
    const ready = await anon.call('GET', '/readyz');
    expect(ready).toEqual({ status: 200, body: { status: 'ready', checks: { database: 'ok', temporal: 'ok' } } });
  });
});

describe('sign-in', () => {
  it('registers an unknown username and signs the same user in again', async () => {
    const again = new ApiClient(h.baseUrl);
    await again.signIn('alice');
    const a = await alice.call('GET', '/api/user');
    const b = await again.call('GET', '/api/user');
    expect(a.status).toBe(200);
    expect(b.body.id).toBe(a.body.id);
    expect(await h.db.userIdentity.count({ where: { provider: 'password', providerUserId: 'alice' } })).toBe(1);
    const identity = await h.db.userIdentity.findFirst({ where: { providerUserId: 'alice' } });
    expect(identity?.passwordHash).toMatch(/^scrypt\$/);
  });

  it('refuses a wrong password without a session', async () => {
    const mallory = new ApiClient(h.baseUrl);
    const res = await mallory.signIn('alice', 'wrong password!');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toMatch(/error=CredentialsSignin/);
    expect(mallory.signedIn).toBe(false);
    expect((await mallory.call('GET', '/api/projects')).status).toBe(401);
  });

  it('answers 401 in the contract shape without credentials or with a bad token', async () => {
    const anon = new ApiClient(h.baseUrl);
    const r = await anon.call('GET', '/api/projects');
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('unauthenticated');
    anon.token = 'fsa_not-a-real-token';
    expect((await anon.call('GET', '/api/projects')).status).toBe(401);
  });
});

describe('API tokens', () => {
  it('creates a token shown once, stores only its hash, lists and revokes it', async () => {
    const created = await alice.call('POST', '/api/tokens', { name: 'ci script' });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^fsa_/);
    const row = await h.db.apiToken.findUnique({ where: { id: created.body.id } });
    expect(row?.tokenHash).toHaveLength(64);
    expect(row?.tokenHash).not.toContain(created.body.token);

    const script = new ApiClient(h.baseUrl);
    script.token = created.body.token;
    expect((await script.call('GET', '/api/projects')).status).toBe(200);

    const list = await alice.call('GET', '/api/tokens');
    expect(list.body.map((t: { id: string }) => t.id)).toContain(created.body.id);
    expect(JSON.stringify(list.body)).not.toContain(created.body.token);

    expect((await alice.call('DELETE', `/api/tokens/${created.body.id}`)).status).toBe(200);
    expect((await script.call('GET', '/api/projects')).status).toBe(401);
  });
});

describe('project lifecycle over the API', () => {
  let token: string;
  let script: ApiClient;
  let projectId: string;

  beforeAll(async () => {
    token = (await alice.call('POST', '/api/tokens', { name: 'lifecycle' })).body.token;
    script = new ApiClient(h.baseUrl);
    script.token = token;
  });

  it('creates a project: rows in one go, workflow started, 202 with the project', async () => {
    const res = await script.call('POST', '/api/projects', { name: '  Shop Front 商店 ', description: 'demo' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ name: 'Shop Front 商店', description: 'demo', status: 'CREATING' });
    expect(res.body.k8sName).toMatch(/^shop-front-agentruntime-[a-z]{6}$/);
    projectId = res.body.id;
    const sandbox = await h.db.sandbox.findFirst({ where: { projectId } });
    expect(sandbox?.sandboxName).toBe(res.body.k8sName);
    expect(sandbox?.ttydAccessToken).toMatch(/^v1:/);
    const database = await h.db.database.findFirst({ where: { projectId } });
    expect(database?.name).toBe(`${res.body.k8sName}-db`);
    expect(JSON.stringify(res.body)).not.toContain(sandbox!.ttydAccessToken);
  });

  it('a duplicate name is a 409', async () => {
    const res = await script.call('POST', '/api/projects', { name: 'Shop Front 商店' });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/^name:/);
  });

  it('reaches RUNNING with URLs and five done stages (status from the workflow)', async () => {
    const view = await waitFor(
      () => script.call('GET', `/api/projects/${projectId}`),
      (r) => r.body.status === 'RUNNING',
      30_000,
      'RUNNING',
    );
    expect(view.body.statusSource).toBe('workflow');
    expect(view.body.sandbox.publicUrl).toMatch(/^https:\/\//);
    expect(view.body.stages.map((s: { name: string; state: string }) => `${s.name}:${s.state}`)).toEqual([
      'database:done',
      'container:done',
      'network:done',
      'terminal:done',
      'ready:done',
    ]);
    const list = await script.call('GET', '/api/projects');
    expect(list.body.find((p: { id: string }) => p.id === projectId)?.status).toBe('RUNNING');
  });

  it('manages environment variables; secret values are encrypted and masked everywhere', async () => {
    const general = await script.call('POST', `/api/projects/${projectId}/environment`, { key: 'API_URL', value: 'https://example.com' });
    expect(general.status).toBe(201);
    expect(general.body).toMatchObject({ key: 'API_URL', value: 'https://example.com', category: 'general', isSecret: false });

    const secret = await script.call('POST', `/api/projects/${projectId}/environment`, { key: 'STRIPE_KEY', value: 'sk_live_abc123', category: 'secret' });
    expect(secret.status).toBe(201);
    expect(secret.body.isSecret).toBe(true);
    expect(secret.body.value).not.toContain('sk_live');
    const row = await h.db.environment.findUnique({ where: { id: secret.body.id } });
    expect(row?.value).toMatch(/^v1:/);

    const dup = await script.call('POST', `/api/projects/${projectId}/environment`, { key: 'API_URL', value: 'x' });
    expect(dup.status).toBe(409);

    const updated = await script.call('PUT', `/api/projects/${projectId}/environment/${general.body.id}`, { value: 'https://api.example.com', category: 'auth' });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ value: 'https://api.example.com', category: 'auth' });

    const list = await script.call('GET', `/api/projects/${projectId}/environment`);
    expect(list.body.map((e: { key: string }) => e.key).sort()).toEqual(['API_URL', 'STRIPE_KEY']);
    const project = await script.call('GET', `/api/projects/${projectId}`);
    expect(JSON.stringify(list.body) + JSON.stringify(project.body)).not.toContain('sk_live_abc123');

    expect((await script.call('DELETE', `/api/projects/${projectId}/environment/${general.body.id}`)).status).toBe(200);
    expect((await script.call('DELETE', `/api/projects/${projectId}/environment/${general.body.id}`)).status).toBe(404);
    // The lifecycle heard about each change (the sandbox rolls with the new env).
    await waitFor(
      async () => h.fake!.callsOf('ensureSandbox', projectId).length,
      (n) => n >= 2,
      15_000,
      'ensureSandbox after environmentChanged',
    );
  });

  it('streams status snapshots over SSE as the project stops and starts', async () => {
    const controller = new AbortController();
    const res = await fetch(`${h.baseUrl}/api/projects/${projectId}/events`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const statuses: string[] = [];
    let buffer = '';
    const readUntil = async (pred: () => boolean) => {
      while (!pred()) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended; saw ${statuses.join(',')}`);
        buffer += Buffer.from(value).toString('utf8');
        let i: number;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const data = event.split('\n').find((l) => l.startsWith('data: '));
          if (data) statuses.push(JSON.parse(data.slice(6)).status);
        }
      }
    };
    await readUntil(() => statuses.length >= 1);
    expect(statuses[0]).toBe('RUNNING');

    expect((await script.call('POST', `/api/projects/${projectId}/stop`)).status).toBe(202);
    await readUntil(() => statuses.includes('STOPPED'));
    expect((await script.call('POST', `/api/projects/${projectId}/start`)).status).toBe(202);
    await readUntil(() => statuses.lastIndexOf('RUNNING') > statuses.indexOf('STOPPED'));
    controller.abort();
    expect(statuses.indexOf('STOPPED')).toBeGreaterThan(0);
  });

  it('deletes: 202, then the project is gone (404)', async () => {
    expect((await script.call('POST', `/api/projects/${projectId}/delete`)).status).toBe(202);
    await waitFor(() => script.call('GET', `/api/projects/${projectId}`), (r) => r.status === 404, 30_000, 'project gone');
    expect(await h.db.project.count({ where: { id: projectId } })).toBe(0);
  });
});
