// Start-up time of the embedded default, as a newcomer meets it: `./scripts/start.sh` on a
// fresh DATA_DIR, timed until GET /readyz answers 200, then stopped (SIGTERM) and timed
// until it has exited. Prints the figures of each run, their median, and when each launcher
// phase ("[platform] …" lines) was reached. Figures only, no thresholds.
//
//   npx tsx scripts/bench-startup.ts [--runs 3] [--no-cluster] [--keep]
//
// Every port is a free one (web, embedded PostgreSQL, Temporal frontend and UI, worker
// metrics), so it runs beside a platform that is already up. --no-cluster sets
// EMBEDDED_CLUSTER=false (database + Temporal + worker + web only); --keep leaves the data
// folders in place.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './services/process';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Run {
  readyMs: number;
  stopMs: number;
  phases: Array<{ atMs: number; line: string }>;
}

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const option = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
};

async function readyz(port: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(3_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

async function oneRun(i: number, noCluster: boolean, keep: boolean): Promise<Run> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `fsa-bench-startup-${i}-`));
  fs.chmodSync(dataDir, 0o755); // like a fresh ./.data (mkdtemp makes it 0700)
  const [port, dbPort, temporalPort, uiPort, metricsPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    EMBEDDED_DB_PORT: String(dbPort),
    TEMPORAL_ADDRESS: `localhost:${temporalPort}`,
    TEMPORAL_UI_PORT: String(uiPort),
    WORKER_METRICS_PORT: String(metricsPort),
    LOG_LEVEL: 'warn',
  };
  delete env.DATABASE_URL;
  if (noCluster) env.EMBEDDED_CLUSTER = 'false';
  const logFile = path.join(dataDir, 'start.log');
  const log = fs.createWriteStream(logFile);
  const t0 = performance.now();
  const child = spawn('bash', [path.join(ROOT, 'scripts', 'start.sh')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const phases: Run['phases'] = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    log.write(chunk);
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith('[platform]')) phases.push({ atMs: performance.now() - t0, line });
    }
  });
  child.stderr.on('data', (chunk: Buffer) => log.write(chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));

  let readyMs = -1;
  const deadline = Date.now() + 10 * 60_000;
  while (Date.now() < deadline && !gone) {
    if ((await readyz(port)) === 200) {
      readyMs = performance.now() - t0;
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const s0 = performance.now();
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await exited;
  clearTimeout(killer);
  const stopMs = performance.now() - s0;
  log.end();
  if (readyMs < 0) {
    throw new Error(`run ${i}: /readyz never answered 200 (log: ${logFile})\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`);
  }
  if (!keep) fs.rmSync(dataDir, { recursive: true, force: true });
  else console.log(`  data folder kept: ${dataDir}`);
  return { readyMs, stopMs, phases };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main() {
  const runs = Number(option('runs', '3'));
  const noCluster = flag('no-cluster');
  const keep = flag('keep');
  console.log(`start-up of ./scripts/start.sh on a fresh DATA_DIR${noCluster ? ' (EMBEDDED_CLUSTER=false)' : ''}, ${runs} run(s)`);
  const results: Run[] = [];
  for (let i = 1; i <= runs; i++) {
    const r = await oneRun(i, noCluster, keep);
    results.push(r);
    console.log(`run ${i}: /readyz 200 after ${sec(r.readyMs)}; stopped in ${sec(r.stopMs)}`);
    for (const p of r.phases) console.log(`    ${sec(p.atMs).padStart(9)}  ${p.line.slice(0, 140)}`);
  }
  console.log(
    `median: ready ${sec(median(results.map((r) => r.readyMs)))} (min ${sec(Math.min(...results.map((r) => r.readyMs)))}, max ${sec(Math.max(...results.map((r) => r.readyMs)))}); ` +
      `stop ${sec(median(results.map((r) => r.stopMs)))}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
