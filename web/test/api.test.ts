// Route tests of the JSON API against a real PostgreSQL and Temporal, with a lifecycle
// worker running fake activities: sign-in, tokens, the project lifecycle through signals,
// environment variables (secrets masked), SSE snapshots, health and readiness.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { createApp } from '../server/app';
import { ApiClient, startWebHarness, waitFor, type WebHarness } from './harness';

const SEALOS_SECRET = 'sealos-test-secret-with-enough-length';

let h: WebHarness;
let alice: ApiClient;

// A stand-in for Aiproxy: hands out an Anthropic key, or fails when told to.
const aiproxy = { fail: false, requests: [] as { path: string; authorization: string; body: string }[] };
const aiproxyServer = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    aiproxy.requests.push({ path: req.url ?? '', authorization: String(req.headers.authorization ?? ''), body });
    if (aiproxy.fail) return res.writeHead(500).end('boom');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { key: 'sk-aiproxy-issued-key-0001' } }));
  });
});

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: sealos
  cluster:
    server: https://sealos.example:6443
users:
- name: ada
  user:
    token: abc123
contexts:
- name: ada@sealos
  context:
    cluster: sealos
    user: ada
    namespace: ns-ada
current-context: ada@sealos
`;

beforeAll(async () => {
  aiproxyServer.listen(0, '127.0.0.1');
  await new Promise((r) => aiproxyServer.once('listening', r));
  const aiproxyUrl = `http://127.0.0.1:${(aiproxyServer.address() as AddressInfo).port}`;
  h = await startWebHarness({ prefix: 'fsa_web_api', worker: true, env: { SEALOS_JWT_SECRET: SEALOS_SECRET, AIPROXY_ENDPOINT: aiproxyUrl } });
  alice = new ApiClient(h.baseUrl);
  const res = await alice.signIn('alice');
  expect(res.status).toBe(302);
  expect(alice.signedIn).toBe(true);
});

afterAll(async () => {
  await h?.close();
  aiproxyServer.close();
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
      (r) => r.body.status === 'RUNNING' && r.body.stages.every((st: { state: string }) => st.state === 'done'),
      30_000,
      'RUNNING with every stage done',
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
    // The list reads the projection, which the worker writes just after the state changes.
    const statusInList = (r: { body: { id: string; status: string }[] }) => r.body.find((p) => p.id === projectId)?.status;
    const list = await waitFor(() => script.call('GET', '/api/projects'), (r) => statusInList(r) === 'RUNNING', 10_000, 'RUNNING in the list');
    expect(statusInList(list)).toBe('RUNNING');
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
    // Settle after the env changes above (the sandbox rolled: UPDATING → RUNNING).
    await waitFor(() => script.call('GET', `/api/projects/${projectId}`), (r) => r.body.status === 'RUNNING', 30_000, 'RUNNING again');
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
    // A snapshot on connect; then (if the env roll is still settling) the way to RUNNING.
    await readUntil(() => statuses.length >= 1);
    await readUntil(() => statuses.includes('RUNNING'));
    const before = statuses.length;

    expect((await script.call('POST', `/api/projects/${projectId}/stop`)).status).toBe(202);
    await readUntil(() => statuses.slice(before).includes('STOPPED'));
    expect((await script.call('POST', `/api/projects/${projectId}/start`)).status).toBe(202);
    await readUntil(() => statuses.lastIndexOf('RUNNING') > statuses.lastIndexOf('STOPPED'));
    controller.abort();
    // The intermediate state is pushed too, not just the end state.
    expect(statuses.slice(before)).toContain('STOPPING');
  });

  it('pushes changes through the 1-second polling fallback when LISTEN is unavailable', async () => {
    const polling = createApp(
      { config: h.config, db: h.db, temporalClient: h.web.ctx.temporal, logger: h.web.ctx.logger },
      { disableListen: true, context: { timings: {} } },
    );
    const server = polling.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const controller = new AbortController();
    try {
      const res = await fetch(`${url}/api/projects/${projectId}/events`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
      const reader = res.body!.getReader();
      const statuses: string[] = [];
      let buffer = '';
      const next = async () => {
        while (true) {
          const i = buffer.indexOf('\n\n');
          if (i >= 0) {
            const event = buffer.slice(0, i);
            buffer = buffer.slice(i + 2);
            const data = event.split('\n').find((l) => l.startsWith('data: '));
            if (data) return statuses.push(JSON.parse(data.slice(6)).status);
            continue;
          }
          const { value, done } = await reader.read();
          if (done) throw new Error('stream ended');
          buffer += Buffer.from(value).toString('utf8');
        }
      };
      await next();
      expect(polling.hub.mode()).toBe('poll');
      expect((await script.call('POST', `/api/projects/${projectId}/stop`)).status).toBe(202);
      while (!statuses.includes('STOPPED')) await next();
      expect(statuses.length).toBeGreaterThan(1);
    } finally {
      controller.abort();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await polling.close();
    }
    expect((await script.call('POST', `/api/projects/${projectId}/start`)).status).toBe(202);
  });

  it('deletes: 202, then the project is gone (404)', async () => {
    expect((await script.call('POST', `/api/projects/${projectId}/delete`)).status).toBe(202);
    await waitFor(() => script.call('GET', `/api/projects/${projectId}`), (r) => r.status === 404, 30_000, 'project gone');
    expect(await h.db.project.count({ where: { id: projectId } })).toBe(0);
  });
});

describe('sealos sign-in', () => {
  const sign = (claims: Record<string, unknown>, secret = SEALOS_SECRET) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode(secret));

  async function sealosSignIn(client: ApiClient, token: string) {
    const csrf = await client.raw('GET', '/auth/csrf');
    const { csrfToken } = (await csrf.json()) as { csrfToken: string };
    return client.raw('POST', '/auth/callback/sealos', {
      body: new URLSearchParams({ csrfToken, token }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }

  it('accepts a JWT signed with SEALOS_JWT_SECRET and creates the user once', async () => {
    const client = new ApiClient(h.baseUrl);
    await sealosSignIn(client, await sign({ userId: 'sealos-user-1', userName: 'Ada' }));
    expect(client.signedIn).toBe(true);
    const me = await client.call('GET', '/api/user');
    expect(me.body.name).toBe('Ada');
    const again = new ApiClient(h.baseUrl);
    await sealosSignIn(again, await sign({ userId: 'sealos-user-1', userName: 'Ada' }));
    expect((await again.call('GET', '/api/user')).body.id).toBe(me.body.id);
    expect(await h.db.userIdentity.count({ where: { provider: 'sealos', providerUserId: 'sealos-user-1' } })).toBe(1);
  });

  it('stores the kubeconfig it carries encrypted and an Anthropic key from Aiproxy', async () => {
    const client = new ApiClient(h.baseUrl);
    aiproxy.requests.length = 0;
    await sealosSignIn(client, await sign({ userId: 'sealos-user-kc', userName: 'Kay', kubeconfig: KUBECONFIG }));
    expect(client.signedIn).toBe(true);
    const userId = (await client.call('GET', '/api/user')).body.id as string;
    const rows = await h.db.userConfig.findMany({ where: { userId }, orderBy: { key: 'asc' } });
    expect(rows.map((r) => r.key)).toEqual(['ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', 'KUBECONFIG']);
    for (const r of rows) expect(r.value).toMatch(/^v1:/);
    const value = (key: string) => h.web.ctx.cipher.decrypt(rows.find((r) => r.key === key)!.value);
    expect(value('KUBECONFIG')).toBe(KUBECONFIG);
    expect(value('ANTHROPIC_API_KEY')).toBe('sk-aiproxy-issued-key-0001');
    expect(aiproxy.requests).toHaveLength(1);
    expect(decodeURIComponent(aiproxy.requests[0]!.authorization)).toBe(KUBECONFIG);
  });

  it('still signs in when Aiproxy fails', async () => {
    aiproxy.fail = true;
    try {
      const client = new ApiClient(h.baseUrl);
      await sealosSignIn(client, await sign({ userId: 'sealos-user-nokey', kubeconfig: KUBECONFIG }));
      expect(client.signedIn).toBe(true);
      const userId = (await client.call('GET', '/api/user')).body.id as string;
      expect((await h.db.userConfig.findMany({ where: { userId } })).map((r) => r.key)).toEqual(['KUBECONFIG']);
    } finally {
      aiproxy.fail = false;
    }
  });

  it('refuses a JWT signed with another secret', async () => {
    const client = new ApiClient(h.baseUrl);
    const res = await sealosSignIn(client, await sign({ userId: 'sealos-user-2' }, 'some-other-secret-of-enough-length'));
    expect(res.headers.get('location')).toMatch(/error=CredentialsSignin/);
    expect(client.signedIn).toBe(false);
    expect(await h.db.userIdentity.count({ where: { provider: 'sealos', providerUserId: 'sealos-user-2' } })).toBe(0);
  });
});

describe('Anthropic settings', () => {
  it('stores the key encrypted, never returns it, and tells running lifecycles', async () => {
    const created = await alice.call('POST', '/api/projects', { name: 'uses claude' });
    const id = created.body.id as string;
    await waitFor(() => alice.call('GET', `/api/projects/${id}`), (r) => r.body.status === 'RUNNING', 30_000, 'RUNNING');
    const ensuresBefore = h.fake!.callsOf('ensureSandbox', id).length;
    const res = await alice.call('PUT', '/api/user/anthropic', { apiKey: 'sk-ant-test-1234567890', baseUrl: 'https://api.anthropic.com' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ keyConfigured: true, baseUrl: 'https://api.anthropic.com', signalled: 1 });
    // environmentChanged reached the lifecycle: the sandbox is applied again with the new env.
    await waitFor(async () => h.fake!.callsOf('ensureSandbox', id).length, (n) => n > ensuresBefore, 15_000, 'sandbox re-applied');
    const row = await h.db.userConfig.findFirst({ where: { key: 'ANTHROPIC_API_KEY' } });
    expect(row?.value).toMatch(/^v1:/);
    const me = await alice.call('GET', '/api/user');
    expect(JSON.stringify(me.body)).not.toContain('sk-ant-test-1234567890');
    expect(me.body.settings.anthropic.keyHint).toBe('…7890');
    expectBad(await alice.call('PUT', '/api/user/anthropic', { baseUrl: 'ftp://nope' }), 'baseUrl');
  });
});

function expectBad(res: { status: number; body: any }, field: string) {
  expect(res.status).toBe(400);
  expect(res.body.error.message).toMatch(new RegExp(`${field}: `));
}
