// The shapes of everything `fsa ... --json` prints (README.md "Command-line client" documents
// them; the tests validate every command's output against these). The CLI parses the API's
// answers with the same schemas, so an output carries exactly these fields, whatever else
// the server adds, and a server that answers in another shape is reported, not passed on.
// Stable: fields are only ever added.
import { z } from 'zod';
import { STAGE_NAMES } from '../common/lifecycle';
import { PROJECT_STATUSES, RESOURCE_STATUSES } from '../common/status';

const isoDate = z.iso.datetime({ offset: true });

export const projectStatusSchema = z.enum(PROJECT_STATUSES);
export const resourceStatusSchema = z.enum(RESOURCE_STATUSES);

/** One row of `fsa projects ls --json` (an array of these). */
export const projectSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  k8sName: z.string(),
  status: projectStatusSchema,
  /** The last lifecycle error's message, or null. */
  lastError: z.string().nullable(),
  createdAt: isoDate,
  updatedAt: isoDate,
});
export const projectListSchema = z.array(projectSummarySchema);

export const stageSchema = z.object({
  name: z.enum(STAGE_NAMES),
  state: z.enum(['pending', 'active', 'done', 'failed']),
  startedAt: isoDate.optional(),
  finishedAt: isoDate.optional(),
});

/** A stage as the CLI prints it: with its duration (null until it has started and finished). */
export const stageOutputSchema = stageSchema.extend({ durationMs: z.number().int().nonnegative().nullable() });

const projectViewFields = {
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  k8sName: z.string(),
  createdAt: isoDate,
  status: projectStatusSchema,
  desired: z.enum(['RUNNING', 'STOPPED', 'TERMINATED']),
  sandbox: z.object({ status: resourceStatusSchema, publicUrl: z.string().nullable(), ttydUrl: z.string().nullable() }),
  database: z.object({ status: resourceStatusSchema, host: z.string().optional(), port: z.number().int().optional() }).nullable(),
  lastError: z.object({ message: z.string(), at: isoDate }).nullable(),
  updatedAt: isoDate,
  /** "workflow": live from the lifecycle's status query; "projection": from the database rows (the lifecycle did not answer). */
  statusSource: z.enum(['workflow', 'projection']),
};

/** A project's status as the API sends it (GET /api/projects/:id, each SSE snapshot). */
export const projectViewSchema = z.object({ ...projectViewFields, stages: z.array(stageSchema) });
export type ProjectView = z.infer<typeof projectViewSchema>;

/** `fsa status --json`, `fsa create --json`: the project's status with stage durations. */
export const statusOutputSchema = z.object({ ...projectViewFields, stages: z.array(stageOutputSchema) });
export type StatusOutput = z.infer<typeof statusOutputSchema>;

/** The SSE snapshot the server sends once the project is gone. */
export const deletedSnapshotSchema = z.object({ id: z.string(), status: z.literal('TERMINATED'), deleted: z.literal(true), updatedAt: isoDate });

/** One line of `fsa status --watch --json` (newline-delimited JSON): a status, or the end. */
export const watchLineSchema = z.union([statusOutputSchema, deletedSnapshotSchema]);

/** `fsa start|stop|delete --json`. */
export const actionOutputSchema = z.object({
  id: z.string(),
  name: z.string(),
  action: z.enum(['start', 'stop', 'delete']),
  accepted: z.literal(true),
  /** Whether the command waited (--wait) for the result. */
  waited: z.boolean(),
  /** The project's status when the command ended (TERMINATED once deleted). */
  status: projectStatusSchema,
});

export const envCategorySchema = z.enum(['general', 'auth', 'payment', 'secret']);

/** One row of `fsa env ls --json` (an array); secret values are always "••••••••". */
export const envVarSchema = z.object({
  id: z.string(),
  key: z.string(),
  value: z.string(),
  category: envCategorySchema,
  isSecret: z.boolean(),
  createdAt: isoDate,
  updatedAt: isoDate,
});
export const envListSchema = z.array(envVarSchema);
/** `fsa env set --json`. */
export const envSetOutputSchema = envVarSchema.extend({ action: z.enum(['created', 'updated']) });
/** `fsa env rm --json`. */
export const envRmOutputSchema = z.object({ id: z.string(), key: z.string(), deleted: z.literal(true) });

export const tokenSchema = z.object({ id: z.string(), name: z.string(), prefix: z.string(), createdAt: isoDate, lastUsedAt: isoDate.nullable() });
/** One row of `fsa tokens ls --json` (an array); `current` marks the token this CLI signs in with. */
export const tokenListItemSchema = tokenSchema.extend({ current: z.boolean() });
export const tokenListSchema = z.array(tokenListItemSchema);
/** `fsa tokens create --json`: the only time the token's value is shown. */
export const tokenCreatedSchema = tokenSchema.extend({ token: z.string() });
/** `fsa tokens revoke --json`. */
export const tokenRevokedSchema = z.object({ id: z.string(), revoked: z.literal(true) });

export const userSchema = z.object({ id: z.string(), name: z.string() });

/** `fsa whoami --json` (and `fsa login --json`). Never the token itself. */
export const whoamiSchema = z.object({
  url: z.string(),
  user: userSchema,
  token: z.object({
    id: z.string().nullable(),
    name: z.string().nullable(),
    prefix: z.string().nullable(),
    /** "config": the token `fsa login` stored; "env": FSA_TOKEN. */
    source: z.enum(['config', 'env']),
  }),
  configFile: z.string(),
});

/** `fsa logout --json`. */
export const logoutSchema = z.object({ url: z.string().nullable(), signedOut: z.boolean(), tokenRevoked: z.boolean() });

/** With --json, a failure is printed to stderr in this shape (and the exit code says which kind). */
export const errorOutputSchema = z.object({
  error: z.object({
    /** The API's error code (not_found, conflict, ...) or the CLI's (usage, timeout, network, unauthenticated, ...). */
    code: z.string(),
    message: z.string(),
    fix: z.string().nullable(),
    /** HTTP status when the API answered. */
    status: z.number().int().nullable(),
    exitCode: z.number().int(),
  }),
});

/** The API's answer to POST /api/projects/:id/start|stop|delete (202). */
export const signalAnswerSchema = z.object({ id: z.string(), action: z.enum(['start', 'stop', 'delete']), accepted: z.literal(true) });

/** The API's error body (docs/design.md contract). */
export const apiErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }) });

/** The shapes the CLI prints, by command, for documentation and tests. */
export const OUTPUTS = {
  'projects ls': projectListSchema,
  create: statusOutputSchema,
  status: statusOutputSchema,
  'status --watch': watchLineSchema,
  start: actionOutputSchema,
  stop: actionOutputSchema,
  delete: actionOutputSchema,
  'env ls': envListSchema,
  'env set': envSetOutputSchema,
  'env rm': envRmOutputSchema,
  'tokens ls': tokenListSchema,
  'tokens create': tokenCreatedSchema,
  'tokens revoke': tokenRevokedSchema,
  whoami: whoamiSchema,
  login: whoamiSchema,
  logout: logoutSchema,
  error: errorOutputSchema,
} as const;
