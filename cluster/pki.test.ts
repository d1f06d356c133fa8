import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IDENTITIES, ensureKubeletClientCert, ensurePki, pkiPaths } from './pki';

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-pki-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('local cluster PKI', () => {
  it('gives every identity its own token, keeps them across calls and writes the groups', () => {
    const a = ensurePki(dir);
    expect(new Set(Object.values(a)).size).toBe(Object.keys(IDENTITIES).length);
    expect(ensurePki(dir)).toEqual(a);
    const csv = fs.readFileSync(pkiPaths(dir).tokenFile, 'utf8');
    expect(csv).toContain(`${a.admin},fsa-admin,fsa-admin,system:masters`);
    expect(csv).toContain(`${a.node},system:node:fsa-node,fsa-node,system:nodes`);
    expect(fs.statSync(pkiPaths(dir).tokenFile).mode & 0o777).toBe(0o600);
  });

  it('adds missing identities to a token file from an older version without changing the admin token', () => {
    fs.mkdirSync(pkiPaths(dir).pki, { recursive: true });
    fs.writeFileSync(pkiPaths(dir).tokenFile, 'oldadmintoken,fsa-admin,fsa-admin,system:masters\n');
    const t = ensurePki(dir);
    expect(t.admin).toBe('oldadmintoken');
    expect(t.proxy).toMatch(/^[0-9a-f]{48}$/);
  });

  it('signs a kubelet client certificate with its own CA, once', () => {
    const c = ensureKubeletClientCert(dir);
    const first = fs.readFileSync(c.clientCert, 'utf8');
    expect(first).toContain('BEGIN CERTIFICATE');
    expect(ensureKubeletClientCert(dir).clientCert).toBe(c.clientCert);
    expect(fs.readFileSync(c.clientCert, 'utf8')).toBe(first);
    expect(fs.statSync(c.clientKey).mode & 0o777).toBe(0o600);
  });
});
