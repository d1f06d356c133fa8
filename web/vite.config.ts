// Remix (Vite) build of the dashboard. `vite build` (run from web/ or with --config)
// writes web/build/server and web/build/client; index.ts serves them in production and
// uses this config through Vite's middleware mode in development.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { vitePlugin as remix } from '@remix-run/dev';
import { defineConfig } from 'vite';

const webDir = path.dirname(fileURLToPath(import.meta.url));
// Vite's root is the repository (Remix reads package.json there); the app lives in web/app.
const root = path.resolve(webDir, '..');

export default defineConfig({
  root,
  cacheDir: path.join(webDir, '.cache', 'vite'),
  // Files served as they are at the site root (favicon.svg, favicon.ico); copied into build/client.
  publicDir: path.join(webDir, 'public'),
  logLevel: 'warn',
  // The pages' browser dependencies, bundled when the dev server starts. Found on a first
  // page load instead, they are bundled again meanwhile and the page's modules go stale;
  // without HMR (the browser tests) nothing reloads it (a cold-cache CI run hung there).
  optimizeDeps: {
    include: ['react', 'react/jsx-runtime', 'react/jsx-dev-runtime', 'react-dom/client', '@remix-run/react', '@remix-run/node', '@xterm/xterm', '@xterm/addon-fit'],
  },
  plugins: [
    remix({
      appDirectory: path.join(webDir, 'app'),
      buildDirectory: path.join(webDir, 'build'),
      // Every React Router 7 behaviour is chosen on purpose, so start-up prints no future-flag
      // warnings. v3_singleFetch stays off for now: the pages' data requests use the `?_data`
      // protocol that the form body limit (web/server/http/body-limit.ts) and the page error
      // handler (web/server/page-errors.ts) answer with caught responses; switch it on together
      // with those (single fetch sends `.data` requests and turbo-stream bodies).
      future: {
        v3_fetcherPersist: true,
        v3_relativeSplatPath: true,
        v3_throwAbortReason: true,
        v3_lazyRouteDiscovery: true,
        v3_singleFetch: false,
        v3_routeConfig: false,
      },
    }),
  ],
});
