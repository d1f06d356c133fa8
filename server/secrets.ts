// Keys the platform needs at rest. Taken from the environment, or generated once into
// DATA_DIR (mode 0600) for the embedded default so a restart keeps reading old data.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config';

function fromFile(dataDir: string, name: string, make: () => string): string {
  const file = path.join(dataDir, name);
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    fs.mkdirSync(dataDir, { recursive: true });
    const value = make();
    try {
      fs.writeFileSync(file, value, { mode: 0o600, flag: 'wx' });
      return value;
    } catch {
      // Another process created it first: use theirs.
      return fs.readFileSync(file, 'utf8').trim();
    }
  }
}

export function encryptionKey(c: Config): Buffer {
  const b64 = c.ENCRYPTION_KEY ?? fromFile(c.DATA_DIR, 'encryption.key', () => randomBytes(32).toString('base64'));
  return Buffer.from(b64, 'base64');
}

export function authSecret(c: Config): string {
  return c.AUTH_SECRET ?? fromFile(c.DATA_DIR, 'auth.secret', () => randomBytes(33).toString('base64'));
}
