// Kubeconfig parsing and writing. Not @kubernetes/client-node's KubeConfig: client-node
// 2.0.1 pulls in undici 8, which calls zlib.createZstdDecompress at import time and so
// crashes on Node 20 (the machines' runtime). Supported credentials: bearer token (inline
// or file), client certificate/key (inline or file), basic auth; exec and auth-provider
// plugins are rejected with a message saying so.
import fs from 'node:fs';
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
}

type Named<T> = Array<{ name?: string } & T>;
interface RawKubeconfig {
  'current-context'?: string;
  clusters?: Named<{ cluster?: Record<string, unknown> }>;
  users?: Named<{ user?: Record<string, unknown> }>;
  contexts?: Named<{ context?: { cluster?: string; user?: string; namespace?: string } }>;
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

function bytes(what: string, data: unknown, file: unknown): Buffer | undefined {
  if (str(data)) return Buffer.from(data as string, 'base64');
  if (str(file)) {
    try {
      return fs.readFileSync(file as string);
    } catch (err) {
      throw new Error(`${what} file ${file as string} cannot be read: ${(err as Error).message}`);
    }
  }
  return undefined;
}

/** Parses and checks a kubeconfig; throws an Error naming what is wrong. */
export function parseKubeconfig(text: string): ResolvedKubeconfig {
  let raw: RawKubeconfig;
  try {
    raw = parseYaml(text) as RawKubeconfig;
  } catch (err) {
    throw new Error(`it is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!raw || typeof raw !== 'object') throw new Error('it is not a kubeconfig (expected a YAML mapping)');
  const contextName = str(raw['current-context']);
  if (!contextName) throw new Error('it has no current-context');
  const ctx = raw.contexts?.find((c) => c.name === contextName)?.context;
  if (!ctx) throw new Error(`its current-context "${contextName}" is not among its contexts`);
  const cluster = raw.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster) throw new Error(`context "${contextName}" names cluster "${ctx.cluster ?? ''}", which is not among its clusters`);
  const server = str(cluster.server);
  if (!server || !/^https?:\/\//.test(server)) throw new Error(`cluster "${ctx.cluster}" has no http(s) server URL`);
  const user = raw.users?.find((u) => u.name === ctx.user)?.user;
  if (!user) throw new Error(`context "${contextName}" names user "${ctx.user ?? ''}", which is not among its users`);
  if (user.exec || user['auth-provider']) {
    throw new Error(`user "${ctx.user}" authenticates through an exec/auth-provider plugin, which is not supported here; use a token or client certificate`);
  }

  const resolved: ResolvedKubeconfig = {
    contextName,
    server: server.replace(/\/+$/, ''),
    namespace: str(ctx.namespace) ?? 'default',
    ca: bytes('certificate-authority', cluster['certificate-authority-data'], cluster['certificate-authority']),
    skipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    cert: bytes('client-certificate', user['client-certificate-data'], user['client-certificate']),
    key: bytes('client-key', user['client-key-data'], user['client-key']),
  };
  const token = str(user.token);
  const tokenFile = str(user.tokenFile);
  if (token) resolved.token = () => token;
  else if (tokenFile) resolved.token = () => fs.readFileSync(tokenFile, 'utf8').trim();
  if (str(user.username) && str(user.password)) resolved.basicAuth = { username: user.username as string, password: user.password as string };
  if (!resolved.token && !(resolved.cert && resolved.key) && !resolved.basicAuth) {
    throw new Error(`user "${ctx.user}" has no credentials (token, tokenFile, client certificate and key, or username and password)`);
  }
  if (!!resolved.cert !== !!resolved.key) throw new Error(`user "${ctx.user}" needs both a client certificate and a client key`);
  return resolved;
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
