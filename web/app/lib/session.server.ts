// Page guards: a page needs a signed-in user, or it sends the browser to the sign-in page.
import { redirect, type AppLoadContext } from '@remix-run/node';
import '../load-context';

export function requireUserId(context: AppLoadContext, request: Request): string {
  if (context.user) return context.user.userId;
  const url = new URL(request.url);
  throw redirect(`/signin?callbackUrl=${encodeURIComponent(url.pathname + url.search)}`);
}

/** The signed-in user as the timeline names them (a page action is always a session). */
export function requireActor(context: AppLoadContext, request: Request) {
  requireUserId(context, request);
  return context.user!.actor;
}

/** A service error (ApiError) as something a page can show; anything else is rethrown. */
export function formError(err: unknown): { error: string; status: number } {
  const e = err as { status?: number; message?: string; code?: string };
  if (typeof e?.status === 'number' && e.status < 600 && e.code) return { error: e.message ?? 'request failed', status: e.status };
  throw err;
}
