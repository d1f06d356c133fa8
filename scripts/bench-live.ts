// How live the pages are on the embedded default: the launcher (scripts/platform.ts, what
// ./scripts/start.sh runs) on a fresh DATA_DIR with everything embedded — PostgreSQL, the
// Temporal dev server, the local Kubernetes control plane — then Chromium: N users keep
// their projects lists open, create M projects in parallel and open their pages; each
// status change (its PostgreSQL notification) is timed until the page text shows it.
// Prints p50/p95 per page kind; figures only, no thresholds.
//
//   npx tsx scripts/bench-live.ts [--users 3] [--projects 5] [--rounds 1]
//
// A round after the first stops and starts every project again from the API (more samples).
import fs from 'node:fs';
import { freePort } from './services/process';
import { startPlatform } from '../test/launcher';
import { percentile, runLiveScenario } from '../test/live-scenario';

const argv = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? Number(argv[i + 1]) : fallback;
};

async function main() {
  const users = option('users', 3);
  const projects = option('projects', 5);
  const rounds = option('rounds', 1);
  const t0 = Date.now();
  const platform = await startPlatform({ TEMPORAL_ADDRESS: `localhost:${await freePort()}`, LOG_LEVEL: 'warn' }, { timeoutMs: 600_000 });
  console.log(`platform ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${platform.baseUrl}, data ${platform.dataDir})`);
  try {
    const s = await runLiveScenario({ baseUrl: platform.baseUrl, databaseUrl: platform.databaseUrl, users, projects, log: (m) => console.log(`  ${m}`) });
    try {
      for (let r = 1; r < rounds; r++) {
        for (const [id, page] of s.detailPages) {
          for (const action of ['stop', 'start'] as const) {
            const res = await page.context().request.post(`${platform.baseUrl}/api/projects/${id}/${action}`);
            if (res.status() !== 202) throw new Error(`${action} answered ${res.status()}`);
            await page.locator(`h1 [data-status="${action === 'stop' ? 'STOPPED' : 'RUNNING'}"]`).waitFor({ timeout: 180_000 });
          }
        }
        console.log(`  round ${r + 1}: every project stopped and started again`);
      }
      const l = await s.measure();
      const fmt = (xs: number[]) => `n=${xs.length} p50=${percentile(xs, 50)} ms p95=${percentile(xs, 95)} ms max=${Math.max(...xs)} ms`;
      console.log(`status change → page text change, project pages: ${fmt(l.detail)}`);
      console.log(`status change → page text change, projects lists: ${fmt(l.list)}`);
      console.log(`status change → page text change, all:           ${fmt([...l.detail, ...l.list])}`);
      console.log(`5xx answers: ${s.serverErrors.length}; reloaded pages: ${s.reloaded.length}; page errors: ${s.pageErrors.length}`);
    } finally {
      await s.close();
    }
  } finally {
    await platform.stop();
    fs.rmSync(platform.dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
