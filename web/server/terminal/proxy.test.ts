// The terminal proxy against a ttyd-protocol peer, with a plain node http server and fake
// authenticate/resolveTarget (the web app supplies the real ones).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, type RawData } from 'ws';
import { startTtydPeer, type TtydPeer } from '../../../test/ttyd-peer';
import { attachTerminalProxy, type TerminalProxy, type TerminalTarget } from './proxy';
import { TERMINAL_CLOSE, encodeClientControl, parseServerControl } from './browser-protocol';
import { ttydCredential } from './ttyd-protocol';
import { createLogger } from '../../../server/logger';

const TOKEN = 'ttyd-S3cret-token_9f8e7d6c5b4a';
const SECRETS = [TOKEN, ttydCredential('user', TOKEN), Buffer.from(TOKEN).toString('base64')];

interface Received {
  status?: number;
  headers: string;
  body: string;
  frames: { binary: boolean; data: Buffer }[];
  close?: { code: number; reason: string };
}

let peer: TtydPeer;
let server: http.Server;
let proxy: TerminalProxy;
let base: string;
let projects: Record<string, { owner: string; status: string; token?: string }>;
let resolveCalls: string[];

beforeAll(async () => {
  peer = await startTtydPeer({ token: TOKEN, mode: 'echo', title: 'bash@sandbox' });
  server = http.createServer((_req, res) => res.writeHead(404).end());
  proxy = attachTerminalProxy(server, {
    async authenticate(req) {
      const m = /(?:^|;\s*)session=([^;]+)/.exec(req.headers.cookie ?? '');
      return m ? { userId: m[1]! } : null;
    },
    async resolveTarget(userId, projectId): Promise<TerminalTarget> {
      resolveCalls.push(`${userId}/${projectId}`);
      const p = projects[projectId];
      if (!p || p.owner !== userId) return { kind: 'not_found' };
      if (p.status !== 'RUNNING') return { kind: 'not_running', status: p.status };
      return { kind: 'ok', url: peer.url, token: p.token ?? TOKEN };
    },
    pingIntervalMs: 60_000,
    logger: createLogger('terminal-proxy-test', 'silent'),
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

beforeEach(() => {
  projects = {
    p1: { owner: 'alice', status: 'RUNNING' },
    stopped: { owner: 'alice', status: 'STOPPED' },
    badtoken: { owner: 'alice', status: 'RUNNING', token: 'wrong-token' },
  };
  resolveCalls = [];
});

afterAll(async () => {
  await proxy.close();
  await new Promise<void>((r) => server.close(() => r()));
  await peer.close();
});

function toBuffer(d: RawData): Buffer {
  return Buffer.isBuffer(d) ? d : Array.isArray(d) ? Buffer.concat(d) : Buffer.from(d);
}

/** A browser stand-in: records the upgrade response and every frame it receives. */
function connect(path: string, headers: Record<string, string> = { Cookie: 'session=alice' }) {
  const got: Received = { headers: '', body: '', frames: [] };
  const ws = new WebSocket(`${base}${path}`, { headers });
  ws.on('upgrade', (res) => {
    got.status = res.statusCode;
    got.headers = JSON.stringify(res.headers);
  });
  ws.on('message', (data, isBinary) => got.frames.push({ binary: isBinary, data: toBuffer(data) }));
  const outcome = new Promise<'open' | 'refused'>((resolve) => {
    ws.on('open', () => resolve('open'));
    ws.on('unexpected-response', (_req, res) => {
      got.status = res.statusCode;
      got.headers = JSON.stringify(res.headers);
      res.on('data', (c: Buffer) => (got.body += c.toString('utf8')));
      res.on('end', () => resolve('refused'));
    });
    ws.on('error', () => resolve('refused'));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => {
      got.close = { code, reason: reason.toString('utf8') };
      resolve(got.close);
    }),
  );
  return { ws, got, outcome, closed };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function expectNoSecret(got: Received) {
  const everything = [got.headers, got.body, got.close?.reason ?? '', ...got.frames.map((f) => f.data.toString('latin1'))].join('\n');
  for (const s of SECRETS) expect(everything).not.toContain(s);
}

const outputOf = (got: Received) => Buffer.concat(got.frames.filter((f) => f.binary).map((f) => f.data));

describe('refused before the upgrade', () => {
  it('no session -> 401, no 101, and the sandbox is never contacted', async () => {
    const before = peer.connections.length;
    const c = connect('/api/projects/p1/terminal', {});
    expect(await c.outcome).toBe('refused');
    expect(c.got.status).toBe(401);
    expect(JSON.parse(c.got.body)).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    expect(resolveCalls).toEqual([]);
    expect(peer.connections.length).toBe(before);
  });

  it("another user's project -> 404 (as if it did not exist)", async () => {
    const before = peer.connections.length;
    const c = connect('/api/projects/p1/terminal', { Cookie: 'session=mallory' });
    expect(await c.outcome).toBe('refused');
    expect(c.got.status).toBe(404);
    expect(JSON.parse(c.got.body).error.code).toBe('not_found');
    expect(resolveCalls).toEqual(['mallory/p1']);
    expect(peer.connections.length).toBe(before);
    expectNoSecret(c.got);
  });

  it('a stopped sandbox -> 409 with the status', async () => {
    const c = connect('/api/projects/stopped/terminal');
    expect(await c.outcome).toBe('refused');
    expect(c.got.status).toBe(409);
    expect(JSON.parse(c.got.body).error).toMatchObject({ code: 'conflict', details: { status: 'STOPPED' } });
  });

  it('a cross-site page (Origin not this host) -> 403 even with a valid session cookie', async () => {
    const c = connect('/api/projects/p1/terminal', { Cookie: 'session=alice', Origin: 'https://evil.example' });
    expect(await c.outcome).toBe('refused');
    expect(c.got.status).toBe(403);
    expect(resolveCalls).toEqual([]);
  });

  it('ttyd refusing the credentials -> 502, and the token is in no part of the answer', async () => {
    const c = connect('/api/projects/badtoken/terminal');
    expect(await c.outcome).toBe('refused');
    expect(c.got.status).toBe(502);
    expect(peer.refusals).toContain('basic auth');
    expectNoSecret(c.got);
  });

  it('leaves other upgrade paths alone', async () => {
    const other = (req: http.IncomingMessage, socket: import('node:stream').Duplex) => {
      if (req.url === '/other') socket.end('HTTP/1.1 418 I\'m a Teapot\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    };
    server.on('upgrade', other);
    try {
      const c = connect('/other');
      expect(await c.outcome).toBe('refused');
      expect(c.got.status).toBe(418);
    } finally {
      server.off('upgrade', other);
    }
  });
});

describe('an open terminal', () => {
  it('speaks ttyd protocol upstream: subprotocol, basic auth, AuthToken, size and session from the page', async () => {
    const next = peer.nextConnection();
    const c = connect('/api/projects/p1/terminal?cols=120&rows=40&session=tab-1', { Cookie: 'session=alice', Origin: `http://${new URL(base).host}` });
    expect(await c.outcome).toBe('open');
    const conn = await next;
    expect(conn.authenticated).toBe(true);
    expect(conn.init).toEqual({ columns: 120, rows: 40 });
    expect(conn.args).toEqual(['tab-1']);
    c.ws.close();
    await c.closed;
  });

  it('passes binary input and output through byte for byte, including bytes that are not UTF-8', async () => {
    const next = peer.nextConnection();
    const c = connect('/api/projects/p1/terminal');
    expect(await c.outcome).toBe('open');
    const conn = await next;
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0x1b, 0x5b, 0x41, 0xe2, 0x82]);
    c.ws.send(bytes, { binary: true });
    await until(() => outputOf(c.got).length >= bytes.length, 'echoed output');
    expect(conn.inputs).toEqual([bytes]);
    expect(outputOf(c.got).equals(bytes)).toBe(true);

    const raw = Buffer.from([0x1b, 0x5b, 0x33, 0x31, 0x6d, 0xc0, 0xaf, 0x0a]);
    peer.broadcastOutput(raw);
    await until(() => outputOf(c.got).length >= bytes.length + raw.length, 'raw output');
    expect(outputOf(c.got).subarray(bytes.length).equals(raw)).toBe(true);
    c.ws.close();
    await c.closed;
  });

  it('forwards resize control frames as ttyd resize commands', async () => {
    const next = peer.nextConnection();
    const c = connect('/api/projects/p1/terminal?cols=80&rows=24');
    expect(await c.outcome).toBe('open');
    const conn = await next;
    c.ws.send(encodeClientControl({ type: 'resize', columns: 132, rows: 43 }));
    c.ws.send(encodeClientControl({ type: 'resize', columns: 90, rows: 20 }));
    await until(() => conn.resizes.length === 2, 'two resizes');
    expect(conn.resizes).toEqual([
      { columns: 132, rows: 43 },
      { columns: 90, rows: 20 },
    ]);
    c.ws.close();
    await c.closed;
  });

  it('hands the page the window title and preferences as JSON control frames, and never the token', async () => {
    const next = peer.nextConnection();
    const c = connect('/api/projects/p1/terminal');
    expect(await c.outcome).toBe('open');
    await next;
    c.ws.send(Buffer.from('ls\r'), { binary: true });
    await until(() => outputOf(c.got).toString() === 'ls\r', 'echo');
    const controls = c.got.frames.filter((f) => !f.binary).map((f) => parseServerControl(f.data.toString('utf8')));
    expect(controls).toEqual([
      { type: 'title', title: 'bash@sandbox' },
      { type: 'preferences', preferences: expect.objectContaining({ fontSize: 14 }) },
    ]);
    c.ws.close();
    await c.closed;
    expectNoSecret(c.got);
  });

  it('an upstream drop closes the page cleanly with a code and reason it can show', async () => {
    const next = peer.nextConnection();
    const c = connect('/api/projects/p1/terminal');
    expect(await c.outcome).toBe('open');
    await next;
    peer.dropAll();
    const closed = await c.closed;
    expect(closed).toEqual({ code: TERMINAL_CLOSE.UPSTREAM_DROPPED, reason: 'the sandbox terminal disconnected' });
    await until(() => proxy.connections() === 0, 'proxy cleanup');
  });

  it('the shell exiting ends the session with 1000', async () => {
    const next = peer.nextConnection();
    const c = connect('/api/projects/p1/terminal');
    expect(await c.outcome).toBe('open');
    const conn = await next;
    conn.socket.close(1000);
    expect(await c.closed).toEqual({ code: TERMINAL_CLOSE.SESSION_ENDED, reason: 'terminal session ended' });
  });

  it('closing the page closes the upstream connection', async () => {
    const next = peer.nextConnection();
    const c = connect('/api/projects/p1/terminal');
    expect(await c.outcome).toBe('open');
    const conn = await next;
    c.ws.close(1000);
    expect(await conn.closed).toEqual({ code: 1000 });
    await until(() => proxy.connections() === 0, 'proxy cleanup');
  });

  it('a text frame that is not a control message is a protocol error', async () => {
    const next = peer.nextConnection();
    const c = connect('/api/projects/p1/terminal');
    expect(await c.outcome).toBe('open');
    await next;
    c.ws.send('{"AuthToken":"x"}');
    expect((await c.closed).code).toBe(TERMINAL_CLOSE.PROTOCOL_ERROR);
  });

  it('several terminals of one project are independent connections', async () => {
    const n1 = peer.nextConnection();
    const a = connect('/api/projects/p1/terminal?session=a');
    expect(await a.outcome).toBe('open');
    const ca = await n1;
    const n2 = peer.nextConnection();
    const b = connect('/api/projects/p1/terminal?session=b');
    expect(await b.outcome).toBe('open');
    const cb = await n2;
    a.ws.send(Buffer.from('one'), { binary: true });
    b.ws.send(Buffer.from('two'), { binary: true });
    await until(() => outputOf(a.got).length === 3 && outputOf(b.got).length === 3, 'both echoes');
    expect([outputOf(a.got).toString(), outputOf(b.got).toString()]).toEqual(['one', 'two']);
    expect([ca.args, cb.args]).toEqual([['a'], ['b']]);
    a.ws.close();
    b.ws.close();
    await Promise.all([a.closed, b.closed]);
  });
});

describe('flow control and liveness', () => {
  it('asks ttyd to pause while the page is not reading, and to resume once it caught up', async () => {
    const next = peer.nextConnection();
    const c = connect('/api/projects/p1/terminal');
    expect(await c.outcome).toBe('open');
    const conn = await next;
    const socket = (c.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.pause(); // a page that stopped reading (background tab, slow network)
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    for (let i = 0; i < 128 && conn.pauses === 0; i++) {
      peer.broadcastOutput(chunk);
      await new Promise((r) => setTimeout(r, 5));
    }
    await until(() => conn.pauses === 1, 'pause');
    expect(conn.resumes).toBe(0);
    socket.resume();
    await until(() => conn.resumes === 1, 'resume');
    c.ws.close();
    await c.closed;
  });

  it('drops a page that stops answering pings', async () => {
    const s = http.createServer();
    const p = attachTerminalProxy(s, {
      authenticate: async () => ({ userId: 'alice' }),
      resolveTarget: async () => ({ kind: 'ok', url: peer.url, token: TOKEN }),
      logger: createLogger('terminal-proxy-test', 'silent'),
      pingIntervalMs: 50,
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    try {
      const next = peer.nextConnection();
      const ws = new WebSocket(`ws://127.0.0.1:${(s.address() as AddressInfo).port}/api/projects/p1/terminal`, { autoPong: false });
      const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
      const conn = await next;
      expect(await closed).toBe(TERMINAL_CLOSE.CLIENT_TIMEOUT);
      expect((await conn.closed).code).toBe(1000); // and the sandbox side is released
    } finally {
      await p.close();
      await new Promise<void>((r) => s.close(() => r()));
    }
  });
});

describe('lifecycle policies', () => {
  it('wakes a stopped project when the user opens the terminal (not on automatic reconnects), connects once it runs, and reports terminal activity', async () => {
    const s = http.createServer();
    const woken: string[] = [];
    const touched: string[] = [];
    const p = attachTerminalProxy(s, {
      authenticate: async () => ({ userId: 'alice' }),
      resolveTarget: async () => ({ kind: 'not_running', status: 'STOPPED' }),
      async wake(user, projectId) {
        woken.push(`${user.userId}/${projectId}`);
        return { kind: 'ok', url: peer.url, token: TOKEN };
      },
      activity: { touch: (id) => void touched.push(id) },
      logger: createLogger('terminal-proxy-test', 'silent'),
      pingIntervalMs: 60_000,
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    try {
      const got: Buffer[] = [];
      const base = `ws://127.0.0.1:${(s.address() as AddressInfo).port}/api/projects/stopped/terminal`;
      // An automatic reconnect (no wake=1), e.g. a tab left open after a stop, is refused and starts nothing.
      const reconnect = new WebSocket(base);
      const refused = await new Promise<number>((resolve) => {
        reconnect.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        reconnect.once('open', () => resolve(101));
        reconnect.once('error', () => resolve(0));
      });
      expect(refused).toBe(409);
      expect(woken).toEqual([]);

      const ws = new WebSocket(`${base}?wake=1`);
      ws.on('message', (d, binary) => binary && got.push(toBuffer(d)));
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      expect(woken).toEqual(['alice/stopped']);
      ws.send(Buffer.from('echo hi\r'), { binary: true });
      await until(() => Buffer.concat(got).toString('utf8').includes('echo hi'), 'the echo');
      expect(touched.length).toBeGreaterThanOrEqual(2); // the input and the output
      expect(new Set(touched)).toEqual(new Set(['stopped']));
      ws.close();
    } finally {
      await p.close();
      await new Promise<void>((r) => s.close(() => r()));
    }
  });
});
