// runtime/VERSION (the tag build.sh gives the image) and RUNTIME_IMAGE_VERSION (what the
// activities deploy) must name the same image.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUNTIME_IMAGE, RUNTIME_IMAGE_REPOSITORY, RUNTIME_IMAGE_VERSION } from '../common/versions';
import { HOME_MOUNT_PATH, SANDBOX_GID, SANDBOX_UID } from '../activities/kubernetes/manifests';

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

  it('the image user is the one the sandbox pod runs as (uid/gid, numeric USER, home = the PVC mount)', () => {
    const dockerfile = readFileSync(path.join(here, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain(`groupadd --gid ${SANDBOX_GID} agent`);
    expect(dockerfile).toContain(`useradd --create-home --uid ${SANDBOX_UID} --gid ${SANDBOX_GID}`);
    expect(dockerfile).toMatch(new RegExp(`^USER ${SANDBOX_UID}:${SANDBOX_GID}$`, 'm'));
    expect(dockerfile).toMatch(new RegExp(`^ENV HOME=${HOME_MOUNT_PATH}$`, 'm'));
    // No sudo: it cannot work under no_new_privs and would only be a setuid binary to attack.
    const installed = /apt-get install([\s\S]*?)rm -rf \/var\/lib\/apt\/lists/.exec(dockerfile)?.[1] ?? '';
    expect(installed).toContain('postgresql-client');
    expect(installed).not.toMatch(/\bsudo\b/);
  });
});
