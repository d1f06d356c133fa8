// Sign-in identities: password (an unknown username registers when the registration policy
// allows it), GitHub and Sealos. Passwords use scrypt (node:crypto) with a per-user salt.
// Usernames are NFKC-normalized and checked for look-alikes (../auth/username.ts).
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { z } from 'zod';
import { registrationPolicy } from '../auth/registration';
import { checkUsername, normalizeUsername, usernameKey, type UsernameProblemCode } from '../auth/username';
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
    .transform(normalizeUsername)
    .superRefine((name, c) => {
      const problem = checkUsername(name);
      // The code travels with the issue, so the page can say exactly what is wrong.
      if (problem) c.addIssue({ code: 'custom', message: problem.message.replace(/^username: /, ''), params: { code: problem.code } });
    }),
  password: z.string({ error: 'required' }).min(8, 'use at least 8 characters').max(200, 'use at most 200 characters'),
});

export interface PasswordCredentials {
  /** As typed, NFKC-normalized and trimmed: the new account's display name. */
  username: string;
  /** The identity key: NFKC, lower case. */
  key: string;
  password: string;
}

export type SignInFailureCode = UsernameProblemCode | 'invalid_password' | 'wrong_credentials';

export type CredentialsCheck = { ok: true; credentials: PasswordCredentials } | { ok: false; code: SignInFailureCode; message: string };

/** Validates and normalizes the password form's fields (no database access). */
export function parsePasswordCredentials(input: unknown): CredentialsCheck {
  const parsed = passwordCredentialsSchema.safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    const code: SignInFailureCode =
      first.path[0] === 'password' ? 'invalid_password' : ((first as { params?: { code?: UsernameProblemCode } }).params?.code ?? 'invalid_username');
    return { ok: false, code, message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  }
  return { ok: true, credentials: { username: parsed.data.username, key: usernameKey(parsed.data.username), password: parsed.data.password } };
}

export type SignInResult =
  | { ok: true; user: { id: string; name: string }; registered: boolean }
  | { ok: false; reason: 'invalid_input' | 'wrong_credentials'; code: SignInFailureCode; message: string };

// Verified against when the username has no account and may not register, so "no such user"
// costs one scrypt like "wrong password" does. Started at import, long before a request.
const DUMMY_HASH = hashPassword(randomBytes(32).toString('base64'));

const WRONG: SignInResult = { ok: false, reason: 'wrong_credentials', code: 'wrong_credentials', message: 'wrong username or password' };

/**
 * Signs in with username and password. An unknown username registers when the registration
 * policy allows it; otherwise it gets exactly the answer of a wrong password, after the same
 * work (one lookup, one scrypt verification).
 */
export async function signInWithPassword(ctx: ServiceContext, input: unknown): Promise<SignInResult> {
  const check = parsePasswordCredentials(input);
  if (!check.ok) return { ok: false, reason: 'invalid_input', code: check.code, message: check.message };
  const { username, key, password } = check.credentials;
  const find = () =>
    ctx.db.userIdentity.findUnique({
      where: { provider_providerUserId: { provider: 'password', providerUserId: key } },
      select: { passwordHash: true, user: { select: { id: true, name: true } } },
    });
  let identity = await find();
  if (!identity) {
    if (!registrationPolicy(ctx.config.REGISTRATION, ctx.config.REGISTRATION_ALLOWLIST).allows(key)) {
      await verifyPassword(password, await DUMMY_HASH);
      return WRONG;
    }
    const passwordHash = await hashPassword(password);
    try {
      const user = await ctx.db.user.create({
        data: { name: username, identities: { create: { provider: 'password', providerUserId: key, passwordHash, isPrimary: true } } },
        select: { id: true, name: true },
      });
      return { ok: true, user: { id: user.id, name: user.name ?? username }, registered: true };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      identity = await find(); // registered concurrently: check the password against theirs
    }
  }
  const ok = await verifyPassword(password, identity?.passwordHash ?? (await DUMMY_HASH));
  if (!identity?.passwordHash || !ok) return WRONG;
  return { ok: true, user: { id: identity.user.id, name: identity.user.name ?? username }, registered: false };
}

/**
 * Whether an external sign-in (GitHub) may go ahead: the identity exists already, or the
 * registration policy allows a new account under this name.
 */
export async function mayRegisterExternalUser(ctx: ServiceContext, provider: 'github', providerUserId: string, name: string | null): Promise<boolean> {
  const policy = registrationPolicy(ctx.config.REGISTRATION, ctx.config.REGISTRATION_ALLOWLIST);
  if (policy.mode === 'open') return true;
  const existing = await ctx.db.userIdentity.findUnique({ where: { provider_providerUserId: { provider, providerUserId } }, select: { id: true } });
  return !!existing || (!!name && policy.allows(name));
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
