import { createEgressPolicy, EgressRefusedError, internalAddressKind, parseAllowList } from './egress';

describe('internalAddressKind', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.1.2.3', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.20.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'shared (carrier-grade NAT)'],
    ['0.0.0.0', 'unspecified'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fd00::1', 'private (unique local)'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['64:ff9b::7f00:1', 'NAT64'],
  ])('%s is %s', (ip, kind) => {
    expect(internalAddressKind(ip)).toBe(kind);
  });

  it.each(['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111'])('%s is public', (ip) => {
    expect(internalAddressKind(ip)).toBeNull();
  });
});

describe('EgressPolicy', () => {
  it('refuses internal addresses with a message naming the fix', () => {
    const p = createEgressPolicy();
    expect(() => p.assertAllowed('127.0.0.1', '127.0.0.1', 6443)).toThrow(EgressRefusedError);
    expect(() => p.assertAllowed('127.0.0.1', '127.0.0.1', 6443)).toThrow(/loopback address.*KUBE_EGRESS_ALLOW/);
    expect(() => p.assertAllowed('8.8.8.8', '8.8.8.8', 443)).not.toThrow();
  });

  it('allows exactly the admin server host:port, not the rest of loopback', () => {
    const p = createEgressPolicy({ trustedServers: ['https://127.0.0.1:6443'] });
    expect(() => p.assertAllowed('127.0.0.1', '127.0.0.1', 6443)).not.toThrow();
    expect(() => p.assertAllowed('127.0.0.1', '127.0.0.1', 6444)).toThrow(EgressRefusedError);
    expect(() => p.assertAllowed('localhost', '127.0.0.1', 6444)).toThrow(EgressRefusedError);
  });

  it('honours KUBE_EGRESS_ALLOW entries: CIDR, CIDR:port, host:port, [v6]:port', () => {
    const p = createEgressPolicy({ allow: '10.0.0.0/8, 192.168.0.0/16:6443, kube.internal:443, [fd00::/8]:6443' });
    expect(() => p.assertAllowed('10.9.9.9', '10.9.9.9', 1)).not.toThrow();
    expect(() => p.assertAllowed('192.168.1.1', '192.168.1.1', 6443)).not.toThrow();
    expect(() => p.assertAllowed('192.168.1.1', '192.168.1.1', 22)).toThrow(EgressRefusedError);
    expect(() => p.assertAllowed('kube.internal', '172.16.0.5', 443)).not.toThrow();
    expect(() => p.assertAllowed('other.internal', '172.16.0.5', 443)).toThrow(EgressRefusedError);
    expect(() => p.assertAllowed('fd00::5', 'fd00::5', 6443)).not.toThrow();
    expect(() => p.assertAllowed('127.0.0.1', '127.0.0.1', 6443)).toThrow(EgressRefusedError);
  });

  it.each(['10.0.0.0/33', 'host:99999', 'a b', '1.2.3.4/8/9', 'host:port'])('refuses the allow-list entry %j', (entry) => {
    expect(() => parseAllowList(entry)).toThrow(/is not host, host:port, CIDR or CIDR:port/);
  });

  it('checks every address a name resolves to (localhost -> loopback)', async () => {
    await expect(createEgressPolicy().check('localhost', 443)).rejects.toThrow(/localhost \((127\.0\.0\.1|::1)\) is a loopback address/);
  });

  it('refuses at connect time through the agent lookup, whatever the name resolved to at save time', async () => {
    const lookup = createEgressPolicy().lookupFor(443);
    const err = await new Promise<Error | null>((resolve) => lookup('localhost', {}, (e) => resolve(e)));
    expect(err).toBeInstanceOf(EgressRefusedError);
  });
});
