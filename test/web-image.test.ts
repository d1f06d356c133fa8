// The platform image (Dockerfile, docker-compose.temporal.yml's web and worker), built here
// with buildah (cluster/images.ts, image `platform`): its filesystem is unpacked from the OCI
// archive and the image's own command runs in it (chroot, in a private mount namespace with
// /dev and /proc, on the host's network) as the image's user, far enough to serve /healthz
// and the built pages. A cold build takes several minutes; an unchanged key reuses the archive.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PLATFORM_IMAGE_REF, ensureImage, inspectArchive, type OciImageConfig } from '../cluster/images';
import { createMigratedDatabase } from '../scripts/services/postgres';
import { freePort, waitForPort } from '../scripts/services/process';

const cacheDir = process.env.CACHE_DIR ?? path.join(os.homedir(), '.cache', 'fullstackagent');
const SHUTDOWN_TIMEOUT_MS = 2_000;

interface OciManifest {
  layers: Array<{ digest: string; mediaType: string }>;
}

/** Unpacks the image's layers in order into `rootfs`, applying OCI whiteouts. */
function unpackArchive(archive: string, work: string): string {
  const oci = path.join(work, 'oci');
  const rootfs = path.join(work, 'rootfs');
  fs.mkdirSync(oci);
  fs.mkdirSync(rootfs);
  execFileSync('tar', ['-xf', archive, '-C', oci]);
  const blob = (digest: string) => path.join(oci, 'blobs', ...digest.split(':'));
  const index = JSON.parse(fs.readFileSync(path.join(oci, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const manifest = JSON.parse(fs.readFileSync(blob(index.manifests[0]!.digest), 'utf8')) as OciManifest;
  for (const layer of manifest.layers) {
    const entries = execFileSync('tar', ['-tf', blob(layer.digest)], { maxBuffer: 1 << 30 })
      .toString()
      .split('\n')
      .map((e) => e.replace(/^\.\//, ''));
    for (const e of entries) {
      const base = path.posix.basename(e);
      const dir = path.join(rootfs, path.posix.dirname(e));
      if (base === '.wh..wh..opq') for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
      else if (base.startsWith('.wh.')) fs.rmSync(path.join(dir, base.slice(4)), { recursive: true, force: true });
    }
    execFileSync('tar', ['-xf', blob(layer.digest), '-C', rootfs, '--exclude=.wh.*', '--exclude=*/.wh.*']);
  }
  fs.rmSync(oci, { recursive: true, force: true });
  return rootfs;
}

/** The image's command in `rootfs`, as its user, with its environment plus `env`. */
function runImage(rootfs: string, config: OciImageConfig, env: Record<string, string>, logFile: string): ChildProcess {
  const c = config.config ?? {};
  const [uid, gid = uid] = (c.User ?? '0').split(':');
  const argv = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  const envArgs = [...(c.Env ?? []), ...Object.entries(env).map(([k, v]) => `${k}=${v}`)];
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  // The mounts exist only in the new mount namespace; they go with its last process.
  const script = [
    'set -e',
    `R=${q(rootfs)}`,
    'mkdir -p "$R/dev" "$R/proc"',
    'mount --rbind /dev "$R/dev"',
    'mount -t proc proc "$R/proc"',
    `exec chroot --userspec=${uid}:${gid} --groups=${gid} "$R" /usr/bin/env -i ${envArgs.map(q).join(' ')} /bin/sh -c ${q(`cd ${q(c.WorkingDir ?? '/')} && exec "$@"`)} sh ${argv.map(q).join(' ')}`,
  ].join('\n');
  const out = fs.openSync(logFile, 'a');
  return spawn('unshare', ['--mount', '--propagation', 'private', '--fork', '--', '/bin/sh', '-c', script], { stdio: ['ignore', out, out] });
}

describe('platform image (Dockerfile)', () => {
  let work: string;
  let rootfs: string;
  let config: OciImageConfig;
  let database: Awaited<ReturnType<typeof createMigratedDatabase>>;
  let proc: ChildProcess | undefined;
  let exited: Promise<number | null>;
  let base: string;
  let logFile: string;
  /** The image's own process: the child of unshare, which became it by exec. */
  const imagePid = () => Number(execFileSync('pgrep', ['-P', String(proc!.pid)]).toString().trim().split('\n')[0]);

  beforeAll(async () => {
    const t0 = Date.now();
    const img = await ensureImage('platform', { cacheDir, log: (l) => console.log(l) });
    expect(img.ref).toBe(PLATFORM_IMAGE_REF);
    config = (await inspectArchive(img.archive)).config;
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-web-image-'));
    rootfs = unpackArchive(img.archive, work);
    logFile = path.join(work, 'web.log');
    database = await createMigratedDatabase(process.env.TEST_DATABASE_URL!, 'fsa_web_image');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    proc = runImage(
      rootfs,
      config,
      {
        PORT: String(port),
        PUBLIC_URL: base,
        DATABASE_URL: database.url,
        TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS!,
        TEMPORAL_TASK_QUEUE: `web-image-${Date.now().toString(36)}`,
        AUTH_SECRET: 'test-secret-of-the-web-image-test-0123456789',
        ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
        EMBEDDED_CLUSTER: 'false',
        LOG_LEVEL: 'info',
        SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      },
      logFile,
    );
    const p = proc;
    exited = new Promise((resolve) => p.once('exit', (code) => resolve(code)));
    await waitForPort(port, 60_000, `the image's web (log ${logFile})`).catch((err: Error) => {
      throw new Error(`${err.message}\n${fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-3000) : ''}`);
    });
    console.log(`[web-image] ready ${((Date.now() - t0) / 1000).toFixed(1)} s after start (build/cache included)`);
  }, 45 * 60_000);

  afterAll(async () => {
    if (proc && proc.exitCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
    await database?.drop();
    // --one-file-system: never follow into a mount (there are none outside the namespace).
    if (work) execFileSync('rm', ['-rf', '--one-file-system', work]);
  });

  it('runs as a non-root user, with the web as its command and NODE_ENV=production', () => {
    const c = config.config ?? {};
    expect(c.User).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(c.Cmd).toEqual(['node', '--import', 'tsx', 'web/server/index.ts']);
    expect(c.WorkingDir).toBe('/app');
    expect(c.Env).toContain('NODE_ENV=production');
    // The process in the chroot (the child of unshare) runs under that uid.
    const pid = imagePid();
    const uids = /^Uid:\s+(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!.split(/\s+/);
    expect(new Set(uids)).toEqual(new Set([c.User!.split(':')[0]]));
    // Built in the image: the Remix output and the generated Prisma client; no dev dependencies.
    expect(fs.existsSync(path.join(rootfs, 'app/web/build/server/index.js'))).toBe(true);
    expect(fs.existsSync(path.join(rootfs, 'app/node_modules/@remix-run/dev'))).toBe(false);
    expect(fs.existsSync(path.join(rootfs, 'app/web/test'))).toBe(false);
  });

  it('allocates with jemalloc: the image preloads it for its processes (README, "Worker sizing")', () => {
    expect(config.config?.Env).toContain('LD_PRELOAD=/usr/local/lib/libjemalloc.so.2');
    // The running web, not only the file: the library is mapped into the image's process.
    const pid = imagePid();
    expect(fs.readFileSync(`/proc/${pid}/maps`, 'utf8')).toMatch(/\/libjemalloc\.so\.2$/m);
  });

  it('answers /healthz', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
  });

  it('serves the built pages and their hashed, immutable assets (production mode)', async () => {
    const res = await fetch(`${base}/signin`);
    expect(res.status).toBe(200);
    const html = await res.text();
    const asset = /\/assets\/[\w.-]+-[\w-]{8}\.js/.exec(html)?.[0];
    expect(asset).toBeDefined();
    // No Vite dev client in production.
    expect(html).not.toMatch(/@vite\/client/);
    const js = await fetch(base + asset!);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toMatch(/immutable/);
  });

  it('stops on SIGTERM within SHUTDOWN_TIMEOUT_MS', async () => {
    const pid = imagePid();
    const t0 = Date.now();
    process.kill(pid, 'SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 3_000);
    expect(fs.readFileSync(logFile, 'utf8')).toMatch(/web stopped/);
  });
});
