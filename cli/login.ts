// Signing in: the standard Auth.js credentials flow a script uses (GET /auth/csrf, then
// POST /auth/callback/password), whose session is used once, to create the API token the
// CLI keeps (POST /api/tokens). The password only ever goes to /auth/callback/password.
import { Api, networkError } from './api';
import { CliError, EXIT, type ExitCode } from './errors';

const MESSAGES: Record<string, { message: string; exit: ExitCode; fix?: string }> = {
  wrong_credentials: { message: 'wrong username or password', exit: EXIT.ERROR, fix: 'check both and try again (on a server with closed registration or an allow-list, new accounts may be refused with this same answer)' },
  wrong_password: { message: 'wrong username or password', exit: EXIT.ERROR, fix: 'check both and try again' },
  invalid_username: { message: 'username: use 3 to 64 characters: letters, digits, ".", "_", "@" or "-"', exit: EXIT.USAGE },
  username_invisible: { message: 'username: it contains a space or an invisible or control character', exit: EXIT.USAGE, fix: 'type it without' },
  username_mixed_scripts: { message: 'username: it mixes letters of different scripts', exit: EXIT.USAGE, fix: 'use letters of one script' },
  username_confusable: { message: 'username: it is made of letters that look like other letters', exit: EXIT.USAGE, fix: 'use ordinary letters' },
  invalid_password: { message: 'password: use at least 8 characters (at most 200)', exit: EXIT.USAGE },
};

class CookieJar {
  private readonly cookies = new Map<string, string>();
  keep(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      if (i <= 0) continue;
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  hasSession(): boolean {
    return [...this.cookies.keys()].some((k) => k.endsWith('authjs.session-token'));
  }
}

async function call(url: string, path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url + path, { ...init, redirect: 'manual', signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw networkError(url, err);
  }
}

/** Signs in with username and password; returns an Api that carries the session cookie. */
export async function passwordSession(url: string, username: string, password: string): Promise<{ cookie: string }> {
  const jar = new CookieJar();
  const csrfRes = await call(url, '/auth/csrf', { headers: { accept: 'application/json', 'user-agent': 'fsa-cli' } });
  jar.keep(csrfRes);
  let csrfToken: string | undefined;
  try {
    csrfToken = ((await csrfRes.json()) as { csrfToken?: string }).csrfToken;
  } catch {
    /* below */
  }
  if (!csrfRes.ok || !csrfToken) {
    throw new CliError(`${url} does not look like FullstackAgent (GET /auth/csrf answered HTTP ${csrfRes.status})`, EXIT.ERROR, 'check the address (fsa login --url URL)', 'not_fullstackagent', csrfRes.status);
  }
  const form = new URLSearchParams({ csrfToken, username, password, callbackUrl: `${url}/projects` });
  const res = await call(url, '/auth/callback/password', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', cookie: jar.header(), 'user-agent': 'fsa-cli' },
    body: form.toString(),
  });
  jar.keep(res);
  if (res.status === 429) {
    const after = res.headers.get('retry-after');
    let message = 'too many sign-in attempts';
    try {
      message = ((await res.json()) as { error?: { message?: string } }).error?.message ?? message;
    } catch {
      /* default */
    }
    throw new CliError(message, EXIT.ERROR, after ? `wait ${after} seconds, then try again` : 'wait a few minutes, then try again', 'too_many_requests', 429);
  }
  const location = res.headers.get('location') ?? '';
  let params: URLSearchParams | undefined;
  try {
    params = new URL(location, url).searchParams;
  } catch {
    /* no location */
  }
  const error = params?.get('error');
  if (error || !jar.hasSession()) {
    const code = params?.get('code') ?? '';
    const known = MESSAGES[code];
    if (known) throw new CliError(known.message, known.exit, known.fix, code);
    if (error === 'AccessDenied') throw new CliError('sign-in was refused: this server does not accept this account', EXIT.ERROR, 'ask the administrator (registration may be closed or allow-listed)', 'access_denied');
    throw new CliError(`sign-in failed${error ? ` (${error})` : ` (HTTP ${res.status})`}`, EXIT.ERROR, 'check the username and password and try again', 'signin_failed', res.status);
  }
  return { cookie: jar.header() };
}

/** An Api that authenticates with a session cookie (used only between sign-in and token creation). */
export class SessionApi extends Api {
  constructor(
    url: string,
    private readonly cookie: string,
  ) {
    super(url, undefined, {});
  }
  override headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...super.headers(extra), cookie: this.cookie };
  }
}
