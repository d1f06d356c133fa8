// The web process: configuration, database, Temporal client, the Express app with the
// JSON API and Auth.js, the Remix pages (Vite middleware in development, the built server
// in production) and the terminal WebSocket proxy, on PORT.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequestHandler } from '@remix-run/express';
import type { ServerBuild } from '@remix-run/node';
import { Client, Connection } from '@temporalio/client';
import express from 'express';
import { ConfigError, databaseUrl, loadConfig } from '../../server/config';
import { createDb } from '../../server/db';
import { createLogger } from '../../server/logger';
import { migrate } from '../../server/migrate';
import { requestLogMiddleware } from '../../server/request-log';
import { temporalConnectionOptions } from '../../server/temporal-connection';
import { createApp } from './app';
import { mountDevPages } from './dev-pages';
import { pageErrorHandler, pageLoadContext } from './page-errors';
import { attachTerminalProxy, resolveTerminalTarget } from './terminal';

const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILD_DIR = path.join(WEB_DIR, 'build');

async function main() {
  const config = loadConfig();
  const logger = createLogger('web', config.LOG_LEVEL);
  const dbUrl = databaseUrl(config);
  await migrate(dbUrl);
  const db = createDb(dbUrl);
  // Lazy: the web starts (and /readyz says why it is not ready) while Temporal is down.
  const connection = Connection.lazy(temporalConnectionOptions(config));
  const temporalClient = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });

  const web = createApp({ config, db, temporalClient, logger }, { before: [requestLogMiddleware(logger)] });
  const server = http.createServer(web.app);
  // Responses not yet finished, for the shutdown: SSE streams among them are ended first.
  const open = new Set<http.ServerResponse>();
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    open.add(res);
    res.once('close', () => open.delete(res));
  });

  const production = config.NODE_ENV === 'production' || process.env.FSA_WEB_BUILD === '1';
  if (production) {
    const serverEntry = path.join(BUILD_DIR, 'server', 'index.js');
    if (!fs.existsSync(serverEntry)) throw new Error(`${serverEntry} is missing: run "npx vite build --config web/vite.config.ts" first`);
    const build = (await import(pathToFileURL(serverEntry).href)) as ServerBuild;
    web.mountUi((app) => {
      app.use('/assets', express.static(path.join(BUILD_DIR, 'client', 'assets'), { immutable: true, maxAge: '1y' }));
      app.use(express.static(path.join(BUILD_DIR, 'client'), { maxAge: '1h' }));
      app.all('*', createRequestHandler({ build, mode: 'production', getLoadContext: (_req, res) => pageLoadContext(res, web.webApi, logger) }));
      app.use(pageErrorHandler(logger));
    });
  } else {
    const vite = await import('vite');
    const sigterm = new Set(process.listeners('SIGTERM'));
    const devServer = await vite.createServer({ configFile: path.join(WEB_DIR, 'vite.config.ts'), server: { middlewareMode: true, hmr: { server } } });
    // The Remix plugin's child compiler is a Vite server outside middleware mode, which
    // installs a SIGTERM handler that exits at once; the shutdown below is the web's own.
    for (const l of process.listeners('SIGTERM')) if (!sigterm.has(l)) process.off('SIGTERM', l);
    mountDevPages(web, devServer, logger);
  }

  const terminal = attachTerminalProxy(server, {
    authenticate: web.authenticate,
    resolveTarget: (userId, projectId) => resolveTerminalTarget(db, web.ctx.cipher, userId, projectId),
    publicUrl: config.PUBLIC_URL,
    streams: web.streams,
    activity: web.activity,
    wake: web.wakeTerminal,
    logger,
  });

  server.listen(config.PORT, () => logger.info({ port: config.PORT, mode: production ? 'production' : 'development' }, 'web listening'));

  // Graceful shutdown: stop accepting connections, end SSE streams (EventSource clients
  // reconnect, to another instance) and terminals, and give requests in flight up to
  // SHUTDOWN_TIMEOUT_MS to finish; then the connections still open are closed and the
  // process exits. The cleanup after that has a few seconds more before a forced exit.
  const timeoutMs = config.SHUTDOWN_TIMEOUT_MS;
  const shutdown = async (signal: string) => {
    logger.info({ signal, timeoutMs, open: open.size }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown cleanup did not finish; exiting');
      process.exit(1);
    }, timeoutMs + 5_000).unref();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const res of open) {
      if (String(res.getHeader('content-type') ?? '').startsWith('text/event-stream')) res.end();
      else if (!res.headersSent) res.setHeader('connection', 'close');
    }
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      Promise.all([closed, terminal.close().catch(() => undefined)]).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!drained) {
      logger.warn({ open: open.size }, 'requests still open after SHUTDOWN_TIMEOUT_MS; closing their connections');
      server.closeAllConnections();
    }
    await web.close().catch((err: unknown) => logger.warn({ err }, 'closing the app failed'));
    await connection.close().catch(() => undefined);
    await db.$disconnect().catch(() => undefined);
    logger.info({ drained }, 'web stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
