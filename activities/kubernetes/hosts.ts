// Sandbox public hostnames: `<label>.<domain>`, the label 12 random characters the platform
// chose. A host read back from a user's cluster is user data (the user can edit their own
// Ingress): the web connects to the terminal's host with the sandbox's credential, so only a
// host of exactly this shape is ever taken from the cluster — anything else (an IP address, an
// internal name, a deeper subdomain) could point the platform at an address of the user's
// choosing.
import { randomInt } from 'node:crypto';

const HOST_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';
const LABEL = /^[a-z][a-z0-9]{11}$/;

/** 12 random characters, starting with a letter (a valid DNS label). */
export function randomHostLabel(): string {
  let s = HOST_CHARS[randomInt(26)]!;
  for (let i = 1; i < 12; i++) s += HOST_CHARS[randomInt(HOST_CHARS.length)];
  return s;
}

/** The domain as configured, without leading or trailing dots, lower case. */
export function normalizeDomain(domain: string): string {
  return domain.replace(/^\.+|\.+$/g, '').toLowerCase();
}

/** Whether `host` is `<label>.<domain>` with a label the platform could have made. */
export function isSandboxHost(host: unknown, domain: string): host is string {
  if (typeof host !== 'string' || host.length > 253) return false;
  const suffix = `.${normalizeDomain(domain)}`;
  return host.endsWith(suffix) && LABEL.test(host.slice(0, -suffix.length));
}
