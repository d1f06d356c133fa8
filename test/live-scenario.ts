// The "live pages" scenario, for the launcher browser test and scripts/bench-live.ts:
// several users sign in with Chromium, keep their projects list open, create projects in
// parallel and open each project's page; every page must reach RUNNING on screen without a
// reload, with no 5xx answer on the way. Timings: each status change is taken when its
// PostgreSQL notification (channel project_status, what the web's SSE listens to) arrives
// at a LISTEN connection of this process, and each page records (MutationObserver, same
// machine clock) when that status appears in its text.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_ARGS } from './browser';

/** Installed in every page: records each time a project's status changes on screen. */
const OBSERVER = `(() => {
  const w = window;
  w.__fsaLoadedAt = Date.now();
  w.__fsaShown = [];
  const last = new Map();
  let initial = true;
  const scan = () => {
    const detail = /^\\/projects\\/([^/]+)$/.exec(location.pathname);
    const found = [];
    if (detail && detail[1] !== 'new') {
      const badge = document.querySelector('h1 [data-status]');
      if (badge) found.push([detail[1], badge.getAttribute('data-status'), 'detail']);
    } else if (location.pathname === '/projects') {
      for (const row of document.querySelectorAll('a.project-row')) {
        const id = (row.getAttribute('href') || '').split('/').pop();
        const badge = row.querySelector('[data-status]');
        if (id && badge) found.push([id, badge.getAttribute('data-status'), 'list']);
      }
    }
    for (const [id, status, kind] of found) {
      const key = kind + ':' + id;
      if (last.get(key) === status) continue;
      last.set(key, status);
      w.__fsaShown.push({ id, status, kind, at: Date.now(), initial });
    }
  };
  const start = () => {
    scan();
    // Statuses on screen when the page is first rendered are not live updates.
    setTimeout(() => { scan(); initial = false; }, 0);
    new MutationObserver(scan).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();`;

export interface Shown {
  id: string;
  status: string;
  kind: 'detail' | 'list';
  at: number;
  initial: boolean;
}

export interface LiveScenarioOptions {
  baseUrl: string;
  /** The platform's database, to LISTEN on project_status. */
  databaseUrl: string;
  users?: number;
  projects?: number;
  /** Screenshots go here (created). */
  shotsDir?: string;
  /** How long every page may take to reach RUNNING. */
  runningTimeoutMs?: number;
  log?: (msg: string) => void;
}

export interface LiveScenarioResult {
  users: number;
  projectIds: string[];
  /** Status change (notification) → page text change, in ms, by page kind. */
  latencies: { detail: number[]; list: number[] };
  /** Answers with status ≥ 500 seen by the browsers. */
  serverErrors: string[];
  /** Answers with status 4xx (a rate limit, a refused form): not failures, but shown when a step fails. */
  clientErrors: string[];
  /** Requests for a favicon that failed. */
  faviconMisses: string[];
  /** Script errors and console errors of the pages (hydration mismatches, …). */
  pageErrors: string[];
  /** Pages that were reloaded (should be none). */
  reloaded: string[];
  /** The browser and its contexts, for more steps (closed by close()). */
  browser: Browser;
  contexts: BrowserContext[];
  detailPages: Map<string, Page>;
  listPages: Page[];
  transitions: Array<{ id: string; status: string; at: number }>;
  /** What the pages showed, as of the last measure(). */
  shown: Shown[];
  /** Latencies of everything shown so far (call after more steps). */
  measure(): Promise<{ detail: number[]; list: number[] }>;
  close(): Promise<void>;
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

async function signIn(page: Page, baseUrl: string, username: string) {
  // In development Vite may reload a page once while it optimises dependencies (first start
  // after a dependency change), wiping a half-filled form: then sign in again.
  for (let attempt = 1; ; attempt++) {
    await page.goto(`${baseUrl}/signin`);
    await page.waitForLoadState('networkidle');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByRole('button', { name: 'Continue' }).click();
    try {
      await page.waitForURL(/\/projects$/, { timeout: attempt < 3 ? 15_000 : 30_000 });
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

export async function runLiveScenario(o: LiveScenarioOptions): Promise<LiveScenarioResult> {
  const log = o.log ?? (() => undefined);
  const users = o.users ?? 3;
  const projects = o.projects ?? 5;
  const runningTimeoutMs = o.runningTimeoutMs ?? 180_000;
  if (o.shotsDir) fs.mkdirSync(o.shotsDir, { recursive: true });

  // Status changes as PostgreSQL announces them.
  const transitions: Array<{ id: string; status: string; at: number }> = [];
  const lastStatus = new Map<string, string>();
  const listener = new pg.Client({ connectionString: o.databaseUrl });
  const reader = new pg.Client({ connectionString: o.databaseUrl });
  // A database restart (a test stops it) must not crash the caller.
  listener.on('error', () => undefined);
  reader.on('error', () => undefined);
  await listener.connect();
  await reader.connect();
  let reading = Promise.resolve();
  listener.on('notification', (m) => {
    const at = Date.now();
    const id = m.payload;
    if (!id) return;
    reading = reading.then(async () => {
      const r = await reader.query<{ status: string }>('SELECT status FROM "Project" WHERE id = $1', [id]).catch(() => ({ rows: [] as Array<{ status: string }> }));
      const status = r.rows[0]?.status ?? 'TERMINATED';
      if (lastStatus.get(id) !== status) {
        lastStatus.set(id, status);
        transitions.push({ id, status, at });
      }
    });
  });
  await listener.query('LISTEN project_status');

  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  const contexts: BrowserContext[] = [];
  const serverErrors: string[] = [];
  const clientErrors: string[] = [];
  const faviconMisses: string[] = [];
  const pageErrors: string[] = [];
  const tag = Date.now().toString(36);
  const listPages: Page[] = [];
  const detailPages = new Map<string, Page>();
  const allPages: Page[] = [];
  let created: Array<{ id: string; context: BrowserContext }> = [];
  const watch = (page: Page) => {
    allPages.push(page);
    page.on('pageerror', (err) => pageErrors.push(`${page.url()}: ${err.message.split('\n')[0]}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource|ERR_CONNECTION|EventSource/.test(m.text())) pageErrors.push(`${page.url()}: ${m.text().split('\n')[0]}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 500) serverErrors.push(`${r.status()} ${r.request().method()} ${r.url()}`);
      else if (r.status() >= 400) clientErrors.push(`${new Date().toISOString()} ${r.status()} ${r.request().method()} ${r.url()}`);
      if (/favicon/.test(r.url()) && r.status() >= 400) faviconMisses.push(`${r.status()} ${r.url()}`);
    });
  };

  try {
    for (let u = 0; u < users; u++) {
      const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
      await context.addInitScript(OBSERVER);
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(30_000);
      watch(page);
      await signIn(page, o.baseUrl, `live-${tag}-${u}`);
      listPages.push(page);
    }
    log(`${users} users signed in; their projects lists are open`);
    // In development Vite compiles a route on its first request: do that before the clock runs.
    {
      const warm = await contexts[0]!.newPage();
      await warm.goto(`${o.baseUrl}/projects/not-a-project`);
      await warm.close();
    }
    for (const p of allPages) await p.evaluate(() => ((window as unknown as { __fsaMarker: number }).__fsaMarker = 1));

    // Projects created in parallel, round-robin over the users, through each user's session.
    created = await Promise.all(
      Array.from({ length: projects }, async (_, i) => {
        const context = contexts[i % users]!;
        const res = await context.request.post(`${o.baseUrl}/api/projects`, { data: { name: `Live ${i + 1}` } });
        if (res.status() !== 202) throw new Error(`POST /api/projects answered ${res.status()}: ${await res.text()}`);
        const body = (await res.json()) as { id: string };
        return { id: body.id, context };
      }),
    );
    log(`${projects} projects created`);
    await Promise.all(
      created.map(async ({ id, context }) => {
        const page = await context.newPage();
        page.setDefaultTimeout(30_000);
        watch(page);
        await page.goto(`${o.baseUrl}/projects/${id}`);
        await page.locator('.live-on').waitFor();
        await page.evaluate(() => ((window as unknown as { __fsaMarker: number }).__fsaMarker = 1));
        detailPages.set(id, page);
      }),
    );
    log('project pages open and live');

    // Everything reaches RUNNING on screen, without a reload.
    await Promise.all([
      ...[...detailPages.values()].map((page) => page.locator('h1 [data-status="RUNNING"]').waitFor({ timeout: runningTimeoutMs })),
      ...listPages.map((page, u) =>
        Promise.all(
          created
            .filter((_, i) => i % users === u)
            .map(({ id }) => page.locator(`a.project-row[href="/projects/${id}"] [data-status="RUNNING"]`).waitFor({ timeout: runningTimeoutMs })),
        ),
      ),
    ]);
    log('every page shows RUNNING');
    if (o.shotsDir) {
      for (const [i, page] of listPages.entries()) await page.screenshot({ path: path.join(o.shotsDir, `list-user-${i + 1}.png`), fullPage: true });
      for (const [i, page] of [...detailPages.values()].entries()) await page.screenshot({ path: path.join(o.shotsDir, `project-${i + 1}.png`), fullPage: true });
    }
  } catch (err) {
    if (o.shotsDir) {
      for (const [i, page] of allPages.entries()) await page.screenshot({ path: path.join(o.shotsDir, `failure-page-${i + 1}.png`), fullPage: true }).catch(() => undefined);
    }
    await browser.close().catch(() => undefined);
    await listener.end().catch(() => undefined);
    await reader.end().catch(() => undefined);
    throw err;
  }

  const shownLog: Shown[] = [];
  const measure = async () => {
    await reading;
    const latencies = { detail: [] as number[], list: [] as number[] };
    shownLog.length = 0;
    for (const page of allPages) {
      if (page.isClosed()) continue;
      const shown = (await page.evaluate(() => (window as unknown as { __fsaShown: Shown[] }).__fsaShown)) ?? [];
      shownLog.push(...shown);
      for (const s of shown) {
        if (s.initial) continue;
        // The announcement of that status nearest in time. A project page may show a status a
        // little before PostgreSQL announces it (its snapshot is the workflow's own status,
        // read on the previous change): that counts as 0.
        let t: { at: number } | undefined;
        for (const x of transitions) if (x.id === s.id && x.status === s.status && (!t || Math.abs(x.at - s.at) < Math.abs(t.at - s.at))) t = x;
        if (t) latencies[s.kind].push(Math.max(0, s.at - t.at));
      }
    }
    return latencies;
  };
  const reloaded: string[] = [];
  for (const page of allPages) {
    const marker = await page.evaluate(() => (window as unknown as { __fsaMarker?: number }).__fsaMarker);
    if (marker !== 1) reloaded.push(page.url());
  }

  return {
    users,
    projectIds: created.map((c) => c.id),
    latencies: await measure(),
    serverErrors,
    clientErrors,
    faviconMisses,
    pageErrors,
    reloaded,
    browser,
    contexts,
    detailPages,
    listPages,
    transitions,
    shown: shownLog,
    measure,
    async close() {
      await browser.close().catch(() => undefined);
      await listener.end().catch(() => undefined);
      await reader.end().catch(() => undefined);
    },
  };
}
