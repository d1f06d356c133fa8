// The projection on a real PostgreSQL: the rows and the NOTIFY of each write, the stop time
// and retention columns, deletion, timeline entries written once, and group commit (writes
// that arrive together share a transaction; a bad one fails only its own activity).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { ProjectStatusView } from '../common/lifecycle';
import type { ProjectStatus, ResourceStatus } from '../common/status';
import { createMigratedDatabase } from '../scripts/services/postgres';
import { createCipher } from '../server/crypto';
import { createDb, type Db } from '../server/db';
import { createProjectRows } from '../server/project-rows';
import { STATUS_CHANNEL, createStatusProjection } from './status-projection';

let database: Awaited<ReturnType<typeof createMigratedDatabase>>;
let db: Db;
let listener: pg.Client;
const notified: string[] = [];
let userId: string;
const cipher = createCipher(randomBytes(32));

beforeAll(async () => {
  database = await createMigratedDatabase(process.env.TEST_DATABASE_URL!, 'fsa_projection');
  db = createDb(database.url, { max: 4 });
  listener = new pg.Client({ connectionString: database.url });
  await listener.connect();
  listener.on('notification', (n) => notified.push(n.payload ?? ''));
  await listener.query(`LISTEN ${STATUS_CHANNEL}`);
  userId = (await db.user.create({ data: { name: 'projection' } })).id;
});

afterAll(async () => {
  await listener?.end();
  await db?.$disconnect();
  await database?.drop();
});

let n = 0;
const newProject = async () => (await createProjectRows(db, cipher, { userId, name: `p${++n}`, k8sName: `p${n}-agentruntime-abcdef` })).id;

const view = (projectId: string, status: ProjectStatus, at = new Date(), extra: Partial<ProjectStatusView> = {}): ProjectStatusView =>
  ({
    projectId,
    status,
    desired: status === 'STOPPED' ? 'STOPPED' : 'RUNNING',
    sandbox: { status: (status === 'PARTIAL' ? 'STARTING' : status) as ResourceStatus, publicUrl: `https://${projectId}.example`, ttydUrl: null },
    database: { status: (status === 'PARTIAL' ? 'RUNNING' : status) as ResourceStatus, host: 'db.svc', port: 5432 },
    lastError: null,
    updatedAt: at.toISOString(),
    ...extra,
  }) as ProjectStatusView;

const waitForNotices = async (ids: string[]) => {
  for (let i = 0; i < 100 && !ids.every((id) => notified.includes(id)); i++) await new Promise((r) => setTimeout(r, 20));
  return ids.filter((id) => notified.includes(id));
};

it('writes the rows of each project and notifies once per write', async () => {
  const projection = createStatusProjection(db);
  const id = await newProject();
  await projection.recordStatus(view(id, 'RUNNING'));
  const row = await db.project.findUniqueOrThrow({ where: { id }, include: { sandboxes: true, databases: true } });
  expect(row.status).toBe('RUNNING');
  expect(row.sandboxes[0]).toMatchObject({ status: 'RUNNING', publicUrl: `https://${id}.example`, ttydUrl: null });
  expect(row.databases[0]).toMatchObject({ status: 'RUNNING', host: 'db.svc', port: 5432 });
  expect(await waitForNotices([id])).toEqual([id]);
});

it('sets the stop time once, keeps it while stopped, and clears it and a retention notice when started', async () => {
  const projection = createStatusProjection(db);
  const id = await newProject();
  const first = new Date('2026-12-01T10:00:00.000Z');
  await projection.recordStatus(view(id, 'STOPPED', first));
  await projection.recordStatus(view(id, 'STOPPED', new Date('2026-12-01T11:00:00.000Z')));
  expect((await db.project.findUniqueOrThrow({ where: { id } })).stoppedAt?.toISOString()).toBe(first.toISOString());
  const notice = new Date('2026-12-02T10:00:00.000Z');
  await db.project.update({ where: { id }, data: { retentionNoticeAt: notice, retentionDeleteAt: notice } });
  await projection.recordStatus(view(id, 'STOPPED', new Date()));
  expect(await db.project.findUniqueOrThrow({ where: { id } })).toMatchObject({ stoppedAt: first, retentionNoticeAt: notice, retentionDeleteAt: notice });
  await projection.recordStatus(view(id, 'PARTIAL', new Date(), { lastError: { message: 'sandbox starting', at: new Date().toISOString() } }));
  expect(await db.project.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'PARTIAL', lastError: 'sandbox starting', stoppedAt: null, retentionNoticeAt: null, retentionDeleteAt: null });
});

it('deletes the rows of a terminated project and writes its timeline entries once, on a retry too', async () => {
  const projection = createStatusProjection(db);
  const id = await newProject();
  const timeline = {
    ownerId: userId,
    projectName: 'gone',
    events: [{ id: `${id}-run:1`, seq: 1, at: new Date().toISOString(), kind: 'transition', from: 'TERMINATING', to: 'TERMINATED' }],
  } as unknown as Parameters<typeof projection.recordStatus>[1];
  await projection.recordStatus(view(id, 'TERMINATED'), timeline);
  await projection.recordStatus(view(id, 'TERMINATED'), timeline);
  expect(await db.project.findUnique({ where: { id } })).toBeNull();
  expect(await db.sandbox.count({ where: { projectId: id } })).toBe(0);
  expect(await db.projectEvent.count({ where: { projectId: id } })).toBe(1);
});

it('commits writes that arrive together in shared transactions, in order per project', async () => {
  // One transaction at a time, counted: the first write goes alone, the rest queue behind it.
  let transactions = 0;
  const counted = new Proxy(db, {
    get(target, key) {
      const value = Reflect.get(target, key) as unknown;
      if (key === '$transaction') transactions++;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const projection = createStatusProjection(counted, { maxInFlight: 1, maxBatch: 200 });
  const ids = await Promise.all(Array.from({ length: 30 }, () => newProject()));
  const writes = [
    ...ids.map((id) => projection.recordStatus(view(id, 'PARTIAL'))),
    // A second write of each project waits for a later transaction than its first: the last one wins.
    ...ids.map((id) => projection.recordStatus(view(id, 'RUNNING'))),
  ];
  await Promise.all(writes);
  const rows = await db.project.findMany({ where: { id: { in: ids } } });
  expect(rows.map((r) => r.status)).toEqual(ids.map(() => 'RUNNING'));
  // 60 writes: the first alone, then the other 29 first writes with the first project's second, then the rest.
  expect(transactions).toBeLessThanOrEqual(3);
  expect(await waitForNotices(ids)).toHaveLength(ids.length);
});

it('fails only the bad write of a shared transaction', async () => {
  const projection = createStatusProjection(db, { maxInFlight: 1 });
  const ids = await Promise.all(Array.from({ length: 6 }, () => newProject()));
  const results = await Promise.allSettled(ids.map((id, i) => projection.recordStatus(view(id, i === 3 ? ('BOGUS' as ProjectStatus) : 'RUNNING'))));
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  const rows = await db.project.findMany({ where: { id: { in: ids } } });
  expect(ids.map((id) => rows.find((r) => r.id === id)?.status)).toEqual(['RUNNING', 'RUNNING', 'RUNNING', 'CREATING', 'RUNNING', 'RUNNING']);
});
