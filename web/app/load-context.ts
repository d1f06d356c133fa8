// What Express hands every loader and action (server/index.ts getLoadContext): the signed-in
// user, the service functions the JSON API uses too, and the request's id (X-Request-Id).
import type { Actor } from '../../common/lifecycle';
import type { WebApi } from '../server/web-api';

export interface WebLoadContext {
  user: { userId: string; via: 'session' | 'token'; actor: Actor } | null;
  api: WebApi;
  /** The id of this request's log lines; shown on error pages (web/server/page-errors.ts). */
  requestId?: string;
}

declare module '@remix-run/node' {
  // Module augmentation: Remix types the load context through this interface.
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface AppLoadContext extends WebLoadContext {}
}
