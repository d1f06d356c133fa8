// Auth.js (@auth/core, served by our own Express adapter) at /auth: password (an unknown
// username registers when REGISTRATION allows it), GitHub (when configured) and Sealos (a JWT
// signed with SEALOS_JWT_SECRET carrying a kubeconfig). Sessions are JWTs in a cookie.
// authenticateRequest() reads either that cookie or an API token (Authorization: Bearer)
// from any IncomingMessage, so the API, the Remix pages and the terminal WebSocket proxy
// share one notion of "who is this".
//
// Hardening (docs/security.md, "Sign-in"):
// - Password attempts are throttled per account and per client address in PostgreSQL
//   (services/sign-in-throttle.server.ts); a throttled POST /auth/callback/password is
//   answered 429 with Retry-After.
// - "Wrong password" and "no such user" get the same answer after the same work.
// - Every redirect Auth.js makes goes through callbacks.redirect: on-site only (auth/redirect.ts).
// - With an https PUBLIC_URL, Auth.js runs on PUBLIC_URL's origin (not the Host header) and
//   the session cookie is `__Host-authjs.session-token` (Secure, Path=/, no Domain).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import { Auth, setEnvDefaults, type AuthConfig } from '@auth/core';
import { decode } from '@auth/core/jwt';
import { CredentialsSignin, type ExpressAuthConfig } from '@auth/express';
import Credentials from '@auth/express/providers/credentials';
import GitHub from '@auth/express/providers/github';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { jwtVerify, type JWTVerifyOptions } from 'jose';
import type { Actor } from '../../common/lifecycle';
import { databaseUrl } from '../../server/config';
import { authSecret } from '../../server/secrets';
import { safeRedirectUrl } from './auth/redirect';
import type { RegistrationMode } from './auth/registration';
import type { ServiceContext } from './context';
import { storeAnthropic, storeTrustedKubeconfig } from './services/settings.server';
import { createSignInThrottle, type SignInThrottle } from './services/sign-in-throttle.server';
import { userForToken } from './services/tokens.server';
import { findUser, mayRegisterExternalUser, parsePasswordCredentials, signInWithPassword, upsertExternalUser } from './services/users.server';

export const AUTH_BASE_PATH = '/auth';
/** Session cookie names Auth.js may use: `__Host-` with an https PUBLIC_URL, else by the request's protocol. */
export const HOST_SESSION_COOKIE = '__Host-authjs.session-token';
export const SESSION_COOKIES = [HOST_SESSION_COOKIE, '__Secure-authjs.session-token', 'authjs.session-token'] as const;

/** The names authenticate() reads for this configuration (an https PUBLIC_URL reads only `__Host-`). */
export function sessionCookieNames(config: { PUBLIC_URL?: string }): readonly string[] {
  return config.PUBLIC_URL && new URL(config.PUBLIC_URL).protocol === 'https:' ? [HOST_SESSION_COOKIE] : SESSION_COOKIES.slice(1);
}

/** What the Express adapter knows about a sign-in attempt and Auth.js cannot carry: the client address. */
interface SignInAttempt {
  address: string;
  /** Set by the password provider when the attempt was throttled. */
  retryAfterS?: number;
}
const signInAttempts = new AsyncLocalStorage<SignInAttempt>();

/**
 * The client address used for throttling. app.ts sets Express's `trust proxy` to
 * 'loopback', so req.ip is the socket's peer address, except when that peer is loopback (a
 * reverse proxy on the same machine): then it is the nearest non-loopback address in
 * X-Forwarded-For. A client connecting directly from elsewhere cannot pick its address with
 * that header. Behind a proxy on another machine (an ingress), every client has the proxy's
 * address until `trust proxy` names that hop.
 */
function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

class SignInRejected extends CredentialsSignin {
  constructor(code: string) {
    super();
    this.code = code;
  }
}

export interface AuthedUser {
  userId: string;
  via: 'session' | 'token';
  /** Who this is in a project's timeline: the username, the token's name, or the CLI with its token. */
  actor: Actor;
}

export interface AuthKit {
  config: ExpressAuthConfig;
  /** Express middleware serving /auth/*. */
  handler: RequestHandler;
  /** Session cookie or bearer token → user, for any raw request (HTTP or WebSocket upgrade). */
  authenticate(req: IncomingMessage): Promise<AuthedUser | null>;
  /** Runs an Auth.js action (e.g. "csrf") for a page request; returns the JSON and cookies to set. */
  action(action: 'csrf' | 'providers', origin: string, cookie: string | null): Promise<{ body: unknown; setCookie: string[] }>;
  providers: { password: true; github: boolean; sealos: boolean; registration: RegistrationMode };
  /** Releases the throttle's database pool. */
  close(): Promise<void>;
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

function encodeBody(req: Request): string | undefined {
  const type = req.headers['content-type'] ?? '';
  const body = req.body as Record<string, unknown> | undefined;
  if (type.includes('application/x-www-form-urlencoded')) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(body ?? {})) {
      if (Array.isArray(v)) v.forEach((x) => params.append(k, String(x)));
      else params.append(k, String(v));
    }
    return params.toString();
  }
  if (type.includes('application/json')) return JSON.stringify(body ?? {});
  return undefined;
}

/** The Express request as a web Request on `origin` (PUBLIC_URL's when set, not the Host header). */
function toWebRequest(req: Request, origin: string): globalThis.Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (Array.isArray(v)) v.forEach((x) => x && headers.append(k, x));
    else if (v) headers.append(k, v);
  }
  const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : encodeBody(req);
  return new Request(origin + req.originalUrl, { method: req.method, headers, body });
}

/** Writes Auth.js's answer as is (no Express ETag or content-type guessing). */
async function sendWebResponse(response: globalThis.Response, res: Response): Promise<void> {
  const body = Buffer.from(await response.arrayBuffer());
  response.headers.forEach((value, key) => {
    if (value && key !== 'set-cookie') res.append(key, value);
  });
  for (const c of response.headers.getSetCookie()) res.append('Set-Cookie', c);
  res.statusCode = response.status;
  res.end(body);
}

function waitText(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minutes`;
}

/** 429 for a throttled password sign-in: JSON for scripts; for a browser, back to the sign-in page with a message. */
function sendThrottled(req: Request, res: Response, retryAfterS: number): void {
  const message = `Too many sign-in attempts. Try again in ${waitText(retryAfterS)}.`;
  res.status(429).setHeader('Retry-After', String(retryAfterS));
  res.setHeader('Cache-Control', 'no-store');
  if (req.accepts(['json', 'html']) === 'html') {
    const page = `/signin?error=TooManyAttempts&amp;code=throttled&amp;retryAfter=${retryAfterS}`;
    res
      .type('html')
      .send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=${page}">` +
          `<title>Too many sign-in attempts · FullstackAgent</title></head><body><p>${message}</p><p><a href="${page}">Back to sign-in</a></p></body></html>`,
      );
    return;
  }
  res.json({ error: { code: 'too_many_requests', message, details: { retryAfterSeconds: retryAfterS } } });
}

export function createAuth(ctx: ServiceContext): AuthKit {
  const secret = authSecret(ctx.config);
  const github = !!(ctx.config.AUTH_GITHUB_ID && ctx.config.AUTH_GITHUB_SECRET);
  const sealosSecret = ctx.config.SEALOS_JWT_SECRET;
  const publicOrigin = ctx.config.PUBLIC_URL ? new URL(ctx.config.PUBLIC_URL).origin : undefined;
  const httpsOnly = publicOrigin?.startsWith('https:') ?? false;
  const cookieNames = sessionCookieNames(ctx.config);
  const throttle: SignInThrottle = createSignInThrottle({
    databaseUrl: databaseUrl(ctx.config),
    accountLimit: ctx.config.SIGNIN_ACCOUNT_LIMIT,
    addressLimit: ctx.config.SIGNIN_ADDRESS_LIMIT,
    windowS: ctx.config.SIGNIN_WINDOW_S,
  });
  const sealosVerify: JWTVerifyOptions = {
    algorithms: ['HS256', 'HS384', 'HS512'],
    requiredClaims: ['exp'],
    ...(ctx.config.SEALOS_JWT_ISSUER ? { issuer: ctx.config.SEALOS_JWT_ISSUER } : {}),
    ...(ctx.config.SEALOS_JWT_AUDIENCE ? { audience: ctx.config.SEALOS_JWT_AUDIENCE } : {}),
  };

  const providers: AuthConfig['providers'] = [
    Credentials({
      id: 'password',
      name: 'Password',
      credentials: { username: { label: 'Username' }, password: { label: 'Password', type: 'password' } },
      async authorize(credentials) {
        const input = { username: credentials?.username, password: credentials?.password };
        const check = parsePasswordCredentials(input);
        // Malformed input checks no password: refused before the throttle counts anything.
        if (!check.ok) throw new SignInRejected(check.code);
        const attempt = signInAttempts.getStore();
        const ticket = await throttle.begin(check.credentials.key, attempt?.address ?? 'unknown');
        if (!ticket.ok) {
          if (attempt) attempt.retryAfterS = ticket.retryAfterS;
          throw new SignInRejected('throttled');
        }
        const r = await signInWithPassword(ctx, input);
        await ticket.settle(r.ok ? 'success' : 'failure');
        // One code for "wrong password" and "no such user" (registration refused).
        if (!r.ok) throw new SignInRejected(r.code);
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
        credentials: { token: { label: 'Sealos token' } },
        async authorize(credentials) {
          const token = typeof credentials?.token === 'string' ? credentials.token : '';
          let claims: Record<string, unknown>;
          try {
            // exp is required; iss/aud when configured. HMAC only: the secret is shared.
            ({ payload: claims } = await jwtVerify(token, new TextEncoder().encode(sealosSecret), sealosVerify));
          } catch (err) {
            const e = err as { code?: string; claim?: string };
            ctx.logger.info({ reason: e.code ?? 'invalid', claim: e.claim }, 'sealos token refused');
            throw new SignInRejected('invalid_sealos_token');
          }
          const sealosUserId = [claims.userId, claims.userUid, claims.sub].find((v) => typeof v === 'string' && v) as string | undefined;
          if (!sealosUserId) throw new SignInRejected('invalid_sealos_token');
          // Only the signed claim counts: a kubeconfig posted next to the token is ignored.
          const kubeconfig = typeof claims.kubeconfig === 'string' ? claims.kubeconfig : '';
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
    // With PUBLIC_URL the cookie kind follows it (https → Secure, `__Host-` session cookie),
    // not the protocol a proxy happened to forward; without it, the request's protocol.
    ...(publicOrigin ? { useSecureCookies: httpsOnly } : {}),
    ...(httpsOnly
      ? {
          cookies: {
            sessionToken: { name: HOST_SESSION_COOKIE, options: { httpOnly: true, sameSite: 'lax', path: '/', secure: true } },
            callbackUrl: { name: '__Host-authjs.callback-url', options: { httpOnly: true, sameSite: 'lax', path: '/', secure: true } },
          },
        }
      : {}),
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
      // Every redirect Auth.js makes (callbackUrl, its cookie, sign-in/out targets): on-site
      // only, resolved against PUBLIC_URL when set; anything else goes to the site's root.
      redirect({ url, baseUrl }) {
        return safeRedirectUrl(url, publicOrigin ?? baseUrl, '/');
      },
      // A first GitHub sign-in creates an account: only when the registration policy allows it.
      async signIn({ account, profile }) {
        if (account?.provider !== 'github') return true;
        const login = (profile as { login?: string } | undefined)?.login ?? null;
        return mayRegisterExternalUser(ctx, 'github', String(account.providerAccountId), login);
      },
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
      if (!t) return null;
      // The fsa CLI says who it is (cli/api.ts); the token's name says which one.
      const cli = /^fsa-cli\b/.test(String(req.headers['user-agent'] ?? ''));
      return { userId: t.userId, via: 'token', actor: { kind: cli ? 'cli' : 'token', name: t.tokenName } };
    }
    const cookies = parseCookies(req.headers.cookie);
    for (const name of cookieNames) {
      const token = cookies[name];
      if (!token) continue;
      try {
        const jwt = await decode({ token, secret, salt: name });
        if (!jwt?.sub) return null;
        if (typeof jwt.exp === 'number' && jwt.exp * 1000 < Date.now()) return null;
        const user = await findUser(ctx, jwt.sub);
        return user ? { userId: user.id, via: 'session', actor: { kind: 'user', name: user.name } } : null;
      } catch {
        return null;
      }
    }
    return null;
  }

  async function action(name: 'csrf' | 'providers', origin: string, cookie: string | null) {
    const res = await Auth(new Request(`${publicOrigin ?? origin}${AUTH_BASE_PATH}/${name}`, { headers: cookie ? { cookie } : {} }), config as AuthConfig);
    const setCookie = typeof res.headers.getSetCookie === 'function' ? res.headers.getSetCookie() : [];
    return { body: await res.json(), setCookie };
  }

  // Like @auth/express's ExpressAuth, but on PUBLIC_URL's origin and with the client address
  // handed to the password provider (AsyncLocalStorage) and a 429 when it throttled.
  setEnvDefaults(process.env, config as AuthConfig);
  const jsonBody = express.json();
  const formBody = express.urlencoded({ extended: true });
  const parse = (mw: RequestHandler, req: Request, res: Response) =>
    new Promise<void>((resolve, reject) => mw(req, res, (err?: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve())));
  const handler: RequestHandler = (req, res, next) => {
    void (async () => {
      await parse(jsonBody, req, res);
      await parse(formBody, req, res);
      const attempt: SignInAttempt = { address: clientAddress(req) };
      const origin = publicOrigin ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
      const response = await signInAttempts.run(attempt, () => Auth(toWebRequest(req, origin), config as AuthConfig));
      if (attempt.retryAfterS !== undefined) return sendThrottled(req, res, attempt.retryAfterS);
      await sendWebResponse(response, res);
    })().catch(next);
  };

  return {
    config,
    handler,
    authenticate,
    action,
    providers: { password: true, github, sealos: !!sealosSecret, registration: ctx.config.REGISTRATION },
    close: () => throttle.close(),
  };
}
