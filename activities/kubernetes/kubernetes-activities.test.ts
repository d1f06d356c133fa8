// The Kubernetes activities against the real local API server (started once by the global
// setup: TEST_KUBECONFIG). Every object is read back and compared; every activity runs twice.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { jest } from '@jest/globals';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
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
import { KubeClient, loadAdminKubeconfig, type KubeObject } from './kube-client';
import { SharedWatches } from './shared-watches';
import { stringify as toYaml } from 'yaml';
import { APP_PORT, HOME_MOUNT_PATH, SECRET_DIGEST_ANNOTATION, TTYD_PORT, sandboxSecretName, sandboxStatefulSet } from './manifests';
import { DEFAULT_NAMESPACE_QUOTA, NAMESPACE_LIMITS_NAME, NAMESPACE_QUOTA_NAME, POD_SECURITY_LABELS, USER_NAMESPACE_ROLE_RULES } from './namespace-policy';
import { KUBECONFIG_KEY, userNamespace } from './user-clients';
import { tokenKubeconfig } from '../../server/kubeconfig';
import { createEgressPolicy } from '../../server/egress';
import { waitFor as waitUntil } from '../../test/wait';

/** The same kubeconfig with another namespace in its current context. */
function withNamespace(kubeconfig: string, namespace: string): string {
  const c = loadAdminKubeconfig(kubeconfig);
  return tokenKubeconfig({ name: 'ctx', server: c.server, ca: c.ca, token: c.token!, namespace });
}

const DOMAIN = 'sandbox.test';
const cipher = createCipher(randomBytes(32));
const logger = createLogger('k8s-test', 'silent');
const adminKubeconfig = fs.readFileSync(process.env.TEST_KUBECONFIG!, 'utf8');
const admin = new KubeClient(loadAdminKubeconfig(adminKubeconfig));

let database: { url: string; drop(): Promise<void> };
let db: Db;
let acts: KubernetesActivities;
// Short linger, so the test below sees the shared watches close.
const sharedWatches = new SharedWatches({ lingerMs: 1_500 });

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

type EnvEntry = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };

/** The literal env entries only (what anyone who may read the StatefulSet sees). */
function literalEnvOf(sts: Any): Record<string, string> {
  const env = sts.spec.template.spec.containers[0].env as EnvEntry[];
  return Object.fromEntries(env.filter((e) => e.valueFrom === undefined).map((e) => [e.name, e.value!]));
}

/** The env as the container gets it: literals plus secretKeyRefs resolved from the (real) Secret. */
async function envOf(obj: Any, namespace: string): Promise<Record<string, string>> {
  const spec = obj.kind === 'StatefulSet' ? obj.spec.template.spec : obj.spec;
  const out: Record<string, string> = {};
  for (const e of spec.containers[0].env as EnvEntry[]) {
    if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const secret = (await admin.get<Any>({ apiVersion: 'v1', kind: 'Secret', name: ref.name, namespace }))!;
      out[e.name] = Buffer.from(secret.data[ref.key], 'base64').toString('utf8');
    } else out[e.name] = e.value!;
  }
  return out;
}

/** Neither a value nor its base64 may appear anywhere in the object (as JSON or as `kubectl get -o yaml` shows it). */
function expectNoneOf(obj: unknown, values: string[]) {
  const json = JSON.stringify(obj);
  const yaml = toYaml(obj);
  for (const v of values) {
    for (const form of [v, Buffer.from(v).toString('base64'), encodeURIComponent(v)]) {
      expect(json.includes(form) ? `${form} found in the object` : 'absent').toBe('absent');
      expect(yaml.includes(form) ? `${form} found in the YAML` : 'absent').toBe('absent');
    }
  }
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
  acts = createKubernetesActivities({ db, cipher, clusterDomain: DOMAIN, adminKubeconfig, logger, requestTimeoutMs: 5_000, sharedWatches });
});

afterAll(async () => {
  sharedWatches.close();
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
    const userKc = loadAdminKubeconfig(cipher.decrypt(row!.value));
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

  it('the simulated KubeBlocks operator re-creates its Service and Secret deleted by hand (seen by its watches)', async () => {
    const svc = { apiVersion: 'v1', kind: 'Service', name: `${names().cluster}-postgresql`, namespace: ns };
    const secret = { apiVersion: 'v1', kind: 'Secret', name: names().clusterCredentialSecret, namespace: ns };
    const uids = { svc: (await admin.get(svc))!.metadata.uid, secret: (await admin.get(secret))!.metadata.uid };
    await admin.delete(svc);
    await admin.delete(secret);
    // Well before the 30 s resync: the deletions are watch events.
    const again = await waitFor('Service and Secret again', async () => [await admin.get(svc), await admin.get(secret)], (xs) => xs.every((x) => x !== null), 15_000);
    expect(again[0]!.metadata.uid).not.toBe(uids.svc);
    expect(again[1]!.metadata.uid).not.toBe(uids.secret);
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
    // Non-root (the image's agent user), no privilege escalation, no capabilities, seccomp.
    expect(tpl.spec.securityContext).toEqual({
      runAsUser: 1000,
      runAsGroup: 1000,
      runAsNonRoot: true,
      fsGroup: 1000,
      fsGroupChangePolicy: 'OnRootMismatch',
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.securityContext).toEqual({
      runAsNonRoot: true,
      privileged: false,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
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
    const databaseUrl = `postgresql://${d('username')}:${d('password')}@${d('host')}:${d('port')}/postgres`;
    // What the container gets, with the secret ones resolved through the env Secret.
    expect(await envOf(sts, ns)).toEqual({
      FOO: 'bar',
      API_SECRET: 's3cret',
      ANTHROPIC_API_KEY: 'sk-ant-test',
      ANTHROPIC_BASE_URL: 'https://aiproxy.example/v1',
      DATABASE_URL: databaseUrl,
      PROJECT_NAME: project.name,
      TTYD_ACCESS_TOKEN: 'ttyd-secret-token',
    });
    // Only the plain variables are literals; every secret one is a secretKeyRef into the env Secret.
    expect(literalEnvOf(sts)).toEqual({ FOO: 'bar', ANTHROPIC_BASE_URL: 'https://aiproxy.example/v1', PROJECT_NAME: project.name });
    const refs = (c.env as EnvEntry[]).filter((e) => e.valueFrom).map((e) => [e.name, e.valueFrom!.secretKeyRef]);
    expect(Object.fromEntries(refs)).toEqual(
      Object.fromEntries(['ANTHROPIC_API_KEY', 'API_SECRET', 'DATABASE_URL', 'TTYD_ACCESS_TOKEN'].map((k) => [k, { name: sandboxSecretName(ref), key: k }])),
    );
    // The StatefulSet as the API server returns it (`kubectl get statefulset -o yaml`)
    // holds no secret value anywhere, in any encoding, and the digest is not a plain hash of one.
    expectNoneOf(sts, ['s3cret', 'sk-ant-test', 'ttyd-secret-token', d('password'), databaseUrl]);
    expect(tpl.metadata.annotations[SECRET_DIGEST_ANNOTATION]).toMatch(/^[0-9a-f]{64}$/);
    if (process.env.FSA_DUMP_STATEFULSET) fs.writeFileSync(process.env.FSA_DUMP_STATEFULSET, toYaml(sts));
    // The env Secret: one per project, labelled like the other objects (so delete removes it), exactly the secret keys.
    const envSecret = (await get({ apiVersion: 'v1', kind: 'Secret' }, sandboxSecretName(ref), ns))!;
    expectProjectLabels(envSecret, ref, names().statefulSet);
    expect(envSecret.type).toBe('Opaque');
    expect(Object.keys(envSecret.data).sort()).toEqual(['ANTHROPIC_API_KEY', 'API_SECRET', 'DATABASE_URL', 'TTYD_ACCESS_TOKEN']);
    // The pod the controller made references the Secret too (no literal there either).
    const pod0 = await waitFor('the pod', () => get({ apiVersion: 'v1', kind: 'Pod' }, `${names().statefulSet}-0`, ns), (p) => !!p);
    expectNoneOf(pod0!.spec, ['s3cret', 'sk-ant-test', 'ttyd-secret-token', d('password')]);

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

  it('an Ingress host edited in the user\'s cluster is never published and is replaced on the next ensure', async () => {
    const before = await acts.observeSandbox(ref);
    const ING = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' };
    // The user points both Ingresses at addresses of their choosing (their own kubeconfig can).
    for (const [name, host] of [
      [names().ttydIngress, '169.254.169.254.nip.io'],
      [names().appIngress, `x.${new URL(before.publicUrl!).host}`],
    ] as const) {
      const ing = (await get(ING, name, ns))!;
      await admin.mergePatch({ ...ING, name, namespace: ns }, { spec: { rules: [{ ...ing.spec.rules[0], host }] } });
    }
    const obs = await acts.observeSandbox(ref);
    expect(obs.ttydUrl).toBeNull();
    expect(obs.publicUrl).toBeNull();
    const again = await acts.ensureSandboxNetwork(ref);
    for (const url of [again.publicUrl, again.ttydUrl]) expect(url).toMatch(new RegExp(`^https://[a-z][a-z0-9]{11}\\.${DOMAIN.replace('.', '\\.')}$`));
    expect((await get(ING, names().ttydIngress, ns))!.spec.rules[0].host).toBe(new URL(again.ttydUrl).host);
    expect(await acts.observeSandbox(ref)).toMatchObject(again);
  });

  it('an environment change replaces the env whole: a deleted key disappears from the pod', async () => {
    const podBefore = (await get({ apiVersion: 'v1', kind: 'Pod' }, `${names().statefulSet}-0`, ns))!;
    await db.environment.deleteMany({ where: { projectId: ref.projectId, key: 'FOO' } });
    await db.environment.update({ where: { projectId_key: { projectId: ref.projectId, key: 'API_SECRET' } }, data: { value: cipher.encrypt('rotated') } });
    await db.environment.create({ data: { projectId: ref.projectId, key: 'NEW_VAR', value: 'new' } });
    await acts.ensureSandbox(ref);
    await acts.ensureSandbox(ref);
    const sts = (await get(STS, names().statefulSet, ns))!;
    expect(await envOf(sts, ns)).not.toHaveProperty('FOO');
    expect(await envOf(sts, ns)).toMatchObject({ API_SECRET: 'rotated', NEW_VAR: 'new' });
    expectNoneOf(sts, ['rotated', 's3cret']);

    // The pod is rolled: a new pod with the new env becomes Ready.
    const pod = await waitFor(
      'a rolled pod',
      () => get({ apiVersion: 'v1', kind: 'Pod' }, `${names().statefulSet}-0`, ns),
      (p) => !!p && p.metadata.uid !== podBefore.metadata.uid && !p.metadata.deletionTimestamp,
    );
    const podEnv = await envOf(pod!, ns);
    expect(podEnv).not.toHaveProperty('FOO');
    expect(podEnv).toMatchObject({ API_SECRET: 'rotated', NEW_VAR: 'new' });
    await waitFor('sandbox RUNNING after the roll', () => acts.observeSandbox(ref), (o) => o.status === 'RUNNING');
  });

  it('a change of a secret value alone rolls the pod (the template carries only its digest)', async () => {
    const podBefore = (await get({ apiVersion: 'v1', kind: 'Pod' }, `${names().statefulSet}-0`, ns))!;
    const stsBefore = (await get(STS, names().statefulSet, ns))!;
    const digestBefore = stsBefore.spec.template.metadata.annotations[SECRET_DIGEST_ANNOTATION];
    await db.environment.update({ where: { projectId_key: { projectId: ref.projectId, key: 'API_SECRET' } }, data: { value: cipher.encrypt('rotated-again') } });
    await acts.ensureSandbox(ref);
    const sts = (await get(STS, names().statefulSet, ns))!;
    // The env entries are the same references; only the digest changed.
    expect(sts.spec.template.spec.containers[0].env).toEqual(stsBefore.spec.template.spec.containers[0].env);
    expect(sts.spec.template.metadata.annotations[SECRET_DIGEST_ANNOTATION]).not.toBe(digestBefore);
    expectNoneOf(sts, ['rotated-again']);
    const pod = await waitFor(
      'a pod rolled for the secret',
      () => get({ apiVersion: 'v1', kind: 'Pod' }, `${names().statefulSet}-0`, ns),
      (p) => !!p && p.metadata.uid !== podBefore.metadata.uid && !p.metadata.deletionTimestamp,
    );
    expect((await envOf(pod!, ns)).API_SECRET).toBe('rotated-again');
    // Nor does the revision history the StatefulSet controller keeps of the pod template.
    const revisions = await admin.request<{ items: Any[] }>('GET', `/apis/apps/v1/namespaces/${ns}/controllerrevisions`, {
      query: { labelSelector: `${LABELS.projectId}=${ref.projectId}` },
    });
    expect(revisions.items.length).toBeGreaterThan(1);
    expectNoneOf(revisions.items, ['rotated-again', 'rotated', 's3cret', 'sk-ant-test', 'ttyd-secret-token']);
    // Ensuring again with nothing changed changes nothing.
    const generation = sts.metadata.generation;
    await acts.ensureSandbox(ref);
    expect((await get(STS, names().statefulSet, ns))!.metadata.generation).toBe(generation);
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

  it('awaitProjectChange watches: at once when already different, on a change by hand, after maxWaitMs without one, and ends on cancel', async () => {
    const stsKey = { ...STS, name: names().statefulSet, namespace: ns };
    // Already not one of the allowed statuses: returns at once with full observations.
    expect(await acts.awaitProjectChange(ref, { sandbox: ['STOPPED'], database: ['RUNNING'], maxWaitMs: 60_000 })).toEqual({
      changed: true,
      sandbox: expect.objectContaining({ status: 'RUNNING', ttydUrl: expect.stringMatching(/^https:\/\//) }),
      database: expect.objectContaining({ status: 'RUNNING', port: 5432 }),
    });
    // Nothing happens: the wait ends by itself, unchanged.
    expect(await acts.awaitProjectChange(ref, { sandbox: ['RUNNING'], maxWaitMs: 1_000 })).toEqual({ changed: false, sandbox: expect.objectContaining({ status: 'RUNNING' }) });

    // Scaled to 0 by hand while watching.
    const scaled = acts.awaitProjectChange(ref, { sandbox: ['RUNNING'], maxWaitMs: 120_000 });
    await admin.mergePatch(stsKey, { spec: { replicas: 0 } });
    const seen = await scaled;
    expect(seen.changed).toBe(true);
    expect(['STOPPING', 'STOPPED']).toContain(seen.sandbox!.status);
    await acts.scaleSandbox(ref, 1);
    await waitFor('sandbox RUNNING', () => acts.observeSandbox(ref), (o) => o.status === 'RUNNING');

    // The pod deleted by hand: seen before the controller has a new one ready.
    const killed = acts.awaitProjectChange(ref, { sandbox: ['RUNNING'], maxWaitMs: 120_000 });
    await admin.delete({ apiVersion: 'v1', kind: 'Pod', name: `${names().statefulSet}-0`, namespace: ns });
    expect(await killed).toMatchObject({ changed: true, sandbox: { status: expect.stringMatching(/^(STARTING|RUNNING)$/) } });
    await waitFor('sandbox RUNNING again', () => acts.observeSandbox(ref), (o) => o.status === 'RUNNING');

    // Cancelled (as the workflow does when a signal ends the wait): ends at once.
    const env = new MockActivityEnvironment();
    const waiting = env.run(acts.awaitProjectChange, ref, { sandbox: ['RUNNING' as const], database: ['RUNNING' as const], maxWaitMs: 600_000 });
    setTimeout(() => env.cancel(), 500);
    await expect(waiting).rejects.toBeInstanceOf(CancelledFailure);
  });

  it("the waits of one user's projects share one watch per kind, each wakes only for its own project, and the watches close after the linger", async () => {
    const other = await newProject(ref.ownerId, 'Other App');
    const stsKey = { ...STS, name: names().statefulSet, namespace: ns };
    await waitFor('the earlier waits\' watches closed', async () => sharedWatches.size, (n) => n === 0, 10_000);
    // The other project has no objects: TERMINATED is no news for it.
    const otherWait = acts.awaitProjectChange(other, { sandbox: ['TERMINATED'], database: ['TERMINATED'], maxWaitMs: 8_000 });
    const ownWait = acts.awaitProjectChange(ref, { sandbox: ['RUNNING'], database: ['RUNNING'], maxWaitMs: 60_000 });
    // StatefulSets, pods, Clusters and Ingresses of the namespace: four watches for both waits.
    await waitFor('four shared watches', async () => sharedWatches.size, (n) => n === 4, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    const requests = jest.spyOn(KubeClient.prototype, 'request');
    await admin.mergePatch(stsKey, { spec: { replicas: 0 } });
    try {
      expect(await ownWait).toMatchObject({ changed: true, sandbox: { status: expect.stringMatching(/^(STOPPING|STOPPED)$/) } });
      // The change is answered from the sets that showed it: the only read is the
      // database's credentials Secret (Secrets are not watched).
      const reads = requests.mock.calls.filter(([method, p]) => method === 'GET' && new RegExp(`/${ref.k8sName}(-[a-z-]+)?$`).test(p)).map(([, p]) => p);
      expect(reads).toEqual([expect.stringMatching(new RegExp(`/secrets/${names().clusterCredentialSecret}$`))]);
    } finally {
      requests.mockRestore();
    }
    // The other project's wait did not wake for this project's change.
    expect(await otherWait).toEqual({ changed: false, sandbox: expect.objectContaining({ status: 'TERMINATED' }), database: expect.objectContaining({ status: 'TERMINATED' }) });
    expect(sharedWatches.size).toBe(4);
    await waitFor('the watches closed after the linger', async () => sharedWatches.size, (n) => n === 0, 10_000);
    await acts.scaleSandbox(ref, 1);
    await waitFor('sandbox RUNNING', () => acts.observeSandbox(ref), (o) => o.status === 'RUNNING');
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
      const text = tokenKubeconfig({ name: 'extra', server: extra.server, ca, token: admin.config.token!, namespace: 'default' });
      await db.userConfig.create({ data: { userId: user.id, key: KUBECONFIG_KEY, value: cipher.encrypt(text), isSecret: true } });
      // The extra API server is on loopback: allow-listed at its exact address, as an operator would.
      const acts = createKubernetesActivities({
        db,
        cipher,
        clusterDomain: DOMAIN,
        adminKubeconfig,
        logger,
        requestTimeoutMs: 5_000,
        egress: createEgressPolicy({ trustedServers: [admin.server, extra.server] }),
      });
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

describe('the namespace the platform provisions for a user', () => {
  let ns: string;
  const dryRunCreate = (plural: string, body: unknown) =>
    admin.request<Any>('POST', `/api/v1/namespaces/${ns}/${plural}`, { body, query: { dryRun: 'All' } });
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => ({ status: 0, message: 'accepted' }),
      (e: { status?: number; message?: string }) => ({ status: e.status, message: e.message ?? '' }),
    );

  beforeAll(async () => {
    const user = await newUser();
    const ref = await newProject(user.id);
    ns = userNamespace(user.id);
    await acts.ensureDatabase(ref); // provisions the namespace
  });

  it('carries the pod-security labels: enforce baseline, warn and audit restricted', async () => {
    const namespace = (await admin.get<Any>({ apiVersion: 'v1', kind: 'Namespace', name: ns }))!;
    expect(namespace.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'baseline',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
      'app.kubernetes.io/managed-by': 'fullstackagent',
    });
    expect(namespace.metadata.labels).toMatchObject(POD_SECURITY_LABELS);
    // ...enforced by the API server: a privileged pod is refused, a plain one is not.
    const container = { name: 'c', image: RUNTIME_IMAGE };
    const privileged = await refusal(
      dryRunCreate('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'evil' }, spec: { containers: [{ ...container, securityContext: { privileged: true } }] } }),
    );
    expect(privileged.status).toBe(403);
    expect(privileged.message).toContain('violates PodSecurity "baseline:latest"');
    const hostPath = await refusal(
      dryRunCreate('pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'evil2' },
        spec: { hostNetwork: true, containers: [container], volumes: [{ name: 'root', hostPath: { path: '/' } }] },
      }),
    );
    expect(hostPath.status).toBe(403);
    expect(hostPath.message).toMatch(/hostNetwork|hostPath/);
  });

  it('has a ResourceQuota (computed by the controller) and a LimitRange that gives a pod without resources some', async () => {
    const quota = await waitFor(
      'the quota status',
      () => admin.get<Any>({ apiVersion: 'v1', kind: 'ResourceQuota', name: NAMESPACE_QUOTA_NAME, namespace: ns }),
      (q) => !!q?.status?.hard && !!q.status.used,
    );
    expect(quota!.spec.hard).toEqual(DEFAULT_NAMESPACE_QUOTA);
    expect(quota!.status.used['services.nodeports']).toBe('0');
    const limits = (await admin.get<Any>({ apiVersion: 'v1', kind: 'LimitRange', name: NAMESPACE_LIMITS_NAME, namespace: ns }))!;
    expect(limits.spec.limits.map((l: { type: string }) => l.type)).toEqual(['Container', 'PersistentVolumeClaim']);

    const pod = await dryRunCreate('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'plain' }, spec: { containers: [{ name: 'c', image: RUNTIME_IMAGE }] } });
    expect(pod.spec.containers[0].resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '512Mi' } });
    // A container may not ask for more than the maximum, and no NodePort is allowed.
    const huge = await refusal(
      dryRunCreate('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'huge' }, spec: { containers: [{ name: 'c', image: RUNTIME_IMAGE, resources: { limits: { cpu: '64', memory: '1Ti' } } }] } }),
    );
    expect(huge.status).toBe(403);
    expect(huge.message).toMatch(/maximum cpu usage per Container is 4/);
    const nodePort = await refusal(
      dryRunCreate('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'np' }, spec: { type: 'NodePort', ports: [{ port: 80 }] } }),
    );
    expect(nodePort.status).toBe(403);
    expect(nodePort.message).toMatch(/exceeded quota.*services\.nodeports/);
  });

  it('USER_NAMESPACE_ROLE_RULES let a namespace admin do its work but not lift the quota', async () => {
    const scratch = `fsa-rbac-${randomBytes(3).toString('hex')}`;
    await admin.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: scratch } });
    try {
      await admin.apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'u', namespace: scratch }, rules: USER_NAMESPACE_ROLE_RULES });
      await admin.apply({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'u', namespace: scratch },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'u' },
        subjects: [{ kind: 'ServiceAccount', name: 'u', namespace: scratch }],
      });
      const can = async (verb: string, group: string, resource: string) => {
        const review = await admin.request<Any>('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            spec: { user: `system:serviceaccount:${scratch}:u`, resourceAttributes: { namespace: scratch, verb, group, resource } },
          },
        });
        return review.status.allowed === true;
      };
      // The authorizer reads RBAC from its informer cache: a Role just written takes a moment to count.
      await waitFor('the new RoleBinding to reach the authorizer', () => can('create', 'apps', 'statefulsets'), (ok) => ok, 30_000);
      for (const [group, resource] of [
        ['apps', 'statefulsets'],
        ['', 'secrets'],
        ['', 'services'],
        ['', 'pods'],
        ['', 'persistentvolumeclaims'],
        ['networking.k8s.io', 'ingresses'],
        ['apps.kubeblocks.io', 'clusters'],
        ['rbac.authorization.k8s.io', 'roles'],
      ]) {
        expect(`${resource}: ${await can('create', group!, resource!)}`).toBe(`${resource}: true`);
      }
      expect(await can('list', '', 'resourcequotas')).toBe(true);
      for (const verb of ['delete', 'update', 'patch', 'create']) {
        expect(`${verb} quota: ${await can(verb, '', 'resourcequotas')}`).toBe(`${verb} quota: false`);
        expect(`${verb} limits: ${await can(verb, '', 'limitranges')}`).toBe(`${verb} limits: false`);
      }
      expect(await can('escalate', 'rbac.authorization.k8s.io', 'roles')).toBe(false);
    } finally {
      await admin.delete({ apiVersion: 'v1', kind: 'Namespace', name: scratch });
    }
  });
});

describe('the sandbox pod meets Pod Security "restricted"', () => {
  it('runs in a namespace that enforces restricted, where a pod without a security context is refused', async () => {
    const ns = `fsa-restricted-${randomBytes(3).toString('hex')}`;
    await admin.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } });
    try {
      const bare = await admin
        .request('POST', `/api/v1/namespaces/${ns}/pods`, {
          body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bare' }, spec: { containers: [{ name: 'c', image: RUNTIME_IMAGE }] } },
          query: { dryRun: 'All' },
        })
        .then(
          () => 'accepted',
          (e: Error) => e.message,
        );
      expect(bare).toContain('violates PodSecurity "restricted:latest"');

      const ref: ProjectRef = { projectId: `restricted-${randomBytes(3).toString('hex')}`, ownerId: 'nobody', k8sName: projectResourceName('restricted', Math.random) };
      const sts = sandboxStatefulSet({
        ref,
        namespace: ns,
        image: RUNTIME_IMAGE,
        env: [{ name: 'PROJECT_NAME', value: 'x' }],
        secretDigest: '0'.repeat(64),
        cpuRequest: '20m',
        memoryRequest: '25Mi',
        replicas: 1,
      });
      await admin.apply(sts);
      // The StatefulSet controller's pod passed admission (a refused one would never appear).
      const pod = await waitFor('the sandbox pod in the restricted namespace', () => admin.get<Any>({ apiVersion: 'v1', kind: 'Pod', name: `${ref.k8sName}-0`, namespace: ns }), (p) => !!p);
      expect(pod!.spec.securityContext.runAsNonRoot).toBe(true);
    } finally {
      await admin.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns });
    }
  });
});

describe('a project whose database row is gone', () => {
  it('gets no cluster objects (nor a namespace): every creating activity fails non-retryably', async () => {
    const user = await newUser();
    const ref = await newProject(user.id);
    await db.project.delete({ where: { id: ref.projectId } });
    for (const p of [acts.ensureDatabase(ref), acts.ensureSandbox(ref), acts.ensureSandboxNetwork(ref), acts.scaleSandbox(ref, 1), acts.scaleDatabase(ref, 1)]) {
      await expectFailure(p, 'NotFound', ref.projectId, 'no longer exists', 'refusing');
    }
    // Not even the user's namespace was provisioned for it.
    expect(await db.userConfig.count({ where: { userId: user.id } })).toBe(0);
    expect(await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: userNamespace(user.id) })).toBeNull();
  });

  it('cannot be resurrected by a late activity, and delete still removes everything', async () => {
    const user = await newUser();
    const ref = await newProject(user.id);
    const ns = userNamespace(user.id);
    await acts.ensureDatabase(ref);
    await acts.ensureSandboxNetwork(ref);
    await db.project.delete({ where: { id: ref.projectId } });
    await expectFailure(acts.ensureSandbox(ref), 'NotFound', 'no longer exists', 'create its sandbox');
    await expectFailure(acts.ensureDatabase(ref), 'NotFound', 'no longer exists');
    expect(await get(STS, resourceNames(ref.k8sName).statefulSet, ns)).toBeNull();
    expect(await get({ apiVersion: 'v1', kind: 'Secret' }, sandboxSecretName(ref), ns)).toBeNull();
    // Stopping, observing and deleting need no row.
    await acts.scaleSandbox(ref, 0);
    await acts.scaleDatabase(ref, 0);
    await acts.observeSandbox(ref);
    await acts.deleteProjectResources(ref);
    await acts.deleteProjectResources(ref);
    expect(await waitFor('no labelled object left', () => labelledObjects(ns, ref.projectId), (l) => l.length === 0)).toEqual([]);
  });
});
