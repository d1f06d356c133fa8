// Configuration files of the real node (pure functions of paths and addresses, so they
// can be read and tested without starting anything). Settings that differ from upstream
// defaults carry the reason; INFRA-NOTES "A real node" has the background.

export const NODE_NAME = 'fsa-node';
export const POD_CIDR = '10.88.0.0/16';
export const BRIDGE = 'fsa0';
export const CNI_BIN_DIR = '/usr/lib/cni';
export const CLUSTER_DOMAIN = 'cluster.local';

export interface NodePaths {
  root: string;
  containerdRoot: string;
  containerdState: string;
  containerdSocket: string;
  containerdConfig: string;
  cniConfDir: string;
  cniIpamDir: string;
  kubeletRoot: string;
  kubeletConfig: string;
  kubeletKubeconfig: string;
  kubeletCertDir: string;
  proxyConfig: string;
  proxyKubeconfig: string;
  dnsKubeconfig: string;
  corefile: string;
  traefikConfig: string;
  volumes: string;
  logs: string;
}

export function containerdConfig(p: NodePaths, sandboxImage: string): string {
  return `version = 2
root = ${JSON.stringify(p.containerdRoot)}
state = ${JSON.stringify(p.containerdState)}
# The machine's own containerd (if any) keeps its socket; this one is private to the node.
[grpc]
  address = ${JSON.stringify(p.containerdSocket)}
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${JSON.stringify(sandboxImage)}
  # Without CAP_SYS_RESOURCE, runc cannot lower oom_score_adj and every sandbox fails.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${JSON.stringify(CNI_BIN_DIR)}
    conf_dir = ${JSON.stringify(p.cniConfDir)}
`;
}

export function cniConflist(p: NodePaths): string {
  return JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'fsa',
      plugins: [
        {
          type: 'bridge',
          bridge: BRIDGE,
          isGateway: true,
          ipMasq: true,
          // A pod reaching its own Service (kube-proxy DNAT back to itself) needs hairpin.
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: POD_CIDR }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: p.cniIpamDir },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

export function kubeletConfig(p: NodePaths, o: { nodeIp: string; port: number; healthzPort: number; clientCaFile: string }): string {
  return JSON.stringify(
    {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      address: o.nodeIp,
      port: o.port,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      healthzPort: o.healthzPort,
      // Only the API server (client certificate from our CA) may use the kubelet's API.
      authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: o.clientCaFile } },
      authorization: { mode: 'AlwaysAllow' },
      containerRuntimeEndpoint: `unix://${p.containerdSocket}`,
      clusterDNS: [o.nodeIp],
      clusterDomain: CLUSTER_DOMAIN,
      // These machines run cgroup v1 without systemd; QoS cgroups and allocatable enforcement need both.
      failCgroupV1: false,
      cgroupDriver: 'cgroupfs',
      cgroupsPerQOS: false,
      enforceNodeAllocatable: [],
      failSwapOn: false,
      // The eviction manager cannot read this disk's filesystem stats; evict on memory only.
      localStorageCapacityIsolation: false,
      evictionHard: { 'memory.available': '100Mi' },
      // Images are imported, never pulled: garbage-collecting one would break the node.
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      serializeImagePulls: false,
      maxPods: 110,
      resolvConf: '/etc/resolv.conf',
      rotateCertificates: false,
      serverTLSBootstrap: false,
    },
    null,
    2,
  );
}

export function kubeProxyConfig(p: NodePaths, o: { healthzPort: number; metricsPort: number }): string {
  return JSON.stringify(
    {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      clientConnection: { kubeconfig: p.proxyKubeconfig },
      hostnameOverride: NODE_NAME,
      mode: 'iptables',
      clusterCIDR: POD_CIDR,
      healthzBindAddress: `127.0.0.1:${o.healthzPort}`,
      metricsBindAddress: `127.0.0.1:${o.metricsPort}`,
      // A pod and the pod behind a Service share one bridge: without SNAT the answer would
      // bypass the host's conntrack and never be un-DNATed.
      iptables: { masqueradeAll: true },
      // The sysctls behind conntrack sizing are read-only here; keep the kernel's values.
      conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    },
    null,
    2,
  );
}

/**
 * CoreDNS on the host, on the node's address (the pods' nameserver), answering only the pod
 * network and the machine itself, so it is not an open resolver on the machine's address.
 */
export function corefile(p: NodePaths, o: { nodeIp: string; healthPort: number }): string {
  const guard = `  bind ${o.nodeIp}
  acl {
    allow net ${POD_CIDR} 127.0.0.0/8 ${o.nodeIp}/32
    block
  }`;
  return `${CLUSTER_DOMAIN}:53 {
${guard}
  kubernetes ${CLUSTER_DOMAIN} {
    kubeconfig ${p.dnsKubeconfig} fsa-local
  }
  health 127.0.0.1:${o.healthPort}
  cache 5
  errors
}
.:53 {
${guard}
  forward . /etc/resolv.conf
  cache 30
  errors
}
`;
}

/**
 * Traefik as the ingress controller, outside the cluster like the other node components: it
 * watches Ingresses of its class and proxies to the pods' addresses (reachable from the host).
 * Loopback only: `*.<domain>.localhost` names resolve there in browsers and curl.
 */
export function traefikConfig(o: { server: string; token: string; caFile: string; port: number; ingressClass: string }): string {
  return JSON.stringify(
    {
      global: { checkNewVersion: false, sendAnonymousUsage: false },
      // Traefik v3 closes a connection after readTimeout even once it is a WebSocket (the terminal).
      entryPoints: { web: { address: `127.0.0.1:${o.port}`, transport: { respondingTimeouts: { readTimeout: 0 } } } },
      providers: { kubernetesIngress: { endpoint: o.server, token: o.token, certAuthFilePath: o.caFile, ingressClass: o.ingressClass } },
      log: { level: 'WARN' },
    },
    null,
    2,
  );
}
