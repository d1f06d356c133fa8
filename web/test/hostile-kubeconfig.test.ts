// Hostile kubeconfigs through PUT /api/user/kubeconfig, as a stranger with an account would
// send them. Each must be refused with a 422 naming the field, and nothing may happen: the
// loopback listener below receives no connection, no file content shows up in an answer
// or a log line, the exec marker file is never created, nothing is stored, and the web
// still answers /healthz.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../server/logger';
import { ApiClient, startWebHarness, type WebHarness } from './harness';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-hostile-'));
const SECRET = `SECRET-${Math.random().toString(36).slice(2)}-CONTENT`;
const secretFile = path.join(dir, 'auth.secret');
fs.writeFileSync(secretFile, `${SECRET}\nsecond line\n`);
const marker = path.join(dir, 'exec-ran');
const BODY_MARKER = `BODY-${Math.random().toString(36).slice(2)}`;

// A listener on loopback that counts every connection attempt.
let connections = 0;
const trap = net.createServer((s) => {
  connections++;
  s.destroy();
});

// An https server the operator allow-listed (KUBE_EGRESS_ALLOW), for what an allowed but
// hostile server can do: redirect elsewhere, answer with a body that is not Kubernetes', stall.
const keyFile = path.join(dir, 'key.pem');
const certFile = path.join(dir, 'cert.pem');
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
const caData = fs.readFileSync(certFile).toString('base64');
let trapPort = 0;
const allowed = https.createServer({ key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) }, (req, res) => {
  const ns = /namespaces\/([^/]+)/.exec(req.url ?? '')?.[1];
  if (ns === 'redirect') {
    res.writeHead(302, { location: `http://127.0.0.1:${trapPort}/api/v1/namespaces/default/pods` });
    return res.end();
  }
  if (ns === 'echo') {
    res.writeHead(500, { 'content-type': 'text/plain' });
    return res.end(`${BODY_MARKER} upstream exploded`);
  }
  if (ns === 'huge') {
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    let sent = 0;
    const pump = () => {
      while (sent < 200 && res.write(chunk)) sent++;
      if (sent < 200) res.once('drain', pump);
      else res.end();
    };
    return pump();
  }
  if (ns === 'stall') return; // never answers
  if (ns === 'forbidden') {
    res.writeHead(403, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', message: `${BODY_MARKER} pods is forbidden`, code: 403 }));
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', items: [] }));
});

const logLines: string[] = [];
const logSink = new Writable({
  write(chunk, _enc, cb) {
    logLines.push(String(chunk));
    cb();
  },
});

let h: WebHarness;
let api: ApiClient;
let allowedPort = 0;

beforeAll(async () => {
  await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
  trapPort = (trap.address() as net.AddressInfo).port;
  await new Promise<void>((r) => allowed.listen(0, '127.0.0.1', r));
  allowedPort = (allowed.address() as net.AddressInfo).port;
  h = await startWebHarness({
    prefix: 'fsa_web_hostile',
    env: { KUBE_EGRESS_ALLOW: `127.0.0.1:${allowedPort}` },
    app: { context: { logger: createLogger('web-hostile', 'debug', logSink), kubeconfigTimeoutMs: 1_500 } },
  });
  api = new ApiClient(h.baseUrl);
  await api.signIn('hostile-tester');
});

afterAll(async () => {
  await h?.close();
  await new Promise((r) => trap.close(r));
  allowed.closeAllConnections();
  await new Promise((r) => allowed.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

interface KcParts {
  server?: string;
  cluster?: Record<string, unknown>;
  user?: Record<string, unknown>;
  context?: Record<string, unknown>;
  top?: Record<string, unknown>;
}

function kubeconfig(p: KcParts = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: p.server ?? `https://127.0.0.1:${trapPort}`, ...p.cluster } }],
    users: [{ name: 'u', user: p.user ?? { token: 'plain-token' } }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u', ...p.context } }],
    'current-context': 'x',
    ...p.top,
  });
}

const allowedKc = (namespace: string, user: Record<string, unknown> = { token: 'plain-token' }) =>
  kubeconfig({ server: `https://127.0.0.1:${allowedPort}`, cluster: { 'certificate-authority-data': caData }, context: { namespace }, user });

const trapUrl = () => `127.0.0.1:${trapPort}`;

// [what, kubeconfig text, field the message must name (or a pattern)]. Every address here is
// on loopback, so even a regression sends nothing off the machine; private, link-local and
// metadata ranges are covered without any traffic in server/egress.test.ts.
const HOSTILE: Array<[string, () => string, string | RegExp]> = [
  ['token-file naming a server secret', () => kubeconfig({ user: { 'token-file': secretFile } }), 'users[0].user.token-file'],
  ['tokenFile naming a server secret', () => kubeconfig({ user: { tokenFile: secretFile } }), 'users[0].user.tokenFile'],
  ['token-file /dev/zero', () => kubeconfig({ user: { 'token-file': '/dev/zero' } }), 'users[0].user.token-file'],
  ['tokenFile /proc/self/environ', () => kubeconfig({ user: { tokenFile: '/proc/self/environ' } }), 'users[0].user.tokenFile'],
  ['client-certificate file', () => kubeconfig({ user: { 'client-certificate': secretFile, 'client-key-data': 'eA==' } }), 'users[0].user.client-certificate'],
  ['client-key file', () => kubeconfig({ user: { 'client-key': secretFile, 'client-certificate-data': 'eA==' } }), 'users[0].user.client-key'],
  ['certificate-authority file', () => kubeconfig({ cluster: { 'certificate-authority': secretFile } }), 'clusters[0].cluster.certificate-authority'],
  ['exec plugin', () => kubeconfig({ user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: '/bin/sh', args: ['-c', `touch ${marker}`] } } }), 'users[0].user.exec'],
  ['auth-provider plugin', () => kubeconfig({ user: { 'auth-provider': { name: 'oidc', config: { 'idp-issuer-url': `http://${trapUrl()}` } } } }), 'users[0].user.auth-provider'],
  ['proxy-url', () => kubeconfig({ cluster: { 'proxy-url': `http://${trapUrl()}` } }), 'clusters[0].cluster.proxy-url'],
  ['insecure-skip-tls-verify', () => kubeconfig({ cluster: { 'insecure-skip-tls-verify': true } }), 'clusters[0].cluster.insecure-skip-tls-verify'],
  ['impersonation', () => kubeconfig({ user: { token: 't', as: 'system:admin' } }), 'users[0].user.as'],
  ['unknown user key', () => kubeconfig({ user: { token: 't', 'token-command': 'id' } }), 'users[0].user.token-command'],
  ['unknown top-level key', () => kubeconfig({ top: { include: secretFile } }), 'include'],
  ['token-file in a user that is not the current one', () => kubeconfig({ top: { users: [{ name: 'u', user: { token: 't' } }, { name: 'other', user: { 'token-file': secretFile } }] } }), 'users[1].user.token-file'],
  ['token with a line break (header injection)', () => kubeconfig({ user: { token: 'a\r\nX-Injected: 1' } }), 'users[0].user.token'],
  ['plain http to loopback', () => kubeconfig({ server: `http://${trapUrl()}` }), 'clusters[0].cluster.server'],
  ['https to 127.0.0.1', () => kubeconfig(), /server refers to 127\.0\.0\.1 is a loopback address/],
  ['https to localhost (a DNS name that resolves to loopback)', () => kubeconfig({ server: `https://localhost:${trapPort}` }), /localhost \(127\.0\.0\.1\) is a loopback address/],
  [`https to the machine's own name (${os.hostname()})`, () => kubeconfig({ server: `https://${os.hostname()}:${trapPort}` }), /is a loopback address|the platform's own address/],
  ['IPv6 loopback [::1]', () => kubeconfig({ server: `https://[::1]:${trapPort}` }), /::1 is a loopback address/],
  ['IPv4-mapped IPv6 [::ffff:127.0.0.1]', () => kubeconfig({ server: `https://[::ffff:127.0.0.1]:${trapPort}` }), /is a loopback address/],
  ['decimal IPv4 2130706433', () => kubeconfig({ server: `https://2130706433:${trapPort}` }), /127\.0\.0\.1 is a loopback address/],
  ['octal IPv4 0177.0.0.1', () => kubeconfig({ server: `https://0177.0.0.1:${trapPort}` }), /127\.0\.0\.1 is a loopback address/],
  ['hex IPv4 0x7f000001', () => kubeconfig({ server: `https://0x7f000001:${trapPort}` }), /127\.0\.0\.1 is a loopback address/],
  ['short IPv4 127.1', () => kubeconfig({ server: `https://127.1:${trapPort}` }), /127\.0\.0\.1 is a loopback address/],
  ['unspecified 0.0.0.0', () => kubeconfig({ server: `https://0.0.0.0:${trapPort}` }), /0\.0\.0\.0 is a unspecified address/],
  ['unspecified [::]', () => kubeconfig({ server: `https://[::]:${trapPort}` }), /:: is a unspecified address/],
  ['another loopback address 127.0.0.2', () => kubeconfig({ server: `https://127.0.0.2:${trapPort}` }), /127\.0\.0\.2 is a loopback address/],
  ['the top of loopback 127.255.255.254', () => kubeconfig({ server: `https://127.255.255.254:${trapPort}` }), /loopback address/],
  ['hex IPv4-mapped IPv6 [::ffff:7f00:1]', () => kubeconfig({ server: `https://[::ffff:7f00:1]:${trapPort}` }), /is a loopback address/],
  ['long-form IPv6 loopback [0:0:0:0:0:0:0:1]', () => kubeconfig({ server: `https://[0:0:0:0:0:0:0:1]:${trapPort}` }), /::1 is a loopback address/],
  ['uppercase LOCALHOST with a trailing dot', () => kubeconfig({ server: `https://LOCALHOST.:${trapPort}` }), /is a loopback address|is not reachable/],
  ['a path to proxy through', () => kubeconfig({ server: `https://${trapUrl()}/api/v1/namespaces/kube-system/services/x:80/proxy` }), 'clusters[0].cluster.server'],
  ['a query string', () => kubeconfig({ server: `https://${trapUrl()}?x=1` }), 'clusters[0].cluster.server'],
  ['credentials in the URL', () => kubeconfig({ server: `https://user:pw@${trapUrl()}` }), 'clusters[0].cluster.server'],
  ['file: URL', () => kubeconfig({ server: `file://${secretFile}` }), 'clusters[0].cluster.server'],
  ['namespace with a path', () => kubeconfig({ context: { namespace: '../../../' } }), 'contexts[0].context.namespace'],
  ['YAML alias bomb', () => ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefghij'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghij'[i]}`).join(',')}]`)].join('\n'), /kubeconfig: is not valid YAML/],
  ['redirect from an allowed server to a refused one', () => allowedKc('redirect'), /answered HTTP 302/],
  ["an allowed server's non-Kubernetes error body", () => allowedKc('echo'), /answered HTTP 500; check the server address/],
  ['an allowed server that never answers', () => allowedKc('stall'), /did not answer within 1\.5s/],
  ['an allowed server that streams 200 MiB', () => allowedKc('huge'), /is not reachable/],
];

describe('PUT /api/user/kubeconfig refuses hostile kubeconfigs and nothing happens', () => {
  it.each(HOSTILE)('%s', async (_what, make, field) => {
    const before = connections;
    const res = await api.call('PUT', '/api/user/kubeconfig', { kubeconfig: make() });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('unprocessable');
    if (typeof field === 'string') expect(res.body.error.message).toContain(`kubeconfig: ${field} `);
    else expect(res.body.error.message).toMatch(field);
    const text = JSON.stringify(res.body);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(BODY_MARKER);
    expect(connections).toBe(before);
    expect(fs.existsSync(marker)).toBe(false);
    expect(await h.db.userConfig.count({ where: { key: 'KUBECONFIG' } })).toBe(0);
    expect((await fetch(`${h.baseUrl}/healthz`)).status).toBe(200);
  });

  it('never connected to the trap, ran the exec plugin, or logged a file or body', () => {
    expect(connections).toBe(0);
    expect(fs.existsSync(marker)).toBe(false);
    const logs = logLines.join('');
    expect(logs).not.toContain(SECRET);
    expect(logs).not.toContain(BODY_MARKER);
  });

  it('a Kubernetes refusal shows its status and reason, not its message', async () => {
    const res = await api.call('PUT', '/api/user/kubeconfig', { kubeconfig: allowedKc('forbidden') });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toContain('HTTP 403 Forbidden');
    expect(JSON.stringify(res.body)).not.toContain(BODY_MARKER);
  });

  it('an allow-listed server with a valid answer is stored, and what is stored is what was checked', async () => {
    const res = await api.call('PUT', '/api/user/kubeconfig', { kubeconfig: allowedKc('team-a') });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ namespace: 'team-a', server: `https://127.0.0.1:${allowedPort}` });
    const rows = await h.db.userConfig.findMany({ where: { key: 'KUBECONFIG' } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.value).not.toContain('plain-token'); // encrypted at rest
  });
});

// Plain-http servers inside the test must stay unreached too (sanity check of the trap).
it('the trap counts connections (so zero above means none were made)', async () => {
  const before = connections;
  await new Promise<void>((resolve) => {
    const req = http.get(`http://127.0.0.1:${trapPort}/`, () => resolve());
    req.on('error', () => resolve());
  });
  expect(connections).toBe(before + 1);
});
