// Browser end-to-end test with Playwright on Debian's Chromium against the real web
// process (production build): sign in, create a project, watch it reach RUNNING over SSE,
// add an environment variable, stop, delete. A lifecycle worker with fake activities
// (in-memory Kubernetes, real projection rows) runs in this process. Screenshots are
// written to test-results/e2e/.
import { launchChromium } from '../../test/browser';
import fs from 'node:fs';
import path from 'node:path';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { BrowserContext, Page } from 'playwright-core';
import { createDb, type Db } from '../../server/db';
import { createMigratedDatabase } from '../../scripts/services/postgres';
import { createFakeActivities } from '../../test/fake-activities';
import { createLifecycleWorker } from '../../worker/create-worker';
import { REPO_ROOT, buildWeb, startWebProcess, type WebProcess } from './web-process';

const SHOTS = path.join(REPO_ROOT, 'test-results', 'e2e');

let database: { url: string; drop(): Promise<void> };
let db: Db;
let web: WebProcess;
let worker: Worker;
let workerRun: Promise<void>;
let nativeConnection: NativeConnection;
let context: BrowserContext;
let page: Page;
let userDataDir: string;

const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  buildWeb();
  database = await createMigratedDatabase(process.env.TEST_DATABASE_URL!, 'fsa_web_e2e');
  db = createDb(database.url);
  const taskQueue = `web-e2e-${process.pid}-${Date.now().toString(36)}`;
  const { activities } = createFakeActivities({ db, sandboxReadyMs: 800, databaseReadyMs: 1200, stopMs: 400, deleteMs: 400 });
  nativeConnection = await NativeConnection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
  worker = await createLifecycleWorker({ connection: nativeConnection, taskQueue, activities, shutdownGraceTime: '1s' });
  workerRun = worker.run();
  web = await startWebProcess({ DATABASE_URL: database.url, TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS!, TEMPORAL_TASK_QUEUE: taskQueue });
  ({ context, profile: userDataDir } = await launchChromium({ width: 1280, height: 860 }));
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
});

afterAll(async () => {
  await context?.close();
  await web?.stop();
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await workerRun?.catch(() => undefined);
  await nativeConnection?.close();
  await db?.$disconnect();
  await database?.drop();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
});

it('signs in, creates a project, sees it RUNNING, adds a variable, stops and deletes it', async () => {
  await page.goto(`${web.baseUrl}/`);
  await page.waitForURL(/\/signin/);
  await shot('01-signin');
  await page.getByLabel('Username').fill('e2e-user');
  await page.getByLabel('Password').fill('a long enough password');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(/\/projects$/);
  await page.getByText('No projects yet').waitFor();
  await shot('02-projects-empty');

  await page.getByRole('link', { name: 'New project' }).first().click();
  await page.waitForURL(/\/projects\/new$/);
  await page.getByLabel('Name').fill('Shop front');
  await page.getByLabel(/Description/).fill('Storefront with checkout');
  await shot('03-new-project');
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.waitForURL(/\/projects\/(?!new)[^/]+$/);
  const projectId = page.url().split('/').pop()!;
  expect(await db.project.count({ where: { id: projectId } })).toBe(1);

  // Live status: pushed over SSE, the page is never reloaded.
  const heading = page.getByRole('heading', { level: 1 });
  await heading.locator('[data-status]').waitFor();
  await page.locator('.live-on').waitFor();
  await shot('04-project-creating');
  await heading.locator('[data-status="RUNNING"]').waitFor({ timeout: 60_000 });
  await page.locator('[data-stage="ready"][data-state="done"]').waitFor({ timeout: 30_000 });
  expect(await page.locator('[data-stage][data-state="done"]').count()).toBe(5);
  await page.getByText(/-app\.sandbox\.test/).waitFor();
  await shot('05-project-running');
  await page.getByRole('link', { name: 'Projects' }).first().click();
  await page.waitForURL(/\/projects$/);
  await page.locator('.project-row [data-status="RUNNING"]').waitFor();
  await shot('05b-projects-list');
  await page.getByRole('link', { name: /Shop front/ }).click();
  await page.waitForURL(new RegExp(`/projects/${projectId}$`));

  await page.getByLabel('Name').fill('API_URL');
  await page.getByLabel('Value').fill('https://api.example.com');
  await page.getByRole('button', { name: 'Add variable' }).click();
  await page.locator('[data-env-key="API_URL"]').waitFor();
  await page.getByLabel('Name').fill('STRIPE_SECRET');
  await page.getByLabel('Value').fill('sk_test_should_never_show');
  await page.getByLabel('Category').selectOption('secret');
  await page.getByRole('button', { name: 'Add variable' }).click();
  await page.locator('[data-category="secret"] [data-env-key="STRIPE_SECRET"]').waitFor();
  expect(await page.content()).not.toContain('sk_test_should_never_show');
  await shot('06-environment');

  await page.getByRole('button', { name: 'Stop' }).click();
  await heading.locator('[data-status="STOPPED"]').waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Start' }).waitFor();
  await shot('07-project-stopped');

  await page.getByRole('button', { name: 'Delete…' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await shot('08-delete-confirm');
  await dialog.getByRole('button', { name: 'Delete project' }).click();
  await page.waitForURL(/\/projects$/);
  // The lifecycle removes the project (and its rows) once Kubernetes is clean.
  const deadline = Date.now() + 60_000;
  while ((await db.project.count({ where: { id: projectId } })) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  expect(await db.project.count({ where: { id: projectId } })).toBe(0);
  await page.reload();
  await page.getByText('No projects yet').waitFor();
  await shot('09-projects-after-delete');

  await page.goto(`${web.baseUrl}/settings`);
  await page.getByPlaceholder(/Token name/).fill('deploy script');
  await page.getByRole('button', { name: 'Create token' }).click();
  await page.locator('#new-token').waitFor();
  expect(await page.locator('#new-token').textContent()).toMatch(/^fsa_/);
  await shot('10-settings');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot('11-settings-dark');
});
