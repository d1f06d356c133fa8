// Full project lifecycles through Temporal (the real dev server) with the real Kubernetes
// activities against the local control plane: create -> RUNNING -> stop -> STOPPED ->
// start -> RUNNING -> env change -> delete -> TERMINATED with no labelled object left.
import { createProjectRows } from '../server/project-rows';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { WorkflowHandle } from '@temporalio/client';
import { createKubernetesActivities } from '../activities/kubernetes';
import { KubeClient, loadAdminKubeconfig, type KubeObject } from '../activities/kubernetes/kube-client';
import { SharedWatches } from '../activities/kubernetes/shared-watches';
import { userNamespace } from '../activities/kubernetes/user-clients';
import { createStatusProjection } from '../activities/status-projection';
import { WORKFLOW_TYPE, type LifecycleInput } from '../common/lifecycle';
import { LABELS, projectResourceName, resourceNames } from '../common/names';
import { createMigratedDatabase } from '../scripts/services/postgres';
import { createCipher } from '../server/crypto';
import { createDb, type Db } from '../server/db';
import { createLogger } from '../server/logger';
import { createLifecycleWorker } from '../worker/create-worker';
import { deleteSignal, environmentChangedSignal, startSignal, stopSignal } from '../workflows/messages';
import { createHarness, FAST_TIMINGS, isStatus, waitForStatus, type Harness } from './lifecycle-harness';
import { waitFor as waitUntil } from './wait';
import { lifecycleStartOptions } from '../common/start-lifecycle';

const cipher = createCipher(randomBytes(32));
const adminKubeconfig = fs.readFileSync(process.env.TEST_KUBECONFIG!, 'utf8');
const admin = new KubeClient(loadAdminKubeconfig(adminKubeconfig));

let harness: Harness;
let database: { url: string; drop(): Promise<void> };
let db: Db;
let stopWorker: (() => Promise<void>) | undefined;
const sharedWatches = new SharedWatches();

beforeAll(async () => {
  database = await createMigratedDatabase(process.env.TEST_DATABASE_URL!, 'fsa_k8slc');
  db = createDb(database.url, { max: 4 });
  harness = await createHarness();
  const kubernetes = createKubernetesActivities({
    db,
    cipher,
    clusterDomain: 'sandbox.test',
    adminKubeconfig,
    logger: createLogger('k8s-lifecycle-test', 'silent'),
    sharedWatches,
  });
  const worker = await createLifecycleWorker({
    connection: harness.env.nativeConnection,
    taskQueue: harness.taskQueue,
    activities: { ...kubernetes, ...createStatusProjection(db) },
    identity: `k8s-lifecycle-test-${process.pid}`,
    shutdownGraceTime: '1s',
  });
  const running = worker.run();
  stopWorker = async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
  };
});

afterAll(async () => {
  await stopWorker?.();
  sharedWatches.close();
  await harness?.close();
  await db?.$disconnect();
  await database?.drop();
});

type Any = KubeObject & Record<string, any>;  

const poll = <T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000) =>
  waitUntil(fn, ok, timeoutMs, what, 200);

const podEnv = (pod: Any) => Object.fromEntries((pod.spec.containers[0].env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]));
/** The env with secret variables resolved through the Secret they reference (never literals in the pod). */
const resolvedEnv = async (pod: Any) => {
  const env: Record<string, string> = {};
  for (const e of pod.spec.containers[0].env as Array<{ name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }>) {
    const ref = e.valueFrom?.secretKeyRef;
    const secret = ref ? await admin.get<Any>({ apiVersion: 'v1', kind: 'Secret', name: ref.name, namespace: pod.metadata.namespace }) : null;
    env[e.name] = ref ? Buffer.from(secret!.data[ref.key], 'base64').toString('utf8') : e.value!;
  }
  return env;
};

async function labelled(ns: string, projectId: string): Promise<string[]> {
  const kinds = [
    ['apps/v1', 'StatefulSet'],
    ['apps.kubeblocks.io/v1alpha1', 'Cluster'],
    ['networking.k8s.io/v1', 'Ingress'],
    ['v1', 'Service'],
    ['rbac.authorization.k8s.io/v1', 'Role'],
    ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
    ['v1', 'ServiceAccount'],
    ['v1', 'Secret'],
    ['v1', 'Pod'],
    ['v1', 'PersistentVolumeClaim'],
  ] as const;
  const out: string[] = [];
  for (const [apiVersion, kind] of kinds) {
    const items = await admin.list({ apiVersion, kind, namespace: ns }, { labelSelector: `${LABELS.projectId}=${projectId}` });
    out.push(...items.map((i) => `${kind}/${i.metadata.name}`));
  }
  return out;
}

it('create -> RUNNING -> stop -> STOPPED -> start -> RUNNING -> env change -> delete -> TERMINATED', async () => {
  const user = await db.user.create({ data: { name: 'lifecycle' } });
  const name = 'Lifecycle App';
  const k8sName = projectResourceName(name, Math.random);
  const project = await createProjectRows(db, cipher, { userId: user.id, name, k8sName });
  await db.environment.createMany({ data: [{ projectId: project.id, key: 'KEEP', value: 'v1' }, { projectId: project.id, key: 'DROP', value: 'x' }] });
  const ns = userNamespace(user.id);
  const names = resourceNames(k8sName);
  const input: LifecycleInput = { projectId: project.id, ownerId: user.id, projectName: name, k8sName, desired: 'RUNNING', timings: FAST_TIMINGS };
  const handle: WorkflowHandle = await harness.env.client.workflow.start(WORKFLOW_TYPE, lifecycleStartOptions(input, harness.taskQueue));
  const pod = () => admin.get<Any>({ apiVersion: 'v1', kind: 'Pod', name: `${names.statefulSet}-0`, namespace: ns });

  // create -> RUNNING: pod Ready, Cluster Running, credentials injected as DATABASE_URL.
  const running = await waitForStatus(handle, isStatus('RUNNING'), 90_000);
  expect(running.sandbox.publicUrl).toMatch(/^https:\/\/[a-z0-9]{12}\.sandbox\.test$/);
  expect(running.database).toMatchObject({ status: 'RUNNING', port: 5432 });
  const p1 = (await pod())!;
  expect(p1.status.conditions.find((c: { type: string }) => c.type === 'Ready').status).toBe('True');
  const cluster = await admin.get<Any>({ apiVersion: 'apps.kubeblocks.io/v1alpha1', kind: 'Cluster', name: names.cluster, namespace: ns });
  expect(cluster!.status.phase).toBe('Running');
  const secret = (await admin.get<Any>({ apiVersion: 'v1', kind: 'Secret', name: names.clusterCredentialSecret, namespace: ns }))!;
  const password = Buffer.from(secret.data.password, 'base64').toString('utf8');
  expect((await resolvedEnv(p1)).DATABASE_URL).toContain(`:${password}@${running.database!.host}:5432/`);
  // The ttyd token reaches the pod decrypted, as stored (encrypted) in the Sandbox row.
  const ttydToken = cipher.decrypt((await db.sandbox.findFirstOrThrow({ where: { projectId: project.id } })).ttydAccessToken);
  expect(await resolvedEnv(p1)).toMatchObject({ KEEP: 'v1', DROP: 'x', PROJECT_NAME: name, TTYD_ACCESS_TOKEN: ttydToken });
  // The worker's projection follows the query.
  await poll('the RUNNING projection', () => db.project.findUniqueOrThrow({ where: { id: project.id } }), (p) => p.status === 'RUNNING');

  // stop -> STOPPED, no pods.
  await handle.signal(stopSignal);
  await waitForStatus(handle, isStatus('STOPPED'), 60_000);
  expect(await admin.list({ apiVersion: 'v1', kind: 'Pod', namespace: ns }, { labelSelector: `${LABELS.projectId}=${project.id}` })).toEqual([]);

  // start -> RUNNING again.
  await handle.signal(startSignal);
  await waitForStatus(handle, isStatus('RUNNING'), 90_000);
  const p2 = (await poll('a Ready pod', pod, (p) => !!p && !p.metadata.deletionTimestamp))!;

  // env change: the pod is rolled with the new value, the deleted key is gone.
  await db.environment.deleteMany({ where: { projectId: project.id, key: 'DROP' } });
  await db.environment.update({ where: { projectId_key: { projectId: project.id, key: 'KEEP' } }, data: { value: 'v2' } });
  await handle.signal(environmentChangedSignal);
  const p3 = await poll(
    'the rolled pod with the new env',
    pod,
    (p) => !!p && p.metadata.uid !== p2.metadata.uid && !p.metadata.deletionTimestamp && podEnv(p).KEEP === 'v2',
    90_000,
  );
  expect(podEnv(p3!)).not.toHaveProperty('DROP');
  await waitForStatus(handle, (v) => v.status === 'RUNNING' && v.stages.every((s) => s.state === 'done'), 90_000);

  // delete -> TERMINATED, nothing labelled with the project is left.
  await handle.signal(deleteSignal);
  const final = await handle.result();
  expect(final.status).toBe('TERMINATED');
  expect(await poll('no labelled object left', () => labelled(ns, project.id), (l) => l.length === 0)).toEqual([]);
});

it('repairs drift of a settled RUNNING project without any signal: StatefulSet deleted, scaled to 0, pod deleted by hand', async () => {
  const user = await db.user.create({ data: { name: 'drift' } });
  const name = 'Drift App';
  const k8sName = projectResourceName(name, Math.random);
  const project = await createProjectRows(db, cipher, { userId: user.id, name, k8sName });
  const ns = userNamespace(user.id);
  const names = resourceNames(k8sName);
  const input: LifecycleInput = { projectId: project.id, ownerId: user.id, projectName: name, k8sName, desired: 'RUNNING', timings: FAST_TIMINGS };
  const handle: WorkflowHandle = await harness.env.client.workflow.start(WORKFLOW_TYPE, lifecycleStartOptions(input, harness.taskQueue));
  const stsKey = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: names.statefulSet, namespace: ns };
  const sts = () => admin.get<Any>(stsKey);
  const pod = () => admin.get<Any>({ apiVersion: 'v1', kind: 'Pod', name: `${names.statefulSet}-0`, namespace: ns });
  const podReady = (p: Any | null) => !!p && !p.metadata.deletionTimestamp && p.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
  /** The timeline's transitions to `to` (the projection writes them). */
  const transitionsTo = async (to: string) => db.projectEvent.count({ where: { projectId: project.id, kind: 'transition', toStatus: to } });
  const settledRunning = () => waitForStatus(handle, (v) => v.status === 'RUNNING' && v.stages.every((s) => s.state === 'done'), 90_000);
  await settledRunning();
  await poll('the RUNNING transition written', () => transitionsTo('RUNNING'), (n) => n === 1);

  // The StatefulSet deleted by hand: the workflow re-creates it (a new uid) and is RUNNING again.
  const first = (await sts())!;
  expect(await admin.delete(stsKey)).toBe(true);
  await poll('a re-created StatefulSet', sts, (s) => !!s && s.metadata.uid !== first.metadata.uid && !s.metadata.deletionTimestamp, 60_000);
  await poll('a Ready pod of the new StatefulSet', pod, podReady, 90_000);
  await settledRunning();
  await poll('RUNNING again in the timeline', () => transitionsTo('RUNNING'), (n) => n === 2, 60_000);

  // Scaled to 0 by hand while desired RUNNING: back to 1.
  await admin.mergePatch(stsKey, { spec: { replicas: 0 } });
  await poll('the StatefulSet back at 1 replica', sts, (s) => s?.spec.replicas === 1 && s.status?.readyReplicas === 1, 90_000);
  await poll('RUNNING again in the timeline', () => transitionsTo('RUNNING'), (n) => n === 3, 60_000);
  await settledRunning();

  // The pod deleted by hand: the status shows the way back, RUNNING again.
  const before = (await pod())!;
  await admin.delete({ apiVersion: 'v1', kind: 'Pod', name: before.metadata.name, namespace: ns });
  await poll('RUNNING again in the timeline', () => transitionsTo('RUNNING'), (n) => n === 4, 90_000);
  const after = await poll('a new Ready pod', pod, (p) => podReady(p) && p!.metadata.uid !== before.metadata.uid, 90_000);
  expect(after).not.toBeNull();
  const final = await settledRunning();
  expect(final.lastError).toBeNull();
  expect(await transitionsTo('STARTING')).toBeGreaterThanOrEqual(3);
  // None of this needed a signal: the only intent in the timeline is the creation.
  expect(await db.projectEvent.count({ where: { projectId: project.id, kind: 'intent' } })).toBe(1);

  await handle.signal(deleteSignal);
  expect((await handle.result()).status).toBe('TERMINATED');
});
