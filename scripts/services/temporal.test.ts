// The dev server as the platform runs it (scripts/platform.ts): on a SQLite file, which it
// keeps in write-ahead-log mode, with executions that survive a restart.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { freePort, type ManagedProcess } from './process';
import { startTemporalDevServer } from './temporal';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-temporal-file-'));
const dbFile = path.join(dir, 'temporal.db');
let server: (ManagedProcess & { address: string }) | undefined;

const start = async () =>
  startTemporalDevServer({ binary: process.env.TEMPORAL_CLI_PATH!, port: await freePort(), headless: true, dbFile, logFile: path.join(dir, 'temporal.log') });

async function withClient<T>(address: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address });
  try {
    return await fn(new Client({ connection }));
  } finally {
    await connection.close();
  }
}

afterAll(async () => {
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('runs SQLite in WAL mode and keeps an execution across a restart', async () => {
  server = await start();
  const workflowId = `wal-${process.pid}`;
  // No worker needed: the execution exists (RUNNING, its first task pending) once started.
  await withClient(server.address, (client) => client.workflow.start('noSuchWorkflow', { taskQueue: 'nobody', workflowId }));
  // SQLite keeps a -wal file beside the database only in WAL mode (removed at a clean close).
  expect(fs.existsSync(`${dbFile}-wal`)).toBe(true);
  await server.stop();

  server = await start();
  const described = await withClient(server.address, (client) => client.workflow.getHandle(workflowId).describe());
  expect(described.status.name).toBe('RUNNING');
});
