import type { LookupAddress } from 'node:dns';
import { isLocalhostName, localhostAwareLookup } from './localhost-lookup';

function lookup(host: string, options: object): Promise<unknown> {
  return new Promise((resolve, reject) =>
    localhostAwareLookup(host, options, (err: Error | null, address: string | LookupAddress[], family?: number) => (err ? reject(err) : resolve(family === undefined ? address : { address, family }))),
  );
}

describe('localhost names (RFC 6761)', () => {
  it('recognises localhost and names under it only', () => {
    expect(isLocalhostName('localhost')).toBe(true);
    expect(isLocalhostName('abc.sandbox.LOCALHOST.')).toBe(true);
    expect(isLocalhostName('localhost.example.com')).toBe(false);
    expect(isLocalhostName('evillocalhost')).toBe(false);
  });

  it('answers loopback for them, in both callback shapes', async () => {
    expect(await lookup('a.sandbox.localhost', {})).toEqual({ address: '127.0.0.1', family: 4 });
    expect(await lookup('a.sandbox.localhost', { family: 6 })).toEqual({ address: '::1', family: 6 });
    expect(await lookup('a.sandbox.localhost', { all: true })).toEqual([{ address: '127.0.0.1', family: 4 }]);
  });

  it('leaves other names to the system resolver', async () => {
    await expect(lookup('no-such-name.invalid', {})).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});
