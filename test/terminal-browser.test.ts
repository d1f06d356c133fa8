// Browser test of the terminal page's client component (the same bundle the Remix route
// loads) through the real terminal proxy to a ttyd-protocol peer running bash in a pty.
// Chromium via playwright-core; screenshots land in test-results/.
import { launchChromium } from './browser';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { startTtydPeer, type TtydPeer } from './ttyd-peer';
import { startTerminalTestServer, type TerminalTestServer } from './terminal-page/server';
import { ttydCredential } from '../web/server/terminal/ttyd-protocol';

const TOKEN = 'browser-ttyd-token-Zq81xY';
const SHOTS = path.resolve('test-results');

let peer: TtydPeer;
let web: TerminalTestServer;
let context: BrowserContext;
let profile: string;
/** Everything the browser received over WebSockets, to prove the token never arrives. */
const received: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  peer = await startTtydPeer({ token: TOKEN, mode: 'shell', title: 'bash@demo-shop' });
  web = await startTerminalTestServer(peer, TOKEN);
  ({ context, profile } = await launchChromium({ width: 1000, height: 600 }));
  await context.addCookies([{ name: 'session', value: 'alice', url: web.url }]);
});

afterAll(async () => {
  await context?.close();
  await web?.close();
  await peer?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function openPage(projectId: string): Promise<Page> {
  const page = await context.newPage();
  page.on('websocket', (ws) => {
    ws.on('framereceived', (f) => received.push(typeof f.payload === 'string' ? f.payload : f.payload.toString('latin1')));
  });
  page.on('response', async (r) => {
    received.push(JSON.stringify(await r.allHeaders()));
    if (r.request().resourceType() !== 'script') received.push(await r.text().catch(() => ''));
  });
  await page.goto(`${web.url}/?project=${projectId}`);
  return page;
}

const activeView = (page: Page) => page.locator('.terminal-view:visible');
const screenText = (page: Page) => activeView(page).locator('.xterm-rows').innerText();

async function waitForScreen(page: Page, pattern: RegExp): Promise<string> {
  let text = '';
  for (let i = 0; i < 300; i++) {
    text = await screenText(page).catch(() => '');
    if (pattern.test(text)) return text;
    await page.waitForTimeout(50);
  }
  throw new Error(`terminal never showed ${pattern}; it shows:\n${text}`);
}

async function run(page: Page, command: string): Promise<void> {
  await activeView(page).locator('.xterm').click();
  await page.keyboard.type(command);
  await page.keyboard.press('Enter');
}

describe('terminal page', () => {
  it('types a command and shows its output; resize follows the window', async () => {
    web.projects.set('p1', { owner: 'alice', status: 'RUNNING' });
    const next = peer.nextConnection();
    const page = await openPage('p1');
    const conn = await next;
    await activeView(page).and(page.locator('[data-state="open"]')).waitFor();
    await waitForScreen(page, /peer\$/);

    await run(page, 'echo "answer=$((6*7))"');
    await waitForScreen(page, /^answer=42$/m);
    await page.screenshot({ path: path.join(SHOTS, 'terminal-command-output.png') });

    // The shell got the page's size at connect, and a bigger window sends a resize.
    expect(conn.init!.columns).toBeGreaterThan(20);
    const before = conn.init!.columns;
    await page.setViewportSize({ width: 1400, height: 800 });
    for (let i = 0; i < 100 && !conn.resizes.some((r) => r.columns > before); i++) await page.waitForTimeout(50);
    expect(conn.resizes.at(-1)!.columns).toBeGreaterThan(before);
    expect(conn.resizes.at(-1)!.rows).toBeGreaterThan(conn.init!.rows);
    await page.close();
  });

  it('opens several terminal tabs, each its own shell', async () => {
    web.projects.set('p1', { owner: 'alice', status: 'RUNNING' });
    const first = peer.nextConnection();
    const page = await openPage('p1');
    const c1 = await first;
    await waitForScreen(page, /peer\$/);
    await run(page, 'export TAB=one');

    const second = peer.nextConnection();
    await page.getByRole('button', { name: 'New terminal' }).click();
    const c2 = await second;
    expect(c2.args[0]).not.toBe(c1.args[0]); // a session id per tab
    await waitForScreen(page, /peer\$/);
    await run(page, 'echo "tab=${TAB:-two}"');
    await waitForScreen(page, /^tab=two$/m);
    await page.screenshot({ path: path.join(SHOTS, 'terminal-two-tabs.png') });

    await page.getByRole('tab', { name: /Terminal 1/ }).click();
    await run(page, 'echo "tab=${TAB:-two}"');
    await waitForScreen(page, /^tab=one$/m);
    await page.close();
  });

  it('reconnects with backoff after the sandbox drops the connection', async () => {
    web.projects.set('p1', { owner: 'alice', status: 'RUNNING' });
    const first = peer.nextConnection();
    const page = await openPage('p1');
    await first;
    await waitForScreen(page, /peer\$/);

    const again = peer.nextConnection();
    peer.dropAll();
    await page.getByRole('status').filter({ hasText: /disconnected/i }).waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'terminal-reconnecting.png') });
    await again;
    await activeView(page).and(page.locator('[data-state="open"]')).waitFor();
    await run(page, 'echo "back=$((1+1))"');
    await waitForScreen(page, /^back=2$/m);
    await page.close();
  });

  it('after the shell exits, Enter starts a new one', async () => {
    web.projects.set('p1', { owner: 'alice', status: 'RUNNING' });
    const first = peer.nextConnection();
    const page = await openPage('p1');
    await first;
    await waitForScreen(page, /peer\$/);
    await run(page, 'exit');
    await page.getByRole('status').filter({ hasText: 'The shell exited. Press Enter to start a new shell.' }).waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'terminal-shell-exited.png') });
    const second = peer.nextConnection();
    await page.keyboard.press('Enter');
    await second;
    await activeView(page).and(page.locator('[data-state="open"]')).waitFor();
    await run(page, 'echo "new=$((2*2))"');
    await waitForScreen(page, /^new=4$/m);
    await page.close();
  });

  it('says the sandbox is stopped, offers to start it, and connects once it runs', async () => {
    web.projects.set('p2', { owner: 'alice', status: 'STOPPED' });
    const page = await openPage('p2');
    const notice = page.getByRole('status').filter({ hasText: 'Sandbox is stopped — start it' });
    await notice.waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'terminal-sandbox-stopped.png') });

    const next = peer.nextConnection();
    await page.getByRole('button', { name: 'Start sandbox' }).click();
    await next;
    await activeView(page).and(page.locator('[data-state="open"]')).waitFor();
    await run(page, 'echo "started=yes"');
    await waitForScreen(page, /^started=yes$/m);
    await page.close();
  });

  it('never hands the ttyd token to the browser', () => {
    expect(received.length).toBeGreaterThan(10);
    const all = received.join('\n');
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain(ttydCredential('user', TOKEN));
  });
});
