// Benchmark: projects on the REAL node of the embedded cluster, as a user meets them
// (the launcher of ./scripts/start.sh on a fresh DATA_DIR, images already built and cached).
//
//   npx tsx scripts/bench-real-node.ts [--projects 10]
//
// For each project, one after another (2 cores: concurrent runs would measure contention):
//   create -> RUNNING, split into the node's part (the sandbox pod first seen by a watcher
//     polling every 100 ms -> that pod Ready) and the control plane's part (the rest:
//     API, workflow, activities, StatefulSet controller, status projection);
//   time to terminal: opening the terminal page in Chromium -> the shell's prompt on screen;
//   stop -> STOPPED and start (from stopped) -> RUNNING, each with the node's part.
// Prints each project's figures and p50/p95. Figures only, no thresholds.
import fs from 'node:fs';
import path from 'node:path';
import { KubeClient, loadAdminKubeconfig, type KubeObject } from '../activities/kubernetes/kube-client';
import { freeListenPort } from './services/process';
import { launchChromium } from '../test/browser';
import { startPlatform } from '../test/launcher';
import { percentile } from '../test/live-scenario';
import { ApiClient } from '../web/test/harness';

const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
};
const PROJECTS = Number(option('projects', '10'));

interface Pod extends KubeObject {
  status?: { conditions?: Array<{ type: string; status: string }> };
}

interface Figures {
  createMs: number;
  createNodeMs: number;
  terminalMs: number;
  stopMs: number;
  startMs: number;
  startNodeMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const platform = await startPlatform({ EMBEDDED_CLUSTER_NODE: 'real', EMBEDDED_INGRESS_PORT: String(await freeListenPort()) }, { timeoutMs: 40 * 60_000 });
  const { context, profile } = await launchChromium({ width: 1200, height: 800 });
  try {
    const admin = new KubeClient(loadAdminKubeconfig(fs.readFileSync(path.join(platform.dataDir, 'cluster', 'admin.kubeconfig'), 'utf8')));
    const api = new ApiClient(platform.baseUrl);
    await api.signIn('bench-user', 'a long enough password');
    const page = await context.newPage();
    await page.goto(`${platform.baseUrl}/signin`);
    await page.getByLabel('Username').fill('bench-user');
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/projects$/, { timeout: 60_000 });

    /** Waits for `status`, sampling the sandbox pod every 100 ms: [total ms, pod first seen -> Ready ms]. */
    const until = async (id: string, k8sPrefix: string | null, status: string, t0: number): Promise<[number, number]> => {
      let seen = 0;
      let ready = 0;
      for (;;) {
        const view = (await api.call<{ status: string; k8sName: string }>('GET', `/api/projects/${id}`)).body;
        const prefix = k8sPrefix ?? view.k8sName;
        if (status === 'RUNNING') {
          const pods = (await admin.list<Pod>({ apiVersion: 'v1', kind: 'Pod' }, { allNamespaces: true })).filter(
            (p) => p.metadata.name.startsWith(prefix) && !p.metadata.name.includes('postgresql'),
          );
          if (pods.length && !seen) seen = Date.now();
          if (pods.some((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) && !ready) ready = Date.now();
        }
        if (view.status === status) return [Date.now() - t0, seen && ready ? ready - seen : 0];
        if (view.status === 'ERROR') throw new Error(`project ${id} reached ERROR`);
        await sleep(100);
      }
    };

    const runs: Figures[] = [];
    for (let i = 1; i <= PROJECTS; i++) {
      let t = Date.now();
      const created = await api.call<{ id: string; k8sName: string }>('POST', '/api/projects', { name: `bench-${i}` });
      if (created.status !== 202) throw new Error(`create answered ${created.status}: ${JSON.stringify(created.body)}`);
      const id = created.body.id;
      const [createMs, createNodeMs] = await until(id, created.body.k8sName ?? null, 'RUNNING', t);

      t = Date.now();
      await page.goto(`${platform.baseUrl}/projects/${id}/terminal`);
      await page.locator('.terminal-view:visible .xterm-rows').getByText(`bench-${i}`).first().waitFor({ timeout: 60_000 });
      const terminalMs = Date.now() - t;

      t = Date.now();
      await api.call('POST', `/api/projects/${id}/stop`);
      const [stopMs] = await until(id, created.body.k8sName ?? null, 'STOPPED', t);
      t = Date.now();
      await api.call('POST', `/api/projects/${id}/start`);
      const [startMs, startNodeMs] = await until(id, created.body.k8sName ?? null, 'RUNNING', t);
      await api.call('DELETE', `/api/projects/${id}`);
      for (let j = 0; j < 600 && (await api.call('GET', `/api/projects/${id}`)).status !== 404; j++) await sleep(200);

      const f: Figures = { createMs, createNodeMs, terminalMs, stopMs, startMs, startNodeMs };
      runs.push(f);
      console.log(`project ${i}: ${JSON.stringify(f)}`);
    }

    const row = (label: string, key: keyof Figures) => {
      const v = runs.map((r) => r[key]);
      console.log(`${label.padEnd(34)} p50 ${String(percentile(v, 50)).padStart(6)} ms   p95 ${String(percentile(v, 95)).padStart(6)} ms`);
    };
    console.log(`\n${PROJECTS} projects on the real node, one after another:`);
    row('create -> RUNNING', 'createMs');
    row('  of which the node (pod -> Ready)', 'createNodeMs');
    row('time to terminal (page -> prompt)', 'terminalMs');
    row('stop -> STOPPED', 'stopMs');
    row('start -> RUNNING', 'startMs');
    row('  of which the node (pod -> Ready)', 'startNodeMs');
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
    await platform.stop();
    fs.rmSync(platform.dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
