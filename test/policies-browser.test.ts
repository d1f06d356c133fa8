// Lifecycle policies in Chromium, through the real web app (Remix pages on the Vite dev
// middleware, as `npm start` runs them), real Temporal and PostgreSQL and a worker with fake
// Kubernetes: the projects list follows status changes live (SSE, no reload); the project
// page shows the idle warning banner with "Keep running", the stop that explains itself and
// the timeline; a schedule is saved from the page (a refused one says which field); the
// retention notice appears live and "Keep this project" takes it down. Screenshots in
// test-results/policies/.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { retentionScheduleId } from '../common/schedules';
import { ensureRetentionSchedule } from '../server/schedules';
import { ApiClient, startWebHarness, waitFor, type WebHarness } from '../web/test/harness';
import { launchChromium } from './browser';
import { mountDevUi } from './web-ui';

const SHOTS = path.resolve('test-results', 'policies');
const USER = 'pat';

let h: WebHarness;
let vite: ViteDevServer;
let api: ApiClient;
let projectId: string;
let context: BrowserContext;
let profile: string;
let page: Page;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  h = await startWebHarness({
    prefix: 'fsa_policies_browser',
    worker: true,
    env: { IDLE_TIMEOUT_MINUTES: '0', RETENTION_STOPPED_DAYS: '30' },
    // 5 idle "minutes" = 10 s; the warning shows 8 s before the stop, long enough to click.
    app: { context: { idleMinuteMs: 2_000, timings: { initialBackoffMs: 100, maxBackoffMs: 400, idleWarningMs: 8_000 } } },
  });
  await ensureRetentionSchedule(h.temporal, h.taskQueue, { stoppedForMs: 1_000, graceMs: 60_000, intervalMs: 3_600_000 });
  vite = await mountDevUi(h.web);

  api = new ApiClient(h.baseUrl);
  await api.signIn(USER);
  const created = await api.call<{ id: string }>('POST', '/api/projects', { name: 'watched' });
  projectId = created.body.id;
  await waitFor(() => api.call('GET', `/api/projects/${projectId}`), (r) => r.body.status === 'RUNNING', 60_000, 'RUNNING');

  ({ context, profile } = await launchChromium({ width: 1200, height: 900 }));
  page = await context.newPage();
  await page.goto(`${h.baseUrl}/signin?callbackUrl=${encodeURIComponent('/projects')}`);
  await page.getByLabel('Username').fill(USER);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL('**/projects');
}, 180_000);

afterAll(async () => {
  await context?.close();
  await ensureRetentionSchedule(h.temporal, h.taskQueue, null).catch(() => undefined);
  await vite?.close();
  await h?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const badge = (p: Page, scope = '') => p.locator(`${scope} [data-status]`).first();
const timelineItem = (p: Page, kind: string, text?: RegExp) => {
  const items = p.locator(`[data-testid="timeline"] li[data-kind="${kind}"]`);
  return text ? items.filter({ hasText: text }) : items;
};

it('the projects list follows status changes live, without a reload', async () => {
  const row = page.locator('.project-list li').filter({ hasText: 'watched' });
  await row.locator('[data-status="RUNNING"]').waitFor();
  // A reload would lose this mark.
  await page.evaluate(() => ((window as unknown as { __mark: number }).__mark = 42));
  expect((await api.call('POST', `/api/projects/${projectId}/stop`)).status).toBe(202);
  await row.locator('[data-status="STOPPED"]').waitFor({ timeout: 30_000 });
  expect((await api.call('POST', `/api/projects/${projectId}/start`)).status).toBe(202);
  await row.locator('[data-status="RUNNING"]').waitFor({ timeout: 30_000 });
  expect(await page.evaluate(() => (window as unknown as { __mark?: number }).__mark)).toBe(42);
  await page.screenshot({ path: path.join(SHOTS, 'list-live.png'), fullPage: true });
});

it('the project page shows the idle warning banner, "Keep running", the idle stop with its reason, and the timeline', async () => {
  await page.goto(`${h.baseUrl}/projects/${projectId}`);
  await badge(page, '.page-head').and(page.locator('[data-status="RUNNING"]')).waitFor();
  await page.getByTestId('timeline').waitFor();
  await timelineItem(page, 'intent', /^.*created by you/).waitFor();

  // Auto-stop after 5 "minutes" (10 s), set from the page.
  await page.getByRole('form', { name: 'Auto-stop' }).locator('select').selectOption('5');
  await page.getByRole('form', { name: 'Auto-stop' }).getByRole('button', { name: 'Save' }).click();
  await timelineItem(page, 'policy', /auto-stop after 10 s without terminal activity \(set by you\)/).waitFor({ timeout: 30_000 });

  const warning = page.getByTestId('idle-warning');
  await warning.waitFor({ timeout: 30_000 });
  expect(await warning.innerText()).toMatch(/^This project stops at .*: no terminal activity for a while \(auto-stop after 10 s idle\)\./);
  await timelineItem(page, 'idle-warning').first().waitFor({ timeout: 30_000 });
  await page.screenshot({ path: path.join(SHOTS, 'idle-warning.png'), fullPage: true });

  await warning.getByRole('button', { name: 'Keep running' }).click();
  await timelineItem(page, 'keep-running', /kept running by you/).waitFor({ timeout: 30_000 });

  // Nobody types: it stops, and says why.
  await badge(page, '.page-head').and(page.locator('[data-status="STOPPED"]')).waitFor({ timeout: 60_000 });
  await page.getByTestId('explanation').filter({ hasText: /^Stopped by the idle policy at .*: idle for 10 s: no terminal activity since/ }).waitFor();
  await timelineItem(page, 'intent', /^.*stop by the idle policy: idle for 10 s/).waitFor({ timeout: 30_000 });
  await timelineItem(page, 'transition', /STOPPING → STOPPED/).first().waitFor({ timeout: 30_000 });
  expect(await page.getByTestId('idle-warning').count()).toBe(0);
  await page.screenshot({ path: path.join(SHOTS, 'idle-stopped-timeline.png'), fullPage: true });
});

it('saves a schedule from the page, names the field of a refused one, and the retention notice shows live until kept', async () => {
  const form = page.getByRole('form', { name: 'Schedule' });
  await form.locator('input[name="timeZone"]').fill('Europe/Berlin');
  await form.locator('input[name="start"]').fill('09:00');
  await form.locator('input[name="stop"]').fill('08:00');
  await form.getByRole('button', { name: 'Add schedule' }).click();
  await page.getByRole('status').filter({ hasText: 'stop: must be later than start (09:00)' }).waitFor({ timeout: 30_000 });

  await form.locator('input[name="stop"]').fill('19:00');
  await form.getByRole('button', { name: 'Add schedule' }).click();
  await page.getByTestId('schedule-summary').filter({ hasText: 'Runs weekdays 09:00–19:00 Europe/Berlin' }).waitFor({ timeout: 30_000 });
  await page.getByTestId('explanation').filter({ hasText: /; the schedule \(weekdays 09:00–19:00 Europe\/Berlin\) starts it (today|tomorrow|Mon) 09:00 Europe\/Berlin\.$/ }).waitFor();
  await timelineItem(page, 'schedule', /schedule weekdays 09:00–19:00 Europe\/Berlin \(set by you\)/).waitFor({ timeout: 30_000 });

  // Stopped for longer than retention's "days" (1 s here): the sweeper's notice arrives over SSE.
  await new Promise((r) => setTimeout(r, 1_500));
  const sweeper = h.temporal.schedule.getHandle(retentionScheduleId(h.taskQueue));
  const before = (await sweeper.describe()).info.numActionsTaken;
  await sweeper.trigger();
  await waitFor(() => sweeper.describe(), (d) => d.info.numActionsTaken > before, 30_000, 'sweep taken');
  const notice = page.getByTestId('retention-notice');
  await notice.waitFor({ timeout: 30_000 });
  expect(await notice.innerText()).toMatch(/^This project will be deleted on .*: it has been stopped since .* \(the platform deletes projects stopped for 30 days, 7 days after this notice\)/);
  await timelineItem(page, 'retention-notice', /^.*retention notice: stopped since/).waitFor({ timeout: 30_000 });
  await page.screenshot({ path: path.join(SHOTS, 'retention-notice.png'), fullPage: true });

  await notice.getByRole('button', { name: 'Keep this project' }).click();
  await page.getByTestId('retention-summary').filter({ hasText: 'This project is kept.' }).waitFor({ timeout: 30_000 });
  expect(await page.getByTestId('retention-notice').count()).toBe(0);
  await timelineItem(page, 'policy', /kept: the retention notice is withdrawn/).waitFor({ timeout: 30_000 });
  await page.screenshot({ path: path.join(SHOTS, 'retention-kept.png'), fullPage: true });
});
