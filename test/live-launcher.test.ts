// The embedded default as a newcomer meets it, through the launcher that ./scripts/start.sh
// runs (scripts/platform.ts): its embedded PostgreSQL, the worker with the real Kubernetes
// activities (against the test run's local cluster), the web in development mode. Chromium:
// 3 users, 5 projects created in parallel while their pages are open — every page reaches
// RUNNING on screen without a reload, no 5xx; stop/start from a page; the live indicator
// goes "reconnecting…" and back; unexpected errors and a database that is down show a short
// message with the request id (the log line with that id has the details); the favicon is
// served; no future-flag warnings at start. Screenshots and timings in test-results/live/.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Page } from 'playwright-core';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../scripts/services/embedded-postgres';
import { REPO_ROOT, startPlatform, type Platform } from './launcher';
import { percentile, runLiveScenario, type LiveScenarioResult } from './live-scenario';
import { startSseProxy } from './sse-proxy';

const SHOTS = path.join(REPO_ROOT, 'test-results', 'live');
const LEAKS = /prisma|invocation|SELECT |permission denied|relation "|\bat .*\.ts:\d+|stack/i;

let platform: Platform;
let scenario: LiveScenarioResult | undefined;
let restartedDb: EmbeddedPostgres | undefined;

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  platform = await startPlatform({
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS!,
    TEMPORAL_TASK_QUEUE: `live-launcher-${process.pid}-${Date.now().toString(36)}`,
    CLUSTER_ADMIN_KUBECONFIG: process.env.TEST_KUBECONFIG!,
    CLUSTER_DOMAIN: 'sandbox.test',
  });
}, 240_000);

afterAll(async () => {
  await scenario?.close();
  await platform?.stop();
  await restartedDb?.stop();
  if (platform) {
    fs.copyFileSync(platform.logFile, path.join(SHOTS, 'platform.log'));
    fs.rmSync(platform.dataDir, { recursive: true, force: true });
  }
}, 120_000);

/**
 * Runs a browser step; when it fails, keeps what the page showed (screenshot and HTML under
 * a name of its own, so a re-run does not overwrite it) and adds the pages' errors and 4xx
 * answers to the failure.
 */
async function step<T>(page: Page, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const base = path.join(SHOTS, `failed-${name}-${Date.now().toString(36)}`);
    await page.screenshot({ path: `${base}.png`, fullPage: true }).catch(() => undefined);
    await page.content().then((html) => fs.writeFileSync(`${base}.html`, html), () => undefined);
    const seen = { url: page.url(), pageErrors: scenario?.pageErrors ?? [], clientErrors: scenario?.clientErrors ?? [], serverErrors: scenario?.serverErrors ?? [] };
    throw new Error(`${name}: ${err instanceof Error ? err.message : String(err)}\nkept: ${base}.png, .html\n${JSON.stringify(seen, null, 2)}`);
  }
}

/** JSON log lines of the platform's processes that mention `requestId`. */
/** The platform's log lines with the request id, once one matches (the web writes its log after the answer). */
async function logLinesOnceMatching(requestId: string, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 10_000;
  let lines = JSON.stringify(logLinesWith(requestId));
  while (!pattern.test(lines) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    lines = JSON.stringify(logLinesWith(requestId));
  }
  return lines;
}

function logLinesWith(requestId: string): Array<Record<string, unknown>> {
  return platform
    .log()
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes(requestId))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

it('keeps every page live: 3 users, 5 projects in parallel, RUNNING on screen without a reload, no 5xx', async () => {
  const log = (m: string) => console.log(`[live] ${m}`);
  scenario = await runLiveScenario({ baseUrl: platform.baseUrl, databaseUrl: platform.databaseUrl, users: 3, projects: 5, shotsDir: SHOTS, log });
  expect(scenario.serverErrors).toEqual([]);
  expect(scenario.reloaded).toEqual([]);
  expect(scenario.faviconMisses).toEqual([]);
  expect(scenario.pageErrors).toEqual([]);

  // Drive one lifecycle from its page: stop, then start; the page and its owner's list follow.
  const [id] = scenario.projectIds;
  const page = scenario.detailPages.get(id!)!;
  const list = scenario.listPages[0]!;
  await step(page, 'stop', async () => {
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.locator('h1 [data-status="STOPPED"]').waitFor({ timeout: 120_000 });
  });
  await step(list, 'list-stopped', () => list.locator(`a.project-row[href="/projects/${id}"] [data-status="STOPPED"]`).waitFor({ timeout: 30_000 }));
  await page.screenshot({ path: path.join(SHOTS, 'project-1-stopped.png'), fullPage: true });
  await step(page, 'start', async () => {
    await page.getByRole('button', { name: 'Start' }).click();
    await page.locator('h1 [data-status="RUNNING"]').waitFor({ timeout: 120_000 });
  });
  await step(list, 'list-running', () => list.locator(`a.project-row[href="/projects/${id}"] [data-status="RUNNING"]`).waitFor({ timeout: 30_000 }));
  expect(await page.evaluate(() => (window as unknown as { __fsaMarker?: number }).__fsaMarker)).toBe(1);
  expect(scenario.serverErrors).toEqual([]);

  const latencies = await scenario.measure();
  const all = [...latencies.detail, ...latencies.list];
  const figures = {
    samples: { detail: latencies.detail.length, list: latencies.list.length },
    detail: { p50: percentile(latencies.detail, 50), p95: percentile(latencies.detail, 95), max: Math.max(...latencies.detail) },
    list: { p50: percentile(latencies.list, 50), p95: percentile(latencies.list, 95), max: Math.max(...latencies.list) },
    all: { p50: percentile(all, 50), p95: percentile(all, 95) },
  };
  fs.writeFileSync(path.join(SHOTS, 'timings.json'), JSON.stringify({ ...figures, latencies, transitions: scenario.transitions, shown: scenario.shown }, null, 2));
  console.log(`[live] status change → page text change (ms): ${JSON.stringify(figures)}`);
  // Every status the pages went through was a live update, and within a second as a rule.
  expect(latencies.detail.length).toBeGreaterThanOrEqual(5);
  expect(latencies.list.length).toBeGreaterThanOrEqual(5);
  expect(figures.all.p50).toBeLessThan(1_000);
}, 600_000);

it('says "reconnecting…" while updates cannot arrive, and is live again afterwards', async () => {
  expect(scenario).toBeDefined();
  const [id] = scenario!.projectIds;
  const proxy = await startSseProxy(platform.port);
  const page = await scenario!.contexts[0]!.newPage();
  try {
    await page.goto(`${proxy.baseUrl}/projects/${id}`);
    await page.locator('[data-live="live"]').waitFor();
    await page.evaluate(() => ((window as unknown as { __fsaMarker: number }).__fsaMarker = 2));
    proxy.cut(); // the stream drops, and reconnecting is answered 503 (EventSource alone would give up)
    await page.locator('[data-live="reconnecting"]').waitFor({ timeout: 15_000 });
    await page.screenshot({ path: path.join(SHOTS, 'project-1-reconnecting.png') });
    await new Promise((r) => setTimeout(r, 3_000)); // a few refused attempts
    await expect(page.locator('[data-live]').getAttribute('data-live')).resolves.toBe('reconnecting');
    proxy.restore();
    await page.locator('[data-live="live"]').waitFor({ timeout: 40_000 });
    expect(proxy.openStreams()).toBe(1);
    // The same page (no reload), and updates arrive again: a stop shows on screen.
    expect(await page.evaluate(() => (window as unknown as { __fsaMarker?: number }).__fsaMarker)).toBe(2);
    await step(page, 'stop-after-reconnect', async () => {
      await page.getByRole('button', { name: 'Stop' }).click();
      await page.locator('h1 [data-status="STOPPED"]').waitFor({ timeout: 120_000 });
    });
  } finally {
    await page.close();
    await proxy.close();
  }
}, 240_000);

it('shows a short message and the request id for an unexpected error; the log line with that id has the details', async () => {
  const context = scenario!.contexts[0]!;
  const tokenRes = await context.request.post(`${platform.baseUrl}/api/tokens`, { data: { name: 'errors' } });
  expect(tokenRes.status()).toBe(201);
  const { token } = (await tokenRes.json()) as { token: string };

  // An unexpected database error: the platform's role may no longer read projects.
  const admin = new pg.Client({ connectionString: platform.adminUrl.replace(/\/postgres\?/, '/fullstackagent?') });
  await admin.connect();
  await admin.query('REVOKE SELECT ON "Project" FROM fullstackagent');
  try {
    const api = await fetch(`${platform.baseUrl}/api/projects`, { headers: { Authorization: `Bearer ${token}` } });
    const requestId = api.headers.get('x-request-id')!;
    const text = await api.text();
    expect(api.status).toBe(500);
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal', message: expect.stringContaining(requestId), details: { requestId } } });
    expect(text).not.toMatch(LEAKS);
    expect(await logLinesOnceMatching(requestId, /permission denied/)).toMatch(/permission denied/);

    // The page: the error boundary, with the document's request id.
    const page = scenario!.listPages[0]!;
    const doc = await page.goto(`${platform.baseUrl}/projects`);
    const pageId = doc!.headers()['x-request-id']!;
    await page.getByRole('alert').waitFor();
    const shown = await page.locator('main').innerText();
    expect(shown).toContain('Something went wrong');
    expect(await page.locator('[data-request-id]').innerText()).toBe(pageId);
    expect(await page.content()).not.toMatch(/permission denied|prisma|invocation/i);
    expect(await logLinesOnceMatching(pageId, /permission denied/)).toMatch(/permission denied/);
    await page.screenshot({ path: path.join(SHOTS, 'error-boundary.png'), fullPage: true });

    // A client-side navigation to the failing page: the id of that data request.
    await page.goto(`${platform.baseUrl}/settings`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Projects' }).click();
    await page.getByRole('alert').waitFor();
    const navId = await page.locator('[data-request-id]').innerText();
    expect(navId).not.toBe(pageId);
    expect(await logLinesOnceMatching(navId, /permission denied/)).toMatch(/permission denied/);
    expect(await page.locator('main').innerText()).not.toMatch(LEAKS);
  } finally {
    await admin.query('GRANT SELECT ON "Project" TO fullstackagent');
    await admin.end();
  }
}, 120_000);

it('serves the favicon and starts without future-flag warnings', async () => {
  const ico = await fetch(`${platform.baseUrl}/favicon.ico`);
  expect(ico.status).toBe(200);
  expect(ico.headers.get('content-type')).toMatch(/icon/);
  const svg = await fetch(`${platform.baseUrl}/favicon.svg`);
  expect(svg.status).toBe(200);
  expect(svg.headers.get('content-type')).toMatch(/svg/);
  expect(platform.log()).not.toMatch(/future flag|v3_singleFetch|React Router v7/i);
});

it('answers 503 with the request id while the database is down, and recovers when it is back', async () => {
  const context = scenario!.contexts[1]!;
  const { token } = (await (await context.request.post(`${platform.baseUrl}/api/tokens`, { data: { name: 'down' } })).json()) as { token: string };
  const pid = Number(fs.readFileSync(path.join(platform.dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 20_000;
  while (fs.existsSync(path.join(platform.dataDir, 'postgres', 'postmaster.pid')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));

  const api = await fetch(`${platform.baseUrl}/api/projects`, { headers: { Authorization: `Bearer ${token}` } });
  const requestId = api.headers.get('x-request-id')!;
  const body = await api.text();
  expect(api.status).toBe(503);
  expect(api.headers.get('retry-after')).toBe('5');
  expect(JSON.parse(body)).toMatchObject({ error: { code: 'unavailable', message: expect.stringMatching(/database is not reachable/), details: { requestId } } });
  expect(body).not.toMatch(LEAKS);

  const pageRes = await fetch(`${platform.baseUrl}/projects`, { headers: { Authorization: `Bearer ${token}`, Accept: 'text/html' } });
  const html = await pageRes.text();
  expect(pageRes.status).toBe(503);
  expect(html).toContain('Temporarily unavailable');
  expect(html).toContain(pageRes.headers.get('x-request-id')!);
  expect(html).not.toMatch(/prisma|ECONNREFUSED|127\.0\.0\.1|invocation/i);
  fs.writeFileSync(path.join(SHOTS, 'database-down.html'), html);
  expect((await fetch(`${platform.baseUrl}/readyz`)).status).toBe(503);

  // Back: the same server on the same data, as the launcher would start it.
  restartedDb = await startEmbeddedPostgres({ dataDir: platform.dataDir, port: platform.dbPort });
  const until = Date.now() + 30_000;
  let ready = 0;
  while (Date.now() < until && ready !== 200) {
    ready = (await fetch(`${platform.baseUrl}/readyz`)).status;
    if (ready !== 200) await new Promise((r) => setTimeout(r, 250));
  }
  expect(ready).toBe(200);
  expect((await fetch(`${platform.baseUrl}/api/projects`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
}, 120_000);
