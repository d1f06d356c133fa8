// Per-user settings: the kubeconfig (validated: parsed, its current context complete, its
// API server reached within a short timeout) and the Anthropic key and base URL. All are
// stored encrypted in UserConfig. Anthropic changes reach running sandboxes through an
// `environmentChanged` signal to each of the user's lifecycles.
import type { KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import type { ServiceContext } from '../context';
import { ApiError, parseInput } from '../http/errors';
import { signalEnvironmentChanged } from './projects.server';
import { withTimeout } from './temporal-errors';

export const CONFIG_KEYS = { kubeconfig: 'KUBECONFIG', anthropicKey: 'ANTHROPIC_API_KEY', anthropicBaseUrl: 'ANTHROPIC_BASE_URL' } as const;

export const kubeconfigSchema = z.strictObject(
  {
    kubeconfig: z
      .string({ error: 'required; paste the YAML of your kubeconfig file' })
      .min(1, 'must not be empty; paste the YAML of your kubeconfig file')
      .max(64 * 1024, 'is too long; a kubeconfig is at most 64 KiB'),
  },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.join(', ')}; send only kubeconfig` : 'send a JSON object { "kubeconfig": "<yaml>" }') },
);

export interface KubeconfigSummary {
  namespace: string;
  server: string;
  context: string;
  user: string;
}

type KubeModule = typeof import('@kubernetes/client-node');
let kubeModule: Promise<KubeModule> | undefined;

/**
 * @kubernetes/client-node (pinned to 1.4.0, which runs on Node 20; 2.x's undici 8 needs Node 22)
 * is loaded on first use, not at start: if it ever fails to load, only kubeconfig validation
 * should fail, not the whole web process.
 */
function loadKube(): Promise<KubeModule> {
  kubeModule ??= import('@kubernetes/client-node').catch((err: Error) => {
    kubeModule = undefined;
    throw new ApiError('unavailable', `kubeconfig validation is unavailable on this server (@kubernetes/client-node failed to load: ${err.message}); try again later`);
  });
  return kubeModule;
}

const invalid = (message: string) => new ApiError('unprocessable', `kubeconfig: ${message}`);

/** Parses and checks a kubeconfig without contacting anything. */
export async function inspectKubeconfig(yaml: string): Promise<{ kc: KubeConfig; summary: KubeconfigSummary }> {
  const { KubeConfig } = await loadKube();
  const kc = new KubeConfig();
  try {
    kc.loadFromString(yaml);
  } catch (err) {
    throw invalid(`is not a valid kubeconfig (${(err as Error).message.split('\n')[0]}); paste the whole file`);
  }
  const contextName = kc.getCurrentContext();
  if (!contextName) throw invalid('has no current-context; set current-context to one of its contexts');
  const context = kc.getContextObject(contextName);
  if (!context) throw invalid(`current-context "${contextName}" is not among its contexts; fix current-context`);
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) throw invalid(`context "${contextName}" names cluster "${context.cluster}", which is missing or has no server`);
  const user = kc.getCurrentUser();
  if (!user) throw invalid(`context "${contextName}" names user "${context.user}", which is missing`);
  // Never run commands or read files on this server on a user's behalf.
  if (user.exec || user.authProvider) throw invalid(`user "${user.name}" uses an exec or auth-provider plugin; use a token or client certificate instead`);
  if (user.certFile || user.keyFile || cluster.caFile) throw invalid('refers to files on disk; embed them (certificate-authority-data, client-certificate-data, client-key-data)');
  if (!user.token && !(user.certData && user.keyData) && !(user.username && user.password)) {
    throw invalid(`user "${user.name}" has no credentials; add a token or client-certificate-data and client-key-data`);
  }
  return { kc, summary: { namespace: context.namespace || 'default', server: cluster.server, context: contextName, user: user.name } };
}

/** Lists one pod in the namespace: proves the server is reachable and the credentials work there. */
export async function checkKubeconfigReachable(kc: KubeConfig, summary: KubeconfigSummary, timeoutMs: number): Promise<void> {
  const { CoreV1Api } = await loadKube();
  const api = kc.makeApiClient(CoreV1Api);
  const attempt = api.listNamespacedPod({ namespace: summary.namespace, limit: 1 }).then(
    () => null,
    (err: { code?: number; message?: string }) => err,
  );
  const err = await withTimeout(attempt, timeoutMs, () => ({ code: -1, message: 'timeout' }));
  if (!err) return;
  if (err.code === -1) throw invalid(`API server ${summary.server} did not answer within ${timeoutMs / 1000}s; check the server address and your network`);
  if (err.code === 401) throw invalid(`API server ${summary.server} rejected the credentials (401); download a fresh kubeconfig`);
  if (err.code === 403) throw invalid(`user may not list pods in namespace "${summary.namespace}" (403); use a kubeconfig with rights in its namespace`);
  if (typeof err.code === 'number' && err.code >= 400) throw invalid(`API server ${summary.server} answered HTTP ${err.code}; check the server address`);
  throw invalid(`API server ${summary.server} is not reachable (${String(err.message ?? err).split('\n')[0]}); check the server address`);
}

async function putConfig(ctx: ServiceContext, userId: string, key: string, plain: string, category: string) {
  const value = ctx.cipher.encrypt(plain);
  await ctx.db.userConfig.upsert({
    where: { userId_key: { userId, key } },
    create: { userId, key, value, category, isSecret: true },
    update: { value, category, isSecret: true },
  });
}

async function readConfig(ctx: ServiceContext, userId: string, key: string): Promise<{ value: string; updatedAt: Date } | null> {
  const row = await ctx.db.userConfig.findUnique({ where: { userId_key: { userId, key } } });
  if (!row) return null;
  try {
    return { value: ctx.cipher.decrypt(row.value), updatedAt: row.updatedAt };
  } catch {
    return null; // written with another key: treat as unset rather than fail the page
  }
}

/** Validates (parse + reach) and stores the kubeconfig; returns what the UI shows. */
export async function saveKubeconfig(ctx: ServiceContext, userId: string, input: unknown): Promise<KubeconfigSummary> {
  const { kubeconfig } = parseInput(kubeconfigSchema, input);
  const { kc, summary } = await inspectKubeconfig(kubeconfig);
  await checkKubeconfigReachable(kc, summary, ctx.kubeconfigTimeoutMs);
  await putConfig(ctx, userId, CONFIG_KEYS.kubeconfig, kubeconfig, 'kubernetes');
  return summary;
}

/** Stores a kubeconfig that arrived with a trusted sign-in (Sealos): parsed, not reached. */
export async function storeTrustedKubeconfig(ctx: ServiceContext, userId: string, kubeconfig: string): Promise<KubeconfigSummary | null> {
  if (!kubeconfig.trim() || kubeconfig.length > 64 * 1024) throw invalid('is empty or larger than 64 KiB');
  let summary: KubeconfigSummary | null = null;
  try {
    summary = (await inspectKubeconfig(kubeconfig)).summary;
  } catch (err) {
    // The signed token vouches for it; if only the parser is unavailable, keep it anyway.
    if ((err as ApiError).code !== 'unavailable') throw err;
    ctx.logger.warn({ userId }, 'kubeconfig stored without inspection (Kubernetes client unavailable)');
  }
  await putConfig(ctx, userId, CONFIG_KEYS.kubeconfig, kubeconfig, 'kubernetes');
  return summary;
}

export const anthropicSchema = z
  .strictObject(
    {
      apiKey: z
        .string({ error: 'must be a string' })
        .trim()
        .min(8, 'looks too short; paste the whole key')
        .max(512, 'is too long; paste only the key')
        .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces; paste only the key')
        .optional(),
      baseUrl: z
        .union([z.literal(''), z.url({ protocol: /^https?$/, error: 'must be an http(s) URL like https://api.anthropic.com' })])
        .optional(),
    },
    { error: (i) => (i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.join(', ')}; send apiKey and/or baseUrl` : 'send a JSON object { "apiKey"?: "...", "baseUrl"?: "..." }') },
  )
  .refine((v) => v.apiKey !== undefined || v.baseUrl !== undefined, 'send apiKey, baseUrl or both');

export async function saveAnthropic(ctx: ServiceContext, userId: string, input: unknown): Promise<{ keyConfigured: boolean; baseUrl: string | null; signalled: number }> {
  const data = parseInput(anthropicSchema, input);
  await ctx.db.$transaction(async (tx) => {
    const put = (key: string, plain: string) => {
      const value = ctx.cipher.encrypt(plain);
      return tx.userConfig.upsert({ where: { userId_key: { userId, key } }, create: { userId, key, value, category: 'anthropic', isSecret: true }, update: { value } });
    };
    if (data.apiKey !== undefined) await put(CONFIG_KEYS.anthropicKey, data.apiKey);
    if (data.baseUrl === '') await tx.userConfig.deleteMany({ where: { userId, key: CONFIG_KEYS.anthropicBaseUrl } });
    else if (data.baseUrl !== undefined) await put(CONFIG_KEYS.anthropicBaseUrl, data.baseUrl);
  });
  const projects = await ctx.db.project.findMany({ where: { userId, status: { notIn: ['TERMINATING', 'TERMINATED'] } }, select: { id: true } });
  await signalEnvironmentChanged(ctx, projects.map((p) => p.id));
  const s = await getSettings(ctx, userId);
  return { keyConfigured: s.anthropic.keyConfigured, baseUrl: s.anthropic.baseUrl, signalled: projects.length };
}

/** Stores an Anthropic key obtained for the user (Sealos sign-in through Aiproxy). */
export async function storeAnthropic(ctx: ServiceContext, userId: string, apiKey: string, baseUrl: string): Promise<void> {
  await putConfig(ctx, userId, CONFIG_KEYS.anthropicKey, apiKey, 'anthropic');
  await putConfig(ctx, userId, CONFIG_KEYS.anthropicBaseUrl, baseUrl, 'anthropic');
}

export interface SettingsDto {
  kubeconfig: (KubeconfigSummary & { updatedAt: string }) | null;
  anthropic: { keyConfigured: boolean; keyHint: string | null; baseUrl: string | null };
}

/** What the settings page shows; secrets only as "configured" and a 4-character hint. */
export async function getSettings(ctx: ServiceContext, userId: string): Promise<SettingsDto> {
  const [kube, key, base] = await Promise.all([
    readConfig(ctx, userId, CONFIG_KEYS.kubeconfig),
    readConfig(ctx, userId, CONFIG_KEYS.anthropicKey),
    readConfig(ctx, userId, CONFIG_KEYS.anthropicBaseUrl),
  ]);
  let kubeconfig: SettingsDto['kubeconfig'] = null;
  if (kube) {
    try {
      kubeconfig = { ...(await inspectKubeconfig(kube.value)).summary, updatedAt: kube.updatedAt.toISOString() };
    } catch {
      kubeconfig = null;
    }
  }
  return {
    kubeconfig,
    anthropic: { keyConfigured: !!key, keyHint: key ? `…${key.value.slice(-4)}` : null, baseUrl: base?.value ?? null },
  };
}
