// Limits and what the web says about itself (docs/security.md): display names are free text
// (only the Kubernetes name is sanitized), the per-user project limit, the JSON body limit,
// /readyz without internal error text, /metrics closed by default in production.
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { toK8sName } from '../../common/names';
import { createDb } from '../../server/db';
import { createLogger } from '../../server/logger';
import { createApp } from '../server/app';
import { ApiClient, startWebHarness, testConfig, type WebHarness } from './harness';

let h: WebHarness;
let api: ApiClient;

beforeAll(async () => {
  h = await startWebHarness({ prefix: 'fsa_web_limits', app: { context: { queryTimeoutMs: 200 } } });
  api = new ApiClient(h.baseUrl);
  await api.signIn('limits-user');
  const t = await api.call('POST', '/api/tokens', { name: 'limits script' });
  expect(t.status).toBe(201);
  api.token = t.body.token;
});

afterAll(async () => {
  await h?.close();
});

const projectCount = () => h.db.project.count();

describe('display names are free text; only the Kubernetes name is sanitized', () => {
  const NAMES = [
    'Shop: front-end (v2)! 🚀',
    "x'; DROP TABLE \"Project\"; --",
    '<script>alert(1)</script>',
    '$(rm -rf /) && `id`',
    '../../etc/passwd',
    '👨‍👩‍👧 family · 家族 · عائلة',
    'می‌خواهم',
    '🏳️‍🌈🏴󠁧󠁢󠁳󠁣󠁴󠁿',
    'x'.repeat(64),
    '🚀'.repeat(64),
  ];

  it.each(NAMES)('%s', async (name) => {
    const res = await api.call('POST', '/api/projects', { name });
    expect(res.status).toBe(202);
    expect(res.body.name).toBe(name);
    expect(res.body.k8sName).toMatch(/^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?-agentruntime-[a-z]{6}$/);
    expect(res.body.k8sName.startsWith(`${toK8sName(name)}-agentruntime-`)).toBe(true);
    const row = await h.db.project.findUnique({ where: { id: res.body.id } });
    expect(row?.name).toBe(name);
    // Shown back exactly as typed.
    const got = await api.call('GET', `/api/projects/${res.body.id}`);
    expect(got.body.name).toBe(name);
    await h.db.project.delete({ where: { id: res.body.id } });
  });

  it('sanitizes punctuation and emoji out of the Kubernetes name', async () => {
    const res = await api.call('POST', '/api/projects', { name: '  Café: Shop (v2) 🚀  ' });
    expect(res.status).toBe(202);
    expect(res.body.name).toBe('Café: Shop (v2) 🚀');
    expect(res.body.k8sName).toMatch(/^cafe-shop-v2-agentruntime-[a-z]{6}$/);
    const emojiOnly = await api.call('POST', '/api/projects', { name: '🚀✨' });
    expect(emojiOnly.status).toBe(202);
    expect(emojiOnly.body.k8sName).toMatch(/^project-agentruntime-[a-z]{6}$/);
    await h.db.project.deleteMany({ where: { id: { in: [res.body.id, emojiOnly.body.id] } } });
  });

  it('one name per user, in one normal form: "é" typed two ways is the same name', async () => {
    const a = await api.call('POST', '/api/projects', { name: 'caf\u00e9 (prod)' });
    expect(a.status).toBe(202);
    const b = await api.call('POST', '/api/projects', { name: 'cafe\u0301 (prod)' });
    expect(b.status).toBe(409);
    expect(b.body.error.message).toMatch(/already have a project named/);
    await h.db.project.delete({ where: { id: a.body.id } });
  });

  it.each([
    ['a NUL and a bell', 'name\u0000with\u0007controls', /control characters/],
    ['an escape sequence', 'red \u001b[31m name', /control characters/],
    ['a tab', 'tab\tname', /control characters/],
    ['a line separator', 'line\u2028sep', /control characters/],
    ['a right-to-left override', 'invoice\u202Egnp.exe', /bidirectional/],
    ['a zero-width space', 'zero\u200Bwidth', /invisible formatting/],
    ['a private-use character', 'private \uE000', /private-use/],
    ['65 characters', 'y'.repeat(65), /at most 64 characters/],
  ])('refuses %s with 400 and writes nothing', async (_label, name, message) => {
    const before = await projectCount();
    const res = await api.call('POST', '/api/projects', { name });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_input');
    expect(res.body.error.message).toMatch(/^name: /);
    expect(res.body.error.message).toMatch(message);
    expect(await projectCount()).toBe(before);
  });
});

describe('per-user project limit (MAX_PROJECTS_PER_USER, default 20)', () => {
  it('the 21st project is a 409 naming the limit; deleted ones do not count', async () => {
    const user = new ApiClient(h.baseUrl);
    await user.signIn('limit-user');
    const ids: string[] = [];
    for (let i = 1; i <= 20; i++) {
      const res = await user.call('POST', '/api/projects', { name: `project #${i}` });
      expect(res.status).toBe(202);
      ids.push(res.body.id);
    }
    const userId = (await user.call('GET', '/api/user')).body.id as string;
    const before = await h.db.project.count({ where: { userId } });
    const over = await user.call('POST', '/api/projects', { name: 'project #21' });
    expect(over.status).toBe(409);
    expect(over.body.error.code).toBe('conflict');
    expect(over.body.error.message).toMatch(/limit of 20 projects per user/);
    expect(over.body.error.message).toMatch(/MAX_PROJECTS_PER_USER/);
    expect(over.body.error.details).toEqual({ limit: 20 });
    expect(await h.db.project.count({ where: { userId } })).toBe(before);
    // A TERMINATED project (the worker's projection; deleted soon after) frees its slot.
    await h.db.project.update({ where: { id: ids[0] }, data: { status: 'TERMINATED' } });
    expect((await user.call('POST', '/api/projects', { name: 'project #21' })).status).toBe(202);
    // Another user is not affected.
    expect((await api.call('POST', '/api/projects', { name: 'someone else' })).status).toBe(202);
  });

  it('holds under parallel creates', async () => {
    const user = new ApiClient(h.baseUrl);
    await user.signIn('parallel-limit-user');
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => user.call('POST', '/api/projects', { name: `parallel ${i}` })));
    expect(results.filter((r) => r.status === 202)).toHaveLength(20);
    expect(results.filter((r) => r.status === 409)).toHaveLength(10);
    const userId = (await user.call('GET', '/api/user')).body.id as string;
    expect(await h.db.project.count({ where: { userId } })).toBe(20);
  });
});

describe('JSON body limit', () => {
  const big = (bytes: number) => JSON.stringify({ name: 'big', description: 'd'.repeat(bytes) });

  it.each([
    ['POST', '/api/projects'],
    ['POST', '/api/tokens'],
    ['PUT', '/api/user/kubeconfig'],
    ['PUT', '/api/user/anthropic'],
  ])('a 2 MiB JSON body to %s %s is a 413 in the contract shape', async (method, path) => {
    const before = await projectCount();
    const res = await api.raw(method, path, { body: big(2 * 1024 * 1024), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error.code).toBe('payload_too_large');
    expect(body.error.message).toMatch(/^body: larger than the \d+ byte limit/);
    expect(await projectCount()).toBe(before);
  });

  it('a 2 MiB body sent chunked (no Content-Length) is a 413 too', async () => {
    const chunk = new TextEncoder().encode('d'.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"name":"chunked","description":"'));
      },
      pull(c) {
        if (sent >= 2 * 1024 * 1024) {
          c.enqueue(new TextEncoder().encode('"}'));
          return c.close();
        }
        sent += chunk.length;
        c.enqueue(chunk);
      },
    });
    const res = await fetch(`${h.baseUrl}/api/projects`, {
      method: 'POST',
      body: stream,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${api.token}` },
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });
});

describe('/metrics', () => {
  it('is served outside production (test config, no token)', async () => {
    expect((await fetch(`${h.baseUrl}/metrics`)).status).toBe(200);
  });

  async function appOn(env: Record<string, string>) {
    const config = { ...(await testConfig(h.databaseUrl, h.taskQueue, env)) };
    const web = createApp({ config, db: h.db, temporalClient: h.web.ctx.temporal, logger: createLogger('limits-test', 'silent') });
    const server = web.app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return {
      base,
      async close() {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
        await web.close();
      },
    };
  }

  it('in production without METRICS_TOKEN: 404, from loopback too', async () => {
    const app = await appOn({ NODE_ENV: 'production' });
    try {
      const res = await fetch(`${app.base}/metrics`);
      expect(res.status).toBe(404);
      expect(await res.text()).not.toMatch(/process_cpu|http_request_duration/);
    } finally {
      await app.close();
    }
  });

  it('in production with METRICS_TOKEN: 401 without it, 200 with it', async () => {
    const token = 'metrics-token-for-the-test-0123';
    const app = await appOn({ NODE_ENV: 'production', METRICS_TOKEN: token });
    try {
      expect((await fetch(`${app.base}/metrics`)).status).toBe(401);
      expect((await fetch(`${app.base}/metrics`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
      const ok = await fetch(`${app.base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('http_request_duration_seconds');
    } finally {
      await app.close();
    }
  });
});

describe('/readyz', () => {
  it('with the database down says which dependency is down and nothing else', async () => {
    // A database that refuses the login: the driver's error names the user and the host.
    const badUrl = h.databaseUrl.replace(/\/\/([^:@/]+):([^@/]*)@/, '//nobody-here:wrong-password-xyz@');
    expect(badUrl).not.toBe(h.databaseUrl);
    const lines: string[] = [];
    const logger = createLogger('readyz-test', 'warn', { write: (l: string) => void lines.push(l) } as never);
    const db = createDb(badUrl);
    const connection = await Connection.connect({ address: h.temporalAddress });
    const config = await testConfig(badUrl, h.taskQueue);
    const web = createApp({ config, db, temporalClient: new Client({ connection }), logger });
    const server = web.app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`);
      expect(res.status).toBe(503);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ status: 'not ready', checks: { database: 'down', temporal: 'ok' } });
      for (const leak of ['nobody-here', 'wrong-password', 'password', 'authentication', '127.0.0.1', 'error']) expect(text).not.toContain(leak);
      // The reason is in the log, for the operator.
      const log = lines.join('');
      expect(log).toMatch(/readiness: database is down/);
      expect(log).toMatch(/"dependency":"database"/);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await web.close();
      await connection.close();
      await db.$disconnect().catch(() => undefined);
    }
  });

  it('with everything up answers ok for both', async () => {
    const res = await fetch(`${h.baseUrl}/readyz`);
    expect(await res.json()).toEqual({ status: 'ready', checks: { database: 'ok', temporal: 'ok' } });
  });
});
