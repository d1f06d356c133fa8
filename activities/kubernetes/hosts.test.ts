import { isSandboxHost, normalizeDomain, randomHostLabel } from './hosts';

describe('sandbox hosts', () => {
  const domain = 'sandbox.example.com';

  it('accepts the hosts the platform makes', () => {
    for (let i = 0; i < 50; i++) expect(isSandboxHost(`${randomHostLabel()}.${domain}`, domain)).toBe(true);
    expect(isSandboxHost('abcdefghijk1.sandbox.example.com', '.Sandbox.Example.com.')).toBe(true);
  });

  it.each([
    ['an IP address', '127.0.0.1'],
    ['a metadata endpoint', '169.254.169.254'],
    ['an internal name', 'kubernetes.default.svc'],
    ['another domain', 'abcdefghijkl.evil.example.org'],
    ['a lookalike suffix', 'abcdefghijkl.sandbox.example.com.evil.org'],
    ['a deeper subdomain', 'x.abcdefghijkl.sandbox.example.com'],
    ['a short label', 'abc.sandbox.example.com'],
    ['upper case', 'ABCDEFGHIJKL.sandbox.example.com'],
    ['a label starting with a digit', '1bcdefghijkl.sandbox.example.com'],
    ['the bare domain', 'sandbox.example.com'],
    ['a port', 'abcdefghijkl.sandbox.example.com:8080'],
    ['an empty host', ''],
  ])('refuses %s', (_what, host) => {
    expect(isSandboxHost(host, domain)).toBe(false);
  });

  it('refuses what is not a string', () => {
    expect(isSandboxHost(undefined, domain)).toBe(false);
    expect(isSandboxHost({ toString: () => 'abcdefghijkl.sandbox.example.com' }, domain)).toBe(false);
  });

  it('normalizes the configured domain', () => {
    expect(normalizeDomain('..Sandbox.Localhost.')).toBe('sandbox.localhost');
  });
});
