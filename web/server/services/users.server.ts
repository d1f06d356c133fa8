// Sign-in identities: password (an unknown username registers), GitHub and Sealos.
// Passwords use scrypt (node:crypto) with a per-user salt.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { z } from 'zod';
import type { ServiceContext } from '../context';
import { isUniqueViolation } from './temporal-errors';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 64 };

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 64 * 1024 * 1024 });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: 64 * 1024 * 1024 });
  return timingSafeEqual(key, expected);
}

export const passwordCredentialsSchema = z.object({
  username: z
    .string({ error: 'required' })
    .trim()
    .min(3, 'use at least 3 characters')
    .max(64, 'use at most 64 characters')
    .regex(/^[\p{L}\p{N}._@-]+$/u, 'use letters, digits, ".", "_", "@" or "-"'),
  password: z.string({ error: 'required' }).min(8, 'use at least 8 characters').max(200, 'use at most 200 characters'),
});

export type SignInResult = { ok: true; user: { id: string; name: string } } | { ok: false; reason: 'invalid_input' | 'wrong_password'; message: string };

/** Signs in with username and password; an unknown username registers. */
export async function signInWithPassword(ctx: ServiceContext, credentials: unknown): Promise<SignInResult> {
  const parsed = passwordCredentialsSchema.safeParse(credentials);
  if (!parsed.success) {
    return { ok: false, reason: 'invalid_input', message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  }
  const username = parsed.data.username.toLowerCase();
  const find = () =>
    ctx.db.userIdentity.findUnique({
      where: { provider_providerUserId: { provider: 'password', providerUserId: username } },
      select: { passwordHash: true, user: { select: { id: true, name: true } } },
    });
  let identity = await find();
  if (!identity) {
    const passwordHash = await hashPassword(parsed.data.password);
    try {
      const user = await ctx.db.user.create({
        data: { name: parsed.data.username, identities: { create: { provider: 'password', providerUserId: username, passwordHash, isPrimary: true } } },
        select: { id: true, name: true },
      });
      return { ok: true, user: { id: user.id, name: user.name ?? username } };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      identity = await find(); // registered concurrently: check the password against theirs
    }
  }
  if (!identity?.passwordHash || !(await verifyPassword(parsed.data.password, identity.passwordHash))) {
    return { ok: false, reason: 'wrong_password', message: 'wrong password for this username' };
  }
  return { ok: true, user: { id: identity.user.id, name: identity.user.name ?? username } };
}

/** Finds or creates the user behind an external identity (GitHub, Sealos). */
export async function upsertExternalUser(
  ctx: ServiceContext,
  provider: 'github' | 'sealos',
  providerUserId: string,
  name: string | null,
  metadata: Record<string, string | number | null>,
): Promise<{ id: string; name: string }> {
  const where = { provider_providerUserId: { provider, providerUserId } };
  const existing = await ctx.db.userIdentity.findUnique({ where, select: { id: true, user: { select: { id: true, name: true } } } });
  if (existing) {
    await ctx.db.userIdentity.update({ where: { id: existing.id }, data: { metadata } });
    return { id: existing.user.id, name: existing.user.name ?? name ?? providerUserId };
  }
  try {
    const user = await ctx.db.user.create({
      data: { name, identities: { create: { provider, providerUserId, metadata, isPrimary: true } } },
      select: { id: true, name: true },
    });
    return { id: user.id, name: user.name ?? providerUserId };
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const again = await ctx.db.userIdentity.findUniqueOrThrow({ where, select: { user: { select: { id: true, name: true } } } });
    return { id: again.user.id, name: again.user.name ?? providerUserId };
  }
}

export async function findUser(ctx: ServiceContext, userId: string): Promise<{ id: string; name: string } | null> {
  const u = await ctx.db.user.findUnique({ where: { id: userId }, select: { id: true, name: true } });
  return u ? { id: u.id, name: u.name ?? 'user' } : null;
}
