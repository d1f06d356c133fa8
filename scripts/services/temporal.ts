// The Temporal CLI dev server: the real Temporal server with SQLite persistence and the
// Web UI. The binary comes from TEMPORAL_CLI_PATH, or is built once from the Go module
// proxy into CACHE_DIR/bin (v1.5.1 is the newest that `go install`s without replaces).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startProcess, waitForPort, type ManagedProcess } from './process';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const SEARCH_ATTRIBUTES = ['ProjectStatus', 'ProjectOwner', 'ProjectName'] as const;

export function temporalCliPath(opts: { cacheDir: string; cliPath?: string }): string {
  if (opts.cliPath) {
    if (!fs.existsSync(opts.cliPath)) throw new Error(`TEMPORAL_CLI_PATH=${opts.cliPath} does not exist`);
    return opts.cliPath;
  }
  const bin = path.join(opts.cacheDir, 'bin', 'temporal');
  if (!fs.existsSync(bin)) {
    console.log(`[temporal] building the Temporal CLI ${TEMPORAL_CLI_VERSION} into ${bin} (one time, a few minutes)`);
    execFileSync('go', ['install', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`], {
      stdio: 'inherit',
      env: { ...process.env, CGO_ENABLED: '0', GOBIN: path.dirname(bin), GOFLAGS: '-mod=mod' },
    });
  }
  return bin;
}

/** A Temporal server started for a run: where to reach it, and how to stop it (and drop what it stored). */
export interface TemporalService {
  address: string;
  stop(): Promise<void>;
}

export interface TemporalDevServerOptions {
  binary: string;
  port: number;
  uiPort?: number;
  /** SQLite file; omitted = in memory. */
  dbFile?: string;
  namespace?: string;
  headless?: boolean;
  logFile?: string;
  /** e.g. ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=40'] */
  extraArgs?: string[];
}

export async function startTemporalDevServer(o: TemporalDevServerOptions): Promise<ManagedProcess & TemporalService> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(o.port), '--log-level', 'warn'];
  args.push('--namespace', o.namespace ?? 'default');
  if (o.dbFile) {
    // Write-ahead log: readers no longer wait for the writer (synchronous stays FULL, so a
    // commit is on disk before it is acknowledged). With the default rollback journal,
    // 1,000 simultaneous lifecycles left executions hung (docs/decisions/0008).
    args.push('--db-filename', o.dbFile, '--sqlite-pragma', 'journal_mode=wal');
  }
  if (o.headless) args.push('--headless');
  else args.push('--ui-port', String(o.uiPort ?? 8233));
  for (const sa of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${sa}=Keyword`);
  // Metrics on an ephemeral port so several dev servers can run side by side.
  args.push('--metrics-port', '0');
  // Eager activity dispatch: an activity scheduled by a workflow task goes straight back to
  // the worker that completed the task (no round trip through the matching service), so a
  // change of intent reaches its Kubernetes write at once. Off by default on the server.
  args.push('--dynamic-config-value', 'system.enableActivityEagerExecution=true');
  // The dev server has one history shard, so its mutable-state cache (512 entries per
  // shard by default) is the whole server's: with more open lifecycles than that, every
  // task reloads its execution from the store. 8,192 keeps 1,000 lifecycles cached.
  args.push('--dynamic-config-value', 'history.cacheMaxSize=8192');
  args.push(...(o.extraArgs ?? []));
  const proc = startProcess('temporal', o.binary, args, o.logFile ? { logFile: o.logFile } : { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(o.port, 60_000, 'Temporal dev server', proc);
  return Object.assign(proc, { address: `127.0.0.1:${o.port}` });
}
