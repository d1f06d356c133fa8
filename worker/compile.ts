// Compiles a worker entry point to JavaScript the way production runs it: the entry and
// everything it imports from this repository (the generated Prisma client included)
// bundled by esbuild, packages left as imports of node_modules, and the workflow code
// bundled by the Temporal SDK (webpack + swc) into workflow-bundle.js beside it, which
// worker/create-worker.ts loads with `workflowBundle: { codePath }`. Used by
// `npm run build:worker` (worker/build.ts) and the lifecycle bench's worker process.
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from './create-worker';

/** Writes `<outdir>/<name>.js` for each entry and `<outdir>/workflow-bundle.js`. */
export async function compileWorker(entryPoints: Record<string, string>, outdir: string): Promise<void> {
  fs.mkdirSync(outdir, { recursive: true });
  const noop = () => undefined;
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop },
  });
  fs.writeFileSync(path.join(outdir, 'workflow-bundle.js'), code);

  await build({
    entryPoints,
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    // Errors and stack traces name the real functions.
    keepNames: true,
    logLevel: 'warning',
  });
}
