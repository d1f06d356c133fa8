// The Remix pages in development: built on request by Vite's dev server, mounted after the
// API with the same load context and error handler as the production build's.
import { createRequestHandler } from '@remix-run/express';
import type { ServerBuild } from '@remix-run/node';
import type { ViteDevServer } from 'vite';
import type { Logger } from '../../server/logger';
import type { WebApp } from './app';
import { pageErrorHandler, pageLoadContext } from './page-errors';

export function mountDevPages(web: WebApp, devServer: ViteDevServer, logger: Logger): void {
  web.mountUi((app) => {
    app.use(devServer.middlewares);
    app.all(
      '*',
      createRequestHandler({
        build: () => devServer.ssrLoadModule('virtual:remix/server-build') as Promise<ServerBuild>,
        mode: 'development',
        getLoadContext: (_req, res) => pageLoadContext(res, web.webApi, logger),
      }),
    );
    app.use(pageErrorHandler(logger));
  });
}
