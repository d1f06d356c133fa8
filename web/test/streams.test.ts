// Long-lived streams against the real web app (Auth.js sessions, API tokens in PostgreSQL)
// and the real terminal proxy: SSE streams and terminal WebSockets close when the token or
// session that opened them is revoked or expires (re-checked every `streamRecheckMs`, short
// here), one user holds at most MAX_STREAMS_PER_USER of them, and the terminal's Origin check
// follows PUBLIC_URL.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { encode } from '@auth/core/jwt';
import { WebSocket } from 'ws';
import { authSecret } from '../../server/secrets';
import { createLogger } from '../../server/logger';
import { startTtydPeer, type TtydPeer } from '../../test/ttyd-peer';
import { attachTerminalProxy, TERMINAL_CLOSE, type TerminalProxy, type TerminalTarget } from '../server/terminal';
import { ApiClient, startWebHarness, waitFor, type WebHarness } from './harness';

const RECHECK_MS = 300;
const MAX_STREAMS = 3;
const TTYD_TOKEN = 'ttyd-token-for-streams-test-0001';

let h: WebHarness;
let peer: TtydPeer;
let server: http.Server;
let proxy: TerminalProxy;
let base: string;
let owner: ApiClient;
let ownerId: string;
let projectId: string;

beforeAll(async () => {
  h = await startWebHarness({ prefix: 'fsa_web_streams', env: { MAX_STREAMS_PER_USER: String(MAX_STREAMS) }, app: { streamRecheckMs: RECHECK_MS, context: { queryTimeoutMs: 300 } } });
  peer = await startTtydPeer({ token: TTYD_TOKEN, mode: 'echo' });
  // The web app plus the terminal proxy on one server, wired as web/server/index.ts does
  // (the sandbox is the ttyd stand-in instead of a pod).
  server = http.createServer(h.web.app);
  proxy = attachTerminalProxy(server, {
    authenticate: h.web.authenticate,
    async resolveTarget(userId, id): Promise<TerminalTarget> {
      const p = await h.db.project.findFirst({ where: { id, userId } });
      return p ? { kind: 'ok', url: peer.url, token: TTYD_TOKEN } : { kind: 'not_found' };
    },
    streams: h.web.streams,
    logger: createLogger('streams-test', 'silent'),
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  owner = new ApiClient(base);
  await owner.signIn('stream-owner');
  ownerId = (await owner.call('GET', '/api/user')).body.id;
  const p = await owner.call('POST', '/api/projects', { name: 'streamed' });
  expect(p.status).toBe(202);
  projectId = p.body.id;
});

afterAll(async () => {
  await proxy?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await peer?.close();
  await h?.close();
});

afterEach(async () => {
  for (const s of open.splice(0)) s.abort();
  for (const ws of sockets.splice(0)) ws.terminate();
  await waitFor(async () => h.web.streams.count(), (n) => n === 0, 5_000, 'every stream released');
});

async function newToken(client = owner): Promise<{ id: string; token: string }> {
  const t = await client.call('POST', '/api/tokens', { name: `stream token ${Math.random()}` });
  expect(t.status).toBe(201);
  return { id: t.body.id, token: t.body.token };
}

interface Sse {
  status: number;
  body: string;
  /** Resolves with everything received when the server ends the stream. */
  ended: Promise<string>;
  isEnded(): boolean;
  abort(): void;
}
const open: Sse[] = [];

async function openSse(headers: Record<string, string>, id = projectId): Promise<Sse> {
  const ctrl = new AbortController();
  const res = await fetch(`${base}/api/projects/${id}/events`, { headers, signal: ctrl.signal });
  if (res.status !== 200) {
    const body = await res.text();
    return { status: res.status, body, ended: Promise.resolve(body), isEnded: () => true, abort: () => undefined };
  }
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let done = false;
  const ended = (async () => {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      text += decoder.decode(r.value, { stream: true });
    }
    done = true;
    return text;
  })().catch(() => text);
  const s: Sse = { status: 200, body: '', ended, isEnded: () => done, abort: () => ctrl.abort() };
  open.push(s);
  // The first snapshot: the stream is registered and serving.
  await waitFor(async () => text, (t) => t.includes('data: '), 10_000, 'first snapshot');
  return s;
}

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms))]);

const sockets: WebSocket[] = [];
function openTerminal(headers: Record<string, string>, id = projectId) {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/api/projects/${id}/terminal`, { headers });
  sockets.push(ws);
  const got: { status?: number; body: string } = { body: '' };
  const outcome = new Promise<'open' | 'refused'>((resolve) => {
    ws.on('open', () => resolve('open'));
    ws.on('unexpected-response', (_req, res) => {
      got.status = res.statusCode;
      res.on('data', (c: Buffer) => (got.body += c.toString('utf8')));
      res.on('end', () => resolve('refused'));
    });
    ws.on('error', () => resolve('refused'));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })));
  return { ws, got, outcome, closed };
}

describe('revocation', () => {
  it("a revoked API token's open SSE stream is closed within the re-check interval", async () => {
    const t = await newToken();
    const sse = await openSse({ authorization: `Bearer ${t.token}` });
    expect(h.web.streams.count(ownerId)).toBe(1);
    expect((await owner.call('DELETE', `/api/tokens/${t.id}`)).status).toBe(200);
    const text = await within(sse.ended, RECHECK_MS * 4 + 1_000, 'the stream to close');
    expect(text).toMatch(/event: revoked\ndata: \{"error":\{"code":"unauthenticated","message":"[^"]*sign in again/);
    expect(h.web.streams.count(ownerId)).toBe(0);
    // And the token opens nothing new.
    expect((await openSse({ authorization: `Bearer ${t.token}` })).status).toBe(401);
  });

  it('a stream whose token stays valid stays open across many re-checks', async () => {
    const t = await newToken();
    const sse = await openSse({ authorization: `Bearer ${t.token}` });
    await new Promise((r) => setTimeout(r, RECHECK_MS * 6));
    expect(sse.isEnded()).toBe(false);
    expect(h.web.streams.count(ownerId)).toBe(1);
  });

  it('a session that expires closes its SSE stream', async () => {
    const cookieName = [...owner.cookies.keys()].find((k) => k.endsWith('authjs.session-token'))!;
    expect(cookieName).toBeDefined();
    // A session like Auth.js issues, valid for 2 more seconds.
    const jwt = await encode({ token: { sub: ownerId, name: 'stream-owner' }, secret: authSecret(h.config), salt: cookieName, maxAge: 2 });
    const sse = await openSse({ cookie: `${cookieName}=${jwt}` });
    expect(sse.status).toBe(200);
    const text = await within(sse.ended, 2_000 + RECHECK_MS * 4 + 1_000, 'the expired session stream to close');
    expect(text).toMatch(/event: revoked/);
  });

  it("a revoked API token's open terminal is closed with 4401", async () => {
    const t = await newToken();
    const term = openTerminal({ authorization: `Bearer ${t.token}` });
    expect(await term.outcome).toBe('open');
    expect(h.web.streams.count(ownerId)).toBe(1);
    expect((await owner.call('DELETE', `/api/tokens/${t.id}`)).status).toBe(200);
    const closed = await within(term.closed, RECHECK_MS * 4 + 1_000, 'the terminal to close');
    expect(closed.code).toBe(TERMINAL_CLOSE.UNAUTHORIZED);
    expect(closed.reason).toMatch(/sign in again/);
    await waitFor(async () => h.web.streams.count(ownerId), (n) => n === 0, 3_000, 'terminal slot released');
  });
});

describe('per-user cap (MAX_STREAMS_PER_USER, SSE and terminal together)', () => {
  it('over the cap: 429 with a clear message, for SSE and terminal alike; others are not affected', async () => {
    const t = await newToken();
    const auth = { authorization: `Bearer ${t.token}` };
    await openSse(auth);
    await openSse(auth);
    const term = openTerminal(auth);
    expect(await term.outcome).toBe('open');
    expect(h.web.streams.count(ownerId)).toBe(MAX_STREAMS);

    const sse = await openSse(auth);
    expect(sse.status).toBe(429);
    const body = JSON.parse(sse.body) as { error: { code: string; message: string; details: unknown } };
    expect(body.error.code).toBe('too_many_requests');
    expect(body.error.message).toMatch(/already have 3 live connections open/);
    expect(body.error.message).toMatch(/MAX_STREAMS_PER_USER=3/);
    expect(body.error.details).toEqual({ limit: 3 });
    // The session counts for the same user.
    expect((await openSse({ cookie: [...owner.cookies].map(([k, v]) => `${k}=${v}`).join('; ') })).status).toBe(429);

    const term2 = openTerminal(auth);
    expect(await term2.outcome).toBe('refused');
    expect(term2.got.status).toBe(429);
    expect(JSON.parse(term2.got.body).error.message).toMatch(/MAX_STREAMS_PER_USER=3/);
    expect(h.web.streams.count(ownerId)).toBe(MAX_STREAMS);

    // Another user has their own budget.
    const other = new ApiClient(base);
    await other.signIn('stream-other');
    const theirs = await other.call('POST', '/api/projects', { name: 'theirs' });
    const ot = await newToken(other);
    expect((await openSse({ authorization: `Bearer ${ot.token}` }, theirs.body.id)).status).toBe(200);

    // Closing one frees a slot.
    term.ws.close();
    await waitFor(async () => h.web.streams.count(ownerId), (n) => n === MAX_STREAMS - 1, 5_000, 'slot freed');
    expect((await openSse(auth)).status).toBe(200);
  });

  it('a refused stream (not your project) takes no slot', async () => {
    const t = await newToken();
    for (let i = 0; i < MAX_STREAMS + 2; i++) {
      expect((await openSse({ authorization: `Bearer ${t.token}` }, 'nosuchproject')).status).toBe(404);
      const term = openTerminal({ authorization: `Bearer ${t.token}` }, 'nosuchproject');
      expect(await term.outcome).toBe('refused');
      expect(term.got.status).toBe(404);
    }
    expect(h.web.streams.count(ownerId)).toBe(0);
  });
});

describe('terminal Origin check', () => {
  async function proxyWith(publicUrl: string | undefined) {
    const srv = http.createServer((_req, res) => res.writeHead(404).end());
    const p = attachTerminalProxy(srv, {
      authenticate: async () => null, // the Origin check comes first: 401 means it passed
      resolveTarget: async () => ({ kind: 'not_found' }),
      publicUrl,
      logger: createLogger('origin-test', 'silent'),
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    const status = async (origin: string) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/api/projects/p1/terminal`, { headers: { Origin: origin } });
      return new Promise<number>((resolve) => {
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => resolve(0));
      });
    };
    return {
      port,
      status,
      async close() {
        await p.close();
        await new Promise((r) => srv.close(r));
      },
    };
  }

  it('with PUBLIC_URL: only its origin may open the terminal, whatever the Host header says', async () => {
    const t = await proxyWith('https://agents.example.com');
    try {
      expect(await t.status('https://agents.example.com')).toBe(401);
      expect(await t.status(`http://127.0.0.1:${t.port}`)).toBe(403); // the Host header's origin is not the public one
      expect(await t.status('http://agents.example.com')).toBe(403); // other scheme
      expect(await t.status('https://agents.example.com:8443')).toBe(403); // other port
      expect(await t.status('https://evil.example')).toBe(403);
    } finally {
      await t.close();
    }
  });

  it("without PUBLIC_URL: the request's Host", async () => {
    const t = await proxyWith(undefined);
    try {
      expect(await t.status(`http://127.0.0.1:${t.port}`)).toBe(401);
      expect(await t.status('https://evil.example')).toBe(403);
    } finally {
      await t.close();
    }
  });
});
