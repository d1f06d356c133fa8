// A minimal web server for browser tests of the terminal: serves a page with the terminal
// component bundle, the two project API calls the page makes (GET status, POST start),
// and the real terminal proxy in front of a ttyd-protocol peer.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Rollup } from 'vite';
import { attachTerminalProxy, type TerminalProxy } from '../../web/server/terminal';
import { createLogger } from '../../server/logger';
import type { TtydPeer } from '../ttyd-peer';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export interface TerminalTestServer {
  url: string;
  /** Project status as the page's API and the proxy see it. */
  projects: Map<string, { owner: string; status: string }>;
  proxy: TerminalProxy;
  close(): Promise<void>;
}

/** Bundles entry.tsx for the browser with Vite (the web app's bundler), in memory. */
export async function bundleTerminalPage(): Promise<string> {
  const result = await build({
    configFile: false,
    root: here,
    logLevel: 'silent',
    mode: 'production',
    define: { 'process.env.NODE_ENV': '"production"' },
    // jsxDev follows NODE_ENV (jest sets "test"), while React is bundled in production mode.
    esbuild: { jsx: 'automatic', jsxDev: false },
    build: {
      write: false,
      minify: false,
      target: 'es2022',
      modulePreload: false,
      rollupOptions: { input: path.join(here, 'entry.tsx'), output: { format: 'es', inlineDynamicImports: true } },
    },
  });
  const outputs = (Array.isArray(result) ? result : [result]) as Rollup.RollupOutput[];
  const chunk = outputs.flatMap((o) => o.output).find((o): o is Rollup.OutputChunk => o.type === 'chunk' && o.isEntry);
  if (!chunk) throw new Error('vite produced no entry chunk for the terminal test page');
  return chunk.code;
}

const HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>terminal test page</title>
<link rel="stylesheet" href="/xterm.css">
<style>html,body,#root{height:100%;margin:0;background:#1e1e1e}</style>
</head><body><div id="root"></div><script type="module" src="/bundle.js"></script></body></html>`;

export async function startTerminalTestServer(peer: TtydPeer, token: string): Promise<TerminalTestServer> {
  const bundle = await bundleTerminalPage();
  const css = readFileSync(require.resolve('@xterm/xterm/css/xterm.css'));
  const projects = new Map<string, { owner: string; status: string }>();
  const userOf = (cookie: string | undefined) => /(?:^|;\s*)session=([^;]+)/.exec(cookie ?? '')?.[1] ?? null;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, body: unknown) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    if (url.pathname === '/') return res.writeHead(200, { 'Content-Type': 'text/html' }).end(HTML);
    if (url.pathname === '/bundle.js') return res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(bundle);
    if (url.pathname === '/xterm.css') return res.writeHead(200, { 'Content-Type': 'text/css' }).end(css);
    const m = /^\/api\/projects\/([^/]+)(\/start)?$/.exec(url.pathname);
    if (m) {
      const user = userOf(req.headers.cookie);
      if (!user) return json(401, { error: { code: 'unauthorized', message: 'sign in' } });
      const p = projects.get(m[1]!);
      if (!p || p.owner !== user) return json(404, { error: { code: 'not_found', message: 'no such project' } });
      if (m[2] && req.method === 'POST') {
        p.status = 'RUNNING'; // the lifecycle would get there; immediate is enough here
        return json(202, { id: m[1], action: 'start', accepted: true });
      }
      return json(200, { id: m[1], name: 'demo-shop', status: p.status });
    }
    res.writeHead(404).end();
  });

  const proxy = attachTerminalProxy(server, {
    authenticate: async (req) => {
      const user = userOf(req.headers.cookie);
      return user ? { userId: user } : null;
    },
    resolveTarget: async (userId, projectId) => {
      const p = projects.get(projectId);
      if (!p || p.owner !== userId) return { kind: 'not_found' };
      if (p.status !== 'RUNNING') return { kind: 'not_running', status: p.status };
      return { kind: 'ok', url: peer.url, token };
    },
    logger: createLogger('terminal-test-server', 'silent'),
  });

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    projects,
    proxy,
    async close() {
      await proxy.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
