// npx tsx cluster/images-cli.ts build [runtime|postgresql|pause|platform]
//   Builds the OCI archives (the real node's three and the platform image, or the one named) unless they
//   are cached, and prints each ref and archive. Cache: $CACHE_DIR (default ~/.cache/fullstackagent).
import os from 'node:os';
import path from 'node:path';
import { IMAGE_NAMES, ensureImage, type ImageName } from './images';

const cacheDir = process.env.CACHE_DIR || path.join(os.homedir(), '.cache', 'fullstackagent');
const [command, which] = process.argv.slice(2);

async function main(): Promise<number> {
  if (command !== 'build' || (which !== undefined && !(IMAGE_NAMES as readonly string[]).includes(which))) {
    console.error(`usage: npx tsx cluster/images-cli.ts build [${IMAGE_NAMES.join('|')}]`);
    return 2;
  }
  for (const name of which ? [which as ImageName] : IMAGE_NAMES) {
    const t0 = Date.now();
    const img = await ensureImage(name, { cacheDir });
    console.log(`${name}\t${img.ref}\t${img.archive}\t(${Date.now() - t0} ms)`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
