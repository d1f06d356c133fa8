// The Kubernetes activities against the real local API server (started once by the global
// setup: TEST_KUBECONFIG). Every object is read back and compared; every activity runs twice.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { createMigratedDatabase } from '../../scripts/services/postgres';
import { freePort } from '../../scripts/services/process';
import { createDb, type Db } from '../../server/db';
import { createCipher } from '../../server/crypto';
import { createLogger } from '../../server/logger';
import { LABELS, projectResourceName, resourceNames } from '../../common/names';
import { RUNTIME_IMAGE } from '../../common/versions';
import type { ProjectRef } from '../../common/lifecycle';
import { startExtraApiserver } from '../../cluster/local-cluster';
import { createKubernetesActivities, type KubernetesActivities } from './index';
import { KubeClient, loadKubeConfig, type KubeObject } from './kube-client';
import { APP_PORT, HOME_MOUNT_PATH, TTYD_PORT } from './manifests';
import { KUBECONFIG_KEY, userNamespace } from './user-clients';
import { tokenKubeconfig } from './kubeconfig';
import { waitFor as waitUntil } from '../../test/wait';

/** The same kubeconfig with another namespace in its current context. */
function withNamespace(kubeconfig: string, namespace: string): string {
  const c = loadKubeConfig(kubeconfig);
  return tokenKubeconfig({ name: 'ctx', server: c.server, ca: c.ca, token: c.token!(), namespace });
}

const DOMAIN = 'sandbox.test';
const cipher = createCipher(randomBytes(32));
const logger = createLogger('k8s-test', 'silent');
const adminKubeconfig = fs.readFileSync(process.env.TEST_KUBECONFIG!, 'utf8');
const admin = new KubeClient(loadKubeConfig(adminKubeconfig));

let database: { url: string; drop(): Promise<void> };
let db: Db;
let acts: KubernetesActivities;

type Any = KubeObject & Record<string, any>;  

const waitFor = <T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000) =>
  waitUntil(fn, ok, timeoutMs, what, 200);

async function newUser() {
  return db.user.create({ data: { name: `u-${randomBytes(3).toString('hex')}` } });
}

async function newProject(userId: string, name = 'My App'): Promise<ProjectRef> {
  const k8sName = projectResourceName(name, Math.random);
  const project = await db.project.create({ data: { name: `${name} ${randomBytes(3).toString('hex')}`, userId, k8sName } });
  await db.sandbox.create({
    data: { projectId: project.id, sandboxName: k8sName, ttydAccessToken: cipher.encrypt('ttyd-secret-token'), runtimeImage: RUNTIME_IMAGE },
  });
  await db.database.create({ data: { projectId: project.id, name: resourceNames(k8sName).cluster } });
  return { projectId: project.id, ownerId: userId, k8sName };
}

function get<T extends KubeObject = Any>(kind: { apiVersion: string; kind: string }, name: string, namespace: string) {
  return admin.get<T>({ ...kind, name, namespace });
}
const STS = { apiVersion: 'apps/v1', kind: 'StatefulSet' };
const CLUSTER = { apiVersion: 'apps.kubeblocks.io/v1alpha1', kind: 'Cluster' };

function expectProjectLabels(obj: KubeObject | null | undefined, ref: ProjectRef, resourceName: string) {
  expect(obj?.metadata.labels).toMatchObject({
    [LABELS.projectId]: ref.projectId,
    [LABELS.projectName]: ref.k8sName,
    [LABELS.app]: resourceName,
    [LABELS.deployManager]: resourceName,
  });
}

function envOf(sts: Any): Record<string, string> {
  const env = sts.spec.template.spec.containers[0].env as Array<{ name: string; value: string }>;
  return Object.fromEntries(env.map((e) => [e.name, e.value]));
}

async function labelledObjects(ns: string, projectId: string): Promise<string[]> {
  const kinds = [
    STS,
    CLUSTER,
    { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
    { apiVersion: 'v1', kind: 'Service' },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role' },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' },
    { apiVersion: 'v1', kind: 'ServiceAccount' },
    { apiVersion: 'v1', kind: 'Secret' },
    { apiVersion: 'v1', kind: 'Pod' },
    { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
  ];
  const found: string[] = [];
  for (const k of kinds) {
    const items = await admin.list({ ...k, namespace: ns }, { labelSelector: `${LABELS.projectId}=${projectId}` });
    found.push(...items.map((i) => `${k.kind}/${i.metadata.name}`));
  }
  return found;
}

async function expectFailure(p: Promise<unknown>, type: string, ...contains: string[]) {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect((err as ApplicationFailure).type).toBe(type);
  expect((err as ApplicationFailure).nonRetryable).toBe(true);
  for (const c of contains) expect((err as Error).message).toContain(c);
}

beforeAll(async () => {
  database = await createMigratedDatabase(process.env.TEST_DATABASE_URL!, 'fsa_k8s');
  db = createDb(database.url, { max: 4 });
  acts = createKubernetesActivities({ db, cipher, clusterDomain: DOMAIN, adminKubeconfig, logger, requestTimeoutMs: 5_000 });
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

describe('a project through every activity, each run twice', () => {
  let ref: ProjectRef;
  let ns: string;
  const names = () => resourceNames(ref.k8sName);

  beforeAll(async () => {
    const user = await newUser();
    ref = await newProject(user.id);
    ns = userNamespace(user.id);
    await db.environment.createMany({
      data: [
        { projectId: ref.projectId, key: 'FOO', value: 'bar' },
        { projectId: ref.projectId, key: 'API_SECRET', value: cipher.encrypt('s3cret'), isSecret: true, category: 'secret' },
      ],
    });
    await db.userConfig.createMany({
      data: [
        { userId: user.id, key: 'ANTHROPIC_API_KEY', value: cipher.encrypt('sk-ant-test'), isSecret: true },
        { userId: user.id, key: 'ANTHROPIC_BASE_URL', value: 'https://aiproxy.example/v1' },
      ],
    });
  });

  it('ensureDatabase provisions the user namespace and creates SA, Role, RoleBinding and Cluster', async () => {
    await acts.ensureDatabase(ref);
    await acts.ensureDatabase(ref);

    // The user got a namespace and a kubeconfig of their own, stored encrypted.
    const row = await db.userConfig.findUnique({ where: { userId_key: { userId: ref.ownerId, key: KUBECONFIG_KEY } } });
    expect(row?.isSecret).toBe(true);
    expect(row?.value).not.toContain('apiVersion');
    const userKc = loadKubeConfig(cipher.decrypt(row!.value));
    expect(userKc.namespace).toBe(ns);
    // ...which is confined to that namespace.
    const userClient = new KubeClient(userKc);
    await expect(userClient.list({ apiVersion: 'v1', kind: 'Secret', namespace: 'default' })).rejects.toMatchObject({ status: 403 });

    const sa = await get({ apiVersion: 'v1', kind: 'ServiceAccount' }, names().serviceAccount, ns);
    const role = await get({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role' }, names().role, ns);
    const rb = await get({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' }, names().roleBinding, ns);
    const cluster = await get(CLUSTER, names().cluster, ns);
    for (const o of [sa, role, rb, cluster]) expectProjectLabels(o, ref, names().cluster);
    expect(role!.rules.flatMap((r: { verbs: string[] }) => r.verbs)).not.toContain('*');
    expect(rb!.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: names().role });
    expect(rb!.subjects).toEqual([{ kind: 'ServiceAccount', name: names().serviceAccount, namespace: ns }]);
    expect(cluster!.spec).toMatchObject({ clusterDefinitionRef: 'postgresql', terminationPolicy: 'Delete' });
    expect(cluster!.spec.componentSpecs).toEqual([
      expect.objectContaining({ name: 'postgresql', componentDefRef: 'postgresql', replicas: 1, serviceAccountName: names().serviceAccount }),
    ]);
    // Applying the same spec again does not bump the generation.
    expect(cluster!.metadata.generation).toBe(1);

    const obs = await waitFor('database RUNNING', () => acts.observeDatabase(ref), (o) => o.status === 'RUNNING');
    expect(obs).toMatchObject({ status: 'RUNNING', host: `${names().cluster}-postgresql.${ns}.svc`, port: 5432 });
  });

  it('ensureSandbox creates the StatefulSet per the contract, with the env whole', async () => {
    await acts.ensureSandbox(ref);
    await acts.ensureSandbox(ref);
    const sts = (await get(STS, names().statefulSet, ns))!;
    expectProjectLabels(sts, ref, names().statefulSet);
    expect(sts.metadata.generation).toBe(1); // the second ensure changed nothing
    expect(sts.spec.replicas).toBe(1);
    const tpl = sts.spec.template;
    expectProjectLabels(tpl, ref, names().statefulSet);
    const c = tpl.spec.containers[0];
    expect(c.image).toBe(RUNTIME_IMAGE);
    expect(c.ports.map((p: { containerPort: number }) => p.containerPort)).toEqual([APP_PORT, TTYD_PORT]);
    expect(c.resources.requests).toEqual({ cpu: '20m', memory: '25Mi' });
    expect(c.resources.limits).toEqual({ cpu: '2', memory: '4Gi' });
    expect(c.readinessProbe.tcpSocket.port).toBe(TTYD_PORT);
    expect(c.volumeMounts).toEqual([{ name: 'home', mountPath: HOME_MOUNT_PATH }]);
    const pvcTemplate = sts.spec.volumeClaimTemplates[0];
    expectProjectLabels(pvcTemplate, ref, names().statefulSet);

    const secret = (await get({ apiVersion: 'v1', kind: 'Secret' }, names().clusterCredentialSecret, ns))!;
    const d = (k: string) => Buffer.from(secret.data[k], 'base64').toString('utf8');
    const project = await db.project.findUniqueOrThrow({ where: { id: ref.projectId } });
    expect(envOf(sts)).toEqual({
      FOO: 'bar',
      API_SECRET: 's3cret',
      ANTHROPIC_API_KEY: 'sk-ant-test',
      ANTHROPIC_BASE_URL: 'https://aiproxy.example/v1',
      DATABASE_URL: `postgresql://${d('username')}:${d('password')}@${d('host')}:${d('port')}/postgres`,
      PROJECT_NAME: project.name,
      TTYD_ACCESS_TOKEN: 'ttyd-secret-token',
    });

    const obs = await waitFor('sandbox RUNNING', () => acts.observeSandbox(ref), (o) => o.status === 'RUNNING');
    expect(obs.status).toBe('RUNNING');
    // The home PVC (from the template) is bound and labelled.
    const pvc = await get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim' }, `home-${names().statefulSet}-0`, ns);
    expect(pvc?.status.phase).toBe('Bound');
    expectProjectLabels(pvc, ref, names().statefulSet);
  });

  it('ensureSandboxNetwork creates the Service and both Ingresses on stable hostnames', async () => {
    const first = await acts.ensureSandboxNetwork(ref);
    const second = await acts.ensureSandboxNetwork(ref);
    expect(second).toEqual(first);
    expect(first.publicUrl).toMatch(new RegExp(`^https://[a-z][a-z0-9]{11}\\.${DOMAIN.replace('.', '\\.')}$`));
    expect(first.ttydUrl).toMatch(new RegExp(`^https://[a-z][a-z0-9]{11}\\.${DOMAIN.replace('.', '\\.')}$`));
    expect(first.ttydUrl).not.toBe(first.publicUrl);

    const svc = (await get({ apiVersion: 'v1', kind: 'Service' }, names().service, ns))!;
    expectProjectLabels(svc, ref, names().statefulSet);
    expect(svc.spec.ports.map((p: { port: number }) => p.port)).toEqual([APP_PORT, TTYD_PORT]);
    expect(svc.spec.selector).toEqual({ app: names().statefulSet });

    const ING = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' };
    const app = (await get(ING, names().appIngress, ns))!;
    const ttyd = (await get(ING, names().ttydIngress, ns))!;
    for (const i of [app, ttyd]) {
      expectProjectLabels(i, ref, names().statefulSet);
      expect(i.spec.ingressClassName).toBe('nginx');
    }
    expect(`https://${app.spec.rules[0].host}`).toBe(first.publicUrl);
    expect(app.spec.rules[0].http.paths[0].backend.service).toEqual({ name: names().service, port: { number: APP_PORT } });
    expect(`https://${ttyd.spec.rules[0].host}`).toBe(first.ttydUrl);
    expect(ttyd.spec.rules[0].http.paths[0].backend.service).toEqual({ name: names().service, port: { number: TTYD_PORT } });
    expect(ttyd.metadata.annotations).toMatchObject({
      'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
      'nginx.ingress.kubernetes.io/websocket-services': names().service,
    });
    const obs = await acts.observeSandbox(ref);
    expect(obs).toMatchObject({ publicUrl: first.publicUrl, ttydUrl: first.ttydUrl });
  });

  it('an environment change replaces the env whole: a deleted key disappears from the pod', async () => {
    const podBefore = (await get({ apiVersion: 'v1', kind: 'Pod' }, `${names().statefulSet}-0`, ns))!;
    await db.environment.deleteMany({ where: { projectId: ref.projectId, key: 'FOO' } });
    await db.environment.update({ where: { projectId_key: { projectId: ref.projectId, key: 'API_SECRET' } }, data: { value: cipher.encrypt('rotated') } });
    await db.environment.create({ data: { projectId: ref.projectId, key: 'NEW_VAR', value: 'new' } });
    await acts.ensureSandbox(ref);
    await acts.ensureSandbox(ref);
    const sts = (await get(STS, names().statefulSet, ns))!;
    expect(envOf(sts)).not.toHaveProperty('FOO');
    expect(envOf(sts)).toMatchObject({ API_SECRET: 'rotated', NEW_VAR: 'new' });

    // The pod is rolled: a new pod with the new env becomes Ready.
    const pod = await waitFor(
      'a rolled pod',
      () => get({ apiVersion: 'v1', kind: 'Pod' }, `${names().statefulSet}-0`, ns),
      (p) => !!p && p.metadata.uid !== podBefore.metadata.uid && !p.metadata.deletionTimestamp,
    );
    const podEnv = Object.fromEntries((pod!.spec.containers[0].env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]));
    expect(podEnv).not.toHaveProperty('FOO');
    expect(podEnv).toMatchObject({ API_SECRET: 'rotated', NEW_VAR: 'new' });
    await waitFor('sandbox RUNNING after the roll', () => acts.observeSandbox(ref), (o) => o.status === 'RUNNING');
  });

  it('scales the sandbox and the database to 0 and back to 1', async () => {
    await acts.scaleSandbox(ref, 0);
    await acts.scaleSandbox(ref, 0);
    await acts.scaleDatabase(ref, 0);
    await acts.scaleDatabase(ref, 0);
    await waitFor('sandbox STOPPED', () => acts.observeSandbox(ref), (o) => o.status === 'STOPPED');
    expect(await admin.list({ apiVersion: 'v1', kind: 'Pod', namespace: ns }, { labelSelector: `${LABELS.projectId}=${ref.projectId}` })).toEqual([]);
    await waitFor('database STOPPED', () => acts.observeDatabase(ref), (o) => o.status === 'STOPPED');
    expect((await get(CLUSTER, names().cluster, ns))!.spec.componentSpecs[0].replicas).toBe(0);
    // Nothing is lost: the PVC stays.
    expect(await get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim' }, `home-${names().statefulSet}-0`, ns)).not.toBeNull();

    await acts.scaleSandbox(ref, 1);
    await acts.scaleSandbox(ref, 1);
    await acts.scaleDatabase(ref, 1);
    await acts.scaleDatabase(ref, 1);
    await waitFor('sandbox RUNNING', () => acts.observeSandbox(ref), (o) => o.status === 'RUNNING');
    await waitFor('database RUNNING', () => acts.observeDatabase(ref), (o) => o.status === 'RUNNING');
  });

  it('deleteProjectResources removes every labelled object, PVCs included; missing is success', async () => {
    await acts.deleteProjectResources(ref);
    await acts.deleteProjectResources(ref);
    const left = await waitFor('no labelled object left', () => labelledObjects(ns, ref.projectId), (l) => l.length === 0);
    expect(left).toEqual([]);
    expect((await acts.observeSandbox(ref)).status).toBe('TERMINATED');
    expect((await acts.observeDatabase(ref)).status).toBe('TERMINATED');
    // Deleting, scaling and observing what is gone all succeed.
    await acts.deleteProjectResources(ref);
    await acts.scaleSandbox(ref, 0);
    await acts.scaleDatabase(ref, 0);
  });
});

describe('error mapping', () => {
  it('an invalid object name is a non-retryable InvalidSpec (422) naming the object and field', async () => {
    const user = await newUser();
    const ref = await newProject(user.id);
    const bad = { ...ref, k8sName: 'Bad_Name' };
    await expectFailure(acts.ensureDatabase(bad), 'InvalidSpec', 'ServiceAccount', 'Bad_Name', 'metadata.name', '422');
  });

  it('a kubeconfig whose namespace does not exist gives a non-retryable NotFound naming it', async () => {
    const user = await newUser();
    const ref = await newProject(user.id);
    const kubeconfig = withNamespace(adminKubeconfig, 'no-such-namespace');
    await db.userConfig.create({ data: { userId: user.id, key: KUBECONFIG_KEY, value: cipher.encrypt(kubeconfig), isSecret: true } });
    await expectFailure(acts.ensureSandboxNetwork(ref), 'NotFound', 'no-such-namespace');
  });

  it('a namespace the kubeconfig may not write to is a non-retryable Forbidden', async () => {
    const user = await newUser();
    const ref = await newProject(user.id);
    await acts.ensureDatabase(ref); // provisions the user's namespace and kubeconfig
    const row = await db.userConfig.findUniqueOrThrow({ where: { userId_key: { userId: user.id, key: KUBECONFIG_KEY } } });
    const inDefault = withNamespace(cipher.decrypt(row.value), 'default');
    await db.userConfig.update({ where: { id: row.id }, data: { value: cipher.encrypt(inDefault) } });
    // The changed kubeconfig is picked up (the cached client is dropped).
    await expectFailure(acts.ensureSandboxNetwork(ref), 'Forbidden', 'Service default/', '403');
    await db.userConfig.update({ where: { id: row.id }, data: { value: cipher.encrypt(inDefault.replace(/"token": "[^"]+"/, '"token": "wrong"')) } });
    await expectFailure(acts.observeSandbox(ref), 'KubeconfigInvalid', '401');
    await db.userConfig.update({ where: { id: row.id }, data: { value: cipher.encrypt('clusters: [not a kubeconfig') } });
    await expectFailure(acts.observeSandbox(ref), 'KubeconfigInvalid', 'invalid');
    await db.userConfig.update({ where: { id: row.id }, data: { value: 'v1:garbage:x:y' } });
    await expectFailure(acts.observeSandbox(ref), 'KubeconfigInvalid', 'decrypt');
  });

  it('a user without kubeconfig and no embedded cluster is a non-retryable KubeconfigMissing', async () => {
    const user = await newUser();
    const ref = await newProject(user.id);
    const noAdmin = createKubernetesActivities({ db, cipher, clusterDomain: DOMAIN, logger });
    await expectFailure(noAdmin.observeSandbox(ref), 'KubeconfigMissing', user.id);
  });

  it('the API server stopped for a few seconds: calls fail retryably, then recover', async () => {
    const dataDir = process.env.TEST_CLUSTER_DATA_DIR!;
    const port = await freePort();
    let extra = await startExtraApiserver(dataDir, port);
    try {
      const user = await newUser();
      const ref = await newProject(user.id);
      // A kubeconfig pointing at the extra API server (same etcd, its own serving cert).
      const ca = fs.readFileSync(path.join(dataDir, 'apiserver-certs', `extra-${port}`, 'apiserver.crt'));
      const text = tokenKubeconfig({ name: 'extra', server: extra.server, ca, token: admin.config.token!(), namespace: 'default' });
      await db.userConfig.create({ data: { userId: user.id, key: KUBECONFIG_KEY, value: cipher.encrypt(text), isSecret: true } });
      await acts.ensureDatabase(ref);

      await extra.stop();
      const down = await acts.ensureDatabase(ref).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(down).not.toBeNull();
      expect(down).not.toBeInstanceOf(ApplicationFailure); // transient: Temporal retries it
      expect(down!.message).toContain('cannot reach the Kubernetes API server');

      // Retry as the activity retry policy would, while the API server comes back.
      let failures = 0;
      const restart = (async () => {
        await new Promise((r) => setTimeout(r, 3_000));
        extra = await startExtraApiserver(dataDir, port);
      })();
      const deadline = Date.now() + 90_000;
      for (;;) {
        try {
          await acts.observeDatabase(ref);
          break;
        } catch (err) {
          expect(err).not.toBeInstanceOf(ApplicationFailure);
          failures++;
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 300));
        }
      }
      await restart;
      expect(failures).toBeGreaterThan(0);
      await acts.ensureDatabase(ref);
      expect((await get(CLUSTER, resourceNames(ref.k8sName).cluster, 'default'))?.spec.componentSpecs[0].replicas).toBe(1);
      await acts.deleteProjectResources(ref);
    } finally {
      await extra.stop();
    }
  });
});
