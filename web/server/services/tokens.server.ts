// API tokens for scripts: shown once at creation, stored as a SHA-256 hash.
import { z } from 'zod';
import { randomToken, sha256 } from '../../../server/crypto';
import type { ServiceContext } from '../context';
import { ApiError, notFound, parseInput } from '../http/errors';
import { tokenNameSchema } from './validation';

export const TOKEN_PREFIX = 'fsa_';
const MAX_TOKENS = 50;

export const createTokenSchema = z.strictObject(
  { name: tokenNameSchema },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.join(', ')}; send only name` : 'send a JSON object { "name": "..." }') },
);

export interface TokenDto {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
}

type TokenRow = { id: string; name: string; prefix: string; createdAt: Date; lastUsedAt: Date | null };
const toDto = (t: TokenRow): TokenDto => ({
  id: t.id,
  name: t.name,
  prefix: t.prefix,
  createdAt: t.createdAt.toISOString(),
  lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
});

export async function createToken(ctx: ServiceContext, userId: string, input: unknown): Promise<TokenDto & { token: string }> {
  const { name } = parseInput(createTokenSchema, input);
  if ((await ctx.db.apiToken.count({ where: { userId } })) >= MAX_TOKENS) {
    throw new ApiError('conflict', `you already have ${MAX_TOKENS} tokens; revoke unused ones first`);
  }
  const token = TOKEN_PREFIX + randomToken(32);
  const row = await ctx.db.apiToken.create({ data: { userId, name, tokenHash: sha256(token), prefix: token.slice(0, TOKEN_PREFIX.length + 6) } });
  return { ...toDto(row), token };
}

export async function listTokens(ctx: ServiceContext, userId: string): Promise<TokenDto[]> {
  const rows = await ctx.db.apiToken.findMany({ where: { userId }, orderBy: { createdAt: 'desc' } });
  return rows.map(toDto);
}

export async function revokeToken(ctx: ServiceContext, userId: string, tokenId: string): Promise<{ id: string; revoked: true }> {
  const r = await ctx.db.apiToken.deleteMany({ where: { id: String(tokenId).slice(0, 64), userId } });
  if (r.count === 0) throw notFound('token');
  return { id: tokenId, revoked: true };
}

/** The user a bearer token belongs to, or null. Touches lastUsedAt at most once a minute. */
export async function userForToken(ctx: ServiceContext, token: string): Promise<{ userId: string; tokenName: string } | null> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return null;
  const row = await ctx.db.apiToken.findUnique({ where: { tokenHash: sha256(token) }, select: { id: true, userId: true, name: true, lastUsedAt: true } });
  if (!row) return null;
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    ctx.db.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } }).catch(() => undefined);
  }
  return { userId: row.userId, tokenName: row.name };
}
