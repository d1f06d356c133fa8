// Runs the real web entry (web/server/index.ts, production build) as a child process, as
// users and scripts see it: for the browser end-to-end test and the API benchmark.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startProcess, waitForPort, type ManagedProcess } from '../../scripts/services/process';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Builds the Remix app into web/build (client + server). */
export function buildWeb(): void {
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'node_modules/@remix-run/dev/dist/cli.js'), 'vite:build', '--config', 'web/vite.config.ts'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

export interface WebProcess {
  baseUrl: string;
  port: number;
  proc: ManagedProcess;
  logFile: string;
  stop(): Promise<void>;
}

export async function startWebProcess(env: { DATABASE_URL: string; TEMPORAL_ADDRESS: string; TEMPORAL_TASK_QUEUE: string } & Record<string, string>): Promise<WebProcess> {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-web-proc-'));
  const logFile = path.join(dataDir, 'web.log');
  const proc = startProcess('web', process.execPath, ['--import', 'tsx', 'web/server/index.ts'], {
    cwd: REPO_ROOT,
    logFile,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      EMBEDDED_CLUSTER: 'false',
      ...env,
    },
  });
  await waitForPort(port, 60_000, 'web server', proc);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    proc,
    logFile,
    async stop() {
      await proc.stop();
    },
  };
}
