// A project's environment variables by category. Secret values are encrypted at rest and
// masked in every response, and never turned back into plain text: a secret keeps its
// ciphertext across category and key changes, and becomes non-secret only with a new value.
// A change is written first, then the lifecycle is signalled (`environmentChanged`) so the
// sandbox rolls with the new env; if the signal cannot be delivered the change is undone,
// so nothing is left half-applied.
import { z } from 'zod';
import { SIGNALS } from '../../../common/lifecycle';
import { workflowIdForProject } from '../../../common/names';
import type { ServiceContext } from '../context';
import { ApiError, notFound, parseInput } from '../http/errors';
import { findOwnedProject } from './ownership.server';
import { isUniqueViolation, isWorkflowNotFound } from './temporal-errors';

export const ENV_CATEGORIES = ['general', 'auth', 'payment', 'secret'] as const;
export type EnvCategory = (typeof ENV_CATEGORIES)[number];
export const MASK = '••••••••';
const MAX_VARIABLES = 200;

/** Set by the platform itself; a project variable may not shadow them. */
const RESERVED = new Set(['DATABASE_URL', 'PROJECT_NAME', 'TTYD_ACCESS_TOKEN', 'ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', 'PORT', 'HOME', 'PATH']);

export const envKeySchema = z
  .string({ error: 'required; send a name like API_URL' })
  .min(1, 'must not be empty; use a name like API_URL')
  .max(128, 'is too long; use at most 128 characters')
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must start with a letter or "_" and contain only A-Z, a-z, 0-9 and "_" (e.g. API_URL)')
  .refine((k) => !RESERVED.has(k.toUpperCase()), 'is reserved: the platform sets it; choose another name');

const envValueSchema = z
  .string({ error: 'required; send a string (may be empty)' })
  .max(16_384, 'is too long; use at most 16384 characters')
  .refine((v) => !v.includes('\u0000'), 'contains a NUL character; remove it');

const categorySchema = z.enum(ENV_CATEGORIES, { error: `must be one of ${ENV_CATEGORIES.join(', ')}` });

const unknownKeys = (allowed: string) => (i: { code: string; keys?: string[] }) =>
  i.code === 'unrecognized_keys' ? `unknown field(s) ${(i.keys ?? []).join(', ')}; send only ${allowed}` : `send a JSON object with ${allowed}`;

export const createEnvSchema = z.strictObject(
  {
    key: envKeySchema,
    value: envValueSchema,
    category: categorySchema.default('general'),
    isSecret: z.boolean({ error: 'must be true or false' }).optional(),
  },
  { error: unknownKeys('key, value, category, isSecret') },
);

export const updateEnvSchema = z
  .strictObject(
    {
      key: envKeySchema.optional(),
      value: envValueSchema.optional(),
      category: categorySchema.optional(),
      isSecret: z.boolean({ error: 'must be true or false' }).optional(),
    },
    { error: unknownKeys('key, value, category, isSecret') },
  )
  .refine((v) => Object.keys(v).length > 0, 'send at least one of key, value, category, isSecret');

export interface EnvironmentDto {
  id: string;
  key: string;
  /** The value, or MASK when the variable is secret. */
  value: string;
  category: EnvCategory;
  isSecret: boolean;
  createdAt: string;
  updatedAt: string;
}

type EnvRow = { id: string; projectId: string; key: string; value: string; category: EnvCategory; isSecret: boolean; createdAt: Date; updatedAt: Date };

const toDto = (r: EnvRow): EnvironmentDto => ({
  id: r.id,
  key: r.key,
  value: r.isSecret ? MASK : r.value,
  category: r.category,
  isSecret: r.isSecret,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});

export async function listEnvironment(ctx: ServiceContext, userId: string, projectId: string, owned?: { id: string }): Promise<EnvironmentDto[]> {
  const p = owned ?? (await findOwnedProject(ctx, userId, projectId));
  const rows = await ctx.db.environment.findMany({ where: { projectId: p.id }, orderBy: [{ category: 'asc' }, { key: 'asc' }] });
  return (rows as EnvRow[]).map(toDto);
}

async function signalOrUndo(ctx: ServiceContext, projectId: string, undo: () => Promise<unknown>): Promise<void> {
  try {
    await ctx.temporal.workflow.getHandle(workflowIdForProject(projectId)).signal(SIGNALS.environmentChanged);
  } catch (err) {
    if (isWorkflowNotFound(err)) return; // no lifecycle to tell: the row is simply the new state
    ctx.logger.error({ err: (err as Error).message, projectId }, 'environmentChanged signal failed; undoing the change');
    await undo();
    throw new ApiError('unavailable', 'the lifecycle service (Temporal) is not reachable; the change was not saved, try again shortly');
  }
}

const conflict = (key: string) => new ApiError('conflict', `key: ${key} already exists in this project; edit it instead`);

export async function createEnvironmentVariable(ctx: ServiceContext, userId: string, projectId: string, input: unknown): Promise<EnvironmentDto> {
  const p = await findOwnedProject(ctx, userId, projectId);
  const data = parseInput(createEnvSchema, input);
  const isSecret = data.isSecret ?? data.category === 'secret';
  let row: EnvRow;
  try {
    row = (await ctx.db.$transaction(async (tx) => {
      if ((await tx.environment.count({ where: { projectId: p.id } })) >= MAX_VARIABLES) {
        throw new ApiError('conflict', `project already has ${MAX_VARIABLES} variables; delete some first`);
      }
      return tx.environment.create({
        data: { projectId: p.id, key: data.key, value: isSecret ? ctx.cipher.encrypt(data.value) : data.value, category: data.category, isSecret },
      });
    })) as EnvRow;
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(data.key);
    throw err;
  }
  await signalOrUndo(ctx, p.id, () => ctx.db.environment.deleteMany({ where: { id: row.id } }));
  return toDto(row);
}

export async function updateEnvironmentVariable(ctx: ServiceContext, userId: string, projectId: string, envId: string, input: unknown): Promise<EnvironmentDto> {
  const p = await findOwnedProject(ctx, userId, projectId);
  const before = (await ctx.db.environment.findFirst({ where: { id: envId, projectId: p.id } })) as EnvRow | null;
  if (!before) throw notFound('environment variable');
  const data = parseInput(updateEnvSchema, input);
  const category = data.category ?? before.category;
  // A secret stays secret: its value is never turned back into plain text. Moving it to
  // another category keeps it secret; making it non-secret needs a new value (the old one
  // is dropped unread).
  if (before.isSecret && data.isSecret === false && data.value === undefined) {
    const message =
      'a secret variable cannot be made non-secret with its current value, which would make it readable; send the new plain value with it ({"isSecret": false, "value": "..."}) or keep isSecret true';
    throw new ApiError('unprocessable', `isSecret: ${message}`, { fields: [{ field: 'isSecret', message }] });
  }
  const isSecret = data.isSecret ?? (before.isSecret || data.category === 'secret');
  let value: string;
  if (data.value !== undefined) value = isSecret ? ctx.cipher.encrypt(data.value) : data.value;
  else value = before.isSecret ? before.value : isSecret ? ctx.cipher.encrypt(before.value) : before.value; // a secret's ciphertext is kept as is
  let row: EnvRow;
  try {
    row = (await ctx.db.environment.update({
      where: { id: before.id },
      data: { key: data.key ?? before.key, value, category, isSecret },
    })) as EnvRow;
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(data.key ?? before.key);
    throw err;
  }
  await signalOrUndo(ctx, p.id, () =>
    ctx.db.environment.update({ where: { id: before.id }, data: { key: before.key, value: before.value, category: before.category, isSecret: before.isSecret } }),
  );
  return toDto(row);
}

export async function deleteEnvironmentVariable(ctx: ServiceContext, userId: string, projectId: string, envId: string): Promise<{ id: string; deleted: true }> {
  const p = await findOwnedProject(ctx, userId, projectId);
  const before = (await ctx.db.environment.findFirst({ where: { id: envId, projectId: p.id } })) as EnvRow | null;
  if (!before) throw notFound('environment variable');
  await ctx.db.environment.delete({ where: { id: before.id } });
  await signalOrUndo(ctx, p.id, () => ctx.db.environment.create({ data: { ...before } }));
  return { id: before.id, deleted: true };
}
