import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeconfigError, parseKubeconfig, tokenKubeconfig } from './kubeconfig';

const yaml = (user: string, o: { extra?: string; cluster?: string; top?: string } = {}) => `
apiVersion: v1
kind: Config
current-context: dev
preferences: {}
${o.top ?? ''}
clusters:
- name: c1
  cluster:
    server: https://k8s.example:6443/
    certificate-authority-data: ${Buffer.from('CA PEM').toString('base64')}
${o.cluster ?? ''}
contexts:
- name: dev
  context: { cluster: c1, user: u1${o.extra ?? ''} }
users:
- name: u1
  user:
${user}
`;

function refusal(text: string, trusted = false): KubeconfigError {
  try {
    parseKubeconfig(text, { trusted });
  } catch (err) {
    if (err instanceof KubeconfigError) return err;
    throw err;
  }
  throw new Error('expected a KubeconfigError');
}

describe('parseKubeconfig', () => {
  it('reads server, namespace, CA and token of the current context', () => {
    const c = parseKubeconfig(yaml('    token: abc', { extra: ', namespace: ns-user' }));
    expect(c).toMatchObject({ server: 'https://k8s.example:6443', namespace: 'ns-user', token: 'abc', contextName: 'dev', userName: 'u1', skipTlsVerify: false });
    expect(c.ca?.toString()).toBe('CA PEM');
  });

  it('defaults the namespace to "default" and accepts client certificates and basic auth', () => {
    const c = parseKubeconfig(yaml(`    client-certificate-data: ${Buffer.from('CERT').toString('base64')}\n    client-key-data: ${Buffer.from('KEY').toString('base64')}`));
    expect(c.namespace).toBe('default');
    expect(c.cert?.toString()).toBe('CERT');
    expect(c.key?.toString()).toBe('KEY');
    expect(parseKubeconfig(yaml('    username: a\n    password: b')).basicAuth).toEqual({ username: 'a', password: 'b' });
  });

  it.each([
    ['token-file', '    token-file: /etc/passwd', 'users[0].user.token-file'],
    ['tokenFile', '    tokenFile: /etc/passwd', 'users[0].user.tokenFile'],
    ['client-certificate', '    client-certificate: /etc/ssl/cert.pem\n    client-key-data: eA==', 'users[0].user.client-certificate'],
    ['client-key', '    client-key: /etc/ssl/key.pem\n    client-certificate-data: eA==', 'users[0].user.client-key'],
    ['exec', '    exec: { command: /bin/sh, args: [-c, "touch /tmp/pwned"] }', 'users[0].user.exec'],
    ['auth-provider', '    auth-provider: { name: gcp }', 'users[0].user.auth-provider'],
    ['impersonation', '    token: a\n    as: system:admin', 'users[0].user.as'],
    ['unknown user key', '    token: a\n    colour: blue', 'users[0].user.colour'],
  ])('refuses %s in a user, naming the field', (_what, user, field) => {
    expect(refusal(yaml(user)).field).toBe(field);
  });

  it.each([
    ['certificate-authority', '    certificate-authority: /etc/shadow', 'clusters[0].cluster.certificate-authority'],
    ['insecure-skip-tls-verify', '    insecure-skip-tls-verify: true', 'clusters[0].cluster.insecure-skip-tls-verify'],
    ['proxy-url', '    proxy-url: http://127.0.0.1:3128', 'clusters[0].cluster.proxy-url'],
  ])('refuses %s in a cluster, naming the field', (_what, cluster, field) => {
    expect(refusal(yaml('    token: a', { cluster })).field).toBe(field);
  });

  it.each([
    ['http', 'http://k8s.example:6443', 'must use https'],
    ['a path', 'https://k8s.example:6443/proxy/evil', 'no path'],
    ['a query', 'https://k8s.example:6443?x=1', 'no path, query or fragment'],
    ['a fragment', 'https://k8s.example:6443#x', 'no path, query or fragment'],
    ['credentials', 'https://user:pw@k8s.example:6443', 'must not contain credentials'],
    ['file scheme', 'file:///etc/passwd', 'must use https'],
    ['not a URL', 'k8s.example', 'is not a URL'],
  ])('refuses a server URL with %s', (_what, server, message) => {
    const err = refusal(yaml('    token: a').replace('https://k8s.example:6443/', server));
    expect(err.field).toBe('clusters[0].cluster.server');
    expect(err.message).toContain(message);
  });

  it('normalizes numeric hosts so the egress policy sees the address', () => {
    expect(parseKubeconfig(yaml('    token: a').replace('https://k8s.example:6443/', 'https://2130706433:6443')).server).toBe('https://127.0.0.1:6443');
    expect(parseKubeconfig(yaml('    token: a').replace('https://k8s.example:6443/', 'https://0x7f.1')).server).toBe('https://127.0.0.1');
  });

  it.each([
    ['not yaml: [', 'kubeconfig', 'not valid YAML'],
    ['just a string', 'kubeconfig', 'not a kubeconfig'],
    [yaml('    token: a').replace('current-context: dev', 'current-context: other'), 'current-context', '"other"'],
    [yaml('    username: only'), 'users[0].user.password', 'basic auth needs both'],
    [yaml('    client-certificate-data: eA=='), 'users[0].user.client-key-data', 'needs its key'],
    [yaml('    token: "a b"'), 'users[0].user.token', 'printable ASCII'],
    [yaml('    token: a', { extra: ', namespace: "../etc"' }), 'contexts[0].context.namespace', 'not a valid namespace'],
    [yaml('    token: a', { top: 'evil: 1' }), 'evil', 'unknown field'],
    [yaml('    token: 5'), 'users[0].user.token', 'must be a string'],
    ['', 'kubeconfig', 'is empty'],
  ])('refuses malformed input %#, naming the field', (text, field, message) => {
    const err = refusal(text);
    expect(err.field).toBe(field);
    expect(err.message).toContain(message);
  });

  it('refuses a document larger than 64 KiB and caps YAML aliases', () => {
    expect(refusal(yaml(`    token: ${'a'.repeat(70_000)}`)).message).toContain('64 KiB');
    const bomb = ['a: &a [x,x,x,x,x,x,x,x,x,x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`)].join('\n');
    expect(refusal(bomb).field).toBe('kubeconfig');
  });

  it('lets only the operator kubeconfig use files and skip TLS checks', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-kc-'));
    try {
      fs.writeFileSync(path.join(dir, 'token'), 'from-file\n');
      const text = yaml(`    tokenFile: ${path.join(dir, 'token')}`, { cluster: '    insecure-skip-tls-verify: true' }).replace('https://k8s.example:6443/', 'http://127.0.0.1:8080');
      expect(() => parseKubeconfig(text)).toThrow(KubeconfigError);
      const c = parseKubeconfig(text, { trusted: true });
      expect(c).toMatchObject({ token: 'from-file', tokenFile: path.join(dir, 'token'), skipTlsVerify: true, server: 'http://127.0.0.1:8080' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('round-trips what tokenKubeconfig writes', () => {
    const c = parseKubeconfig(tokenKubeconfig({ name: 'ns-a', server: 'https://127.0.0.1:1234', ca: Buffer.from('X'), token: 't0k', namespace: 'ns-a' }));
    expect(c).toMatchObject({ server: 'https://127.0.0.1:1234', namespace: 'ns-a', skipTlsVerify: false, token: 't0k' });
  });
});
