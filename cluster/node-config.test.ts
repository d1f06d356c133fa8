// The real node's configuration files: what each setting that differs from upstream must be.
import { nodePaths } from './node';
import { POD_CIDR, containerdConfig, corefile, cniConflist, kubeProxyConfig, kubeletConfig, traefikConfig } from './node-config';

const p = nodePaths('/var/tmp/fsa-test/cluster/node');

describe('real node configuration', () => {
  it('containerd: a private socket and state, the local pause image, oom_score_adj left alone, cgroupfs runc', () => {
    const toml = containerdConfig(p, 'localhost/fsa-pause:1');
    expect(toml).toContain(`address = "${p.containerdSocket}"`);
    expect(toml).toContain(`root = "${p.containerdRoot}"`);
    expect(toml).toContain('sandbox_image = "localhost/fsa-pause:1"');
    expect(toml).toContain('restrict_oom_score_adj = true');
    expect(toml).toContain('SystemdCgroup = false');
    expect(toml).toContain(`conf_dir = "${p.cniConfDir}"`);
  });

  it('keeps a deep data folder within the unix socket length limit', () => {
    const deep = nodePaths(`/tmp/${'x'.repeat(120)}/node`);
    expect(deep.containerdSocket.length).toBeLessThan(108);
    expect(deep.containerdSocket).toMatch(/^\/run\/fsa-containerd-/);
    expect(nodePaths(`/tmp/${'y'.repeat(120)}/node`).containerdSocket).not.toBe(deep.containerdSocket);
  });

  it('CNI: a bridge with hairpin, masquerade and addresses from the pod range, leases under the data folder', () => {
    const conf = JSON.parse(cniConflist(p)) as { plugins: Array<Record<string, unknown>> };
    const bridge = conf.plugins[0] as { type: string; hairpinMode: boolean; ipMasq: boolean; ipam: { ranges: Array<Array<{ subnet: string }>>; dataDir: string } };
    expect(bridge).toMatchObject({ type: 'bridge', hairpinMode: true, ipMasq: true });
    expect(bridge.ipam.ranges[0]![0]!.subnet).toBe(POD_CIDR);
    expect(bridge.ipam.dataDir).toBe(p.cniIpamDir);
  });

  it('kubelet: no anonymous access, client certificates of our CA only, cluster DNS on the node address', () => {
    const c = JSON.parse(kubeletConfig(p, { nodeIp: '192.0.2.2', port: 41000, healthzPort: 41001, clientCaFile: '/ca.crt' })) as Record<string, any>;
    expect(c.authentication).toEqual({ anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: '/ca.crt' } });
    expect(c.readOnlyPort).toBe(0);
    expect(c.healthzBindAddress).toBe('127.0.0.1');
    expect(c.clusterDNS).toEqual(['192.0.2.2']);
    expect(c.containerRuntimeEndpoint).toBe(`unix://${p.containerdSocket}`);
    expect(c.imageGCHighThresholdPercent).toBe(100);
    expect(c).toMatchObject({ failCgroupV1: false, cgroupDriver: 'cgroupfs', cgroupsPerQOS: false });
  });

  it('kube-proxy: iptables with masquerade for all Service traffic, conntrack sysctls untouched', () => {
    const c = JSON.parse(kubeProxyConfig(p, { healthzPort: 1, metricsPort: 2 })) as Record<string, any>;
    expect(c).toMatchObject({ mode: 'iptables', clusterCIDR: POD_CIDR, iptables: { masqueradeAll: true }, conntrack: { maxPerCore: 0 } });
    expect(c.metricsBindAddress).toBe('127.0.0.1:2');
  });

  it('CoreDNS: bound to the node address, answering the pod network only, cluster names from the API', () => {
    const f = corefile(p, { nodeIp: '192.0.2.2', healthPort: 9 });
    expect(f.match(/bind 192\.0\.2\.2/g)).toHaveLength(2);
    expect(f.match(/block/g)).toHaveLength(2);
    expect(f).toContain(`allow net ${POD_CIDR}`);
    expect(f).toContain(`kubeconfig ${p.dnsKubeconfig} fsa-local`);
  });

  it('Traefik: loopback only, no read timeout for WebSockets, only our ingress class', () => {
    const c = JSON.parse(traefikConfig({ server: 'https://127.0.0.1:6443', token: 't', caFile: '/ca', port: 3080, ingressClass: 'nginx' })) as Record<string, any>;
    expect(c.entryPoints.web.address).toBe('127.0.0.1:3080');
    expect(c.entryPoints.web.transport.respondingTimeouts.readTimeout).toBe(0);
    expect(c.providers.kubernetesIngress).toEqual({ endpoint: 'https://127.0.0.1:6443', token: 't', certAuthFilePath: '/ca', ingressClass: 'nginx' });
  });
});
