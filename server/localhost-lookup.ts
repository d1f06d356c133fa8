// RFC 6761 §6.3: names under `.localhost` are loopback. Browsers and curl resolve them so;
// glibc does not. The web's terminal proxy reaches a local ingress (sandbox hosts under
// `sandbox.localhost`) through this lookup; every other name goes to the system resolver.
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';

export function isLocalhostName(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}

export const localhostAwareLookup: LookupFunction = (hostname, options, callback) => {
  if (!isLocalhostName(hostname)) return dns.lookup(hostname, options, callback);
  const opts = options as LookupOptions;
  const v6 = opts.family === 6;
  const address: LookupAddress = { address: v6 ? '::1' : '127.0.0.1', family: v6 ? 6 : 4 };
  if (opts.all) (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, [address]);
  else callback(null, address.address, address.family);
};
