// The product's promise end to end, on the embedded default a newcomer gets from
// ./scripts/start.sh: the launcher's own local cluster with a REAL node (containerd + kubelet
// running the runtime image built from runtime/, a real PostgreSQL per project, Traefik
// serving the public URLs). In Chromium: sign in, create a project, open the terminal, run
// commands in the sandbox, reach the app on its public URL, keep a file across stop/start,
// recover from a killed pod, delete and find nothing left. Screenshots of each step in test-results/real-node/.
// Then the runtime image's contract on the same node: no token, no start; ttyd asks for the
// credential; the sandbox's own readiness probe turns Ready only once ttyd listens.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { promisify } from 'node:util';
import pg from 'pg';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { KubeClient, keyOf, loadAdminKubeconfig, type KubeObject } from '../activities/kubernetes/kube-client';
import { ApiClient, waitFor } from '../web/test/harness';
import { sandboxStatefulSet } from '../activities/kubernetes/manifests';
import { readAppActivity } from '../activities/kubernetes/app-activity';
import { RUNTIME_IMAGE } from '../common/versions';
import { freeListenPort } from '../scripts/services/process';
import { launchChromium } from './browser';
import { REPO_ROOT, startPlatform, type Platform } from './launcher';

const SHOTS = path.join(REPO_ROOT, 'test-results', 'real-node');
const USER = 'real-node-user';
const PASSWORD = 'a long enough password';

let platform: Platform;
let ingressPort: number;
let context: BrowserContext | undefined;
let profile: string | undefined;
let admin: KubeClient;
let api: ApiClient;
let projectId: string;
let publicUrl: string;

interface ProjectView {
  status: string;
  lastError: { message: string } | null;
  k8sName: string;
  sandbox: { status: string; publicUrl: string | null };
  database: { status: string } | null;
}

const project = async () => (await api.call<ProjectView>('GET', `/api/projects/${projectId}`)).body;
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  ingressPort = await freeListenPort();
  platform = await startPlatform(
    {
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS!,
      TEMPORAL_TASK_QUEUE: `real-node-${process.pid}-${Date.now().toString(36)}`,
      EMBEDDED_CLUSTER_NODE: 'real',
      EMBEDDED_INGRESS_PORT: String(ingressPort),
      // Short enough for the missing-image case below to reach ERROR within the test.
      SANDBOX_DEADLINE_MS: '120000',
    },
    // A cold cache builds the images first (cluster/images.ts).
    { timeoutMs: 40 * 60_000 },
  );
  admin = new KubeClient(loadAdminKubeconfig(fs.readFileSync(path.join(platform.dataDir, 'cluster', 'admin.kubeconfig'), 'utf8')));
  api = new ApiClient(platform.baseUrl);
  ({ context, profile } = await launchChromium({ width: 1200, height: 800 }));
}, 41 * 60_000);

afterAll(async () => {
  await context?.close();
  await platform?.stop();
  if (platform) {
    fs.copyFileSync(platform.logFile, path.join(SHOTS, 'platform.log'));
    fs.rmSync(platform.dataDir, { recursive: true, force: true });
  }
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
}, 180_000);

async function signIn(page: Page) {
  for (let attempt = 1; ; attempt++) {
    await page.goto(`${platform.baseUrl}/signin`);
    await page.waitForLoadState('networkidle');
    await page.getByLabel('Username').fill(USER);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    try {
      await page.waitForURL(/\/projects$/, { timeout: 20_000 });
      return;
    } catch (err) {
      // Vite may reload the page once while it optimises dependencies on a first start.
      if (attempt >= 3) throw err;
    }
  }
}

const terminal = (page: Page) => page.locator('.terminal-view:visible');

async function screenText(page: Page): Promise<string> {
  return terminal(page).locator('.xterm-rows').innerText().catch(() => '');
}

async function waitForScreen(page: Page, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await screenText(page);
    if (pattern.test(text)) return text;
    await page.waitForTimeout(100);
  }
  throw new Error(`the terminal never showed ${pattern}; it shows:\n${text}`);
}

async function type(page: Page, command: string) {
  await terminal(page).locator('.xterm').click();
  await page.keyboard.type(command);
  await page.keyboard.press('Enter');
}

async function openTerminal(page: Page) {
  await page.goto(`${platform.baseUrl}/projects/${projectId}/terminal`);
  // The shell's prompt: the runtime image's bashrc shows the project's name.
  await waitForScreen(page, /real-demo/, 60_000);
}

/** GET through the node's ingress, the way a browser resolves `*.localhost` (to loopback). */
function getThroughIngress(url: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: Number(u.port), path: u.pathname, headers: { host: u.host }, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

it('runs a real sandbox: terminal, database, public URL, a home that survives stop/start, nothing left after delete', async () => {
  const page = await context!.newPage();
  await signIn(page);

  // Create through the page's API with the browser's session.
  await api.signIn(USER, PASSWORD);
  const created = await api.call<{ id: string }>('POST', '/api/projects', { name: 'real-demo' });
  expect(created.status).toBe(202);
  projectId = created.body.id;
  const running = await waitFor(project, (p) => p.status === 'RUNNING', 10 * 60_000, 'project RUNNING on the real node');
  expect(running.database?.status).toBe('RUNNING');
  publicUrl = running.sandbox.publicUrl!;
  expect(publicUrl).toMatch(new RegExp(`^http://[a-z0-9-]+\\.sandbox\\.localhost:${ingressPort}$`));
  await page.goto(`${platform.baseUrl}/projects/${projectId}`);
  await page.getByText('RUNNING').first().waitFor();
  await shot(page, '1-project-running');

  // The pods really run on the real node.
  const pods = await admin.list<KubeObject & { spec: { nodeName?: string }; status: { phase: string } }>({ apiVersion: 'v1', kind: 'Pod' }, { allNamespaces: true });
  const mine = pods.filter((p) => p.metadata.name.startsWith(running.k8sName));
  expect(mine.length).toBe(2); // the sandbox and its PostgreSQL
  const ns = mine[0]!.metadata.namespace;
  for (const p of mine) expect(p).toMatchObject({ spec: { nodeName: 'fsa-node' }, status: { phase: 'Running' } });

  // The terminal: a real shell in the runtime image, as its non-root user.
  await openTerminal(page);
  await type(page, 'echo $((6*7)) "uid=$(id -u)"');
  await waitForScreen(page, /^42 uid=1000$/m);
  await shot(page, '2-terminal-42');

  // The project's PostgreSQL answers with the credentials the sandbox was given.
  await type(page, `psql "$DATABASE_URL" -tAc "select 'db-' || (6*7)"`);
  await waitForScreen(page, /^db-42$/m);
  await shot(page, '3-psql');

  // An app on port 3000 is reachable at the project's public URL.
  const appRequestedAt = new Date().toISOString();
  await type(page, `node -e "require('http').createServer((q,s)=>s.end('hello from '+process.env.PROJECT_NAME)).listen(3000)" &`);
  const app = await waitFor(() => getThroughIngress(publicUrl).catch(() => ({ status: 0, body: '' })), (r) => r.status === 200, 30_000, 'the app through the ingress');
  expect(app.body).toBe('hello from real-demo');
  const appPage = await context!.newPage();
  await appPage.goto(publicUrl);
  expect(await appPage.textContent('body')).toBe('hello from real-demo');
  await shot(appPage, '4-public-url');
  await appPage.close();

  // Those requests are seen in the sandbox (runtime/app-activity.sh) and read back by the
  // worker's code path for app-URL activity (the container log, through the API server).
  const inNamespace = new KubeClient({ ...admin.config, namespace: ns! });
  const seen = await waitFor(
    () => readAppActivity(inNamespace, { projectId, ownerId: '', k8sName: running.k8sName }, appRequestedAt),
    (o) => o.lastRequestAt !== null,
    60_000,
    'the app requests in the sandbox log',
  );
  expect(Date.parse(seen.lastRequestAt!)).toBeGreaterThanOrEqual(Date.parse(appRequestedAt) - 1_000);

  // The sandbox pod killed: the project reports it and recovers, without any intent.
  const sandboxPod = mine.find((p) => !p.metadata.name.includes('postgresql'))!;
  await admin.delete(keyOf(sandboxPod));
  await waitFor(project, (p) => p.status !== 'RUNNING', 60_000, 'the project reporting the killed pod');
  await waitFor(project, (p) => p.status === 'RUNNING', 180_000, 'the project RUNNING again on its own');
  await openTerminal(page);

  // A file in the home directory survives stop and start.
  const marker = `kept-${Date.now().toString(36)}`;
  await type(page, `echo ${marker} > ~/note.txt && sync && echo written`);
  await waitForScreen(page, /^written$/m);
  expect((await api.call('POST', `/api/projects/${projectId}/stop`)).status).toBe(202);
  await waitFor(project, (p) => p.status === 'STOPPED', 5 * 60_000, 'project STOPPED');
  await waitFor(() => admin.list({ apiVersion: 'v1', kind: 'Pod', namespace: ns }), (left) => left.length === 0, 60_000, 'no pod while STOPPED');
  expect((await api.call('POST', `/api/projects/${projectId}/start`)).status).toBe(202);
  await waitFor(project, (p) => p.status === 'RUNNING', 5 * 60_000, 'project RUNNING again');
  await openTerminal(page);
  await type(page, 'cat ~/note.txt');
  await waitForScreen(page, new RegExp(`^${marker}$`, 'm'));
  await shot(page, '5-file-after-restart');

  // Delete: no pod, no claim, no volume folder left.
  expect((await api.call('DELETE', `/api/projects/${projectId}`)).status).toBe(202);
  await waitFor(() => api.call('GET', `/api/projects/${projectId}`), (r) => r.status === 404, 5 * 60_000, 'project deleted');
  await waitFor(
    async () => [...(await admin.list({ apiVersion: 'v1', kind: 'Pod', namespace: ns })), ...(await admin.list({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns }))],
    (left) => left.length === 0,
    120_000,
    'pods and claims gone',
  );
  const volumes = path.join(platform.dataDir, 'cluster', 'node', 'volumes');
  await waitFor(async () => fs.readdirSync(volumes), (left) => left.length === 0, 60_000, 'volume folders removed');
  await page.goto(`${platform.baseUrl}/projects`);
  await shot(page, '6-deleted');
}, 30 * 60_000);

describe('the runtime image on the real node', () => {
  const NS = 'runtime-checks';
  const kubectl = (...args: string[]) =>
    promisify(execFile)('kubectl', ['--kubeconfig', path.join(platform.dataDir, 'cluster', 'admin.kubeconfig'), '-n', NS, ...args]).then((r) => r.stdout);
  type Pod = KubeObject & {
    status?: {
      podIP?: string;
      conditions?: Array<{ type: string; status: string }>;
      containerStatuses?: Array<{ state?: { running?: object; terminated?: { exitCode: number } } }>;
    };
  };
  const pod = (name: string) => admin.get<Pod>({ apiVersion: 'v1', kind: 'Pod', name, namespace: NS });
  const ready = (p: Pod | null) => !!p?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

  /** The sandbox's own container (probe, user, security context) with the given env and command. */
  function sandboxPod(name: string, env: Array<{ name: string; value: string }>, command?: string[]): KubeObject {
    const sts = sandboxStatefulSet({
      ref: { projectId: 'checks', ownerId: 'checks', k8sName: 'checks-agentruntime-aaaaaa' },
      namespace: NS,
      image: RUNTIME_IMAGE,
      env: [],
      secretDigest: '',
      cpuRequest: '100m',
      memoryRequest: '128Mi',
      replicas: 1,
    }) as KubeObject & { spec: { template: { spec: { securityContext: object; containers: Array<Record<string, unknown>> } } } };
    const tpl = sts.spec.template.spec;
    const container = { ...tpl.containers[0]!, env, volumeMounts: [{ name: 'home', mountPath: '/home/agent' }], ...(command ? { command } : {}) };
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: NS },
      spec: { restartPolicy: 'Never', securityContext: tpl.securityContext, containers: [container], volumes: [{ name: 'home', emptyDir: {} }] },
    };
  }

  beforeAll(async () => {
    await admin.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  });

  it('refuses to start without TTYD_ACCESS_TOKEN: exit 64 and a message in the pod log', async () => {
    await admin.create(sandboxPod('no-token', []));
    const done = await waitFor(() => pod('no-token'), (p) => p?.status?.containerStatuses?.[0]?.state?.terminated !== undefined, 120_000, 'no-token pod terminated');
    expect(done!.status!.containerStatuses![0]!.state!.terminated!.exitCode).toBe(64);
    expect(await kubectl('logs', 'no-token')).toMatch(/TTYD_ACCESS_TOKEN/);
  });

  it('is Ready only once ttyd listens, runs as uid 1000, and ttyd wants the credential', async () => {
    // ttyd starts 8 s after the container: the probe must not pass before.
    await admin.create(sandboxPod('slow-ttyd', [{ name: 'TTYD_ACCESS_TOKEN', value: 'check-token' }], ['sh', '-c', 'sleep 8; exec /usr/local/bin/entrypoint.sh']));
    const running = await waitFor(() => pod('slow-ttyd'), (p) => !!p?.status?.containerStatuses?.[0]?.state?.running, 120_000, 'slow-ttyd running');
    expect(ready(running)).toBe(false);
    const up = await waitFor(() => pod('slow-ttyd'), ready, 120_000, 'slow-ttyd Ready');
    expect((await kubectl('exec', 'slow-ttyd', '--', 'id', '-u')).trim()).toBe('1000');
    const get = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) =>
        // ttyd drops kept-alive sockets after an authorized answer; one connection per request.
        http.get({ host: up!.status!.podIP, port: 7681, path: '/', headers, agent: false, timeout: 5_000 }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject),
      );
    expect(await get({})).toBe(401);
    expect(await get({ authorization: `Basic ${Buffer.from('user:wrong').toString('base64')}` })).toBe(401);
    expect(await get({ authorization: `Basic ${Buffer.from('user:check-token').toString('base64')}` })).toBe(200);
  });

  it('survives containerd being killed: the node starts it again and the pods keep running', async () => {
    const config = path.join(platform.dataDir, 'cluster', 'node', 'containerd', 'config.toml');
    const containerdPids = () =>
      fs
        .readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .filter((d) => {
          try {
            return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(config);
          } catch {
            return false;
          }
        })
        .map(Number);
    const [before] = containerdPids();
    expect(before).toBeGreaterThan(0);
    process.kill(before!, 'SIGKILL');
    const after = await waitFor(async () => containerdPids(), (pids) => pids.length === 1 && pids[0] !== before, 60_000, 'containerd started again');
    expect(after[0]).not.toBe(before);
    expect(ready(await pod('slow-ttyd'))).toBe(true);
    // exec goes API server -> kubelet -> containerd's CRI: the new containerd serves the old container.
    const out = await waitFor(() => kubectl('exec', 'slow-ttyd', '--', 'echo', 'still-here').catch(() => ''), (o) => o.trim() === 'still-here', 60_000, 'exec after the restart');
    expect(out.trim()).toBe('still-here');
  });

  it('a missing image: ERROR within the deadline, with the reason the kubelet gives', async () => {
    if (!api.signedIn) await api.signIn(USER, PASSWORD);
    const created = await api.call<{ id: string }>('POST', '/api/projects', { name: 'broken-image' });
    expect(created.status).toBe(202);
    const id = created.body.id;
    const view = () => api.call<ProjectView>('GET', `/api/projects/${id}`).then((r) => r.body);
    await waitFor(view, (p) => p.status === 'RUNNING', 10 * 60_000, 'broken-image RUNNING first');
    // The image is a per-sandbox setting; an environment change rolls the pod onto it.
    const db = new pg.Client({ connectionString: platform.databaseUrl });
    await db.connect();
    try {
      await db.query(`UPDATE "Sandbox" SET "runtimeImage" = 'localhost/fsa-no-such-image:1' WHERE "projectId" = $1`, [id]);
    } finally {
      await db.end();
    }
    expect((await api.call('POST', `/api/projects/${id}/environment`, { key: 'ROLL', value: '1' })).status).toBe(201);
    const failed = await waitFor(view, (p) => p.status === 'ERROR', 6 * 60_000, 'broken-image ERROR');
    expect(failed.lastError?.message).toMatch(/fsa-no-such-image/);
    expect(failed.lastError?.message).toMatch(/ErrImagePull|ImagePullBackOff|ErrImageNeverPull/);
    expect((await api.call('DELETE', `/api/projects/${id}`)).status).toBe(202);
  }, 20 * 60_000);
});
