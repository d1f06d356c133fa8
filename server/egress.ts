// Where the platform may connect on a user's behalf. A user's kubeconfig names an API
// server; without this policy that would let any user make the web and the worker connect
// to addresses inside the platform's network (loopback, link-local metadata services,
// private ranges, the machine itself). The policy is checked twice: when a kubeconfig is
// saved (resolve and check, for a clear error) and at every connect (through the agents'
// `lookup`, so a DNS answer that changes after the save cannot get through).
import dns from 'node:dns';
import net from 'node:net';
import os from 'node:os';
import { adminServer } from './kubeconfig';

/** Ranges that are never a user's cluster unless the operator allow-lists them. */
const BLOCKED_V4: Array<[string, number, string]> = [
  ['0.0.0.0', 8, 'unspecified'],
  ['127.0.0.0', 8, 'loopback'],
  ['10.0.0.0', 8, 'private'],
  ['172.16.0.0', 12, 'private'],
  ['192.168.0.0', 16, 'private'],
  ['100.64.0.0', 10, 'shared (carrier-grade NAT)'],
  ['169.254.0.0', 16, 'link-local'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];
const BLOCKED_V6: Array<[string, number, string]> = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fe80::', 10, 'link-local'],
  ['fc00::', 7, 'private (unique local)'],
  ['ff00::', 8, 'multicast'],
  ['64:ff9b::', 96, 'NAT64'],
  ['2002::', 16, '6to4'],
];

const rangeList = (ranges: Array<[string, number, string]>, family: 'ipv4' | 'ipv6') =>
  ranges.map(([a, p, kind]) => {
    const list = new net.BlockList();
    list.addSubnet(a, p, family);
    return { list, kind };
  });
const V4_RANGES = rangeList(BLOCKED_V4, 'ipv4');
const V6_RANGES = rangeList(BLOCKED_V6, 'ipv6');

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d or ::ffff:xxxx:xxxx). */
function embeddedV4(ip: string): string | undefined {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (dotted && net.isIPv4(dotted[1]!)) return dotted[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip);
  if (hex) {
    const hi = parseInt(hex[1]!, 16);
    const lo = parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return undefined;
}

/** Why an address is internal ("loopback", "private", ...), or null for a public address. */
export function internalAddressKind(ip: string): string | null {
  const v4 = net.isIPv4(ip) ? ip : embeddedV4(ip);
  if (v4) {
    const hit = V4_RANGES.find((r) => r.list.check(v4, 'ipv4'));
    if (hit) return hit.kind;
    return ownAddresses().has(v4) ? "the platform's own" : null;
  }
  if (net.isIPv6(ip)) {
    const hit = V6_RANGES.find((r) => r.list.check(ip, 'ipv6'));
    if (hit) return hit.kind;
    return ownAddresses().has(ip.toLowerCase()) ? "the platform's own" : null;
  }
  return 'non-IP';
}

let own: Set<string> | undefined;
/** Addresses of this machine's interfaces (a public one included: it is still the platform). */
function ownAddresses(): Set<string> {
  own ??= new Set(
    Object.values(os.networkInterfaces())
      .flat()
      .filter((i): i is os.NetworkInterfaceInfo => !!i)
      .map((i) => i.address.toLowerCase()),
  );
  return own;
}

interface AllowEntry {
  host?: string;
  net?: net.BlockList;
  port?: number;
  text: string;
}

/** Parses `host`, `host:port`, `[v6]:port`, `CIDR`, `CIDR:port`; throws naming the bad entry. */
export function parseAllowList(text: string | undefined): AllowEntry[] {
  const out: AllowEntry[] = [];
  for (const raw of (text ?? '').split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    const bad = () => new Error(`"${entry}" is not host, host:port, CIDR or CIDR:port (IPv6 in brackets with a port, e.g. [fd00::/8]:6443)`);
    let hostPart = entry;
    let port: number | undefined;
    const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracket) {
      hostPart = bracket[1]!;
      if (bracket[2]) port = Number(bracket[2]);
    } else if ((entry.match(/:/g) ?? []).length === 1) {
      const i = entry.lastIndexOf(':');
      hostPart = entry.slice(0, i);
      if (!/^\d+$/.test(entry.slice(i + 1))) throw bad();
      port = Number(entry.slice(i + 1));
    }
    if (port !== undefined && (port < 1 || port > 65535)) throw bad();
    const [addr = '', bits, extra] = hostPart.split('/');
    if (extra !== undefined) throw bad();
    const family = net.isIPv4(addr) ? 'ipv4' : net.isIPv6(addr) ? 'ipv6' : undefined;
    if (family) {
      const prefix = bits === undefined ? (family === 'ipv4' ? 32 : 128) : Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 'ipv4' ? 32 : 128)) throw bad();
      const list = new net.BlockList();
      list.addSubnet(addr, prefix, family);
      out.push({ net: list, port, text: entry });
    } else {
      if (bits !== undefined || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(addr)) throw bad();
      out.push({ host: addr.toLowerCase(), port, text: entry });
    }
  }
  return out;
}

export class EgressRefusedError extends Error {
  readonly code = 'EGRESS_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'EgressRefusedError';
  }
}

export interface EgressPolicy {
  /** Throws EgressRefusedError when (host, resolved address, port) may not be reached. */
  assertAllowed(host: string, address: string, port: number): void;
  /** Resolves the host and checks every address (save-time validation; a name that does not resolve passes). */
  check(host: string, port: number): Promise<void>;
  /** A `lookup` for the http(s) agent of one server port: refuses internal addresses at connect time. */
  lookupFor(port: number): net.LookupFunction;
}

/** Host of a URL as Node connects to it: IPv6 without brackets, lowercase. */
export function urlHost(u: URL): string {
  return u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

export function createEgressPolicy(o: { allow?: string | AllowEntry[]; trustedServers?: string[] } = {}): EgressPolicy {
  const entries = typeof o.allow === 'string' || o.allow === undefined ? parseAllowList(o.allow) : [...o.allow];
  // The operator's own clusters (admin kubeconfig) are reachable at exactly their host:port.
  for (const s of o.trustedServers ?? []) {
    try {
      const u = new URL(s);
      const port = Number(u.port || (u.protocol === 'http:' ? 80 : 443));
      const host = urlHost(u);
      if (net.isIP(host)) {
        const list = new net.BlockList();
        list.addAddress(host, net.isIPv4(host) ? 'ipv4' : 'ipv6');
        entries.push({ net: list, port, text: `${host}:${port} (admin cluster)` });
      } else entries.push({ host, port, text: `${host}:${port} (admin cluster)` });
    } catch {
      // an unparsable admin server is reported where the admin client is built
    }
  }

  const allowed = (host: string, address: string, port: number) =>
    entries.some((e) => {
      if (e.port !== undefined && e.port !== port) return false;
      if (e.host) return e.host === host;
      const family = net.isIPv4(address) ? 'ipv4' : 'ipv6';
      return e.net!.check(address, family) || (!!embeddedV4(address) && e.net!.check(embeddedV4(address)!, 'ipv4'));
    });

  const assertAllowed = (host: string, address: string, port: number) => {
    const kind = internalAddressKind(address);
    if (kind === null || allowed(host.toLowerCase(), address, port)) return;
    const shown = host === address ? address : `${host} (${address})`;
    throw new EgressRefusedError(
      `${shown} is a ${kind} address, which user clusters may not use; use the cluster's public address, or ask the operator to allow-list it (KUBE_EGRESS_ALLOW)`,
    );
  };

  // Node's lookup options carry no port, so each agent (one server) gets its own.
  const lookupFor = (port: number): net.LookupFunction => (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      try {
        for (const a of addresses) assertAllowed(hostname, a.address, port);
      } catch (e) {
        return callback(e as NodeJS.ErrnoException, '', 0);
      }
      if ((options as dns.LookupOptions).all) (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };

  return {
    assertAllowed,
    lookupFor,
    async check(host, port) {
      if (net.isIP(host)) return assertAllowed(host, host, port);
      let addresses: dns.LookupAddress[];
      try {
        addresses = await dns.promises.lookup(host, { all: true });
      } catch {
        // Nothing to refuse yet: a connection would fail, and the connect-time lookup checks
        // whatever the name resolves to later.
        return;
      }
      for (const a of addresses) assertAllowed(host, a.address, port);
    },
  };
}

/** The policy of a process: KUBE_EGRESS_ALLOW plus the admin cluster's own server. */
export function egressPolicyFromConfig(c: { KUBE_EGRESS_ALLOW?: string; CLUSTER_ADMIN_KUBECONFIG?: string }): EgressPolicy {
  const admin = adminServer(c.CLUSTER_ADMIN_KUBECONFIG);
  return createEgressPolicy({ allow: c.KUBE_EGRESS_ALLOW, trustedServers: admin ? [admin] : [] });
}
