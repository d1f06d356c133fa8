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
  logLevel: 'warn',
  plugins: [
    remix({
      appDirectory: path.join(webDir, 'app'),
      buildDirectory: path.join(webDir, 'build'),
      future: { v3_fetcherPersist: true, v3_relativeSplatPath: true, v3_throwAbortReason: true, v3_lazyRouteDiscovery: true },
    }),
  ],
});
