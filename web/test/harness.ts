// Test harness for the web: a fresh migrated database, the real Temporal dev server of the
// run, an optional lifecycle worker with fake activities (in-memory Kubernetes, real
// projection rows) on this file's own task queue, and the app on a random port.
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { loadConfig, type Config } from '../../server/config';
import { createDb, type Db } from '../../server/db';
import { createLogger } from '../../server/logger';
import { createMigratedDatabase } from '../../scripts/services/postgres';
import { createRetentionActivities } from '../../activities/retention';
import { createFakeActivities, type FakeKubernetes } from '../../test/fake-activities';
import { createLifecycleWorker } from '../../worker/create-worker';
import { createApp, type CreateAppOptions, type WebApp } from '../server/app';

export interface WebHarness {
  baseUrl: string;
  db: Db;
  config: Config;
  web: WebApp;
  fake?: FakeKubernetes;
  databaseUrl: string;
  temporalAddress: string;
  taskQueue: string;
  /** The web's Temporal client (schedules, workflow handles). */
  temporal: Client;
  close(): Promise<void>;
}

let seq = 0;

export async function testConfig(databaseUrl: string, taskQueue: string, extra: Record<string, string> = {}): Promise<Config> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-web-test-'));
  return loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS!,
    TEMPORAL_TASK_QUEUE: taskQueue,
    LOG_LEVEL: 'silent',
    EMBEDDED_CLUSTER: 'false',
    ...extra,
  });
}

export async function startWebHarness(opts: { prefix: string; worker?: boolean; app?: CreateAppOptions; env?: Record<string, string> }): Promise<WebHarness> {
  const admin = process.env.TEST_DATABASE_URL;
  const address = process.env.TEST_TEMPORAL_ADDRESS;
  if (!admin || !address) throw new Error('run through jest, in the temporal or cluster tier (jest.config.js): its setup sets TEST_DATABASE_URL and TEST_TEMPORAL_ADDRESS');
  const database = await createMigratedDatabase(admin, opts.prefix);
  const taskQueue = `web-test-${process.pid}-${Date.now().toString(36)}-${seq++}`;
  const config = await testConfig(database.url, taskQueue, opts.env);
  const db = createDb(database.url);
  const connection = await Connection.connect({ address });
  const temporalClient = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const logger = createLogger('web-test', 'silent');

  let worker: Worker | undefined;
  let workerRun: Promise<void> | undefined;
  let nativeConnection: NativeConnection | undefined;
  let fake: FakeKubernetes | undefined;
  if (opts.worker) {
    const f = createFakeActivities({ db, sandboxReadyMs: 300, databaseReadyMs: 300, stopMs: 200, deleteMs: 200 });
    fake = f.fake;
    nativeConnection = await NativeConnection.connect({ address });
    worker = await createLifecycleWorker({ connection: nativeConnection, taskQueue, activities: { ...f.activities, ...createRetentionActivities(db) }, shutdownGraceTime: '1s' });
    workerRun = worker.run();
  }

  const web = createApp(
    { config, db, temporalClient, logger },
    { ...opts.app, context: { timings: { initialBackoffMs: 100, maxBackoffMs: 400 }, ...opts.app?.context } },
  );
  const server = web.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const port = (server.address() as AddressInfo).port;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    db,
    config,
    web,
    fake,
    databaseUrl: database.url,
    temporalAddress: address,
    taskQueue,
    temporal: temporalClient,
    async close() {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(() => r(undefined)));
      await web.close();
      if (worker && worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun?.catch(() => undefined);
      await nativeConnection?.close();
      await connection.close();
      await db.$disconnect();
      await database.drop();
    },
  };
}

/** A tiny fetch-based client with a cookie jar, like a script using the API. */
export class ApiClient {
  cookies = new Map<string, string>();
  token?: string;
  constructor(readonly baseUrl: string) {}

  private cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private keep(res: Response) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const k = pair!.slice(0, i);
      const v = pair!.slice(i + 1);
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(c) || v === '') this.cookies.delete(k);
      else this.cookies.set(k, v);
    }
  }

  async raw(method: string, p: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    else if (this.cookies.size) headers.cookie = this.cookieHeader();
    const res = await fetch(this.baseUrl + p, { method, body: init.body, headers, redirect: 'manual' });
    this.keep(res);
    return res;
  }

  async call<T = any>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await this.raw(method, p, body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as T };
  }

  /** The standard Auth.js credentials flow a script would use. */
  async signIn(username: string, password = 'correct horse battery'): Promise<Response> {
    const csrf = await this.raw('GET', '/auth/csrf');
    const { csrfToken } = (await csrf.json()) as { csrfToken: string };
    const form = new URLSearchParams({ csrfToken, username, password, callbackUrl: '/projects' });
    return this.raw('POST', '/auth/callback/password', { body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  }

  get signedIn() {
    return [...this.cookies.keys()].some((k) => k.endsWith('authjs.session-token'));
  }
}

export { waitFor } from '../../test/wait';
