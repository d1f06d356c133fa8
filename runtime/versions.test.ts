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

  it('the Dockerfile builds on Debian bookworm (overridable base) with the tools the sandbox promises', () => {
    const dockerfile = readFileSync(path.join(here, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ARG BASE_IMAGE=docker\.io\/library\/debian:bookworm-slim$/m);
    // Every stage starts from the same base, the one cluster/images.ts replaces locally.
    expect(dockerfile.match(/^FROM .*/gm)).toEqual(['FROM ${BASE_IMAGE} AS fetch', 'FROM ${BASE_IMAGE}']);
    expect(dockerfile).toMatch(/ARG NODE_VERSION=22\./);
    for (const tool of ['@anthropic-ai/claude-code', 'ttyd', 'postgresql-client', 'git', ' gh ', 'typescript', 'tsx', 'prisma', 'vim', 'nano', 'jq', 'htop', 'tree']) {
      expect(dockerfile).toContain(tool);
    }
    expect(dockerfile).toMatch(/ENTRYPOINT \["\/usr\/local\/bin\/entrypoint\.sh"\]/);
  });

  it('every download is pinned to a version and checked against a pinned digest', () => {
    const dockerfile = readFileSync(path.join(here, 'Dockerfile'), 'utf8');
    for (const arg of ['NODE_INTEGRITY_X64', 'NODE_INTEGRITY_ARM64', 'NPM_INTEGRITY']) {
      expect(dockerfile).toMatch(new RegExp(`^ARG ${arg}=sha512-[A-Za-z0-9+/]{86}==$`, 'm'));
    }
    for (const arg of ['TTYD_WHEEL_SHA256', 'TTYD_SHA256_X86_64', 'TTYD_SHA256_AARCH64']) {
      expect(dockerfile).toMatch(new RegExp(`^ARG ${arg}=[0-9a-f]{64}$`, 'm'));
    }
    expect(dockerfile).toMatch(/^ARG TTYD_VERSION=1\.7\.7$/m);
    for (const arg of ['CLAUDE_CODE_VERSION', 'TYPESCRIPT_VERSION', 'TSX_VERSION', 'PRISMA_VERSION', 'NPM_VERSION']) {
      expect(dockerfile).toMatch(new RegExp(`^ARG ${arg}=\\d+\\.\\d+\\.\\d+$`, 'm'));
    }
    // Nothing is fetched unchecked: each curl download is followed by its check.
    expect(dockerfile).not.toMatch(/latest/);
    expect((dockerfile.match(/curl -fsSLo /g) ?? []).length).toBe(3);
    expect((dockerfile.match(/check_integrity (node|npm)\.tgz/g) ?? []).length).toBe(2);
    expect(dockerfile).toContain('sha256sum -c -');
  });

  it('the image user is the one the sandbox pod runs as (uid/gid, numeric USER, home = the PVC mount)', () => {
    const dockerfile = readFileSync(path.join(here, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain(`groupadd --gid ${SANDBOX_GID} agent`);
    expect(dockerfile).toContain(`useradd --create-home --uid ${SANDBOX_UID} --gid ${SANDBOX_GID}`);
    expect(dockerfile).toMatch(new RegExp(`^USER ${SANDBOX_UID}:${SANDBOX_GID}$`, 'm'));
    expect(dockerfile).toMatch(new RegExp(`^ENV HOME=${HOME_MOUNT_PATH}$`, 'm'));
    // No sudo: it cannot work under no_new_privs and would only be a setuid binary to attack.
    // The fetch stage installs its own tools; the final stage's list is the last one.
    const lists = [...dockerfile.matchAll(/apt-get install([\s\S]*?)rm -rf \/var\/lib\/apt\/lists/g)].map((m) => m[1] ?? '');
    expect(lists.at(-1)).toContain('postgresql-client');
    for (const installed of lists) expect(installed).not.toMatch(/\bsudo\b/);
  });
});
