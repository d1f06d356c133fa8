// Credentials of the local cluster, made once per data folder and kept across restarts:
// static tokens (one identity per component), the service-account signing key, and — for
// a real node — a small CA whose client certificate the API server shows to the kubelet.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Who holds each static token: [user, uid, groups]. */
export const IDENTITIES = {
  admin: ['fsa-admin', 'fsa-admin', 'system:masters'],
  // The Node authorizer recognises system:node:<name> in system:nodes.
  node: ['system:node:fsa-node', 'fsa-node', 'system:nodes'],
  // Bound by the bootstrap ClusterRoleBinding system:node-proxier.
  proxy: ['system:kube-proxy', 'fsa-kube-proxy', ''],
  // Bound to a read-only ClusterRole in manifests.ts (corednsRbac).
  dns: ['fsa-coredns', 'fsa-coredns', ''],
  // Bound to a read-only ClusterRole in manifests.ts (ingressRbac).
  ingress: ['fsa-ingress', 'fsa-ingress', ''],
} as const;
export type Identity = keyof typeof IDENTITIES;

export function pkiPaths(dataDir: string) {
  const pki = path.join(dataDir, 'pki');
  return {
    pki,
    tokenFile: path.join(pki, 'token.csv'),
    saKey: path.join(pki, 'sa.key'),
    saPub: path.join(pki, 'sa.pub'),
    nodeCaKey: path.join(pki, 'node-ca.key'),
    nodeCaCert: path.join(pki, 'node-ca.crt'),
    kubeletClientKey: path.join(pki, 'kubelet-client.key'),
    kubeletClientCert: path.join(pki, 'kubelet-client.crt'),
  };
}

function parseTokens(file: string): Map<string, string> {
  const byUser = new Map<string, string>();
  if (!fs.existsSync(file)) return byUser;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const [token, user] = line.split(',');
    if (token && user) byUser.set(user.trim(), token.trim());
  }
  return byUser;
}

/** Ensures a token for every identity (adding missing ones keeps the others) and the SA key. */
export function ensurePki(dataDir: string): Record<Identity, string> {
  const p = pkiPaths(dataDir);
  fs.mkdirSync(p.pki, { recursive: true, mode: 0o700 });
  const existing = parseTokens(p.tokenFile);
  const tokens = {} as Record<Identity, string>;
  let changed = false;
  for (const [id, [user]] of Object.entries(IDENTITIES) as Array<[Identity, readonly string[]]>) {
    let token = existing.get(user!);
    if (!token) {
      token = randomBytes(24).toString('hex');
      changed = true;
    }
    tokens[id] = token;
  }
  if (changed) {
    const lines = (Object.entries(IDENTITIES) as Array<[Identity, readonly string[]]>).map(([id, [user, uid, groups]]) =>
      groups ? `${tokens[id]},${user},${uid},${groups}` : `${tokens[id]},${user},${uid}`,
    );
    fs.writeFileSync(p.tokenFile, lines.join('\n') + '\n', { mode: 0o600 });
  }
  if (!fs.existsSync(p.saKey)) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    fs.writeFileSync(p.saKey, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    fs.writeFileSync(p.saPub, publicKey.export({ type: 'spki', format: 'pem' }));
  }
  return tokens;
}

/**
 * The CA the kubelet trusts for client certificates, and the API server's client certificate
 * signed by it: with anonymous access off, only the API server can use the kubelet's API
 * (logs, exec), although the kubelet listens on the machine's address.
 */
export function ensureKubeletClientCert(dataDir: string): { caCert: string; clientCert: string; clientKey: string } {
  const p = pkiPaths(dataDir);
  fs.mkdirSync(p.pki, { recursive: true, mode: 0o700 });
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (!fs.existsSync(p.nodeCaCert)) {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p.nodeCaKey, '-out', p.nodeCaCert, '-days', '3650', '-subj', '/CN=fsa-local-kubelet-client-ca']);
  }
  if (!fs.existsSync(p.kubeletClientCert)) {
    const csr = `${p.kubeletClientCert}.csr`;
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p.kubeletClientKey, '-out', csr, '-subj', '/CN=kube-apiserver-kubelet-client']);
    openssl(['x509', '-req', '-in', csr, '-CA', p.nodeCaCert, '-CAkey', p.nodeCaKey, '-CAcreateserial', '-out', p.kubeletClientCert, '-days', '3650']);
    fs.rmSync(csr);
  }
  for (const f of [p.nodeCaKey, p.kubeletClientKey]) fs.chmodSync(f, 0o600);
  return { caCert: p.nodeCaCert, clientCert: p.kubeletClientCert, clientKey: p.kubeletClientKey };
}

/** A kubeconfig (JSON is YAML) for one identity's token. */
export function tokenKubeconfigFile(server: string, caPem: string, user: string, token: string): string {
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fsa-local', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: 'fsa-local', context: { cluster: 'fsa-local', user, namespace: 'default' } }],
      'current-context': 'fsa-local',
    },
    null,
    2,
  );
}
