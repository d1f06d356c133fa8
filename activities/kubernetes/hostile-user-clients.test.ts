// The worker side of hostile kubeconfigs: one stored before validation existed (or written
// to the database by other means) must not make the worker read a file, run a program or
// connect to an internal address. The stored text is parsed as untrusted data, and the
// egress policy is applied again at connect time.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { createMigratedDatabase } from '../../scripts/services/postgres';
import { createCipher } from '../../server/crypto';
import { createDb, type Db } from '../../server/db';
import { EgressRefusedError } from '../../server/egress';
import { createLogger } from '../../server/logger';
import { mapKubeError } from './errors';
import { createUserClients, KUBECONFIG_KEY } from './user-clients';

const cipher = createCipher(randomBytes(32));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-hostile-worker-'));
const secretFile = path.join(dir, 'secret');
fs.writeFileSync(secretFile, 'WORKER-SECRET');
const marker = path.join(dir, 'exec-ran');

let connections = 0;
const trap = net.createServer((s) => {
  connections++;
  s.destroy();
});
let port = 0;
let database: { url: string; drop(): Promise<void> };
let db: Db;

beforeAll(async () => {
  await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
  port = (trap.address() as net.AddressInfo).port;
  database = await createMigratedDatabase(process.env.TEST_DATABASE_URL!, 'fsa_hostile_worker');
  db = createDb(database.url, { max: 2 });
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
  await new Promise((r) => trap.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

const kc = (server: string, user: Record<string, unknown>) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u', namespace: 'n' } }],
    'current-context': 'x',
  });

async function storeFor(text: string): Promise<string> {
  const user = await db.user.create({ data: { name: `hostile-${Math.random().toString(36).slice(2)}` } });
  await db.userConfig.create({ data: { userId: user.id, key: KUBECONFIG_KEY, value: cipher.encrypt(text), isSecret: true, category: 'kubernetes' } });
  return user.id;
}

describe('stored hostile kubeconfigs in the worker', () => {
  const clients = () => createUserClients({ db, cipher, logger: createLogger('test', 'silent') });

  it.each([
    ['token-file', () => kc(`https://127.0.0.1:${port}`, { 'token-file': secretFile }), 'users[0].user.token-file'],
    ['exec', () => kc(`https://127.0.0.1:${port}`, { exec: { command: '/bin/sh', args: ['-c', `touch ${marker}`] } }), 'users[0].user.exec'],
    ['plain http', () => kc(`http://127.0.0.1:${port}`, { token: 't' }), 'must use https'],
  ])('%s is a non-retryable KubeconfigInvalid before anything is read or run', async (_what, make, message) => {
    const userId = await storeFor(make());
    const err = await clients().forUser(userId).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('KubeconfigInvalid');
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as Error).message).toContain(message);
    expect((err as Error).message).not.toContain('WORKER-SECRET');
    expect(fs.existsSync(marker)).toBe(false);
    expect(connections).toBe(0);
  });

  it.each([`https://127.0.0.1:PORT`, `https://localhost:PORT`, `https://[::ffff:127.0.0.1]:PORT`])(
    'a server on loopback (%s) is refused at connect time, with no connection made',
    async (server) => {
      const userId = await storeFor(kc(server.replace('PORT', String(port)), { token: 't' }));
      const client = await clients().forUser(userId);
      const err = await client.get({ apiVersion: 'v1', kind: 'Pod', name: 'p' }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(EgressRefusedError);
      const mapped = mapKubeError(err, 'Pod n/p');
      expect((mapped as ApplicationFailure).type).toBe('KubeconfigInvalid');
      expect(connections).toBe(0);
      client.close();
    },
  );
});

describe('the per-user client cache', () => {
  it('is bounded: the least recently used client is dropped', async () => {
    const clients = createUserClients({ db, cipher, logger: createLogger('test', 'silent'), maxClients: 2 });
    const users = await Promise.all([1, 2, 3].map(() => storeFor(kc('https://kube.example:6443', { token: 't' }))));
    const first = await clients.forUser(users[0]!);
    await clients.forUser(users[1]!);
    await clients.forUser(users[2]!);
    expect(clients.cacheSize()).toBe(2);
    // The evicted user gets a new client, not the retired one.
    expect(await clients.forUser(users[0]!)).not.toBe(first);
    expect(clients.cacheSize()).toBe(2);
  });
});
