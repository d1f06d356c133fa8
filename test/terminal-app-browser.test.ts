// End to end through the real web app: Auth.js sign-in page, the Remix terminal route
// (Vite dev middleware, as `npm start` runs it), the terminal proxy attached the way
// web/server/index.ts attaches it, a lifecycle workflow with fake activities, and a
// ttyd-protocol peer (bash in a pty) standing in for the sandbox's ttyd.
import { launchChromium } from './browser';
import { mountDevUi } from './web-ui';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { ApiClient, startWebHarness, waitFor, type WebHarness } from '../web/test/harness';
import { attachTerminalProxy, resolveTerminalTarget, type TerminalProxy } from '../web/server/terminal';
import { startTtydPeer, type TtydPeer } from './ttyd-peer';

const SHOTS = path.resolve('test-results');

let h: WebHarness;
let server: http.Server;
let proxy: TerminalProxy;
let vite: ViteDevServer;
let base: string;
let peer: TtydPeer;
let token: string;
let projectId: string;
let context: BrowserContext;
let profile: string;
const received: string[] = [];

/** The fake activities publish an unreachable ttyd URL; point the sandbox at the peer. */
async function pointSandboxAtPeer() {
  await h.db.sandbox.updateMany({ where: { projectId }, data: { ttydUrl: peer.httpUrl } });
}

/**
 * Keeps the sandbox pointed at the peer until `until` settles: the projection may still
 * write the fake URL just after RUNNING, and the page retries with backoff meanwhile.
 */
async function keepPointingAtPeer<T>(until: Promise<T>): Promise<T> {
  await pointSandboxAtPeer();
  const timer = setInterval(() => void pointSandboxAtPeer(), 200);
  try {
    return await until;
  } finally {
    clearInterval(timer);
  }
}

async function projectStatus(api: ApiClient): Promise<string> {
  return (await api.call<{ status: string }>('GET', `/api/projects/${projectId}`)).body.status;
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  h = await startWebHarness({ prefix: 'fsa_terminal_app', worker: true });
  server = http.createServer(h.web.app);
  vite = await mountDevUi(h.web);
  // As in web/server/index.ts.
  proxy = attachTerminalProxy(server, {
    authenticate: h.web.authenticate,
    resolveTarget: (userId, id) => resolveTerminalTarget(h.db, h.web.ctx.cipher, userId, id),
    logger: h.web.ctx.logger,
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // A project, created and started through the API by the same user the browser signs in as.
  const api = new ApiClient(base);
  await api.signIn('terminal-user');
  const created = await api.call<{ id: string }>('POST', '/api/projects', { name: 'term-demo' });
  expect(created.status).toBe(202);
  projectId = created.body.id;
  await waitFor(() => projectStatus(api), (s) => s === 'RUNNING', 60_000, 'project RUNNING');
  const sandbox = await h.db.sandbox.findFirstOrThrow({ where: { projectId } });
  token = h.web.ctx.cipher.decrypt(sandbox.ttydAccessToken);
  peer = await startTtydPeer({ token, mode: 'shell', title: 'bash@term-demo' });
  await pointSandboxAtPeer();

  ({ context, profile } = await launchChromium({ width: 1200, height: 800 }));
});

afterAll(async () => {
  await context?.close();
  await proxy?.close();
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await vite?.close();
  await peer?.close();
  await h?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function newPage(): Promise<Page> {
  const page = await context.newPage();
  page.on('websocket', (ws) => ws.on('framereceived', (f) => received.push(typeof f.payload === 'string' ? f.payload : f.payload.toString('latin1'))));
  page.on('response', async (r) => {
    received.push(JSON.stringify(await r.allHeaders()));
    if (r.request().resourceType() !== 'script') received.push(await r.text().catch(() => ''));
  });
  return page;
}

const activeView = (page: Page) => page.locator('.terminal-view:visible');

async function waitForScreen(page: Page, pattern: RegExp): Promise<string> {
  let text = '';
  for (let i = 0; i < 400; i++) {
    text = await activeView(page).locator('.xterm-rows').innerText().catch(() => '');
    if (pattern.test(text)) return text;
    await page.waitForTimeout(50);
  }
  throw new Error(`terminal never showed ${pattern}; it shows:\n${text}`);
}

async function run(page: Page, command: string) {
  await activeView(page).locator('.xterm').click();
  await page.keyboard.type(command);
  await page.keyboard.press('Enter');
}

describe('terminal page in the web app', () => {
  it('signs in, opens the terminal of a running project, types a command and sees its output', async () => {
    const page = await newPage();
    await page.goto(`${base}/signin?callbackUrl=${encodeURIComponent(`/projects/${projectId}/terminal`)}`);
    await page.getByLabel('Username').fill('terminal-user');
    await page.getByLabel('Password').fill('correct horse battery');
    const next = peer.nextConnection();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`**/projects/${projectId}/terminal`);
    await keepPointingAtPeer(next);
    await activeView(page).and(page.locator('[data-state="open"]')).waitFor();
    await waitForScreen(page, /peer\$/);
    await run(page, 'echo "sum=$((40+2))"');
    await waitForScreen(page, /^sum=42$/m);
    await page.screenshot({ path: path.join(SHOTS, 'terminal-app-command-output.png') });
    await page.close();
  });

  it('a stopped project shows "Sandbox is stopped — start it"; starting it connects the terminal', async () => {
    const api = new ApiClient(base);
    await api.signIn('terminal-user');
    expect((await api.call('POST', `/api/projects/${projectId}/stop`)).status).toBe(202);
    await waitFor(() => projectStatus(api), (s) => s === 'STOPPED', 60_000, 'project STOPPED');

    const page = await newPage();
    await page.goto(`${base}/projects/${projectId}/terminal`);
    await page.getByRole('status').filter({ hasText: 'Sandbox is stopped — start it' }).waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'terminal-app-sandbox-stopped.png') });

    const next = peer.nextConnection();
    await page.getByRole('button', { name: 'Start sandbox' }).click();
    await waitFor(() => projectStatus(api), (s) => s === 'RUNNING', 60_000, 'project RUNNING again');
    await keepPointingAtPeer(next); // the page retries with backoff until the terminal answers
    await activeView(page).and(page.locator('[data-state="open"]')).waitFor();
    await run(page, 'echo "again=ok"');
    await waitForScreen(page, /^again=ok$/m);
    await page.close();
  });

  it('the ttyd token reached the browser in no response and no frame', () => {
    expect(received.length).toBeGreaterThan(10);
    const all = received.join('\n');
    expect(all).not.toContain(token);
    expect(all).not.toContain(Buffer.from(`user:${token}`).toString('base64'));
  });
});
