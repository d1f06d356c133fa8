// The image archives the real node imports: their content key, and what the archives say.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { POSTGRESQL_IMAGE_UID, PAUSE_IMAGE_REF, POSTGRESQL_IMAGE_REF, RUNTIME_IMAGE_REF, contextHash, ensureImages, inspectArchive } from './images';
import { RUNTIME_IMAGE } from '../common/versions';
import { SANDBOX_GID, SANDBOX_UID } from '../activities/kubernetes/manifests';

describe('contextHash', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-images-'));
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'Containerfile'), 'FROM scratch\n');
    fs.writeFileSync(path.join(dir, 'sub', 'entrypoint.sh'), 'echo hi\n');
    fs.writeFileSync(path.join(dir, '.dockerignore'), '**/*.test.ts\nREADME.md\n');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is stable, and changes with a file of the context, its mode, a new file or the extra inputs', () => {
    const h = contextHash(dir, ['BASE_IMAGE=a']);
    expect(contextHash(dir, ['BASE_IMAGE=a'])).toBe(h);
    expect(contextHash(dir, ['BASE_IMAGE=b'])).not.toBe(h);

    fs.writeFileSync(path.join(dir, 'sub', 'entrypoint.sh'), 'echo hello\n');
    const edited = contextHash(dir, ['BASE_IMAGE=a']);
    expect(edited).not.toBe(h);
    fs.chmodSync(path.join(dir, 'sub', 'entrypoint.sh'), 0o755);
    const chmodded = contextHash(dir, ['BASE_IMAGE=a']);
    expect(chmodded).not.toBe(edited);
    fs.writeFileSync(path.join(dir, 'sub', 'extra.conf'), '');
    expect(contextHash(dir, ['BASE_IMAGE=a'])).not.toBe(chmodded);
  });

  it('ignores files the .dockerignore leaves out of the build context', () => {
    const h = contextHash(dir);
    fs.writeFileSync(path.join(dir, 'README.md'), '# docs\n');
    fs.writeFileSync(path.join(dir, 'a.test.ts'), 'test\n');
    fs.writeFileSync(path.join(dir, 'sub', 'x.test.ts'), 'test\n');
    expect(contextHash(dir)).toBe(h);
    // As in Docker, a pattern without a folder part matches at the top only.
    fs.writeFileSync(path.join(dir, 'sub', 'README.md'), '# docs\n');
    expect(contextHash(dir)).not.toBe(h);
  });

  it('follows an allowlist .dockerignore (`*`, then `!file`), as runtime/ has', () => {
    fs.writeFileSync(path.join(dir, '.dockerignore'), '*\n!sub/entrypoint.sh\n');
    const h = contextHash(dir);
    fs.writeFileSync(path.join(dir, 'Containerfile'), 'FROM scratch\nUSER 1\n');
    fs.writeFileSync(path.join(dir, 'sub', 'other.sh'), 'echo\n');
    expect(contextHash(dir)).toBe(h);
    fs.writeFileSync(path.join(dir, 'sub', 'entrypoint.sh'), 'echo changed\n');
    expect(contextHash(dir)).not.toBe(h);
  });

  it('skips ignored folders unless a `!` rule can re-include something below them', () => {
    fs.mkdirSync(path.join(dir, 'node_modules', 'pkg'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.dockerignore'), '*\n!sub\n!node_modules/pkg/keep.js\n');
    const h = contextHash(dir);
    fs.writeFileSync(path.join(dir, 'node_modules', 'pkg', 'other.js'), '1\n');
    expect(contextHash(dir)).toBe(h);
    fs.writeFileSync(path.join(dir, 'node_modules', 'pkg', 'keep.js'), '1\n');
    expect(contextHash(dir)).not.toBe(h);
  });
});

describe('image archives', () => {
  const cacheDir = process.env.CACHE_DIR ?? path.join(os.homedir(), '.cache', 'fullstackagent');
  let images: Awaited<ReturnType<typeof ensureImages>>;

  // Instant when the archives exist; a cold build (base, runtime, PostgreSQL, pause) takes ~15 min on 2 cores.
  beforeAll(async () => {
    images = await ensureImages({ cacheDir, log: () => undefined });
  }, 45 * 60_000);

  it('names the expected refs, and a second call is served from the cache', async () => {
    expect(RUNTIME_IMAGE_REF).toBe(RUNTIME_IMAGE);
    expect(images.runtime.ref).toBe(RUNTIME_IMAGE_REF);
    expect(images.postgresql.ref).toBe(POSTGRESQL_IMAGE_REF);
    expect(images.pause.ref).toBe(PAUSE_IMAGE_REF);
    for (const img of Object.values(images)) {
      expect(path.isAbsolute(img.archive)).toBe(true);
      expect((await inspectArchive(img.archive)).refs).toEqual([img.ref]);
    }
    const t0 = Date.now();
    expect(await ensureImages({ cacheDir, log: () => undefined })).toEqual(images);
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('the runtime image runs as the sandbox user, starts the entrypoint and exposes ttyd', async () => {
    const { config } = await inspectArchive(images.runtime.archive);
    expect(config.config?.User).toBe(`${SANDBOX_UID}:${SANDBOX_GID}`);
    expect(config.config?.Entrypoint).toEqual(['/usr/local/bin/entrypoint.sh']);
    expect(Object.keys(config.config?.ExposedPorts ?? {})).toEqual(expect.arrayContaining(['7681/tcp', '3000/tcp']));
  });

  it('the PostgreSQL image runs as postgres (non-root) with PGDATA below the volume; pause is FROM scratch', async () => {
    const pg = (await inspectArchive(images.postgresql.archive)).config.config;
    expect(pg?.User).toBe(`${POSTGRESQL_IMAGE_UID}:${POSTGRESQL_IMAGE_UID}`);
    expect(pg?.Env).toContain('PGDATA=/var/lib/postgresql/data/pgdata');
    expect(Object.keys(pg?.ExposedPorts ?? {})).toEqual(['5432/tcp']);
    const pause = (await inspectArchive(images.pause.archive)).config.config;
    expect(pause?.Entrypoint).toEqual(['/pause']);
  });
});
