// runtime/VERSION (the tag build.sh gives the image) and RUNTIME_IMAGE_VERSION (what the
// activities deploy) must name the same image.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUNTIME_IMAGE, RUNTIME_IMAGE_REPOSITORY, RUNTIME_IMAGE_VERSION } from '../common/versions';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('runtime image version', () => {
  it('runtime/VERSION equals RUNTIME_IMAGE_VERSION in common/versions.ts', () => {
    expect(readFileSync(path.join(here, 'VERSION'), 'utf8').trim()).toBe(RUNTIME_IMAGE_VERSION);
    expect(RUNTIME_IMAGE).toBe(`${RUNTIME_IMAGE_REPOSITORY}:${RUNTIME_IMAGE_VERSION}`);
  });

  it('build.sh tags the repository named in common/versions.ts by default', () => {
    const build = readFileSync(path.join(here, 'build.sh'), 'utf8');
    expect(build).toContain(`RUNTIME_IMAGE_REPOSITORY:-${RUNTIME_IMAGE_REPOSITORY}}`);
  });

  it('the Dockerfile builds on Ubuntu 24.04 with the tools the sandbox promises', () => {
    const dockerfile = readFileSync(path.join(here, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM ubuntu:24\.04$/m);
    expect(dockerfile).toMatch(/ARG NODE_VERSION=22\./);
    for (const tool of ['@anthropic-ai/claude-code', 'ttyd', 'postgresql-client', 'git', ' gh ', 'buildah', 'typescript', 'prisma', 'vim', 'nano', 'jq', 'htop', 'tree']) {
      expect(dockerfile).toContain(tool);
    }
    expect(dockerfile).toMatch(/ENTRYPOINT \["\/usr\/local\/bin\/entrypoint\.sh"\]/);
  });
});
