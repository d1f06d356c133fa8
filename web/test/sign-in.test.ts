// Sign-in hardening against the real web app, PostgreSQL and Temporal: the password throttle
// (per account and per address, stored in PostgreSQL and shared by two app instances), the
// same answer for "wrong password" and "no such user", the registration policy, Sealos JWT
// claims, on-site redirects only, `__Host-` cookies behind an https PUBLIC_URL, and
// NFKC/look-alike usernames. The sign-in page's loader is called with the real services.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { encode } from '@auth/core/jwt';
import { SignJWT } from 'jose';
import { authSecret } from '../../server/secrets';
import { loader as signInLoader } from '../app/routes/signin';
import { createApp } from '../server/app';
import { hashPassword } from '../server/services/users.server';
import { ApiClient, startWebHarness, type WebHarness } from './harness';

const PASSWORD = 'correct horse battery';

/** Posts the password form like a script: CSRF first, then the callback. */
async function attempt(
  client: ApiClient,
  username: string,
  password: string,
  extra: Record<string, string> = {},
  headers: Record<string, string> = {},
): Promise<{ status: number; location: string | null; retryAfter: string | null; setCookies: string[]; body: string }> {
  const csrf = await client.raw('GET', '/auth/csrf');
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const form = new URLSearchParams({ csrfToken, username, password, callbackUrl: '/projects', ...extra });
  const res = await client.raw('POST', '/auth/callback/password', {
    body: form.toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
  return {
    status: res.status,
    location: res.headers.get('location'),
    retryAfter: res.headers.get('retry-after'),
    setCookies: res.headers.getSetCookie(),
    body: await res.text(),
  };
}

async function seedPasswordUser(h: WebHarness, username: string, password = PASSWORD): Promise<string> {
  const user = await h.db.user.create({
    data: { name: username, identities: { create: { provider: 'password', providerUserId: username, passwordHash: await hashPassword(password), isPrimary: true } } },
  });
  return user.id;
}

function pageRequest(h: WebHarness, query: string) {
  return { request: new Request(`${h.baseUrl}/signin${query}`), params: {}, context: { user: null, api: h.web.webApi } };
}

async function pageError(h: WebHarness, query: string): Promise<{ error: string | null; hint: string; callbackUrl: string }> {
  const res = (await signInLoader(pageRequest(h, query) as never)) as Response;
  return (await res.json()) as { error: string | null; hint: string; callbackUrl: string };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('throttle (per account and per address, in PostgreSQL)', () => {
  const WINDOW_S = 6;
  let h: WebHarness;
  beforeAll(async () => {
    h = await startWebHarness({ prefix: 'fsa_signin_throttle', env: { SIGNIN_WINDOW_S: String(WINDOW_S), SIGNIN_ACCOUNT_LIMIT: '10', SIGNIN_ADDRESS_LIMIT: '20' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('does not count successful sign-ins', async () => {
    const client = new ApiClient(h.baseUrl);
    // 25 successes from one address: more than the address limit, none refused.
    for (let i = 0; i < 25; i++) {
      const r = await attempt(new ApiClient(h.baseUrl), 'steady-user', PASSWORD);
      expect(r.status).toBe(302);
      expect(r.location).toMatch(/\/projects$/);
    }
    await client.signIn('steady-user');
    expect(client.signedIn).toBe(true);
  });

  it('answers 429 with Retry-After before the 30th wrong password, throttles the address for other accounts, and lets the right password in after the window', async () => {
    const victim = new ApiClient(h.baseUrl);
    expect((await attempt(victim, 'victim', PASSWORD)).status).toBe(302); // registers
    expect((await attempt(new ApiClient(h.baseUrl), 'bystander', PASSWORD)).status).toBe(302);
    // Let the steady-user test's window pass, so every count below starts from zero.
    await sleep(WINDOW_S * 1000 + 200);

    const attacker = new ApiClient(h.baseUrl);
    const answers = [];
    for (let i = 0; i < 30; i++) answers.push(await attempt(attacker, 'victim', `wrong password ${i}`));
    const first429 = answers.findIndex((a) => a.status === 429);
    expect(first429).toBe(10); // SIGNIN_ACCOUNT_LIMIT failures, then refused
    for (const a of answers.slice(0, 10)) {
      expect(a.status).toBe(302);
      expect(a.location).toMatch(/\/signin\?error=CredentialsSignin&code=wrong_credentials$/);
    }
    for (const a of answers.slice(10)) {
      expect(a.status).toBe(429);
      const s = Number(a.retryAfter);
      expect(Number.isInteger(s) && s >= 1 && s <= WINDOW_S).toBe(true);
      expect(JSON.parse(a.body)).toEqual({
        error: { code: 'too_many_requests', message: expect.stringMatching(/^Too many sign-in attempts\. Try again in \d+ seconds?\.$/), details: { retryAfterSeconds: s } },
      });
      expect(a.setCookies.some((c) => c.includes('session-token'))).toBe(false);
    }
    expect(attacker.signedIn).toBe(false);

    // Even the right password of another account is refused from this address now.
    const bystander = new ApiClient(h.baseUrl);
    const other = await attempt(bystander, 'bystander', PASSWORD);
    expect(other.status).toBe(429);
    expect(Number(other.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(bystander.signedIn).toBe(false);

    // A browser gets a page that sends it back to the sign-in form with a message.
    const browser = await attempt(new ApiClient(h.baseUrl), 'victim', PASSWORD, {}, { accept: 'text/html,application/xhtml+xml' });
    expect(browser.status).toBe(429);
    expect(browser.retryAfter).toMatch(/^\d+$/);
    expect(browser.body).toContain(`url=/signin?error=TooManyAttempts&amp;code=throttled&amp;retryAfter=${browser.retryAfter}`);
    const page = await pageError(h, `?error=TooManyAttempts&code=throttled&retryAfter=${browser.retryAfter}`);
    expect(page.error).toMatch(/^Too many sign-in attempts for this account or from your network\. Wait \d+ seconds, then try again\.$/);

    // The counts live in PostgreSQL: a second app instance on the same database (another
    // replica) refuses too.
    const rows = await h.db.$queryRawUnsafe<{ key: string; points: number }[]>('SELECT key, points FROM "_fsa_signin_attempts"');
    expect(rows.some((r) => r.key.startsWith('account:') && r.points > 10)).toBe(true);
    expect(rows.some((r) => r.key === 'address:127.0.0.1' && r.points > 20)).toBe(true);
    expect(rows.some((r) => r.key.includes('victim'))).toBe(false); // account keys are hashed
    const replica = createApp({ config: h.config, db: h.db, temporalClient: h.web.ctx.temporal, logger: h.web.ctx.logger });
    const server = replica.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const viaReplica = await attempt(new ApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), 'victim', PASSWORD);
      expect(viaReplica.status).toBe(429);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await replica.close();
    }

    // After the window the right password works again, for both accounts.
    await sleep(Math.max(...answers.slice(10).map((a) => Number(a.retryAfter))) * 1000 + 500);
    const returning = new ApiClient(h.baseUrl);
    const back = await attempt(returning, 'victim', PASSWORD);
    expect(back.status).toBe(302);
    expect(back.location).toMatch(/\/projects$/);
    expect(returning.signedIn).toBe(true);
    expect((await returning.call('GET', '/api/user')).status).toBe(200);
    expect((await attempt(bystander, 'bystander', PASSWORD)).status).toBe(302);
  });

  it('does not count malformed attempts (no password was checked)', async () => {
    await sleep(WINDOW_S * 1000 + 200);
    for (let i = 0; i < 25; i++) {
      const r = await attempt(new ApiClient(h.baseUrl), 'x', 'short');
      expect(r.status).toBe(302);
      expect(r.location).toMatch(/code=invalid_username$/);
    }
    expect((await attempt(new ApiClient(h.baseUrl), 'steady-user', PASSWORD)).status).toBe(302);
  });
});

describe('registration closed', () => {
  let h: WebHarness;
  beforeAll(async () => {
    h = await startWebHarness({ prefix: 'fsa_signin_closed', env: { REGISTRATION: 'closed', SIGNIN_ADDRESS_LIMIT: '1000', SIGNIN_ACCOUNT_LIMIT: '1000' } });
    await seedPasswordUser(h, 'existing');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers a wrong password and an unknown username identically, in similar time', async () => {
    const strip = (a: Awaited<ReturnType<typeof attempt>>) => ({
      status: a.status,
      location: a.location,
      retryAfter: a.retryAfter,
      cookies: a.setCookies.map((c) => c.split('=')[0]).sort(),
      body: a.body,
    });
    const wrong = await attempt(new ApiClient(h.baseUrl), 'existing', 'not the password');
    const unknown = await attempt(new ApiClient(h.baseUrl), 'nobody-here', 'not the password');
    expect(strip(wrong)).toEqual(strip(unknown));
    expect(wrong.status).toBe(302);
    expect(wrong.location).toMatch(/\/signin\?error=CredentialsSignin&code=wrong_credentials$/);
    expect(await h.db.userIdentity.count({ where: { providerUserId: 'nobody-here' } })).toBe(0);

    // Timing: both do one lookup and one scrypt verification (median of 7 each).
    const time = async (username: string) => {
      const client = new ApiClient(h.baseUrl);
      const { csrfToken } = (await (await client.raw('GET', '/auth/csrf')).json()) as { csrfToken: string };
      const body = new URLSearchParams({ csrfToken, username, password: 'not the password' }).toString();
      const t0 = performance.now();
      await client.raw('POST', '/auth/callback/password', { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      return performance.now() - t0;
    };
    const wrongMs: number[] = [];
    const unknownMs: number[] = [];
    for (let i = 0; i < 7; i++) {
      wrongMs.push(await time('existing'));
      unknownMs.push(await time(`nobody-${i}`));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const ratio = median(unknownMs) / median(wrongMs);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });

  it('still signs existing accounts in, and says on the page that registration is closed', async () => {
    const client = new ApiClient(h.baseUrl);
    const r = await attempt(client, 'existing', PASSWORD);
    expect(r.status).toBe(302);
    expect(r.location).toMatch(/\/projects$/);
    expect(client.signedIn).toBe(true);

    const page = await pageError(h, '?error=CredentialsSignin&code=wrong_credentials');
    expect(page.error).toBe(
      'Wrong username or password. This server does not accept new accounts: registration is closed, so only existing accounts can sign in.',
    );
    expect(page.hint).toBe('Registration is closed on this server: only existing accounts can sign in.');
    expect((await pageError(h, '?error=AccessDenied')).error).toMatch(/does not accept new accounts \(registration is closed\)/);
  });
});

describe('registration allow-list', () => {
  let h: WebHarness;
  beforeAll(async () => {
    h = await startWebHarness({ prefix: 'fsa_signin_allow', env: { REGISTRATION: 'allowlist', REGISTRATION_ALLOWLIST: 'Carol, *@example.com', SIGNIN_ADDRESS_LIMIT: '1000' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each([['carol'], ['CAROL'], ['dave@example.com'], ['Erin@Example.com']])('lets %s register', async (name) => {
    const client = new ApiClient(h.baseUrl);
    const r = await attempt(client, name, PASSWORD);
    expect(r.status).toBe(302);
    expect(r.location).toMatch(/\/projects$/);
    expect(client.signedIn).toBe(true);
    expect(await h.db.userIdentity.count({ where: { provider: 'password', providerUserId: name.toLowerCase() } })).toBe(1);
  });

  it.each([['dave'], ['mallory@example.com.evil'], ['x@sub.example.com'], ['a@b@example.com'], ['@example.com']])('refuses to register %s, as a wrong password', async (name) => {
    const client = new ApiClient(h.baseUrl);
    const r = await attempt(client, name, PASSWORD);
    expect(r.status).toBe(302);
    expect(r.location).toMatch(/\/signin\?error=CredentialsSignin&code=(wrong_credentials|invalid_username)$/);
    expect(client.signedIn).toBe(false);
    expect(await h.db.userIdentity.count({ where: { provider: 'password', providerUserId: name.toLowerCase() } })).toBe(0);
  });

  it('explains the allow-list on the sign-in page', async () => {
    const page = await pageError(h, '?error=CredentialsSignin&code=wrong_credentials');
    expect(page.error).toMatch(/^Wrong username or password\. New accounts can only be created for usernames on this server’s allow-list/);
    expect(page.hint).toMatch(/allow-list/);
  });
});

describe('https PUBLIC_URL: cookies, redirects, Sealos claims, usernames', () => {
  const SEALOS_SECRET = 'sealos-test-secret-with-enough-length';
  const ISSUER = 'https://sealos.example';
  const AUDIENCE = 'fullstackagent';
  let h: WebHarness;
  beforeAll(async () => {
    h = await startWebHarness({
      prefix: 'fsa_signin_https',
      env: {
        PUBLIC_URL: 'https://fsa.example',
        SEALOS_JWT_SECRET: SEALOS_SECRET,
        SEALOS_JWT_ISSUER: ISSUER,
        SEALOS_JWT_AUDIENCE: AUDIENCE,
        SIGNIN_ADDRESS_LIMIT: '1000',
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('sets a __Host- session cookie and reads it back', async () => {
    const client = new ApiClient(h.baseUrl);
    const r = await attempt(client, 'hosted', PASSWORD);
    expect(r.status).toBe(302);
    expect(r.location).toBe('https://fsa.example/projects');
    const session = r.setCookies.find((c) => c.startsWith('__Host-authjs.session-token='));
    expect(session).toBeDefined();
    expect(session).toMatch(/; Path=\/(;|$)/);
    expect(session).toMatch(/; Secure/i);
    expect(session).toMatch(/; HttpOnly/i);
    expect(session).not.toMatch(/Domain=/i);
    expect(r.setCookies.some((c) => /^(__Secure-)?authjs\.session-token=/.test(c))).toBe(false);
    const me = await client.call('GET', '/api/user');
    expect(me.status).toBe(200);

    // The unprefixed names are not read when PUBLIC_URL is https, even with a valid token.
    const secret = authSecret(h.config);
    for (const [name, status] of [
      ['__Host-authjs.session-token', 200],
      ['__Secure-authjs.session-token', 401],
      ['authjs.session-token', 401],
    ] as const) {
      const other = new ApiClient(h.baseUrl);
      other.cookies.set(name, await encode({ token: { sub: me.body.id }, secret, salt: name }));
      expect([name, (await other.call('GET', '/api/user')).status]).toEqual([name, status]);
    }
  });

  it.each([
    ['https://evil.example/'],
    ['//evil.example'],
    ['/\\evil.example'],
    ['\\\\evil.example'],
    ['/.//evil.example'],
    ['/\t/evil.example'],
    ['https://fsa.example@evil.example/'],
    ['https://fsa.example.evil.example/'],
    ['http://fsa.example/projects'],
    ['javascript:alert(1)'],
    ['evil.example'],
  ])('refuses callbackUrl %j', async (callbackUrl) => {
    const client = new ApiClient(h.baseUrl);
    const r = await attempt(client, 'redirected', PASSWORD, { callbackUrl });
    expect(r.status).toBe(302);
    expect(r.location).toBe('https://fsa.example/');
    expect(client.signedIn).toBe(true);
    // The callback-url cookie Auth.js keeps is the safe one too.
    const cookie = r.setCookies.find((c) => c.startsWith('__Host-authjs.callback-url='));
    if (cookie) expect(decodeURIComponent(cookie.split(';')[0]!.split('=')[1]!)).toBe('https://fsa.example/');
  });

  it('keeps on-site callbackUrls and ignores the Host header', async () => {
    const r = await attempt(new ApiClient(h.baseUrl), 'redirected', PASSWORD, { callbackUrl: '/projects/abc?tab=env#x' });
    expect(r.location).toBe('https://fsa.example/projects/abc?tab=env#x');
    const abs = await attempt(new ApiClient(h.baseUrl), 'redirected', PASSWORD, { callbackUrl: 'https://fsa.example/settings' });
    expect(abs.location).toBe('https://fsa.example/settings');

    // A forged Host cannot move Auth.js's error redirect elsewhere.
    const port = new URL(h.baseUrl).port;
    const location = await new Promise<string | undefined>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/auth/signin/password', method: 'GET', headers: { host: 'evil.example' } }, (res) => {
        res.resume();
        resolve(res.headers.location);
      });
      req.on('error', reject);
      req.end();
    });
    expect(location).toMatch(/^https:\/\/fsa\.example\/signin/);
    expect(location).not.toContain('evil.example');
  });

  it('refuses off-site targets on the sign-in page', async () => {
    for (const target of ['//evil.example', '/\\evil.example', 'https://evil.example', '/.//evil.example']) {
      const page = await pageError(h, `?callbackUrl=${encodeURIComponent(target)}`);
      expect(page.callbackUrl).toBe('/projects');
      // A signed-in visitor is redirected at once: to the fallback, not off-site.
      let thrown: unknown;
      try {
        await signInLoader({ ...pageRequest(h, `?callbackUrl=${encodeURIComponent(target)}`), context: { user: { userId: 'u', via: 'session' }, api: h.web.webApi } } as never);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(Response);
      expect((thrown as Response).headers.get('location')).toBe('/projects');
    }
    expect((await pageError(h, '?callbackUrl=%2Fprojects%2Fp1')).callbackUrl).toBe('/projects/p1');
  });

  describe('Sealos JWT', () => {
    const key = new TextEncoder().encode(SEALOS_SECRET);
    async function sealos(client: ApiClient, token: string, extra: Record<string, string> = {}) {
      const { csrfToken } = (await (await client.raw('GET', '/auth/csrf')).json()) as { csrfToken: string };
      const form = new URLSearchParams({ csrfToken, token, callbackUrl: '/projects', ...extra });
      return client.raw('POST', '/auth/callback/sealos', { body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    }
    const base = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();

    it.each([
      ['no exp', (c: Record<string, unknown>) => base(c).setIssuer(ISSUER).setAudience(AUDIENCE)],
      ['an expired exp', (c: Record<string, unknown>) => base(c).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime(Math.floor(Date.now() / 1000) - 60)],
      ['no iss', (c: Record<string, unknown>) => base(c).setAudience(AUDIENCE).setExpirationTime('5m')],
      ['a wrong iss', (c: Record<string, unknown>) => base(c).setIssuer('https://evil.example').setAudience(AUDIENCE).setExpirationTime('5m')],
      ['no aud', (c: Record<string, unknown>) => base(c).setIssuer(ISSUER).setExpirationTime('5m')],
      ['a wrong aud', (c: Record<string, unknown>) => base(c).setIssuer(ISSUER).setAudience('someone-else').setExpirationTime('5m')],
    ])('refuses a token with %s', async (_what, make) => {
      const userId = `sealos-refused-${Math.random().toString(36).slice(2)}`;
      const client = new ApiClient(h.baseUrl);
      const res = await sealos(client, await make({ userId }).sign(key));
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('https://fsa.example/signin?error=CredentialsSignin&code=invalid_sealos_token');
      expect(client.signedIn).toBe(false);
      expect(await h.db.userIdentity.count({ where: { provider: 'sealos', providerUserId: userId } })).toBe(0);
    });

    it('accepts exp + iss + aud, and ignores a kubeconfig that is not in the signed claims', async () => {
      const client = new ApiClient(h.baseUrl);
      const token = await base({ userId: 'sealos-ok' }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('5m').sign(key);
      const unsigned = 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n';
      const res = await sealos(client, token, { kubeconfig: unsigned });
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('https://fsa.example/projects');
      expect(client.signedIn).toBe(true);
      const identity = await h.db.userIdentity.findUniqueOrThrow({ where: { provider_providerUserId: { provider: 'sealos', providerUserId: 'sealos-ok' } } });
      expect(await h.db.userConfig.count({ where: { userId: identity.userId } })).toBe(0);
    });
  });

  describe('usernames', () => {
    it.each([
      ['pаypal', 'username_mixed_scripts', 'Latin with a Cyrillic а'],
      ['gοogle', 'username_mixed_scripts', 'Latin with a Greek ο'],
      ['ali\u200bce', 'username_invisible', 'zero-width space'],
      ['bob\u202eelif', 'username_invisible', 'right-to-left override'],
      ['car\u0007ol', 'username_invisible', 'a control character (BEL)'],
      ['ad\u00admin', 'username_invisible', 'soft hyphen'],
      ['аррӏе', 'username_confusable', 'all-Cyrillic look-alike of apple'],
      ['ᴀdmin', 'username_confusable', 'small-capital A'],
    ])('refuses %j (%s: %s) with a message naming the field', async (name, code) => {
      const client = new ApiClient(h.baseUrl);
      const r = await attempt(client, name, PASSWORD);
      expect(r.status).toBe(302);
      expect(r.location).toBe(`https://fsa.example/signin?error=CredentialsSignin&code=${code}`);
      expect(client.signedIn).toBe(false);
      expect(await h.db.user.count({ where: { name } })).toBe(0);
      const page = await pageError(h, `?error=CredentialsSignin&code=${code}`);
      expect(page.error).toMatch(/^Username: /);
    });

    it('NFKC-normalizes: a full-width name is the same account as its plain form', async () => {
      const first = new ApiClient(h.baseUrl);
      expect((await attempt(first, 'ｆｕｌｌｗｉｄｔｈ', PASSWORD)).status).toBe(302);
      const identity = await h.db.userIdentity.findUniqueOrThrow({
        where: { provider_providerUserId: { provider: 'password', providerUserId: 'fullwidth' } },
        include: { user: true },
      });
      expect(identity.user.name).toBe('fullwidth');
      const second = new ApiClient(h.baseUrl);
      expect((await attempt(second, 'FullWidth', PASSWORD)).location).toBe('https://fsa.example/projects');
      expect((await second.call('GET', '/api/user')).body.id).toBe(identity.userId);
    });

    it.each([['Ελληνικά'], ['иван'], ['José'], ['山田taro'], ['김철수']])('accepts single-script %j', async (name) => {
      const client = new ApiClient(h.baseUrl);
      const r = await attempt(client, name, PASSWORD);
      expect(r.location).toBe('https://fsa.example/projects');
      expect(client.signedIn).toBe(true);
    });
  });
});
