// Kubernetes clients per user, from the user's KUBECONFIG (UserConfig, encrypted at rest;
// namespace from its current context). Cached by a hash of the stored value, so a changed
// kubeconfig drops the old client on the next call.
//
// Embedded default: a user without a KUBECONFIG gets a namespace of their own on the admin
// cluster (Namespace + ServiceAccount + a namespaced admin Role + RoleBinding + a long-lived
// token Secret) and a kubeconfig for it, stored encrypted as their KUBECONFIG — as the
// reference's Sealos sign-in hands each user one.
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { Db } from '../../server/db';
import type { Cipher } from '../../server/crypto';
import { sha256 } from '../../server/crypto';
import { nonRetryable, mapKubeError } from './errors';
import { createEgressPolicy, type EgressPolicy } from '../../server/egress';
import { KubeconfigError, parseKubeconfig, readAdminKubeconfig, tokenKubeconfig } from '../../server/kubeconfig';
import { KubeClient, loadAdminKubeconfig, type KubeObject } from './kube-client';
import { USER_NAMESPACE_ROLE_RULES, userNamespaceObjects } from './namespace-policy';

export const KUBECONFIG_KEY = 'KUBECONFIG';
export const USER_SERVICE_ACCOUNT = 'fsa-user';
export const USER_ROLE = 'fsa-namespace-admin';
export const USER_TOKEN_SECRET = 'fsa-user-token';
export const USER_ID_LABEL = 'fullstackagent.io/user-id';

export interface UserClientsDeps {
  db: Db;
  cipher: Cipher;
  /** Admin kubeconfig (YAML/JSON text, or a path to one) of the cluster that hands out namespaces. */
  adminKubeconfig?: string;
  /** Where user clusters may be; default: public addresses plus the admin cluster's server. */
  egress?: EgressPolicy;
  logger: Logger;
  requestTimeoutMs?: number;
  /** Clients kept (one per user with a keep-alive pool); the least recently used is closed. */
  maxClients?: number;
  /** How long to wait for the token controller to fill a new user's token Secret. */
  tokenWaitMs?: number;
}

/** A DNS-1123 label for the user's namespace: ns-<userId> (hash-suffixed when the id needs cleaning). */
export function userNamespace(userId: string): string {
  const clean = userId.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  if (clean === userId && clean.length > 0 && clean.length <= 60) return `ns-${clean}`;
  return `ns-${clean.slice(0, 40).replace(/-+$/, '') || 'user'}-${sha256(userId).slice(0, 8)}`;
}

export function createUserClients(deps: UserClientsDeps) {
  const timeoutMs = deps.requestTimeoutMs ?? 10_000;
  // Bounded (LRU), so a worker serving many users holds a bounded number of idle connection
  // pools. A dropped client (evicted, or replaced by a changed kubeconfig) has its HTTP
  // agents destroyed once its last request or watch ends: a settled project's drift watch
  // holds its client for hours, and closing under it would break the watch (and make the
  // retried watch evict another user's client in turn).
  const cache = new LRUCache<string, { hash: string; client: KubeClient }>({
    max: deps.maxClients ?? 500,
    dispose: (entry) => entry.client.closeWhenIdle(),
  });
  const provisioning = new Map<string, Promise<void>>();
  let admin: KubeClient | undefined;
  let egress = deps.egress;
  const egressPolicy = (): EgressPolicy => {
    egress ??= createEgressPolicy({ trustedServers: adminClient() ? [adminClient()!.server] : [] });
    return egress;
  };

  const adminClient = (): KubeClient | undefined => {
    if (!deps.adminKubeconfig) return undefined;
    if (!admin) {
      try {
        admin = new KubeClient(loadAdminKubeconfig(readAdminKubeconfig(deps.adminKubeconfig)!), { timeoutMs, fieldManager: 'fullstackagent-provisioner' });
      } catch (err) {
        throw nonRetryable(`the admin kubeconfig (CLUSTER_ADMIN_KUBECONFIG) is invalid: ${(err as Error).message}`, 'KubeconfigInvalid');
      }
    }
    return admin;
  };

  async function provisionNamespace(userId: string): Promise<void> {
    const adm = adminClient()!;
    const user = await deps.db.user.findUnique({ where: { id: userId }, select: { id: true } });
    if (!user) throw nonRetryable(`user ${userId} does not exist; cannot give them a namespace`, 'NotFound');
    const ns = userNamespace(userId);
    const labels = { [USER_ID_LABEL]: userId.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 63), 'app.kubernetes.io/managed-by': 'fullstackagent' };
    const objects: KubeObject[] = [
      ...userNamespaceObjects(ns, labels), // Namespace (pod-security labels), ResourceQuota, LimitRange: namespace-policy.ts
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: USER_SERVICE_ACCOUNT, namespace: ns, labels } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: USER_ROLE, namespace: ns, labels },
        // What a namespace admin needs for the project's objects, inside the namespace only;
        // the quota and limits are read-only, so a user cannot lift them.
        rules: USER_NAMESPACE_ROLE_RULES.map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] })),
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: USER_ROLE, namespace: ns, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: USER_ROLE },
        subjects: [{ kind: 'ServiceAccount', name: USER_SERVICE_ACCOUNT, namespace: ns }],
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: USER_TOKEN_SECRET, namespace: ns, labels, annotations: { 'kubernetes.io/service-account.name': USER_SERVICE_ACCOUNT } },
        type: 'kubernetes.io/service-account-token',
      },
    ];
    for (const obj of objects) {
      try {
        await adm.apply(obj);
      } catch (err) {
        throw mapKubeError(err, `${obj.kind} ${ns}/${obj.metadata.name} (provisioning the user's namespace)`);
      }
    }
    // The token controller fills the Secret asynchronously.
    const deadline = Date.now() + (deps.tokenWaitMs ?? 30_000);
    let token: string | undefined;
    while (!token) {
      const secret = await adm
        .get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', name: USER_TOKEN_SECRET, namespace: ns })
        .catch((err) => {
          throw mapKubeError(err, `Secret ${ns}/${USER_TOKEN_SECRET}`);
        });
      if (secret?.data?.token) token = Buffer.from(secret.data.token, 'base64').toString('utf8');
      else if (Date.now() > deadline) throw new Error(`Secret ${ns}/${USER_TOKEN_SECRET}: no token after ${deps.tokenWaitMs ?? 30_000} ms (is kube-controller-manager running?); will retry`);
      else await new Promise((r) => setTimeout(r, 100));
    }
    const kubeconfig = tokenKubeconfig({ name: ns, server: adm.server, ca: adm.config.ca, token, namespace: ns });
    try {
      // create, not upsert: a kubeconfig the user stored meanwhile wins.
      await deps.db.userConfig.create({
        data: { userId, key: KUBECONFIG_KEY, value: deps.cipher.encrypt(kubeconfig), isSecret: true, category: 'kubernetes' },
      });
      deps.logger.info({ userId, namespace: ns }, 'provisioned a namespace and kubeconfig for the user');
    } catch (err) {
      if ((err as { code?: string }).code !== 'P2002') throw err;
    }
  }

  /** The user's client; provisions a namespace first when allowed and needed. */
  async function forUser(userId: string): Promise<KubeClient> {
    let row = await deps.db.userConfig.findUnique({ where: { userId_key: { userId, key: KUBECONFIG_KEY } } });
    if (!row) {
      if (!adminClient()) {
        throw nonRetryable(
          `user ${userId} has no kubeconfig: store one (PUT /api/user/kubeconfig) or run the platform with the embedded cluster`,
          'KubeconfigMissing',
        );
      }
      let p = provisioning.get(userId);
      if (!p) {
        p = provisionNamespace(userId).finally(() => provisioning.delete(userId));
        provisioning.set(userId, p);
      }
      await p;
      row = await deps.db.userConfig.findUnique({ where: { userId_key: { userId, key: KUBECONFIG_KEY } } });
      if (!row) throw new Error(`user ${userId}: kubeconfig was provisioned but is not stored; will retry`);
    }
    const hash = sha256(row.value);
    const cached = cache.get(userId);
    if (cached && cached.hash === hash) return cached.client;
    // A changed kubeconfig replaces the client (the cache retires the old one). A user's
    // kubeconfig is parsed as untrusted data and reached only through the egress policy.
    let text: string;
    try {
      text = deps.cipher.decrypt(row.value);
    } catch {
      throw nonRetryable(`user ${userId}: the stored kubeconfig cannot be decrypted (was ENCRYPTION_KEY changed?); store it again`, 'KubeconfigInvalid');
    }
    let client: KubeClient;
    try {
      client = new KubeClient(parseKubeconfig(text), { timeoutMs, egress: egressPolicy() });
    } catch (err) {
      const what = err instanceof KubeconfigError ? `${err.field} ${err.message}` : (err as Error).message;
      throw nonRetryable(`user ${userId}: the stored kubeconfig is invalid: ${what}; store it again`, 'KubeconfigInvalid');
    }
    cache.set(userId, { hash, client });
    return client;
  }

  return { forUser, adminClient, cacheSize: () => cache.size };
}
export type UserClients = ReturnType<typeof createUserClients>;
