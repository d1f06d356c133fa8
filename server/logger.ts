// Structured JSON logs (pino). Secrets are redacted wherever they appear: by key name at
// any depth (password, token, kubeconfig, authorization, cookie, API keys, DATABASE_URL,
// secret environment values) and by shape inside strings (credentials in URLs, bearer
// tokens, token=… query parameters, kubeconfig key material), messages included.
import pino, { type DestinationStream, type Logger } from 'pino';

export const REDACTED = '[redacted]';

/**
 * Key names whose values are never logged. Matched case-insensitively, ignoring `-` and `_`,
 * against the whole key or its ending (so `ttydAccessToken`, `ANTHROPIC_API_KEY`,
 * `x-api-key`, `AUTH_GITHUB_SECRET` are all caught).
 */
export const SECRET_KEY_SUFFIXES = [
  'password',
  'passwd',
  'secret',
  'token',
  'apikey',
  'kubeconfig',
  'authorization',
  'cookie',
  'privatekey',
  'encryptionkey',
  'databaseurl',
  'credentials',
  'connectionstring',
  'clientkeydata',
] as const;

/** Kept for callers of the first version; redaction now covers these keys at any depth. */
export const REDACT_PATHS: readonly string[] = SECRET_KEY_SUFFIXES;

const normalizeKey = (key: string) => key.toLowerCase().replace(/[-_]/g, '');

export function isSecretKey(key: string): boolean {
  const k = normalizeKey(key);
  return SECRET_KEY_SUFFIXES.some((s) => k === s || k.endsWith(s));
}

// Patterns for secrets inside free text. Each keeps the label and replaces the secret.
const TEXT_PATTERNS: Array<[RegExp, string]> = [
  // scheme://user:password@host → scheme://user:[redacted]@host
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@'"]*):[^\s@/'"]*@/gi, `$1:${REDACTED}@`],
  // Authorization: Bearer xxx / Basic xxx
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/g, `$1 ${REDACTED}`],
  // ?token=…&password=… in query strings and form bodies
  [/([?&;](?:[a-z0-9_-]*(?:token|password|secret|api[_-]?key|passwd|sig|signature)))=[^&\s#'"]+/gi, `$1=${REDACTED}`],
  // kubeconfig / YAML key material: `token: …`, `client-key-data: …`, `password: …`
  [/\b((?:client-key-data|client-certificate-data|token|password|secret)\s*:\s*)("?)[^\s"]+\2/gi, `$1${REDACTED}`],
];

export function scrubText(text: string): string {
  let out = text;
  for (const [re, replacement] of TEXT_PATTERNS) out = out.replace(re, replacement);
  return out;
}

const MAX_DEPTH = 10;

/**
 * Returns a copy of `value` with secrets redacted. Errors become pino's standard error shape
 * (type, message, stack, …) before scrubbing so their text is cleaned too.
 */
export function redactSecrets(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(value);
  if (value instanceof Error) return redactSecrets(pino.stdSerializers.err(value), depth + 1, seen);
  if (Buffer.isBuffer(value)) return `[buffer ${value.length} bytes]`;
  if (value instanceof Date) return value;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1, seen));
  if (value instanceof Map) return redactSecrets(Object.fromEntries(value), depth + 1, seen);
  const src = value as Record<string, unknown>;
  // An environment entry ({ key|name, value, isSecret }): hide the value when flagged secret
  // or when its name looks like a secret (TTYD_ACCESS_TOKEN, ANTHROPIC_API_KEY, …).
  const entryName = typeof src.key === 'string' ? src.key : typeof src.name === 'string' ? src.name : undefined;
  const secretEntry = 'value' in src && (src.isSecret === true || src.secret === true || (entryName !== undefined && isSecretKey(entryName)));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(src)) {
    if (v === undefined) continue;
    if ((k === 'value' && secretEntry) || (isSecretKey(k) && typeof v !== 'boolean' && v !== null)) out[k] = REDACTED;
    else out[k] = redactSecrets(v, depth + 1, seen);
  }
  return out;
}

export interface LoggerOptions {
  /** Extra bindings on every line (e.g. { service: 'web' }). */
  base?: Record<string, unknown>;
}

export function createLogger(
  name: string,
  level = process.env.LOG_LEVEL ?? 'info',
  destination?: DestinationStream,
  options: LoggerOptions = {},
): Logger {
  const logger = pino(
    {
      name,
      level,
      base: { pid: process.pid, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        // Level as a word ("info") is what log pipelines filter on.
        level: (label) => ({ level: label }),
        bindings: (bindings) => redactSecrets(bindings) as Record<string, unknown>,
        log: (obj) => redactSecrets(obj) as Record<string, unknown>,
      },
      // Errors are serialized (and scrubbed) by formatters.log; serializing again would
      // turn the plain result into { type: 'Object' }.
      serializers: { err: (e: unknown) => e },
      hooks: {
        // Messages and printf-style arguments are scrubbed like values. `log.error(err)`
        // takes its message from the error, so that case is spelled out here.
        logMethod(args, method) {
          const [first, ...rest] = args as unknown[];
          const cleaned =
            first instanceof Error
              ? [{ err: first }, ...(rest.length ? rest : [first.message])]
              : (args as unknown[]);
          return method.apply(this, cleaned.map((a) => (typeof a === 'string' ? scrubText(a) : a)) as Parameters<typeof method>);
        },
      },
    },
    destination as DestinationStream,
  );
  // pino applies formatters.bindings to the root only; children pass through here, and
  // their own children inherit this override.
  const child = logger.child;
  logger.child = function (this: Logger, bindings, options) {
    return child.call(this, redactSecrets(bindings) as typeof bindings, options);
  } as typeof logger.child;
  return logger;
}

/** Fields that tie a log line to a request or a lifecycle. */
export interface LogContext {
  requestId?: string;
  workflowId?: string;
  runId?: string;
  projectId?: string;
  userId?: string;
}

/** A child logger carrying the given ids on every line (undefined fields are left out). */
export function withContext(logger: Logger, context: LogContext): Logger {
  const bindings = Object.fromEntries(Object.entries(context).filter(([, v]) => v !== undefined && v !== ''));
  return logger.child(bindings);
}

export const withRequestId = (logger: Logger, requestId: string): Logger => withContext(logger, { requestId });
export const withWorkflowId = (logger: Logger, workflowId: string, runId?: string): Logger =>
  withContext(logger, { workflowId, runId });

export type { Logger };
