// The Remix pages on Vite's dev middleware, mounted on a test's web app as `npm start`
// mounts them (web/server/dev-pages.ts), without HMR.
import { fileURLToPath } from 'node:url';
import type { ViteDevServer } from 'vite';
import type { WebApp } from '../web/server/app';
import { mountDevPages } from '../web/server/dev-pages';

/** Mounts the pages after the API; close the returned dev server when the test is done. */
export async function mountDevUi(web: WebApp): Promise<ViteDevServer> {
  const { createServer } = await import('vite');
  const configFile = fileURLToPath(new URL('../web/vite.config.ts', import.meta.url));
  const vite = await createServer({ configFile, logLevel: 'silent', server: { middlewareMode: true, hmr: false } });
  mountDevPages(web, vite, web.ctx.logger);
  return vite;
}
