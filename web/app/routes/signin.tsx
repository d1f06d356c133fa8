// Sign-in: a plain form posting to Auth.js (/auth/callback/password) with its CSRF token,
// so it works without JavaScript. An unknown username creates an account when the server's
// registration policy (REGISTRATION) allows it. Messages for every refusal Auth.js sends back
// here (?error=…&code=…), the sign-in throttle's 429 included.
import { json, redirect, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { useLoaderData, useNavigation } from '@remix-run/react';
import { safeRedirectPath } from '../../server/auth/redirect';
import '../load-context';

export const meta: MetaFunction = () => [{ title: 'Sign in · FullstackAgent' }];

type Registration = 'open' | 'closed' | 'allowlist';

// "Wrong password" and "no such user" share one message (and one answer): the page must not
// tell which usernames exist. With registration restricted, it says so.
const WRONG_CREDENTIALS: Record<Registration, string> = {
  open: 'That password does not match this username. Try again, or pick another username to create a new account.',
  closed: 'Wrong username or password. This server does not accept new accounts: registration is closed, so only existing accounts can sign in.',
  allowlist:
    'Wrong username or password. New accounts can only be created for usernames on this server’s allow-list; if yours should be, ask the administrator.',
};

const REGISTRATION_REFUSED: Record<Registration, string> = {
  open: 'Sign-in was refused.',
  closed: 'This account has not signed in here before, and this server does not accept new accounts (registration is closed).',
  allowlist: 'This account has not signed in here before, and its name is not on this server’s registration allow-list. Ask the administrator to add it.',
};

const HINTS: Record<Registration, string> = {
  open: 'New here? Pick a username and password and an account is created for you.',
  closed: 'Registration is closed on this server: only existing accounts can sign in.',
  allowlist: 'New here? If your username is on this server’s allow-list, pick a password and an account is created for you.',
};

const MESSAGES: Record<string, string> = {
  invalid_username: 'Username: use 3 to 64 characters: letters, digits, ".", "_", "@" or "-".',
  username_invisible: 'Username: it contains a space or an invisible or control character (such as a zero-width space). Type it without.',
  username_mixed_scripts:
    'Username: it mixes letters of different scripts (for example Latin with Cyrillic or Greek), which can look like another name. Use letters of one script.',
  username_confusable:
    'Username: it is made of letters that look like other letters (Cyrillic or Greek letters drawn like Latin ones, or phonetic and small-capital forms). Use ordinary letters.',
  invalid_password: 'Password: use at least 8 characters.',
  invalid_sealos_token: 'The Sealos sign-in link is invalid or expired. Open FullstackAgent from Sealos again.',
  invalid_kubeconfig: 'The kubeconfig from Sealos could not be read.',
};

function waitText(retryAfter: string | null): string {
  const s = retryAfter && /^\d{1,7}$/.test(retryAfter) ? Number(retryAfter) : null;
  if (s === null) return 'a few minutes';
  if (s < 90) return `${Math.max(s, 1)} seconds`;
  return `about ${Math.ceil(s / 60)} minutes`;
}

function signInMessage(params: URLSearchParams, registration: Registration): string | null {
  const error = params.get('error');
  if (!error) return null;
  const code = params.get('code') ?? '';
  if (error === 'TooManyAttempts' || code === 'throttled') {
    return `Too many sign-in attempts for this account or from your network. Wait ${waitText(params.get('retryAfter'))}, then try again.`;
  }
  if (code === 'wrong_credentials' || code === 'wrong_password') return WRONG_CREDENTIALS[registration];
  if (MESSAGES[code]) return MESSAGES[code];
  if (error === 'AccessDenied') return REGISTRATION_REFUSED[registration];
  if (error === 'CredentialsSignin') return WRONG_CREDENTIALS[registration];
  return 'Sign-in failed. Please try again.';
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  const url = new URL(request.url);
  // Only on-site targets: `//evil.example`, `/\evil.example` and other origins fall back.
  const callbackUrl = safeRedirectPath(url.searchParams.get('callbackUrl'), '/projects', url.origin);
  if (context.user) throw redirect(callbackUrl);
  const { body, setCookie } = await context.api.authAction('csrf', url.origin, request.headers.get('cookie'));
  const headers = new Headers();
  for (const c of setCookie) headers.append('Set-Cookie', c);
  headers.set('Cache-Control', 'no-store');
  const registration = context.api.providers.registration;
  return json(
    {
      csrfToken: (body as { csrfToken: string }).csrfToken,
      callbackUrl,
      github: context.api.providers.github,
      hint: HINTS[registration],
      error: signInMessage(url.searchParams, registration),
    },
    { headers },
  );
}

export default function SignIn() {
  const { csrfToken, callbackUrl, github, hint, error } = useLoaderData<typeof loader>();
  const busy = useNavigation().state !== 'idle';
  return (
    <div className="auth-wrap">
      <section className="auth-card card" aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in</h1>
        <p className="muted">Cloud sandboxes with an AI coding agent, a terminal and a database — one click away.</p>
        {error ? (
          <p className="alert alert-error" role="alert">
            {error}
          </p>
        ) : null}
        <form method="post" action="/auth/callback/password" className="stack">
          <input type="hidden" name="csrfToken" value={csrfToken} />
          <input type="hidden" name="callbackUrl" value={callbackUrl} />
          <label className="field">
            <span>Username</span>
            <input name="username" autoComplete="username" required minLength={3} maxLength={64} autoFocus />
          </label>
          <label className="field">
            <span>Password</span>
            <input name="password" type="password" autoComplete="current-password" required minLength={8} maxLength={200} />
          </label>
          <button className="btn btn-primary btn-block" type="submit" disabled={busy}>
            Continue
          </button>
          <p className="hint">{hint}</p>
        </form>
        {github ? (
          <form method="post" action="/auth/signin/github" className="stack oauth">
            <input type="hidden" name="csrfToken" value={csrfToken} />
            <input type="hidden" name="callbackUrl" value={callbackUrl} />
            <button className="btn btn-block" type="submit">
              Continue with GitHub
            </button>
          </form>
        ) : null}
      </section>
    </div>
  );
}
