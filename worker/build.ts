// `npm run build:worker`: the worker for production, as compiled JavaScript.
//
//   dist/worker.js           worker/index.ts and everything it imports from this repository
//                            (the generated Prisma client included), bundled by esbuild;
//                            packages stay imports of node_modules. Run: node dist/worker.js
//   dist/workflow-bundle.js  the workflow code bundled by the Temporal SDK (webpack + swc),
//                            loaded with `workflowBundle: { codePath }` (worker/create-worker.ts),
//                            so a worker start does not bundle (seconds of CPU, ~100 MB).
//
// dist/ sits one level below the root like server/ and worker/, so the paths the modules
// derive from import.meta.url (server/migrate.ts: ../prisma/migrations) stay right.
// Needs `npm run prisma:generate` first.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileWorker } from './compile';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist');

async function main() {
  const t0 = Date.now();
  if (!fs.existsSync(path.join(root, 'prisma/generated/client.ts'))) throw new Error('prisma/generated is missing: run `npm run prisma:generate` first');
  fs.rmSync(out, { recursive: true, force: true });
  await compileWorker({ worker: path.join(root, 'worker/index.ts') }, out);

  const migrations = path.resolve(out, '../prisma/migrations');
  if (!fs.existsSync(migrations)) throw new Error(`the compiled worker would look for migrations in ${migrations}, which does not exist`);
  const size = (f: string) => `${(fs.statSync(path.join(out, f)).size / 1024).toFixed(0)} KiB`;
  console.log(`[build:worker] dist/worker.js ${size('worker.js')}, dist/workflow-bundle.js ${size('workflow-bundle.js')} in ${Date.now() - t0} ms`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
