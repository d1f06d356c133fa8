// Sign-in: a plain form posting to Auth.js (/auth/callback/password) with its CSRF token,
// so it works without JavaScript. An unknown username creates an account.
import { json, redirect, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { useLoaderData, useNavigation } from '@remix-run/react';
import '../load-context';

export const meta: MetaFunction = () => [{ title: 'Sign in · FullstackAgent' }];

const MESSAGES: Record<string, string> = {
  wrong_password: 'That password does not match this username. Try again, or pick another username to create a new account.',
  invalid_username: 'Usernames are 3 to 64 characters: letters, digits, ".", "_", "@" or "-".',
  invalid_password: 'Passwords need at least 8 characters.',
  invalid_sealos_token: 'The Sealos sign-in link is invalid or expired. Open FullstackAgent from Sealos again.',
  invalid_kubeconfig: 'The kubeconfig from Sealos could not be read.',
};

function safeCallback(v: string | null): string {
  return v && v.startsWith('/') && !v.startsWith('//') ? v : '/projects';
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  const url = new URL(request.url);
  const callbackUrl = safeCallback(url.searchParams.get('callbackUrl'));
  if (context.user) throw redirect(callbackUrl);
  const { body, setCookie } = await context.api.authAction('csrf', url.origin, request.headers.get('cookie'));
  const headers = new Headers();
  for (const c of setCookie) headers.append('Set-Cookie', c);
  headers.set('Cache-Control', 'no-store');
  const code = url.searchParams.get('code') ?? '';
  const error = url.searchParams.get('error');
  return json(
    {
      csrfToken: (body as { csrfToken: string }).csrfToken,
      callbackUrl,
      github: context.api.providers.github,
      error: error ? (MESSAGES[code] ?? (error === 'CredentialsSignin' ? MESSAGES.wrong_password! : 'Sign-in failed. Please try again.')) : null,
    },
    { headers },
  );
}

export default function SignIn() {
  const { csrfToken, callbackUrl, github, error } = useLoaderData<typeof loader>();
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
          <p className="hint">New here? Pick a username and password and an account is created for you.</p>
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
