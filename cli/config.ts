// The CLI's configuration file: the server's URL and the API token `fsa login` stored.
// $XDG_CONFIG_HOME/fsa/config.json (default ~/.config/fsa/config.json), mode 0600 in a
// 0700 folder, written atomically. FSA_URL and FSA_TOKEN override it (CI, one-off scripts).
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CliError, EXIT } from './errors';
import type { CliIO } from './io';

export const DEFAULT_URL = 'http://localhost:3000';

export const storedConfigSchema = z.object({
  url: z.string(),
  token: z.string().optional(),
  /** The token's id and name on the server (null for a pasted token whose id was not found). */
  tokenId: z.string().nullable().optional(),
  tokenName: z.string().nullable().optional(),
  tokenPrefix: z.string().nullable().optional(),
  /** `login`: created by `fsa login` (revoked by `fsa logout`); `pasted`: given by the user (kept). */
  tokenSource: z.enum(['login', 'pasted']).optional(),
  user: z.object({ id: z.string(), name: z.string() }).optional(),
});
export type StoredConfig = z.infer<typeof storedConfigSchema>;

export function configDir(io: CliIO): string {
  const xdg = io.env.XDG_CONFIG_HOME;
  // The XDG spec: a relative XDG_CONFIG_HOME is invalid and ignored.
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(io.homedir, '.config');
  return path.join(base, 'fsa');
}

export const configPath = (io: CliIO) => path.join(configDir(io), 'config.json');

export function readConfig(io: CliIO): StoredConfig | null {
  const file = configPath(io);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`, EXIT.ERROR, 'check the file permissions, or remove the file and run fsa login');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`${file} is not valid JSON`, EXIT.ERROR, `remove it (rm ${file}) and run fsa login again`);
  }
  const r = storedConfigSchema.safeParse(parsed);
  if (!r.success) throw new CliError(`${file} does not look like an fsa configuration`, EXIT.ERROR, `remove it (rm ${file}) and run fsa login again`);
  // A token readable by others is a leaked token: tighten it, and say so.
  try {
    const mode = fs.statSync(file).mode & 0o777;
    if (mode & 0o077) {
      fs.chmodSync(file, 0o600);
      io.stderr.write(`fsa: ${file} was readable by other users (mode ${mode.toString(8)}); its mode is now 600. If others could read it, revoke the token (fsa tokens ls / revoke) and sign in again.\n`);
    }
  } catch {
    /* best effort */
  }
  return r.data;
}

export function writeConfig(io: CliIO, config: StoredConfig): string {
  const dir = configDir(io);
  const file = configPath(io);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.config.json.${process.pid}.${Date.now()}.tmp`);
  // Created 0600 from the first byte (umask cannot widen it), then renamed over the old file.
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, JSON.stringify(storedConfigSchema.parse(config), null, 2) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
  return file;
}

export function removeConfig(io: CliIO): boolean {
  try {
    fs.unlinkSync(configPath(io));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** A base URL as the CLI keeps it: http(s), no trailing slash, no query. */
export function normalizeUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new CliError(`"${raw}" is not a URL`, EXIT.USAGE, 'pass the address of the web app, e.g. --url https://fsa.example.com', 'usage');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new CliError(`"${raw}" is not an http(s) URL`, EXIT.USAGE, 'pass the address of the web app, e.g. --url https://fsa.example.com', 'usage');
  }
  if (u.username || u.password) throw new CliError('the URL must not carry a user name or password', EXIT.USAGE, 'sign in with fsa login instead', 'usage');
  u.search = '';
  u.hash = '';
  return u.toString().replace(/\/+$/, '');
}

export interface Credentials {
  url: string;
  token: string;
  /** Where the token came from, for messages. */
  source: 'env' | 'config';
  config: StoredConfig | null;
}

/** The URL to talk to (FSA_URL, then the config, then the local default). */
export function currentUrl(io: CliIO): string {
  if (io.env.FSA_URL) return normalizeUrl(io.env.FSA_URL);
  return readConfig(io)?.url ?? DEFAULT_URL;
}

export function requireCredentials(io: CliIO): Credentials {
  const config = readConfig(io);
  const url = io.env.FSA_URL ? normalizeUrl(io.env.FSA_URL) : (config?.url ?? DEFAULT_URL);
  if (io.env.FSA_TOKEN) return { url, token: io.env.FSA_TOKEN, source: 'env', config };
  // The stored token belongs to the server it was made for; never send it anywhere else.
  if (!config?.token || config.url !== url) {
    throw new CliError('not signed in', EXIT.ERROR, `run fsa login${url === DEFAULT_URL ? '' : ` --url ${url}`} (or set FSA_TOKEN to an API token)`, 'unauthenticated');
  }
  return { url, token: config.token, source: 'config', config };
}
