// The local Kubernetes cluster (the embedded default): etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler, built once by cluster/build.sh into CACHE_DIR,
// with either a real node (cluster/node.ts: containerd, kubelet, kube-proxy, CoreDNS; pods
// really run) or a kwok node (simulated pods, for tests and scale benchmarks), plus two
// in-process simulators (KubeBlocks operator, volume provisioner). Free ports, so tests and
// the platform run side by side.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { freePort, startProcess, waitForPort, type ManagedProcess } from '../scripts/services/process';
import { KubeApiError, KubeClient, keyOf, loadAdminKubeconfig, type KubeObject } from '../activities/kubernetes/kube-client';
import { INGRESS_CLASS, corednsRbac, fakeNode, ingressClass, ingressRbac, kubeblocksClusterCrd } from './manifests';
import { IDENTITIES, ensureKubeletClientCert, ensurePki, pkiPaths, tokenKubeconfigFile } from './pki';
import { NODE_BINARIES, checkNodePrerequisites, startRealNode, type RealNode } from './node';
import { NODE_NAME } from './node-config';
import { ensureImages } from './images';
import { startKubeblocksOperatorSimulator } from './simulators/kubeblocks-operator';
import { startVolumeProvisionerSimulator } from './simulators/volume-provisioner';
import type { Controller } from './simulators/controller';

/** Keep in step with cluster/build.sh. */
export const K8S_VERSION = 'v1.35.8';
export const BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok', ...NODE_BINARIES] as const;

/** `real`: pods run in containers on this machine (needs root); `simulated`: kwok marks them Running. */
export type NodeMode = 'real' | 'simulated';

export interface LocalClusterOptions {
  /** Where cluster/build.sh put the binaries: <cacheDir>/k8s/<version>/bin. */
  cacheDir: string;
  /** etcd data, certificates, tokens, logs and the admin kubeconfig. */
  dataDir: string;
  /** Overrides the binary folder (env K8S_BIN_DIR). */
  binDir?: string;
  /** Simulated KubeBlocks phase duration. */
  phaseDelayMs?: number;
  /** Which node runs the pods (default `simulated`). */
  node?: NodeMode;
  /** Loopback port of the real node's ingress controller (default: a free port). */
  ingressPort?: number;
  log?: (msg: string) => void;
}

export interface LocalCluster {
  adminKubeconfigPath: string;
  server: string;
  dataDir: string;
  /** The kube-apiserver process (for callers that track processes). */
  apiserver: ManagedProcess;
  node: NodeMode;
  /** The real node, when `node` is `real`. */
  realNode?: RealNode;
  stop(): Promise<void>;
}

/** Written to <dataDir>/cluster.json while the cluster runs (cli status, extra API servers). */
export interface ClusterState {
  pid: number;
  server: string;
  etcdUrl: string;
  binDir: string;
  adminKubeconfigPath: string;
  node: NodeMode;
  startedAt: string;
}

export function binDirFor(cacheDir: string, override = process.env.K8S_BIN_DIR): string {
  return override || path.join(cacheDir, 'k8s', K8S_VERSION, 'bin');
}

/** Throws an error naming every missing binary and the command that builds them. */
export function checkBinaries(binDir: string): void {
  const missing = BINARIES.filter((b) => !fs.existsSync(path.join(binDir, b)));
  if (missing.length) {
    throw new Error(
      `local Kubernetes: missing ${missing.join(', ')} in ${binDir}. Build them once (about 12 min on 2 cores, from the Go module proxy) with:\n` +
        `  bash cluster/build.sh\n(or point K8S_BIN_DIR at a folder that has ${BINARIES.join(', ')})`,
    );
  }
}

function paths(dataDir: string) {
  return {
    etcd: path.join(dataDir, 'etcd'),
    certs: path.join(dataDir, 'apiserver-certs'),
    logs: path.join(dataDir, 'logs'),
    ...pkiPaths(dataDir),
    adminKubeconfig: path.join(dataDir, 'admin.kubeconfig'),
    state: path.join(dataDir, 'cluster.json'),
    ports: path.join(dataDir, 'ports.json'),
  };
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * Free ports on the first start, the same ones on later starts: the kubeconfigs handed to
 * users (stored in the platform's database) name the API server's address.
 */
async function stablePorts(file: string): Promise<{ etcdPort: number; etcdPeerPort: number; apiPort: number }> {
  if (fs.existsSync(file)) {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { etcdPort: number; etcdPeerPort: number; apiPort: number };
    for (const [name, port] of Object.entries(saved)) {
      if (!(await portIsFree(port))) {
        throw new Error(
          `local Kubernetes: port ${port} (${name}, kept from the last start in ${file}) is in use. ` +
            `Stop what holds it (is the cluster already running? \`npx tsx cluster/cli.ts status\`), ` +
            `or delete ${path.dirname(file)} to start a fresh cluster (stored user kubeconfigs then stop working).`,
        );
      }
    }
    return saved;
  }
  const [etcdPort, etcdPeerPort, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const ports = { etcdPort: etcdPort!, etcdPeerPort: etcdPeerPort!, apiPort: apiPort! };
  fs.writeFileSync(file, JSON.stringify(ports));
  return ports;
}

/** envtest-style flags; `certDir` gets a self-signed serving certificate generated by the API server. */
export function apiserverArgs(o: { dataDir: string; etcdUrl: string; port: number; certDir: string; realNode?: boolean }): string[] {
  const p = paths(o.dataDir);
  // Logs and exec reach the kubelet by the node's InternalIP (its name does not resolve),
  // with a client certificate the kubelet trusts.
  const kubelet = o.realNode
    ? ['--kubelet-preferred-address-types=InternalIP', `--kubelet-client-certificate=${p.kubeletClientCert}`, `--kubelet-client-key=${p.kubeletClientKey}`]
    : [];
  return [
    `--etcd-servers=${o.etcdUrl}`,
    `--cert-dir=${o.certDir}`,
    `--secure-port=${o.port}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    // A /16: the scale benchmark creates a Service per project (a /24 filled up at N = 200).
    '--service-cluster-ip-range=10.0.0.0/16',
    '--allow-privileged=true',
    // Node: the kubelet's token may touch only its own node and pods.
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction',
    `--token-auth-file=${p.tokenFile}`,
    `--service-account-key-file=${p.saPub}`,
    `--service-account-signing-key-file=${p.saKey}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    '--enable-priority-and-fairness=false',
    '--profiling=false',
    '--event-ttl=30m',
    // Endpoints may not be loopback addresses, so the `kubernetes` Service gets none.
    '--endpoint-reconciler-type=none',
    ...kubelet,
  ];
}

function httpsGet(url: string, token: string, timeoutMs = 2_000): Promise<number> {
  return new Promise((resolve) => {
    const req = https.get(url, { headers: { Authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Waits until GET /readyz answers 200; fails early (with the log's tail) if the process exits. */
export async function waitForApiserver(server: string, token: string, proc: ManagedProcess, logFile: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) {
      throw new Error(`kube-apiserver exited with code ${proc.child.exitCode}; last lines of ${logFile}:\n${tail(logFile)}`);
    }
    if ((await httpsGet(`${server}/readyz`, token)) === 200) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`kube-apiserver at ${server} was not ready within ${timeoutMs} ms; see ${logFile}:\n${tail(logFile)}`);
}

async function applyRetrying(client: KubeClient, obj: KubeObject, attempts = 50): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await client.apply(obj);
      return;
    } catch (err) {
      // Right after /readyz the RBAC bootstrap or a CRD may still be settling.
      if (i >= attempts || (err instanceof KubeApiError && err.status < 500 && err.status !== 404 && err.status !== 409)) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** An IngressClass's controller cannot change: a data folder from an older version gets it recreated. */
async function applyIngressClass(client: KubeClient): Promise<void> {
  try {
    await applyRetrying(client, ingressClass);
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 422)) throw err;
    await client.delete(keyOf(ingressClass));
    await applyRetrying(client, ingressClass);
  }
}

async function waitForCrd(client: KubeClient, name: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const crd = await client.get<KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      name,
    });
    if (crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`CRD ${name} was not Established within ${timeoutMs} ms`);
}

export async function startLocalCluster(opts: LocalClusterOptions): Promise<LocalCluster> {
  const log = opts.log ?? ((m: string) => console.log(m));
  const t0 = Date.now();
  const binDir = opts.binDir ?? binDirFor(opts.cacheDir);
  checkBinaries(binDir);
  const dataDir = path.resolve(opts.dataDir);
  const p = paths(dataDir);
  for (const d of [p.etcd, p.certs, p.logs]) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  const tokens = ensurePki(dataDir);
  const token = tokens.admin;
  const mode: NodeMode = opts.node ?? 'simulated';
  if (mode === 'real') {
    checkNodePrerequisites(binDir);
    ensureKubeletClientCert(dataDir);
  }
  const bin = (name: string) => path.join(binDir, name);
  const logFile = (name: string) => path.join(p.logs, `${name}.log`);

  const procs: ManagedProcess[] = [];
  const loops: Controller[] = [];
  let realNode: RealNode | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(loops.map((l) => l.stop()));
    // Controllers first (so nothing recreates the pods the node stops), then the node, then
    // the API server and etcd.
    for (const proc of procs.slice(2).reverse()) await proc.stop();
    if (realNode) await realNode.stop();
    for (const proc of procs.slice(0, 2).reverse()) await proc.stop();
    try {
      const state = JSON.parse(fs.readFileSync(p.state, 'utf8')) as ClusterState;
      if (state.pid === process.pid) fs.rmSync(p.state);
    } catch {
      /* already gone */
    }
  };

  try {
    const { etcdPort, etcdPeerPort, apiPort } = await stablePorts(p.ports);
    const [cmPort, schedPort] = await Promise.all([freePort(), freePort()]);
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcd = startProcess(
      'etcd',
      bin('etcd'),
      [
        '--name=fsa-local',
        `--data-dir=${p.etcd}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-cluster=fsa-local=http://127.0.0.1:${etcdPeerPort}`,
        // A throwaway dev store: skipping fsync keeps a 2-core machine responsive.
        '--unsafe-no-fsync=true',
        '--quota-backend-bytes=4294967296',
        '--log-level=warn',
      ],
      { logFile: logFile('etcd') },
    );
    procs.push(etcd);
    await waitForPort(etcdPort, 30_000, `etcd (log: ${logFile('etcd')})`, etcd);

    const server = `https://127.0.0.1:${apiPort}`;
    const apiserver = startProcess('kube-apiserver', bin('kube-apiserver'), apiserverArgs({ dataDir, etcdUrl, port: apiPort, certDir: p.certs, realNode: mode === 'real' }), {
      logFile: logFile('kube-apiserver'),
    });
    procs.push(apiserver);
    await waitForApiserver(server, token, apiserver, logFile('kube-apiserver'));
    log(`[cluster] kube-apiserver ready at ${server} after ${Date.now() - t0} ms`);

    // The self-signed serving certificate bundle (leaf + its CA) doubles as the CA for clients.
    const caPem = fs.readFileSync(path.join(p.certs, 'apiserver.crt'), 'utf8');
    const caFile = path.join(p.pki, 'ca.crt');
    fs.writeFileSync(caFile, caPem);
    fs.writeFileSync(p.adminKubeconfig, tokenKubeconfigFile(server, caPem, IDENTITIES.admin[0], token), { mode: 0o600 });
    const kubeconfigArg = `--kubeconfig=${p.adminKubeconfig}`;
    const delegated = [`--authentication-kubeconfig=${p.adminKubeconfig}`, `--authorization-kubeconfig=${p.adminKubeconfig}`];

    procs.push(
      startProcess(
        'kube-controller-manager',
        bin('kube-controller-manager'),
        [
          kubeconfigArg,
          ...delegated,
          '--leader-elect=false',
          '--bind-address=127.0.0.1',
          `--secure-port=${cmPort}`,
          `--cert-dir=${path.join(p.certs, 'controller-manager')}`,
          `--service-account-private-key-file=${p.saKey}`,
          `--root-ca-file=${caFile}`,
          '--use-service-account-credentials=false',
          '--cluster-name=fsa-local',
          '--concurrent-statefulset-syncs=10',
          // The client's default 20 requests/s (burst 30) makes 1,000 StatefulSets created
          // together (scripts/bench-lifecycle.ts) wait minutes for their pods.
          '--kube-api-qps=200',
          '--kube-api-burst=400',
          // On a loaded 2-core machine kwok's heartbeat can lag; a Node marked NotReady
          // turns its pods unready for good (kwok does not make them Ready again).
          '--node-monitor-grace-period=5m',
          '--controllers=*',
        ],
        { logFile: logFile('kube-controller-manager') },
      ),
      startProcess(
        'kube-scheduler',
        bin('kube-scheduler'),
        [kubeconfigArg, ...delegated, '--leader-elect=false', '--bind-address=127.0.0.1', `--secure-port=${schedPort}`, `--cert-dir=${path.join(p.certs, 'scheduler')}`],
        { logFile: logFile('kube-scheduler') },
      ),
    );

    if (mode === 'simulated') {
      procs.push(
        startProcess(
          'kwok',
          bin('kwok'),
          [
            kubeconfigArg,
            '--manage-all-nodes=false',
            '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
            '--node-ip=10.240.0.2',
            '--cidr=10.244.0.1/16',
            // Heartbeat through a Lease (renewed every 10 s), as a kubelet does.
            '--node-lease-duration-seconds=40',
            '--v=WARN',
          ],
          { logFile: logFile('kwok') },
        ),
      );
    }

    // A controller that dies leaves pods unscheduled or never Ready: say so, with its log.
    for (const proc of procs.slice(2)) {
      proc.child.once('exit', (code, signal) => {
        if (!stopped) log(`[cluster] ${proc.name} exited unexpectedly (${code ?? signal}); last lines of ${logFile(proc.name)}:\n${tail(logFile(proc.name))}`);
      });
    }
    const admin = new KubeClient(loadAdminKubeconfig(fs.readFileSync(p.adminKubeconfig, 'utf8')), { fieldManager: 'fsa-local-cluster' });
    await Promise.all([applyRetrying(admin, kubeblocksClusterCrd), applyIngressClass(admin)]);
    // A data folder keeps the Node objects of an earlier start in the other mode: remove
    // them, or the scheduler would place pods on a node that is not there.
    let databaseImage: string | undefined;
    const nodeKey = (name: string) => ({ apiVersion: 'v1', kind: 'Node', name });
    if (mode === 'simulated') {
      await admin.delete(nodeKey(NODE_NAME));
      await applyRetrying(admin, fakeNode);
      // Node status is a subresource: set capacity there too so the scheduler sees room for pods.
      await admin.mergePatch(nodeKey(fakeNode.metadata.name), { status: fakeNode.status }, 'status');
    } else {
      await admin.delete(nodeKey(fakeNode.metadata.name));
      for (const obj of [...corednsRbac, ...ingressRbac]) await applyRetrying(admin, obj);
      const images = await ensureImages({ cacheDir: opts.cacheDir, log });
      databaseImage = images.postgresql.ref;
      realNode = await startRealNode({
        dataDir: path.join(dataDir, 'node'),
        binDir,
        server,
        caPem,
        caFile,
        tokens,
        ingressPort: opts.ingressPort ?? (await freePort()),
        ingressClass: INGRESS_CLASS,
        kubeletClientCa: p.nodeCaCert,
        images: [images.pause, images.runtime, images.postgresql],
        sandboxImage: images.pause.ref,
        admin,
        log,
      });
    }
    await waitForCrd(admin, kubeblocksClusterCrd.metadata.name);

    const simLog = (m: string) => log(m);
    loops.push(startKubeblocksOperatorSimulator(admin, { phaseDelayMs: opts.phaseDelayMs, log: simLog, database: databaseImage ? { image: databaseImage } : undefined }));
    loops.push(startVolumeProvisionerSimulator(admin, { log: simLog, node: realNode ? { name: realNode.name, volumesDir: realNode.volumesDir } : undefined }));

    const state: ClusterState = { pid: process.pid, server, etcdUrl, binDir, adminKubeconfigPath: p.adminKubeconfig, node: mode, startedAt: new Date().toISOString() };
    fs.writeFileSync(p.state, JSON.stringify(state, null, 2));
    log(`[cluster] local Kubernetes ${K8S_VERSION} up in ${Date.now() - t0} ms; admin kubeconfig: ${p.adminKubeconfig}`);
    return { adminKubeconfigPath: p.adminKubeconfig, server, dataDir, apiserver, node: mode, realNode, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Reads <dataDir>/cluster.json; null when no cluster was started there (or it is stale). */
export function readClusterState(dataDir: string): ClusterState | null {
  try {
    const state = JSON.parse(fs.readFileSync(paths(path.resolve(dataDir)).state, 'utf8')) as ClusterState;
    process.kill(state.pid, 0); // throws when the owning process is gone
    return state;
  } catch {
    return null;
  }
}

/**
 * Starts one more kube-apiserver on the running cluster's etcd (same tokens and keys), for
 * tests that stop and restart an API server without disturbing the shared one.
 */
export async function startExtraApiserver(dataDir: string, port: number): Promise<ManagedProcess & { server: string }> {
  const state = readClusterState(dataDir);
  if (!state) throw new Error(`no local cluster is running with data dir ${dataDir}`);
  const p = paths(path.resolve(dataDir));
  const certDir = path.join(p.certs, `extra-${port}`);
  const logFile = path.join(p.logs, `kube-apiserver-extra-${port}.log`);
  const proc = startProcess('kube-apiserver-extra', path.join(state.binDir, 'kube-apiserver'), apiserverArgs({ dataDir, etcdUrl: state.etcdUrl, port, certDir, realNode: state.node === 'real' }), { logFile });
  const server = `https://127.0.0.1:${port}`;
  try {
    await waitForApiserver(server, ensurePki(dataDir).admin, proc, logFile);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return Object.assign(proc, { server });
}

/** Runs cluster/build.sh (idempotent) when a binary is missing; returns the binary folder. */
export function buildIfMissing(cacheDir: string, log: (msg: string) => void = console.log): string {
  const binDir = binDirFor(cacheDir);
  try {
    checkBinaries(binDir);
    return binDir;
  } catch {
    if (process.env.K8S_BIN_DIR) throw new Error(`K8S_BIN_DIR=${process.env.K8S_BIN_DIR} lacks some of ${BINARIES.join(', ')}`);
  }
  const script = path.join(path.dirname(new URL(import.meta.url).pathname), 'build.sh');
  log(`[cluster] building the local Kubernetes binaries into ${binDir} (one time, 15-30 min): bash ${script}`);
  execFileSync('bash', [script], { stdio: 'inherit', env: { ...process.env, CACHE_DIR: cacheDir, K8S_VERSION } });
  checkBinaries(binDir);
  return binDir;
}
