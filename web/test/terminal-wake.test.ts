// Wake on access through the terminal route, on real Temporal, PostgreSQL and a worker with
// fake Kubernetes: opening the terminal of a STOPPED project with ?wake=1 starts it (the
// lifecycle records who), the proxy waits until it is RUNNING and then connects to the
// sandbox's ttyd (a ttyd-protocol peer here), and the session's input and output reach the
// lifecycle as terminal activity. Without wake=1 (an automatic reconnect) nothing starts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, type RawData } from 'ws';
import { workflowIdForProject } from '../../common/names';
import { statusQuery } from '../../workflows/messages';
import { startTtydPeer, type TtydPeer } from '../../test/ttyd-peer';
import { attachTerminalProxy, type TerminalProxy } from '../server/terminal/proxy';
import { resolveTerminalTarget } from '../server/terminal/resolve-target';
import { ApiClient, startWebHarness, waitFor, type WebHarness } from './harness';

const TOKEN = 'wake-ttyd-token-Jq2x';
let h: WebHarness;
let peer: TtydPeer;
let server: http.Server;
let proxy: TerminalProxy;
let ada: ApiClient;
let bearer: string;
let base: string;

beforeAll(async () => {
  h = await startWebHarness({ prefix: 'fsa_web_wake', worker: true, env: { IDLE_REPORT_INTERVAL_MS: '500' } });
  peer = await startTtydPeer({ token: TOKEN, mode: 'echo', title: 'bash@woken' });
  // The web's own terminal proxy, authentication and wake; only the sandbox's address is the peer's
  // (the fake cluster's URLs resolve nowhere).
  server = http.createServer(h.web.app);
  proxy = attachTerminalProxy(server, {
    authenticate: h.web.authenticate,
    resolveTarget: async (userId, projectId) => {
      const t = await resolveTerminalTarget(h.db, h.web.ctx.cipher, userId, projectId);
      return t.kind === 'ok' ? { kind: 'ok', url: peer.url, token: TOKEN } : t;
    },
    wake: async (user, projectId) => {
      const t = await h.web.wakeTerminal(user, projectId);
      return t.kind === 'ok' ? { kind: 'ok', url: peer.url, token: TOKEN } : t;
    },
    streams: h.web.streams,
    activity: h.web.activity,
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ada = new ApiClient(h.baseUrl);
  await ada.signIn('ada');
  bearer = (await ada.call('POST', '/api/tokens', { name: 'wake-test' })).body.token;
});

afterAll(async () => {
  await proxy?.close();
  server?.closeAllConnections?.();
  await new Promise((r) => (server ? server.close(() => r(undefined)) : r(undefined)));
  await peer?.close();
  await h?.close();
});

const toBuffer = (d: RawData) => (Buffer.isBuffer(d) ? d : Array.isArray(d) ? Buffer.concat(d) : Buffer.from(d));
const project = (id: string) => ada.call('GET', `/api/projects/${id}`);

it('opening the terminal of a STOPPED project with wake=1 starts it and connects once it is RUNNING', async () => {
  const id = (await ada.call('POST', '/api/projects', { name: 'sleepy' })).body.id;
  await waitFor(() => project(id), (r) => r.body.status === 'RUNNING', 30_000, 'RUNNING');
  expect((await ada.call('POST', `/api/projects/${id}/stop`)).status).toBe(202);
  await waitFor(() => project(id), (r) => r.body.status === 'STOPPED', 30_000, 'STOPPED');
  const headers = { authorization: `Bearer ${bearer}` };

  // An automatic reconnect (no wake=1) is refused with 409 and starts nothing.
  const refused = await new Promise<number>((resolve) => {
    const ws = new WebSocket(`${base}/api/projects/${id}/terminal`, { headers });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('open', () => resolve(101));
    ws.once('error', () => resolve(0));
  });
  expect(refused).toBe(409);
  expect((await project(id)).body.desired).toBe('STOPPED');

  // The user opens it: the upgrade is answered only once the project runs.
  const opened = Date.now();
  const ws = new WebSocket(`${base}/api/projects/${id}/terminal?wake=1&session=tab-1`, { headers });
  const got: Buffer[] = [];
  ws.on('message', (d, binary) => binary && got.push(toBuffer(d)));
  const seenWhileWaiting: string[] = [];
  let open = false;
  const watcher = (async () => {
    while (!open) {
      seenWhileWaiting.push((await project(id)).body.status);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  open = true;
  await watcher;
  expect(Date.now() - opened).toBeGreaterThan(200); // the fake cluster takes 300 ms per resource
  const atOpen = (await project(id)).body;
  expect(atOpen).toMatchObject({ status: 'RUNNING', desired: 'RUNNING' });
  // Meanwhile the project was on its way up, as the page shows it.
  expect(seenWhileWaiting.some((s) => s !== 'RUNNING')).toBe(true);
  const conn = peer.connections.at(-1)!;
  expect(conn.args).toEqual(['tab-1']);

  ws.send(Buffer.from('echo woken\r'), { binary: true });
  await waitFor(async () => Buffer.concat(got).toString('utf8'), (t) => t.includes('echo woken'), 10_000, 'the echo');
  ws.close();

  // The start names its actor (the token's owner opened the terminal), and the session's
  // frames reached the lifecycle as terminal activity.
  const history = await waitFor(
    () => ada.call('GET', `/api/projects/${id}/events?history=1`),
    (r) => r.body.events.filter((e: { kind: string }) => e.kind === 'intent').length >= 3,
    15_000,
    'the wake in the timeline',
  );
  const intents = history.body.events.filter((e: { kind: string }) => e.kind === 'intent').map((e: { action: string }) => e.action);
  expect(intents.slice(0, 2)).toEqual(['RUNNING', 'STOPPED']);
  const view = await waitFor(
    () => h.temporal.workflow.getHandle(workflowIdForProject(id)).query(statusQuery),
    (v) => !!v.idle?.lastActivityAt && Date.parse(v.idle.lastActivityAt) >= opened,
    10_000,
    'terminal activity reported',
  );
  expect(view.status).toBe('RUNNING');
});
