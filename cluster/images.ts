// OCI image archives, built here from package registries only: a Debian bookworm base made
// by mmdebstrap; for the real node (`ctr -n k8s.io images import FILE`) the sandbox runtime
// image (runtime/Dockerfile, the definition production builds too), PostgreSQL for the
// KubeBlocks simulator (cluster/images/postgresql) and the CRI sandbox image (a static
// pause binary FROM scratch); and the platform's web/worker image (the repository's
// Dockerfile, docker-compose.temporal.yml's image), which test/web-image.test.ts starts. Each archive is named by a content key, so a warm call only
// hashes a few files; builds run one at a time (also across processes) with buildah (chroot
// isolation) in a storage under <cacheDir>/buildah.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUNTIME_IMAGE } from '../common/versions';

export const RUNTIME_IMAGE_REF = RUNTIME_IMAGE;
export const POSTGRESQL_IMAGE_REF = 'localhost/fsa-kubeblocks-postgresql:15';
export const PAUSE_IMAGE_REF = 'localhost/fsa-pause:1';
/** The web/worker image (docker-compose.temporal.yml tags it fullstackagent:${FSA_IMAGE_TAG:-local}). */
export const PLATFORM_IMAGE_REF = 'localhost/fullstackagent:local';
/** uid/gid of `postgres` in the PostgreSQL image (fixed in its Containerfile). */
export const POSTGRESQL_IMAGE_UID = 999;

export const IMAGE_NAMES = ['runtime', 'postgresql', 'pause', 'platform'] as const;
export type ImageName = (typeof IMAGE_NAMES)[number];
export interface BuiltImage {
  ref: string;
  /** Absolute path of the OCI archive. */
  archive: string;
}
export interface ImageOptions {
  cacheDir: string;
  log?: (line: string) => void;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const APT_CLEAN_CONF = path.join(repoRoot, 'cluster', 'images', 'base', 'apt-clean.conf');
/**
 * mmdebstrap's arguments define the base. Like debian:*-slim, docs, man pages and translations
 * are not installed and apt keeps no downloaded packages or package caches (also for the
 * images' own apt-get install, through the dpkg/apt config these options leave in the base).
 */
const BASE_ARGS = [
  '--variant=minbase',
  '--format=tar',
  '--include=ca-certificates',
  `--customize-hook=upload ${APT_CLEAN_CONF} /etc/apt/apt.conf.d/docker-clean`,
  // With that config in place mmdebstrap's cleanup no longer finds the caches apt made before.
  '--customize-hook=rm -f "$1/var/cache/apt/pkgcache.bin" "$1/var/cache/apt/srcpkgcache.bin"',
  '--dpkgopt=path-exclude=/usr/share/man/*',
  '--dpkgopt=path-exclude=/usr/share/info/*',
  '--dpkgopt=path-exclude=/usr/share/locale/*',
  '--dpkgopt=path-exclude=/usr/share/doc/*',
  '--dpkgopt=path-include=/usr/share/doc/*/copyright',
  'bookworm',
];
const PAUSE_CFLAGS = ['-static', '-Os', '-s', '-Wall', '-Wextra', '-Werror'];

interface ContainerfileImage {
  ref: string;
  context: string;
  containerfile: string;
}
const CONTAINERFILE_IMAGES: Record<Exclude<ImageName, 'pause'>, ContainerfileImage> = {
  runtime: { ref: RUNTIME_IMAGE_REF, context: path.join(repoRoot, 'runtime'), containerfile: 'Dockerfile' },
  postgresql: { ref: POSTGRESQL_IMAGE_REF, context: path.join(repoRoot, 'cluster', 'images', 'postgresql'), containerfile: 'Containerfile' },
  platform: { ref: PLATFORM_IMAGE_REF, context: repoRoot, containerfile: 'Dockerfile' },
};
const PAUSE_SOURCE = path.join(repoRoot, 'cluster', 'images', 'pause', 'pause.c');

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** The context's .dockerignore rules, in order: `*` within a path segment, `**` across, `!` re-includes. */
function ignoreRules(dir: string): Array<{ include: boolean; re: RegExp; depth: number }> {
  const file = path.join(dir, '.dockerignore');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const include = l.startsWith('!');
      const glob = (include ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      const segment = (part: string) => part.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*');
      const body = glob
        .split('**/')
        .map((p) => p.split('**').map(segment).join('.*'))
        .join('(?:.*/)?');
      // The path depth the rule can match: `*` stays within a segment, `**` crosses any number.
      return { include, re: new RegExp(`^${body}$`), depth: glob.includes('**') ? Infinity : glob.split('/').length };
    });
}

/**
 * Whether no file below the ignored folder `relPath` can be re-included: true unless an `!`
 * rule can match a deeper path (it has `**` or more segments than the folder's depth).
 */
function prunable(rules: ReturnType<typeof ignoreRules>, relPath: string): boolean {
  const depth = relPath.split('/').length;
  return rules.every((r) => !r.include || r.depth <= depth);
}

/** Docker's rule: the last rule that matches the path or one of its parent folders decides. */
function isIgnored(rules: ReturnType<typeof ignoreRules>, relPath: string): boolean {
  const prefixes = relPath.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const r of rules) if (prefixes.some((p) => r.re.test(p))) ignored = !r.include;
  return ignored;
}

/**
 * sha256 over the build context (relative path, executable bit and content of every file the
 * .dockerignore keeps, in sorted order) and `extra` (the Containerfile, build arguments, the
 * base's key). Pure but for reads.
 */
export function contextHash(dir: string, extra: readonly string[] = []): string {
  const rules = ignoreRules(dir);
  const h = createHash('sha256');
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const relPath = rel ? `${rel}/${name}` : name;
      const abs = path.join(dir, relPath);
      const st = fs.lstatSync(abs);
      if (st.isDirectory()) {
        if (!(isIgnored(rules, relPath) && prunable(rules, relPath))) walk(relPath);
      }
      else if (isIgnored(rules, relPath)) continue;
      else if (st.isSymbolicLink()) h.update(`link\0${relPath}\0${fs.readlinkSync(abs)}\0`);
      else if (st.isFile()) h.update(`file\0${relPath}\0${st.mode & 0o111 ? 'x' : '-'}\0${sha256(fs.readFileSync(abs))}\0`);
    }
  };
  walk('');
  for (const e of extra) h.update(`extra\0${e}\0`);
  return h.digest('hex');
}

interface Ctx {
  imagesDir: string;
  log: (line: string) => void;
  logFile: string;
}

/** Runs a command (argument array, no shell), appending its output to the step's log file. */
async function run(c: Ctx, cmd: string, args: readonly string[]): Promise<string> {
  const fd = fs.openSync(c.logFile, 'a');
  fs.writeSync(fd, `\n$ ${cmd} ${args.join(' ')}\n`);
  try {
    return await new Promise<string>((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', fd] });
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        fs.writeSync(fd, d);
      });
      child.on('error', (err) => reject(new Error(`${cmd}: ${err.message}`)));
      child.on('close', (code, signal) => {
        if (code === 0) return resolve(out.trim());
        const tail = fs.readFileSync(c.logFile, 'utf8').split('\n').slice(-25).join('\n');
        reject(new Error(`${[cmd, ...args].join(' ').slice(0, 300)} failed (${code ?? signal}); full log ${c.logFile}:\n${tail}`));
      });
    });
  } finally {
    fs.closeSync(fd);
  }
}

async function step<T>(c: Ctx, what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const result = await fn();
  c.log(`[images] ${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return result;
}

class Buildah {
  private constructor(
    private readonly global: string[],
    private readonly c: Ctx,
  ) {}

  /** overlay when this kernel and filesystem allow it, vfs otherwise; each driver keeps its own storage. */
  static async open(cacheDir: string, c: Ctx): Promise<Buildah> {
    for (const driver of ['overlay', 'vfs']) {
      const dir = path.join(cacheDir, 'buildah', driver);
      const b = new Buildah(['--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'runroot'), '--storage-driver', driver], c);
      try {
        await b.run(['images', '--quiet']);
        return b;
      } catch (err) {
        if (driver === 'vfs') throw err;
        c.log(`[images] buildah: the overlay storage driver does not work here, using vfs (slower, larger)`);
      }
    }
    throw new Error('unreachable');
  }

  run(args: readonly string[]): Promise<string> {
    return run(this.c, 'buildah', [...this.global, ...args]);
  }

  async has(ref: string): Promise<boolean> {
    return (await this.run(['images', '--quiet', '--noheading', '--filter', `reference=${ref}`])).length > 0;
  }

  /** Writes `ref` as an OCI archive (tmp, then rename), then drops it and dangling images from storage. */
  async archive(ref: string, file: string): Promise<void> {
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      await this.run(['push', ref, `oci-archive:${tmp}:${ref}`]);
      fs.renameSync(tmp, file);
    } finally {
      fs.rmSync(tmp, { force: true });
      await this.run(['rmi', ref]).catch(() => undefined);
      await this.run(['rmi', '--prune']).catch(() => undefined);
    }
  }
}

function baseKey(): string {
  // Relative paths: clones elsewhere on the machine share the cache.
  const args = BASE_ARGS.map((a) => a.replaceAll(repoRoot, '.'));
  return sha256(['mmdebstrap', ...args, fs.readFileSync(APT_CLEAN_CONF, 'utf8')].join('\0')).slice(0, 16);
}

/** The Debian base in buildah storage (localhost/fsa-debian-base:bookworm-<key>), from a cached mmdebstrap tarball. */
async function ensureBase(b: Buildah, c: Ctx): Promise<string> {
  const key = baseKey();
  const repo = 'localhost/fsa-debian-base';
  const ref = `${repo}:bookworm-${key}`;
  if (await b.has(ref)) return ref;
  const tarball = path.join(c.imagesDir, `debian-bookworm-${key}.tar`);
  if (!fs.existsSync(tarball)) {
    const tmp = `${tarball}.tmp-${process.pid}`;
    await step(c, 'base: mmdebstrap --variant=minbase bookworm (+ ca-certificates, slim dpkg/apt config)', async () => {
      try {
        await run(c, 'mmdebstrap', [...BASE_ARGS, tmp]);
        fs.renameSync(tmp, tarball);
      } finally {
        fs.rmSync(tmp, { force: true });
      }
    });
  }
  await step(c, `base: import into buildah as ${ref}`, async () => {
    const ctr = await b.run(['from', '--pull=never', 'scratch']);
    try {
      await b.run(['add', ctr, tarball, '/']);
      await b.run(['config', '--cmd', '/bin/bash', '--env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ctr]);
      await b.run(['commit', '--quiet', ctr, ref]);
    } finally {
      await b.run(['rm', ctr]).catch(() => undefined);
    }
  });
  // Bases of earlier keys are stale.
  for (const old of (await b.run(['images', '--noheading', '--format', '{{.Name}}:{{.Tag}}', '--filter', `reference=${repo}`])).split('\n')) {
    if (old && old !== ref) await b.run(['rmi', old]).catch(() => undefined);
  }
  for (const f of fs.readdirSync(c.imagesDir)) {
    if (f.startsWith('debian-bookworm-') && f !== path.basename(tarball)) fs.rmSync(path.join(c.imagesDir, f), { force: true });
  }
  return ref;
}

/**
 * A CA bundle for TLS-intercepting egress proxies, handed to the build as the optional secret
 * `build_ca` (runtime/Dockerfile reads it for curl and npm; it never lands in a layer).
 */
function buildCaFile(): string | undefined {
  const file = process.env.BUILD_CA_FILE ?? '/etc/ssl/certs/ca-certificates.crt';
  return fs.existsSync(file) ? file : undefined;
}

function gccVersion(): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('gcc', ['-dumpfullversion', '-dumpmachine'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', () => resolve('gcc-missing'));
    child.on('close', () => resolve(out.trim().replace(/\s+/g, ' ')));
  });
}

/** The archive's key: what the image is built from. The base's key is part of the build args. */
async function imageKey(name: ImageName): Promise<string> {
  if (name === 'pause') return sha256([fs.readFileSync(PAUSE_SOURCE, 'utf8'), ...PAUSE_CFLAGS, await gccVersion()].join('\0')).slice(0, 16);
  const img = CONTAINERFILE_IMAGES[name];
  // The Containerfile is read even when the .dockerignore leaves it out of the context.
  const containerfile = fs.readFileSync(path.join(img.context, img.containerfile), 'utf8');
  return contextHash(img.context, [img.ref, containerfile, `BASE_IMAGE=${baseKey()}`]).slice(0, 16);
}

export function imagesDir(cacheDir: string): string {
  return path.join(cacheDir, 'images');
}

function archivePath(cacheDir: string, name: ImageName, key: string): string {
  return path.join(imagesDir(cacheDir), `${name}-${key}.oci.tar`);
}

async function build(name: ImageName, ref: string, archive: string, c: Ctx, cacheDir: string): Promise<void> {
  const b = await Buildah.open(cacheDir, c);
  if (name === 'pause') {
    const work = fs.mkdtempSync(path.join(c.imagesDir, '.pause-'));
    try {
      await step(c, 'pause: gcc -static', () => run(c, 'gcc', [...PAUSE_CFLAGS, '-o', path.join(work, 'pause'), PAUSE_SOURCE]));
      await step(c, `pause: buildah from scratch → ${ref}`, async () => {
        const ctr = await b.run(['from', '--pull=never', 'scratch']);
        try {
          await b.run(['copy', '--chmod', '0755', ctr, path.join(work, 'pause'), '/pause']);
          await b.run(['config', '--entrypoint', '["/pause"]', '--cmd', '', '--user', '65535:65535', '--os', 'linux', ctr]);
          await b.run(['commit', '--quiet', ctr, ref]);
        } finally {
          await b.run(['rm', ctr]).catch(() => undefined);
        }
      });
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  } else {
    const img = CONTAINERFILE_IMAGES[name];
    const base = await ensureBase(b, c);
    const ca = buildCaFile();
    await step(c, `${name}: buildah bud ${path.relative(repoRoot, img.context) || '.'}/${img.containerfile} → ${ref}`, () =>
      b.run([
        'bud',
        '--isolation', 'chroot',
        '--layers=false',
        '--pull=never',
        '--build-arg', `BASE_IMAGE=${base}`,
        ...(ca ? ['--secret', `id=build_ca,src=${ca}`] : []),
        '--file', path.join(img.context, img.containerfile),
        '--tag', ref,
        img.context,
      ]),
    );
  }
  await step(c, `${name}: oci-archive ${archive}`, () => b.archive(ref, archive));
  const mb = (fs.statSync(archive).size / 1e6).toFixed(1);
  c.log(`[images] ${name}: ${ref} → ${archive} (${mb} MB)`);
}

/** Another process building into the same cache holds <images>/.lock (its pid); a dead holder's lock is taken over. */
async function withCacheLock<T>(dir: string, log: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(dir, '.lock');
  for (let waited = false; ; ) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(fs.readFileSync(lock, 'utf8')) || 0;
      let alive = holder > 0;
      try {
        if (alive) process.kill(holder, 0);
      } catch {
        alive = false;
      }
      if (!alive) {
        fs.rmSync(lock, { force: true });
        continue;
      }
      if (!waited) log(`[images] waiting for pid ${holder}, which is building into ${dir}`);
      waited = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

let queue: Promise<unknown> = Promise.resolve();

/** Builds one image unless its archive (by content key) exists; one build at a time per cache. */
export function ensureImage(name: ImageName, o: ImageOptions): Promise<BuiltImage> {
  const result = queue.then(async () => {
    const log = o.log ?? ((l: string) => console.log(l));
    const ref = name === 'pause' ? PAUSE_IMAGE_REF : CONTAINERFILE_IMAGES[name].ref;
    const key = await imageKey(name);
    const archive = archivePath(o.cacheDir, name, key);
    if (fs.existsSync(archive)) return { ref, archive };

    const dir = imagesDir(o.cacheDir);
    fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
    return withCacheLock(dir, log, async () => {
      if (fs.existsSync(archive)) return { ref, archive };
      const c: Ctx = { imagesDir: dir, log, logFile: path.join(dir, 'logs', `${name}-${key}.log`) };
      const t0 = Date.now();
      log(`[images] ${name}: no archive for key ${key}; building (log: ${c.logFile})`);
      await build(name, ref, archive, c, o.cacheDir);
      // Archives (and logs) of earlier keys of this image are stale.
      for (const [sub, keep] of [['', path.basename(archive)], ['logs', path.basename(c.logFile)]] as const) {
        for (const f of fs.readdirSync(path.join(dir, sub))) {
          if (f.startsWith(`${name}-`) && f !== keep) fs.rmSync(path.join(dir, sub, f), { force: true });
        }
      }
      log(`[images] ${name}: built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return { ref, archive };
    });
  });
  queue = result.catch(() => undefined);
  return result;
}

/** The three images the real node imports, building whichever archive is missing. */
export async function ensureImages(o: ImageOptions): Promise<{ runtime: BuiltImage; postgresql: BuiltImage; pause: BuiltImage }> {
  const pause = await ensureImage('pause', o);
  const postgresql = await ensureImage('postgresql', o);
  const runtime = await ensureImage('runtime', o);
  return { runtime, postgresql, pause };
}

export interface OciImageConfig {
  architecture?: string;
  os?: string;
  config?: { User?: string; Entrypoint?: string[]; Cmd?: string[]; Env?: string[]; WorkingDir?: string; ExposedPorts?: Record<string, object>; StopSignal?: string };
}

/** Reads an OCI archive's ref names (index.json) and the image config of its first manifest, with tar. */
export async function inspectArchive(archive: string): Promise<{ refs: string[]; config: OciImageConfig }> {
  const member = (name: string) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn('tar', ['-xOf', archive, name], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`tar -xOf ${archive} ${name}: ${err.trim()}`))));
    });
  const blob = (digest: string) => member(`blobs/${digest.replace(':', '/')}`);
  const index = JSON.parse(await member('index.json')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
  const refs = index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).filter((r): r is string => !!r);
  const first = index.manifests[0];
  if (!first) throw new Error(`${archive}: index.json lists no manifest`);
  const manifest = JSON.parse(await blob(first.digest)) as { config: { digest: string } };
  return { refs, config: JSON.parse(await blob(manifest.config.digest)) as OciImageConfig };
}
