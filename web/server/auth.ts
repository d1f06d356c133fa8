// Auth.js (@auth/express) at /auth: password (unknown usernames register), GitHub (when
// configured) and Sealos (a JWT signed with SEALOS_JWT_SECRET carrying a kubeconfig).
// Sessions are JWTs in a cookie. authenticateRequest() reads either that cookie or an
// API token (Authorization: Bearer) from any IncomingMessage, so the API, the Remix
// pages and the terminal WebSocket proxy share one notion of "who is this".
import type { IncomingMessage } from 'node:http';
import { Auth, type AuthConfig } from '@auth/core';
import { decode } from '@auth/core/jwt';
import { CredentialsSignin, ExpressAuth, type ExpressAuthConfig } from '@auth/express';
import Credentials from '@auth/express/providers/credentials';
import GitHub from '@auth/express/providers/github';
import { jwtVerify } from 'jose';
import { authSecret } from '../../server/secrets';
import type { ServiceContext } from './context';
import { storeAnthropic, storeTrustedKubeconfig } from './services/settings.server';
import { userForToken } from './services/tokens.server';
import { findUser, signInWithPassword, upsertExternalUser } from './services/users.server';

export const AUTH_BASE_PATH = '/auth';
export const SESSION_COOKIES = ['__Secure-authjs.session-token', 'authjs.session-token'] as const;

class SignInRejected extends CredentialsSignin {
  constructor(code: string) {
    super();
    this.code = code;
  }
}

export interface AuthedUser {
  userId: string;
  via: 'session' | 'token';
}

export interface AuthKit {
  config: ExpressAuthConfig;
  /** Express middleware serving /auth/*. */
  handler: ReturnType<typeof ExpressAuth>;
  /** Session cookie or bearer token → user, for any raw request (HTTP or WebSocket upgrade). */
  authenticate(req: IncomingMessage): Promise<AuthedUser | null>;
  /** Runs an Auth.js action (e.g. "csrf") for a page request; returns the JSON and cookies to set. */
  action(action: 'csrf' | 'providers', origin: string, cookie: string | null): Promise<{ body: unknown; setCookie: string[] }>;
  providers: { password: true; github: boolean; sealos: boolean };
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    if (k && !(k in out)) {
      try {
        out[k] = decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        out[k] = part.slice(i + 1).trim();
      }
    }
  }
  return out;
}

/** Asks Aiproxy for an Anthropic key on the user's behalf (Sealos sign-in). */
async function requestAiproxyKey(endpoint: string, kubeconfig: string, name: string): Promise<{ apiKey: string; baseUrl: string }> {
  const base = endpoint.replace(/\/+$/, '');
  const res = await fetch(`${base}/api/v2alpha/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: encodeURIComponent(kubeconfig) },
    body: JSON.stringify({ name }),
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) throw new Error(`Aiproxy answered HTTP ${res.status}`);
  const body = (await res.json()) as { data?: { key?: string }; key?: string };
  const apiKey = body.data?.key ?? body.key;
  if (!apiKey) throw new Error('Aiproxy answer has no key');
  return { apiKey, baseUrl: base };
}

export function createAuth(ctx: ServiceContext): AuthKit {
  const secret = authSecret(ctx.config);
  const github = !!(ctx.config.AUTH_GITHUB_ID && ctx.config.AUTH_GITHUB_SECRET);
  const sealosSecret = ctx.config.SEALOS_JWT_SECRET;

  const providers: AuthConfig['providers'] = [
    Credentials({
      id: 'password',
      name: 'Password',
      credentials: { username: { label: 'Username' }, password: { label: 'Password', type: 'password' } },
      async authorize(credentials) {
        const r = await signInWithPassword(ctx, { username: credentials?.username, password: credentials?.password });
        if (!r.ok) {
          const field = r.reason === 'wrong_password' ? 'wrong_password' : /^password/.test(r.message) ? 'invalid_password' : 'invalid_username';
          throw new SignInRejected(field);
        }
        return { id: r.user.id, name: r.user.name };
      },
    }),
  ];
  if (github) providers.push(GitHub({ clientId: ctx.config.AUTH_GITHUB_ID, clientSecret: ctx.config.AUTH_GITHUB_SECRET }));
  if (sealosSecret) {
    providers.push(
      Credentials({
        id: 'sealos',
        name: 'Sealos',
        credentials: { token: { label: 'Sealos token' }, kubeconfig: { label: 'Kubeconfig' } },
        async authorize(credentials) {
          const token = typeof credentials?.token === 'string' ? credentials.token : '';
          let claims: Record<string, unknown>;
          try {
            ({ payload: claims } = await jwtVerify(token, new TextEncoder().encode(sealosSecret)));
          } catch {
            throw new SignInRejected('invalid_sealos_token');
          }
          const sealosUserId = [claims.userId, claims.userUid, claims.sub].find((v) => typeof v === 'string' && v) as string | undefined;
          if (!sealosUserId) throw new SignInRejected('invalid_sealos_token');
          const kubeconfig =
            (typeof credentials?.kubeconfig === 'string' && credentials.kubeconfig) || (typeof claims.kubeconfig === 'string' ? claims.kubeconfig : '');
          const name = [claims.userName, claims.name, claims.userCrName].find((v) => typeof v === 'string') as string | undefined;
          const user = await upsertExternalUser(ctx, 'sealos', sealosUserId, name ?? null, {
            regionUid: typeof claims.regionUid === 'string' ? claims.regionUid : null,
            workspaceId: typeof claims.workspaceId === 'string' ? claims.workspaceId : null,
          });
          if (kubeconfig) {
            try {
              await storeTrustedKubeconfig(ctx, user.id, kubeconfig);
            } catch (err) {
              ctx.logger.warn({ userId: user.id, reason: (err as Error).message }, 'sealos sign-in carried an unusable kubeconfig');
              throw new SignInRejected('invalid_kubeconfig');
            }
            if (ctx.config.AIPROXY_ENDPOINT) {
              // Best effort: the user can still sign in and set a key by hand.
              try {
                const key = await requestAiproxyKey(ctx.config.AIPROXY_ENDPOINT, kubeconfig, `fullstackagent-${user.id}`);
                await storeAnthropic(ctx, user.id, key.apiKey, key.baseUrl);
              } catch (err) {
                ctx.logger.warn({ userId: user.id, reason: (err as Error).message }, 'Aiproxy key request failed; signing in without it');
              }
            }
          }
          return { id: user.id, name: user.name };
        },
      }),
    );
  }

  const config: ExpressAuthConfig = {
    secret,
    trustHost: true,
    basePath: AUTH_BASE_PATH,
    session: { strategy: 'jwt', maxAge: 30 * 24 * 3600 },
    pages: { signIn: '/signin', error: '/signin' },
    providers,
    logger: {
      error: (e) => {
        if ((e as { type?: string }).type === 'CredentialsSignin') return; // a wrong password is not a server error
        ctx.logger.warn({ err: e.message }, 'auth error');
      },
      warn: () => undefined,
      debug: () => undefined,
    },
    callbacks: {
      async jwt({ token, user, account, profile }) {
        if (account?.provider === 'github') {
          const login = (profile as { login?: string } | undefined)?.login ?? null;
          const u = await upsertExternalUser(ctx, 'github', String(account.providerAccountId), login ?? profile?.name ?? null, { login });
          token.sub = u.id;
          token.name = u.name;
        } else if (user?.id) {
          token.sub = user.id;
        }
        delete token.email;
        delete token.picture;
        return token;
      },
      session({ session, token }) {
        if (token.sub) (session.user as { id?: string }).id = token.sub;
        return session;
      },
    },
  };

  async function authenticate(req: IncomingMessage): Promise<AuthedUser | null> {
    const header = req.headers.authorization;
    if (header) {
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      if (!m?.[1]) return null;
      const t = await userForToken(ctx, m[1]);
      return t ? { userId: t.userId, via: 'token' } : null;
    }
    const cookies = parseCookies(req.headers.cookie);
    for (const name of SESSION_COOKIES) {
      const token = cookies[name];
      if (!token) continue;
      try {
        const jwt = await decode({ token, secret, salt: name });
        if (!jwt?.sub) return null;
        if (typeof jwt.exp === 'number' && jwt.exp * 1000 < Date.now()) return null;
        const user = await findUser(ctx, jwt.sub);
        return user ? { userId: user.id, via: 'session' } : null;
      } catch {
        return null;
      }
    }
    return null;
  }

  async function action(name: 'csrf' | 'providers', origin: string, cookie: string | null) {
    const res = await Auth(new Request(`${origin}${AUTH_BASE_PATH}/${name}`, { headers: cookie ? { cookie } : {} }), config as AuthConfig);
    const setCookie = typeof res.headers.getSetCookie === 'function' ? res.headers.getSetCookie() : [];
    return { body: await res.json(), setCookie };
  }

  return { config, handler: ExpressAuth(config), authenticate, action, providers: { password: true, github, sealos: !!sealosSecret } };
}
