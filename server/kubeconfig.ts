// The one module that reads kubeconfigs (users', Sealos sign-ins', the operator's admin
// one). A user's kubeconfig is data, never instructions: it is parsed here as plain YAML
// and only data fields are accepted. Anything that would make the platform read a local
// file (token-file, client-certificate, ...), run a program (exec, auth-provider), go
// through a proxy, or skip TLS verification is refused with the field named, as are keys
// this module does not know. Clients are built from the cleaned result, never from the
// text, so nothing of a user's kubeconfig can reach the file system.
import fs from 'node:fs';
import { parse as parseYaml } from 'yaml';

export const MAX_KUBECONFIG_BYTES = 64 * 1024;

/** Everything a client needs, taken from the current context. */
export interface KubeCredentials {
  contextName: string;
  clusterName: string;
  userName: string;
  /** `https://host[:port]` for users; the admin cluster may also be http or have a path. */
  server: string;
  namespace: string;
  ca?: Buffer;
  tlsServerName?: string;
  token?: string;
  /** Operator kubeconfigs only: a token file read per request (rotated service-account tokens). */
  tokenFile?: string;
  cert?: Buffer;
  key?: Buffer;
  basicAuth?: { username: string; password: string };
  /** Only the operator's kubeconfig may turn off certificate checks. */
  skipTlsVerify: boolean;
}

export class KubeconfigError extends Error {
  constructor(
    /** Path of the offending field, e.g. `users[0].user.token-file`. */
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeconfigError';
  }
}

/** Keys refused with a reason of their own (the rest of the unknown keys get a generic one). */
const REFUSED: Record<string, string> = {
  'token-file': 'it names a file on the server; put the token itself in `token`',
  tokenFile: 'it names a file on the server; put the token itself in `token`',
  'client-certificate': 'it names a file on the server; embed the certificate as `client-certificate-data` (base64)',
  'client-key': 'it names a file on the server; embed the key as `client-key-data` (base64)',
  'certificate-authority': 'it names a file on the server; embed the CA as `certificate-authority-data` (base64)',
  exec: 'exec plugins run programs on the server; use a token or a client certificate',
  'auth-provider': 'auth-provider plugins are not supported; use a token or a client certificate',
  'proxy-url': 'proxies are not supported; the platform connects to the API server directly',
  'insecure-skip-tls-verify': 'certificate checks cannot be turned off; add the cluster CA as `certificate-authority-data`',
  as: 'impersonation is not supported; use the credentials of the identity itself',
  'as-groups': 'impersonation is not supported; use the credentials of the identity itself',
  'as-uid': 'impersonation is not supported; use the credentials of the identity itself',
  'as-user-extra': 'impersonation is not supported; use the credentials of the identity itself',
};

// Allowed keys per level; `extensions` and `preferences` are accepted and ignored (data
// some tools write, never read here).
const TOP_KEYS = new Set(['apiVersion', 'kind', 'clusters', 'contexts', 'users', 'current-context', 'preferences', 'extensions']);
const NAMED_KEYS = { clusters: 'cluster', contexts: 'context', users: 'user' } as const;
const CLUSTER_KEYS = new Set(['server', 'certificate-authority-data', 'tls-server-name', 'disable-compression', 'extensions']);
const USER_KEYS = new Set(['token', 'username', 'password', 'client-certificate-data', 'client-key-data', 'extensions']);
const CONTEXT_KEYS = new Set(['cluster', 'user', 'namespace', 'extensions']);
const INNER_KEYS = { cluster: CLUSTER_KEYS, context: CONTEXT_KEYS, user: USER_KEYS } as const;
// The operator's admin kubeconfig is trusted to use files and to skip TLS checks.
const TRUSTED_EXTRA: Record<string, Set<string>> = {
  cluster: new Set(['certificate-authority', 'insecure-skip-tls-verify']),
  user: new Set(['client-certificate', 'client-key', 'token-file', 'tokenFile']),
  context: new Set(),
};

type Mapping = Record<string, unknown>;
const isMapping = (v: unknown): v is Mapping => !!v && typeof v === 'object' && !Array.isArray(v);

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PRINTABLE = /^[\x21-\x7e]+$/;

export interface ParseOptions {
  /** The operator's admin kubeconfig: file references, http and skip-TLS are allowed. */
  trusted?: boolean;
}

/** Parses and checks a kubeconfig (YAML or JSON); throws KubeconfigError naming the field. */
export function parseKubeconfig(text: string, opts: ParseOptions = {}): KubeCredentials {
  if (typeof text !== 'string' || !text.trim()) throw new KubeconfigError('kubeconfig', 'is empty; paste the YAML of your kubeconfig file');
  if (Buffer.byteLength(text) > MAX_KUBECONFIG_BYTES) throw new KubeconfigError('kubeconfig', `is larger than ${MAX_KUBECONFIG_BYTES / 1024} KiB`);
  let raw: unknown;
  try {
    // Aliases are capped so a "billion laughs" document cannot expand without bound.
    raw = parseYaml(text, { maxAliasCount: 50, uniqueKeys: true, prettyErrors: false });
  } catch (err) {
    throw new KubeconfigError('kubeconfig', `is not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (!isMapping(raw)) throw new KubeconfigError('kubeconfig', 'is not a kubeconfig (expected a YAML mapping with clusters, users and contexts)');
  const trusted = opts.trusted === true;

  for (const key of Object.keys(raw)) {
    if (!TOP_KEYS.has(key)) throw refusedKey(key, key);
  }
  const lists = {} as Record<keyof typeof NAMED_KEYS, Map<string, { index: number; body: Mapping }>>;
  for (const [listKey, inner] of Object.entries(NAMED_KEYS) as Array<[keyof typeof NAMED_KEYS, 'cluster' | 'context' | 'user']>) {
    const list = raw[listKey] ?? [];
    if (!Array.isArray(list)) throw new KubeconfigError(listKey, 'must be a list');
    const byName = new Map<string, { index: number; body: Mapping }>();
    list.forEach((item: unknown, index) => {
      const at = `${listKey}[${index}]`;
      if (!isMapping(item)) throw new KubeconfigError(at, `must be a mapping with name and ${inner}`);
      for (const k of Object.keys(item)) if (k !== 'name' && k !== inner) throw refusedKey(`${at}.${k}`, k);
      if (typeof item.name !== 'string' || !item.name) throw new KubeconfigError(`${at}.name`, 'must be a non-empty string');
      const body = item[inner] ?? {};
      if (!isMapping(body)) throw new KubeconfigError(`${at}.${inner}`, 'must be a mapping');
      for (const k of Object.keys(body)) {
        if (INNER_KEYS[inner].has(k) || (trusted && TRUSTED_EXTRA[inner]!.has(k))) continue;
        throw refusedKey(`${at}.${inner}.${k}`, k);
      }
      for (const [k, v] of Object.entries(body)) {
        if (k === 'extensions' || k === 'insecure-skip-tls-verify' || k === 'disable-compression') continue;
        if (typeof v !== 'string') throw new KubeconfigError(`${at}.${inner}.${k}`, 'must be a string');
      }
      if (byName.has(item.name)) throw new KubeconfigError(`${at}.name`, `"${item.name}" appears twice in ${listKey}`);
      byName.set(item.name, { index, body });
    });
    lists[listKey] = byName;
  }

  const contextName = raw['current-context'];
  if (typeof contextName !== 'string' || !contextName) throw new KubeconfigError('current-context', 'is missing; set it to the name of one of the contexts');
  const ctx = lists.contexts.get(contextName);
  if (!ctx) throw new KubeconfigError('current-context', `"${contextName}" is not among the contexts; fix current-context`);
  const ctxAt = `contexts[${ctx.index}].context`;
  const clusterName = ctx.body.cluster as string | undefined;
  const cluster = clusterName ? lists.clusters.get(clusterName) : undefined;
  if (!cluster) throw new KubeconfigError(`${ctxAt}.cluster`, `names cluster "${clusterName ?? ''}", which is not among the clusters`);
  const userName = ctx.body.user as string | undefined;
  const user = userName ? lists.users.get(userName) : undefined;
  if (!user) throw new KubeconfigError(`${ctxAt}.user`, `names user "${userName ?? ''}", which is not among the users`);
  const clusterAt = `clusters[${cluster.index}].cluster`;
  const userAt = `users[${user.index}].user`;

  const namespace = (ctx.body.namespace as string | undefined) || 'default';
  if (!DNS_LABEL.test(namespace)) throw new KubeconfigError(`${ctxAt}.namespace`, `"${namespace}" is not a valid namespace name (lowercase letters, digits and '-', at most 63)`);

  const c = cluster.body as Record<string, string | undefined>;
  const u = user.body as Record<string, string | undefined>;
  const server = checkServer(c.server, `${clusterAt}.server`, trusted);
  const creds: KubeCredentials = {
    contextName,
    clusterName: clusterName!,
    userName: userName!,
    server,
    namespace,
    skipTlsVerify: trusted && (cluster.body['insecure-skip-tls-verify'] === true || cluster.body['insecure-skip-tls-verify'] === 'true'),
  };
  if (c['tls-server-name']) creds.tlsServerName = c['tls-server-name'];
  creds.ca = bytes(c['certificate-authority-data'], `${clusterAt}.certificate-authority-data`) ?? (trusted ? file(c['certificate-authority'], `${clusterAt}.certificate-authority`) : undefined);
  creds.cert = bytes(u['client-certificate-data'], `${userAt}.client-certificate-data`) ?? (trusted ? file(u['client-certificate'], `${userAt}.client-certificate`) : undefined);
  creds.key = bytes(u['client-key-data'], `${userAt}.client-key-data`) ?? (trusted ? file(u['client-key'], `${userAt}.client-key`) : undefined);
  const tokenFile = trusted ? (u['token-file'] ?? u.tokenFile) : undefined;
  const token = u.token ?? (tokenFile ? file(tokenFile, `${userAt}.tokenFile`)!.toString('utf8').trim() : undefined);
  if (token !== undefined) {
    if (!PRINTABLE.test(token)) throw new KubeconfigError(`${userAt}.token`, 'must be printable ASCII without spaces or line breaks');
    creds.token = token;
    if (tokenFile && u.token === undefined) creds.tokenFile = tokenFile;
  }
  if (u.username !== undefined || u.password !== undefined) {
    if (!u.username || !u.password) throw new KubeconfigError(`${userAt}.${u.username ? 'password' : 'username'}`, 'is missing; basic auth needs both username and password');
    if (/[\r\n:]/.test(u.username) || /[\r\n]/.test(u.password)) throw new KubeconfigError(`${userAt}.username`, 'must not contain line breaks or a colon');
    creds.basicAuth = { username: u.username, password: u.password };
  }
  if (!!creds.cert !== !!creds.key) {
    throw new KubeconfigError(`${userAt}.${creds.cert ? 'client-key-data' : 'client-certificate-data'}`, 'is missing; a client certificate needs its key and the other way round');
  }
  if (!creds.token && !creds.cert && !creds.basicAuth) {
    throw new KubeconfigError(userAt, `user "${userName}" has no credentials; add a token, or client-certificate-data and client-key-data`);
  }
  return creds;
}

function refusedKey(field: string, key: string): KubeconfigError {
  return new KubeconfigError(field, `is not allowed: ${REFUSED[key] ?? 'unknown field; remove it (only data fields of a kubeconfig are accepted)'}`);
}

function checkServer(value: string | undefined, field: string, trusted: boolean): string {
  if (!value) throw new KubeconfigError(field, 'is missing; set it to https://<host>[:<port>] of the API server');
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new KubeconfigError(field, `"${value.slice(0, 100)}" is not a URL; set it to https://<host>[:<port>]`);
  }
  if (trusted) {
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new KubeconfigError(field, 'must be an http(s) URL');
    return value.replace(/\/+$/, '');
  }
  if (u.protocol !== 'https:') throw new KubeconfigError(field, `must use https (got ${u.protocol.replace(':', '')}); set it to https://<host>[:<port>]`);
  if (u.username || u.password) throw new KubeconfigError(field, 'must not contain credentials; put them in the user entry');
  if ((u.pathname && u.pathname !== '/') || u.search || u.hash || /[?#]/.test(value)) {
    throw new KubeconfigError(field, 'must be https://<host>[:<port>] with no path, query or fragment');
  }
  // The normalized form: `https://2130706433` becomes `https://127.0.0.1`, which the egress
  // policy then sees as what it is.
  return `${u.protocol}//${u.host}`;
}

function bytes(data: string | undefined, field: string): Buffer | undefined {
  if (data === undefined || data === '') return undefined;
  const clean = data.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) throw new KubeconfigError(field, 'must be base64 (as kubectl writes it)');
  return Buffer.from(clean, 'base64');
}

/** Operator kubeconfigs only: reads a referenced file. */
function file(path: string | undefined, field: string): Buffer | undefined {
  if (!path) return undefined;
  try {
    return fs.readFileSync(path);
  } catch (err) {
    throw new KubeconfigError(field, `file ${path} cannot be read: ${(err as Error).message}`);
  }
}

/** The admin kubeconfig from configuration: the text itself or (a single line) a path to it. */
export function readAdminKubeconfig(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (!value.includes('\n') && fs.existsSync(value)) return fs.readFileSync(value, 'utf8');
  return value;
}

/** The admin server's URL, for the egress allow-list; undefined when there is no admin cluster or it does not parse. */
export function adminServer(adminKubeconfig: string | undefined): string | undefined {
  const text = readAdminKubeconfig(adminKubeconfig);
  if (!text) return undefined;
  try {
    return parseKubeconfig(text, { trusted: true }).server;
  } catch {
    return undefined;
  }
}

/** A single-context kubeconfig (JSON, which is valid YAML) with a bearer token. */
export function tokenKubeconfig(o: { name: string; server: string; ca?: Buffer; token: string; namespace: string }): string {
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: o.name, cluster: { server: o.server, ...(o.ca ? { 'certificate-authority-data': o.ca.toString('base64') } : {}) } }],
      users: [{ name: o.name, user: { token: o.token } }],
      contexts: [{ name: o.name, context: { cluster: o.name, user: o.name, namespace: o.namespace } }],
      'current-context': o.name,
    },
    null,
    2,
  );
}
