import { parseKubeconfig, tokenKubeconfig } from './kubeconfig';

const yaml = (user: string, extra = '') => `
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: c1
  cluster:
    server: https://k8s.example:6443/
    certificate-authority-data: ${Buffer.from('CA PEM').toString('base64')}
contexts:
- name: dev
  context: { cluster: c1, user: u1${extra} }
users:
- name: u1
  user:
${user}
`;

describe('parseKubeconfig', () => {
  it('reads server, namespace, CA and token of the current context', () => {
    const c = parseKubeconfig(yaml('    token: abc', ', namespace: ns-user'));
    expect(c.server).toBe('https://k8s.example:6443');
    expect(c.namespace).toBe('ns-user');
    expect(c.ca?.toString()).toBe('CA PEM');
    expect(c.token?.()).toBe('abc');
  });

  it('defaults the namespace to "default" and accepts client certificates', () => {
    const c = parseKubeconfig(yaml(`    client-certificate-data: ${Buffer.from('CERT').toString('base64')}\n    client-key-data: ${Buffer.from('KEY').toString('base64')}`));
    expect(c.namespace).toBe('default');
    expect(c.cert?.toString()).toBe('CERT');
    expect(c.key?.toString()).toBe('KEY');
  });

  it.each([
    ['not yaml: [', 'not valid YAML'],
    ['just a string', 'not a kubeconfig'],
    [yaml('    token: abc').replace('current-context: dev', 'current-context: other'), 'current-context "other"'],
    [yaml('    exec: { command: aws }'), 'exec/auth-provider'],
    [yaml('    username: only'), 'no credentials'],
    [yaml('    token: abc').replace('https://k8s.example:6443/', 'k8s.example'), 'no http(s) server URL'],
  ])('rejects %#: naming the problem', (text, message) => {
    expect(() => parseKubeconfig(text)).toThrow(message);
  });

  it('builds the KubeConfig of the current context for client-node', () => {
    const c = parseKubeconfig(yaml('    token: abc', ', namespace: ns-user'));
    expect(c.kubeConfig.getCurrentContext()).toBe('dev');
    expect(c.kubeConfig.getCurrentCluster()?.server).toBe('https://k8s.example:6443');
    expect(c.kubeConfig.getCurrentUser()?.token).toBe('abc');
    expect(c.kubeConfig.getContextObject('dev')?.namespace).toBe('ns-user');
  });

  it('round-trips what tokenKubeconfig writes', () => {
    const c = parseKubeconfig(tokenKubeconfig({ name: 'ns-a', server: 'https://127.0.0.1:1234', ca: Buffer.from('X'), token: 't0k', namespace: 'ns-a' }));
    expect(c).toMatchObject({ server: 'https://127.0.0.1:1234', namespace: 'ns-a', skipTlsVerify: false });
    expect(c.token?.()).toBe('t0k');
  });
});
