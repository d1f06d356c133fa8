// The real node of the local cluster: containerd + runc + CNI (Debian packages), kubelet,
// kube-proxy, CoreDNS and Traefik (the ingress controller; built by cluster/build.sh) on the host, state under
// <cluster data>/node. Sandboxes and databases run here as real containers; images are
// imported from locally built OCI archives (cluster/images.ts), never pulled.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, isPortOpen, startProcess, type ManagedProcess } from '../scripts/services/process';
import { keyOf, type KubeClient, type KubeObject } from '../activities/kubernetes/kube-client';
import { IDENTITIES, tokenKubeconfigFile } from './pki';
import { NODE_NAME, POD_CIDR, containerdConfig, corefile, cniConflist, kubeProxyConfig, kubeletConfig, traefikConfig, type NodePaths } from './node-config';

const run = promisify(execFile);

export const NODE_BINARIES = ['kubelet', 'kube-proxy', 'coredns', 'traefik'] as const;
const HOST_COMMANDS = ['containerd', 'containerd-shim-runc-v2', 'runc', 'ctr', 'iptables'] as const;
const HOST_PACKAGES = 'containerd runc containernetworking-plugins iptables';

export interface RealNodeOptions {
  /** <cluster data>/node */
  dataDir: string;
  binDir: string;
  server: string;
  caPem: string;
  tokens: { node: string; proxy: string; dns: string; ingress: string };
  /** The cluster CA (PEM file) for components that take a file. */
  caFile: string;
  /** Loopback port of the ingress controller (public sandbox URLs). */
  ingressPort: number;
  ingressClass: string;
  kubeletClientCa: string;
  /** OCI archives to import (skipped when containerd already has the ref). */
  images: Array<{ ref: string; archive: string }>;
  sandboxImage: string;
  admin: KubeClient;
  log: (msg: string) => void;
}

export interface RealNode {
  name: string;
  ip: string;
  volumesDir: string;
  ingressPort: number;
  /** Stops the node's pods (through the kubelet, so networks are torn down), then the node. */
  stop(): Promise<void>;
}

export function nodePaths(dataDir: string): NodePaths {
  const root = path.resolve(dataDir);
  // A unix socket path is limited to 107 bytes; deep data folders get one under /run.
  let socket = path.join(root, 'containerd', 'containerd.sock');
  if (socket.length > 100) socket = path.join('/run', `fsa-containerd-${Buffer.from(root).toString('base64url').slice(-24)}.sock`);
  return {
    root,
    containerdRoot: path.join(root, 'containerd', 'root'),
    containerdState: path.join(root, 'containerd', 'state'),
    containerdSocket: socket,
    containerdConfig: path.join(root, 'containerd', 'config.toml'),
    cniConfDir: path.join(root, 'cni', 'net.d'),
    cniIpamDir: path.join(root, 'cni', 'ipam'),
    kubeletRoot: path.join(root, 'kubelet'),
    kubeletConfig: path.join(root, 'kubelet-config.json'),
    kubeletKubeconfig: path.join(root, 'kubelet.kubeconfig'),
    kubeletCertDir: path.join(root, 'kubelet-pki'),
    proxyConfig: path.join(root, 'kube-proxy-config.json'),
    proxyKubeconfig: path.join(root, 'kube-proxy.kubeconfig'),
    dnsKubeconfig: path.join(root, 'coredns.kubeconfig'),
    corefile: path.join(root, 'Corefile'),
    traefikConfig: path.join(root, 'traefik.yml'),
    volumes: path.join(root, 'volumes'),
    logs: path.join(root, 'logs'),
  };
}

/** The machine's first non-internal IPv4 address: the node's InternalIP (loopback is refused by the kubelet). */
export function hostAddress(): string {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new Error('real node: this machine has no non-loopback IPv4 address for the node');
}

/** Names what the node needs and is missing, with how to get it. */
export function checkNodePrerequisites(binDir: string): void {
  const missing = NODE_BINARIES.filter((b) => !fs.existsSync(path.join(binDir, b)));
  const onPath = (cmd: string) => (process.env.PATH ?? '').split(':').some((d) => d && fs.existsSync(path.join(d, cmd)));
  const missingHost = HOST_COMMANDS.filter((c) => !onPath(c));
  const problems: string[] = [];
  if (missing.length) problems.push(`missing ${missing.join(', ')} in ${binDir} (build them with: bash cluster/build.sh)`);
  if (missingHost.length) problems.push(`missing ${missingHost.join(', ')} on PATH (install: apt-get install -y ${HOST_PACKAGES})`);
  if (!fs.existsSync('/usr/lib/cni/bridge')) problems.push('missing the CNI plugins in /usr/lib/cni (install: apt-get install -y containernetworking-plugins)');
  if (process.getuid?.() !== 0) problems.push('a real node needs root (containers, network namespaces, iptables)');
  if (problems.length) throw new Error(`real node: ${problems.join('; ')}`);
}

/** Unmounts everything mounted below `dir` (deepest first): the kubelet's and containerd's mounts. */
export async function unmountUnder(dir: string): Promise<void> {
  const prefix = path.resolve(dir) + '/';
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((m): m is string => !!m && m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run('umount', ['-l', m]).catch(() => undefined);
}

function parentOf(pid: number): number {
  try {
    // The command name in field 2 may hold spaces; the fields after its ')' are fixed.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

function commOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

function descendantsOf(pid: number): number[] {
  const all = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  const found: number[] = [];
  let frontier = [pid];
  while (frontier.length) {
    const next = all.filter((p) => frontier.includes(parentOf(p)));
    found.push(...next);
    frontier = next;
  }
  return found;
}

/**
 * What a node that was killed (not stopped) leaves behind: containerd shims whose containerd
 * is gone, with their containers, and pod network namespaces no live pod holds — whose
 * addresses a new node would hand out again on the same bridge.
 */
export async function reclaimLeftovers(log: (m: string) => void): Promise<void> {
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number)) {
    if (!commOf(pid).startsWith('containerd-shim')) continue;
    const argv = (() => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      } catch {
        return [];
      }
    })();
    const address = argv[argv.indexOf('-address') + 1];
    if (!address || !address.includes('fsa') || fs.existsSync(address)) continue;
    for (const p of [...descendantsOf(pid), pid]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    log(`[node] killed a leftover containerd shim (pid ${pid}) of a node that is gone`);
  }
  if (!fs.existsSync('/run/netns')) return;
  const shimmed = (pid: number) => {
    for (let p = parentOf(pid); p > 1; p = parentOf(p)) if (commOf(p).startsWith('containerd-shim')) return true;
    return false;
  };
  for (const ns of fs.readdirSync('/run/netns').filter((n) => n.startsWith('cni-'))) {
    const { stdout } = await run('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }));
    const pids = stdout.split('\n').filter(Boolean).map(Number);
    if (pids.some(shimmed)) continue;
    const { stdout: addrs } = await run('ip', ['netns', 'exec', ns, 'ip', '-4', '-o', 'addr']).catch(() => ({ stdout: '' }));
    if (!addrs.includes(` ${POD_CIDR.split('.').slice(0, 2).join('.')}.`)) continue; // not one of ours
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await run('ip', ['netns', 'delete', ns]).catch(() => undefined);
    log(`[node] removed the leftover pod network ${ns}`);
  }
}

async function ctr(p: NodePaths, args: string[]): Promise<string> {
  const { stdout } = await run('ctr', ['--address', p.containerdSocket, '--namespace', 'k8s.io', ...args], { maxBuffer: 16 << 20 });
  return stdout;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, proc?: ManagedProcess, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc && proc.child.exitCode !== null) throw new Error(`${proc.name} exited with code ${proc.child.exitCode}${logFile ? `; see ${logFile}:\n${tailOf(logFile)}` : ''}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`real node: ${what} within ${timeoutMs} ms${logFile ? `; see ${logFile}:\n${tailOf(logFile)}` : ''}`);
}

function tailOf(file: string, lines = 12): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

interface NodeObject extends KubeObject {
  status?: { conditions?: Array<{ type: string; status: string; message?: string }> };
}
interface PodObject extends KubeObject {
  spec?: { nodeName?: string };
}

export async function startRealNode(o: RealNodeOptions): Promise<RealNode> {
  const t0 = Date.now();
  const p = nodePaths(o.dataDir);
  for (const d of [p.containerdRoot, p.containerdState, p.cniConfDir, p.cniIpamDir, p.kubeletRoot, p.kubeletCertDir, p.volumes, p.logs]) {
    fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  }
  fs.mkdirSync(path.dirname(p.containerdSocket), { recursive: true });
  // Volumes are entered by pods running as their own users.
  fs.chmodSync(p.volumes, 0o711);
  const ip = hostAddress();
  const logFile = (name: string) => path.join(p.logs, `${name}.log`);
  const procs: ManagedProcess[] = [];
  const starters = new Map<string, () => ManagedProcess>();
  const launch = (name: string, command: string, args: string[], stopTimeoutMs = 10_000): ManagedProcess => {
    const start = () => startProcess(name, command, args, { logFile: logFile(name), stopTimeoutMs });
    starters.set(name, start);
    const proc = start();
    procs.push(proc);
    return proc;
  };
  let stopping = false;

  // A component that dies is started again (containers keep running under their shims while
  // containerd is away); one that keeps dying is left down, with its log in the message.
  const restarts = new Map<string, number[]>();
  const supervise = (proc: ManagedProcess) => {
    proc.child.once('exit', (code, signal) => {
      if (stopping) return;
      const recent = (restarts.get(proc.name) ?? []).filter((t) => Date.now() - t < 5 * 60_000);
      const giveUp = recent.length >= 5;
      o.log(
        `[node] ${proc.name} exited unexpectedly (${code ?? signal}); ${giveUp ? 'not restarting it (5 restarts within 5 min)' : 'restarting it'}; last lines of ${logFile(proc.name)}:\n${tailOf(logFile(proc.name))}`,
      );
      if (giveUp) return;
      restarts.set(proc.name, [...recent, Date.now()]);
      setTimeout(() => {
        if (stopping) return;
        const next = starters.get(proc.name)!();
        procs[procs.indexOf(proc)] = next;
        supervise(next);
      }, 1_000);
    });
  };

  const stopProcesses = async () => {
    for (const proc of [...procs].reverse()) await proc.stop();
  };

  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const kubelet = procs.find((x) => x.name === 'kubelet');
    if (kubelet && kubelet.child.exitCode === null) await drainNode(o.admin, p, o.log).catch((err: unknown) => o.log(`[node] drain: ${String(err)}`));
    await stopProcesses();
    await run('iptables', ['-t', 'nat', '-F', 'KUBE-SERVICES']).catch(() => undefined);
    await run(path.join(o.binDir, 'kube-proxy'), ['--cleanup'], { timeout: 20_000 }).catch(() => undefined);
    await unmountUnder(p.root);
  };

  try {
    await reclaimLeftovers(o.log);
    fs.writeFileSync(p.containerdConfig, containerdConfig(p, o.sandboxImage));
    fs.writeFileSync(path.join(p.cniConfDir, '10-fsa.conflist'), cniConflist(p));
    // Forwarding carries pod ↔ Service ↔ pod traffic through the host.
    fs.writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');

    const containerd = launch('containerd', 'containerd', ['--config', p.containerdConfig, '--log-level', 'warn'], 15_000);
    await waitFor('containerd did not answer', async () => (await ctr(p, ['version']), true), 30_000, containerd, logFile('containerd'));

    // An archive is named by its content key: a ref imported from another archive is stale.
    const importedFile = path.join(p.root, 'imported-images.json');
    const imported = (fs.existsSync(importedFile) ? JSON.parse(fs.readFileSync(importedFile, 'utf8')) : {}) as Record<string, string>;
    const present = new Set((await ctr(p, ['images', 'ls', '-q'])).split('\n').filter(Boolean));
    for (const img of o.images) {
      if (present.has(img.ref) && imported[img.ref] === img.archive) continue;
      const t = Date.now();
      await ctr(p, ['images', 'import', img.archive]).catch((err: unknown) => {
        throw new Error(`real node: importing ${img.archive} into containerd failed: ${err instanceof Error ? err.message : String(err)}`);
      });
      const now = new Set((await ctr(p, ['images', 'ls', '-q'])).split('\n').filter(Boolean));
      if (!now.has(img.ref)) throw new Error(`real node: ${img.archive} did not provide ${img.ref} (containerd has: ${[...now].join(', ')})`);
      imported[img.ref] = img.archive;
      fs.writeFileSync(importedFile, JSON.stringify(imported, null, 2));
      o.log(`[node] imported ${img.ref} in ${Date.now() - t} ms`);
    }

    const [kubeletPort, kubeletHealthz, proxyHealthz, proxyMetrics, dnsHealth] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    fs.writeFileSync(p.kubeletKubeconfig, tokenKubeconfigFile(o.server, o.caPem, IDENTITIES.node[0], o.tokens.node), { mode: 0o600 });
    fs.writeFileSync(p.proxyKubeconfig, tokenKubeconfigFile(o.server, o.caPem, IDENTITIES.proxy[0], o.tokens.proxy), { mode: 0o600 });
    fs.writeFileSync(p.dnsKubeconfig, tokenKubeconfigFile(o.server, o.caPem, IDENTITIES.dns[0], o.tokens.dns), { mode: 0o600 });
    fs.writeFileSync(p.kubeletConfig, kubeletConfig(p, { nodeIp: ip, port: kubeletPort, healthzPort: kubeletHealthz, clientCaFile: o.kubeletClientCa }));
    fs.writeFileSync(p.proxyConfig, kubeProxyConfig(p, { healthzPort: proxyHealthz, metricsPort: proxyMetrics }));
    fs.writeFileSync(p.corefile, corefile(p, { nodeIp: ip, healthPort: dnsHealth }));
    // JSON is YAML; the file holds a token, so it is not world-readable.
    fs.writeFileSync(p.traefikConfig, traefikConfig({ server: o.server, token: o.tokens.ingress, caFile: o.caFile, port: o.ingressPort, ingressClass: o.ingressClass }), { mode: 0o600 });

    const kubelet = launch(
      'kubelet',
      path.join(o.binDir, 'kubelet'),
      [
        `--config=${p.kubeletConfig}`,
        `--kubeconfig=${p.kubeletKubeconfig}`,
        `--root-dir=${p.kubeletRoot}`,
        `--cert-dir=${p.kubeletCertDir}`,
        `--hostname-override=${NODE_NAME}`,
        `--node-ip=${ip}`,
        '--node-labels=fullstackagent.io/node=real',
        '--v=1',
      ],
      15_000,
    );
    launch('kube-proxy', path.join(o.binDir, 'kube-proxy'), [`--config=${p.proxyConfig}`, '--v=1']);
    launch('coredns', path.join(o.binDir, 'coredns'), ['-conf', p.corefile]);
    if (await isPortOpen(o.ingressPort)) throw new Error(`real node: the ingress port ${o.ingressPort} is in use; stop what holds it or set EMBEDDED_INGRESS_PORT`);
    const traefik = launch('traefik', path.join(o.binDir, 'traefik'), [`--configFile=${p.traefikConfig}`]);

    await waitFor(
      `node ${NODE_NAME} did not become Ready`,
      async () => {
        const node = await o.admin.get<NodeObject>({ apiVersion: 'v1', kind: 'Node', name: NODE_NAME });
        return !!node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      },
      90_000,
      kubelet,
      logFile('kubelet'),
    );
    procs.forEach(supervise);
    await waitFor(`the ingress controller did not listen on 127.0.0.1:${o.ingressPort}`, () => isPortOpen(o.ingressPort), 30_000, traefik, logFile('traefik'));
    o.log(`[node] ${NODE_NAME} Ready at ${ip} (containerd, kubelet, kube-proxy, CoreDNS; ingress on 127.0.0.1:${o.ingressPort}) after ${Date.now() - t0} ms`);
    return { name: NODE_NAME, ip, volumesDir: p.volumes, ingressPort: o.ingressPort, stop };
  } catch (err) {
    stopping = true;
    await stopProcesses();
    await unmountUnder(p.root);
    throw err;
  }
}

/**
 * Stops every pod of the node through the kubelet (so CNI releases addresses and network
 * namespaces): the pods' API objects are deleted with a short grace period; their owners
 * (StatefulSets) recreate them when the cluster starts again.
 */
async function drainNode(admin: KubeClient, p: NodePaths, log: (m: string) => void): Promise<void> {
  const pods = (await admin.list<PodObject>({ apiVersion: 'v1', kind: 'Pod' }, { allNamespaces: true })).filter((pod) => pod.spec?.nodeName === NODE_NAME);
  await Promise.all(pods.map((pod) => admin.delete(keyOf(pod), { gracePeriodSeconds: 2 }).catch(() => undefined)));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const sandboxes = (await ctr(p, ['tasks', 'ls']).catch(() => '')).split('\n').slice(1).filter((l) => /\bRUNNING\b/.test(l));
    if (sandboxes.length === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  log('[node] some containers did not stop within 30 s; killing them');
  for (const line of (await ctr(p, ['tasks', 'ls']).catch(() => '')).split('\n').slice(1)) {
    const id = line.split(/\s+/)[0];
    if (id) await ctr(p, ['tasks', 'kill', '--signal', 'SIGKILL', id]).catch(() => undefined);
  }
}
