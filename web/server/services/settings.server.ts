// Per-user settings: the kubeconfig (validated by server/kubeconfig.ts: data fields only;
// its API server checked against the egress policy and reached within a short timeout) and
// the Anthropic key and base URL. All are stored encrypted in UserConfig. Anthropic changes
// reach running sandboxes through an `environmentChanged` signal to each of the user's
// lifecycles.
import { z } from 'zod';
import { EgressRefusedError, urlHost } from '../../../server/egress';
import { describeTransportError, KubeApiError, KubeHttp } from '../../../server/kube-http';
import { KubeconfigError, MAX_KUBECONFIG_BYTES, parseKubeconfig, type KubeCredentials } from '../../../server/kubeconfig';
import type { ServiceContext } from '../context';
import { ApiError, parseInput } from '../http/errors';
import { signalEnvironmentChanged } from './projects.server';

export const CONFIG_KEYS = { kubeconfig: 'KUBECONFIG', anthropicKey: 'ANTHROPIC_API_KEY', anthropicBaseUrl: 'ANTHROPIC_BASE_URL' } as const;

export const kubeconfigSchema = z.strictObject(
  {
    kubeconfig: z
      .string({ error: 'required; paste the YAML of your kubeconfig file' })
      .min(1, 'must not be empty; paste the YAML of your kubeconfig file')
      .max(MAX_KUBECONFIG_BYTES, 'is too long; a kubeconfig is at most 64 KiB'),
  },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.join(', ')}; send only kubeconfig` : 'send a JSON object { "kubeconfig": "<yaml>" }') },
);

export interface KubeconfigSummary {
  namespace: string;
  server: string;
  context: string;
  user: string;
}

const invalid = (message: string, field?: string) =>
  new ApiError('unprocessable', `kubeconfig: ${field ? `${field} ` : ''}${message}`, field ? { field: `kubeconfig.${field}` } : undefined);

/** Parses and checks a kubeconfig without contacting anything. */
export function inspectKubeconfig(yaml: string): { creds: KubeCredentials; summary: KubeconfigSummary } {
  let creds: KubeCredentials;
  try {
    creds = parseKubeconfig(yaml);
  } catch (err) {
    if (err instanceof KubeconfigError) throw invalid(err.message, err.field === 'kubeconfig' ? undefined : err.field);
    throw err;
  }
  return { creds, summary: { namespace: creds.namespace, server: creds.server, context: creds.contextName, user: creds.userName } };
}

/**
 * Checks the server against the egress policy, then lists one pod in the namespace: proves
 * the server is reachable and the credentials work there. Only the HTTP status and the
 * Kubernetes Status reason are shown, never what the server answered.
 */
export async function checkKubeconfigReachable(ctx: ServiceContext, creds: KubeCredentials, timeoutMs: number): Promise<void> {
  const server = creds.server;
  const u = new URL(server);
  try {
    await ctx.egress.check(urlHost(u), Number(u.port || 443));
  } catch (err) {
    if (err instanceof EgressRefusedError) throw invalid(`refers to ${err.message}`, 'server');
    throw err;
  }
  const client = new KubeHttp(creds, { timeoutMs, egress: ctx.egress, maxResponseBytes: 1024 * 1024, maxSockets: 1 });
  try {
    await client.request({ method: 'GET', path: `/api/v1/namespaces/${encodeURIComponent(creds.namespace)}/pods`, query: { limit: '1' } });
  } catch (err) {
    if (err instanceof EgressRefusedError) throw invalid(`refers to ${err.message}`, 'server');
    if (err instanceof KubeApiError) {
      if (err.status === 401) throw invalid(`API server ${server} rejected the credentials (HTTP 401${err.reason ? ` ${err.reason}` : ''}); download a fresh kubeconfig`);
      if (err.status === 403) throw invalid(`user may not list pods in namespace "${creds.namespace}" (HTTP 403${err.reason ? ` ${err.reason}` : ''}); use a kubeconfig with rights in its namespace`);
      throw invalid(`API server ${server} answered HTTP ${err.status}${err.reason ? ` ${err.reason}` : ''}; check the server address`);
    }
    const why = describeTransportError(err);
    if (why === 'no answer in time') throw invalid(`API server ${server} did not answer within ${timeoutMs / 1000}s; check the server address and your network`);
    ctx.logger.info({ server, code: why }, 'kubeconfig check: API server not reachable');
    throw invalid(`API server ${server} is not reachable (${why}); check the server address and that its certificate is signed by certificate-authority-data`);
  } finally {
    client.close();
  }
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
  const { creds, summary } = inspectKubeconfig(kubeconfig);
  await checkKubeconfigReachable(ctx, creds, ctx.kubeconfigTimeoutMs);
  await putConfig(ctx, userId, CONFIG_KEYS.kubeconfig, kubeconfig, 'kubernetes');
  return summary;
}

/**
 * Stores a kubeconfig that arrived with a signed sign-in (Sealos): the signature vouches for
 * who sent it, not for what it contains, so it goes through the same checks (not reached:
 * the sign-in must not wait on the cluster; the worker's egress policy applies at connect).
 */
export async function storeTrustedKubeconfig(ctx: ServiceContext, userId: string, kubeconfig: string): Promise<KubeconfigSummary> {
  const { creds, summary } = inspectKubeconfig(kubeconfig);
  const u = new URL(creds.server);
  try {
    await ctx.egress.check(urlHost(u), Number(u.port || 443));
  } catch (err) {
    if (err instanceof EgressRefusedError) throw invalid(`refers to ${err.message}`, 'server');
    throw err;
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
      kubeconfig = { ...inspectKubeconfig(kube.value).summary, updatedAt: kube.updatedAt.toISOString() };
    } catch {
      kubeconfig = null;
    }
  }
  return {
    kubeconfig,
    anthropic: { keyConfigured: !!key, keyHint: key ? `…${key.value.slice(-4)}` : null, baseUrl: base?.value ?? null },
  };
}
