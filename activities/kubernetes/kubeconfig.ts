// Kubeconfig parsing and writing, on @kubernetes/client-node's KubeConfig (1.4.0, which runs
// on Node 20; 2.x pulls in undici 8, whose import-time zlib.createZstdDecompress needs Node 22).
// KubeConfig parses and resolves the current context; this module adds the checks that give
// a user a message naming what is wrong, and builds the KubeConfig the client authenticates
// with. Supported credentials: bearer token (inline or tokenFile), client certificate/key
// (inline or file), basic auth; exec and auth-provider plugins are rejected with a message
// saying so (they would run commands or reach identity providers from the worker).
import fs from 'node:fs';
import { KubeConfig, type Cluster, type User } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';

export interface ResolvedKubeconfig {
  contextName: string;
  server: string;
  namespace: string;
  /** PEM of the cluster CA, if any. */
  ca?: Buffer;
  skipTlsVerify: boolean;
  /** A function, so token files (rotated service-account tokens) are read per request. */
  token?: () => string;
  cert?: Buffer;
  key?: Buffer;
  basicAuth?: { username: string; password: string };
  /** Set when the token comes from a file: the client then reads it per request (trimmed). */
  tokenFile?: string;
  /** The current context only, as client-node authenticates requests with it. */
  kubeConfig: KubeConfig;
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

function bytes(what: string, data: string | undefined, file: string | undefined): Buffer | undefined {
  if (str(data)) return Buffer.from(data!, 'base64');
  if (str(file)) {
    try {
      return fs.readFileSync(file!);
    } catch (err) {
      throw new Error(`${what} file ${file!} cannot be read: ${(err as Error).message}`);
    }
  }
  return undefined;
}

/** Parses and checks a kubeconfig; throws an Error naming what is wrong. */
export function parseKubeconfig(text: string): ResolvedKubeconfig {
  // A first, lenient parse for the shape check: KubeConfig reads a bare string or an empty
  // document as an empty config, which would surface as a confusing "no current-context".
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new Error(`it is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('it is not a kubeconfig (expected a YAML mapping)');

  const all = new KubeConfig();
  try {
    all.loadFromString(text);
  } catch (err) {
    throw new Error(`it is not a valid kubeconfig: ${(err as Error).message.split('\n')[0]}`);
  }
  const contextName = str(all.getCurrentContext());
  if (!contextName) throw new Error('it has no current-context');
  const ctx = all.getContextObject(contextName);
  if (!ctx) throw new Error(`its current-context "${contextName}" is not among its contexts`);
  const cluster = all.getCluster(ctx.cluster);
  if (!cluster) throw new Error(`context "${contextName}" names cluster "${ctx.cluster ?? ''}", which is not among its clusters`);
  const server = str(cluster.server);
  if (!server || !/^https?:\/\//.test(server)) throw new Error(`cluster "${ctx.cluster}" has no http(s) server URL`);
  const user = ctx.user ? all.getUser(ctx.user) : null;
  if (!user) throw new Error(`context "${contextName}" names user "${ctx.user ?? ''}", which is not among its users`);
  if (user.exec || user.authProvider) {
    throw new Error(`user "${ctx.user}" authenticates through an exec/auth-provider plugin, which is not supported here; use a token or client certificate`);
  }
  // KubeConfig 1.4.0 reads only the non-standard `token-file`; kubectl's key is `tokenFile`.
  const rawUser = (raw as { users?: Array<{ name?: string; user?: Record<string, unknown> }> }).users?.find((u) => u?.name === ctx.user)?.user;
  const tokenFile = str(rawUser?.tokenFile);

  const resolved: Omit<ResolvedKubeconfig, 'kubeConfig'> = {
    contextName,
    server: server.replace(/\/+$/, ''),
    namespace: str(ctx.namespace) ?? 'default',
    ca: bytes('certificate-authority', cluster.caData, cluster.caFile),
    skipTlsVerify: cluster.skipTLSVerify === true,
    cert: bytes('client-certificate', user.certData, user.certFile),
    key: bytes('client-key', user.keyData, user.keyFile),
  };
  const token = str(user.token);
  if (token) resolved.token = () => token;
  else if (tokenFile) {
    resolved.tokenFile = tokenFile;
    resolved.token = () => fs.readFileSync(tokenFile, 'utf8').trim();
  }
  if (str(user.username) && str(user.password)) resolved.basicAuth = { username: user.username!, password: user.password! };
  if (!resolved.token && !(resolved.cert && resolved.key) && !resolved.basicAuth) {
    throw new Error(`user "${ctx.user}" has no credentials (token, tokenFile, client certificate and key, or username and password)`);
  }
  if (!!resolved.cert !== !!resolved.key) throw new Error(`user "${ctx.user}" needs both a client certificate and a client key`);
  return { ...resolved, kubeConfig: currentContextConfig(contextName, ctx.namespace, cluster, user) };
}

/** A KubeConfig holding just the current context, adjusted to what the client needs. */
function currentContextConfig(contextName: string, namespace: string | undefined, cluster: Cluster, user: User): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // client-node refuses plain-http servers unless TLS verification is off; for http there is
    // no TLS to verify, so saying so changes nothing on the wire.
    clusters: [{ ...cluster, skipTLSVerify: cluster.skipTLSVerify || cluster.server.startsWith('http:') }],
    // A `tokenFile` token is not known to KubeConfig; the client adds it per request.
    users: [user],
    contexts: [{ name: contextName, cluster: cluster.name, user: user.name, namespace }],
    currentContext: contextName,
  });
  return kc;
}

/** A single-context kubeconfig (JSON, which is valid YAML) with a bearer token. */
export function tokenKubeconfig(o: { name: string; server: string; ca?: Buffer; skipTlsVerify?: boolean; token: string; namespace: string }): string {
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: o.name,
          cluster: {
            server: o.server,
            ...(o.ca ? { 'certificate-authority-data': o.ca.toString('base64') } : {}),
            ...(o.skipTlsVerify ? { 'insecure-skip-tls-verify': true } : {}),
          },
        },
      ],
      users: [{ name: o.name, user: { token: o.token } }],
      contexts: [{ name: o.name, context: { cluster: o.name, user: o.name, namespace: o.namespace } }],
      'current-context': o.name,
    },
    null,
    2,
  );
}
