// Sign-out clears the session cookie (JWT sessions keep no server state). POST only and
// same-origin (checked by the server), so another site cannot sign a user out.
import { redirect } from '@remix-run/node';

const expired = (name: string, secure: boolean) => `${name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;

export function action() {
  const headers = new Headers();
  headers.append('Set-Cookie', expired('authjs.session-token', false));
  headers.append('Set-Cookie', expired('__Secure-authjs.session-token', true));
  headers.append('Set-Cookie', expired('__Host-authjs.session-token', true));
  return redirect('/signin', { headers });
}

export function loader() {
  return redirect('/projects');
}
