// resolveTerminalTarget against a real, migrated PostgreSQL database.
import { randomBytes } from 'node:crypto';
import { createMigratedDatabase } from '../../../scripts/services/postgres';
import { createDb, type Db } from '../../../server/db';
import { createCipher } from '../../../server/crypto';
import { resolveTerminalTarget, ttydWebSocketUrl } from './resolve-target';

describe('ttydWebSocketUrl', () => {
  it('maps the public https URL of the ttyd Ingress to its wss /ws endpoint', () => {
    expect(ttydWebSocketUrl('https://abcdefghijkl.apps.example.com')).toBe('wss://abcdefghijkl.apps.example.com/ws');
    expect(ttydWebSocketUrl('https://t.example.com/')).toBe('wss://t.example.com/ws');
    expect(ttydWebSocketUrl('http://127.0.0.1:7681/base/?x=1')).toBe('ws://127.0.0.1:7681/base/ws');
    expect(() => ttydWebSocketUrl('ftp://x')).toThrow(/http\(s\)/);
  });
});

describe('resolveTerminalTarget', () => {
  const cipher = createCipher(randomBytes(32));
  let database: { url: string; drop(): Promise<void> };
  let db: Db;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    database = await createMigratedDatabase(process.env.TEST_DATABASE_URL!, 'fsa_terminal');
    db = createDb(database.url, { max: 2 });
    alice = (await db.user.create({ data: { name: 'alice' } })).id;
    bob = (await db.user.create({ data: { name: 'bob' } })).id;
  });

  afterAll(async () => {
    await db.$disconnect();
    await database.drop();
  });

  async function project(userId: string, name: string, status: 'RUNNING' | 'STOPPED', ttydUrl: string | null, token = 'tok-' + name) {
    const p = await db.project.create({ data: { name, userId, k8sName: `${name}-agentruntime-abcdef`, status } });
    await db.sandbox.create({
      data: { projectId: p.id, sandboxName: `${name}-sb`, ttydUrl, ttydAccessToken: cipher.encrypt(token), runtimeImage: 'img:1', status: status === 'RUNNING' ? 'RUNNING' : 'STOPPED' },
    });
    return p.id;
  }

  it("returns the wss URL and the decrypted token for the owner's running project", async () => {
    const id = await project(alice, 'shop', 'RUNNING', 'https://ttyd123.apps.example.com');
    expect(await resolveTerminalTarget(db, cipher, alice, id)).toEqual({ kind: 'ok', url: 'wss://ttyd123.apps.example.com/ws', token: 'tok-shop' });
  });

  it("treats another user's project like a missing one", async () => {
    const id = await project(alice, 'secret', 'RUNNING', 'https://ttyd456.apps.example.com');
    expect(await resolveTerminalTarget(db, cipher, bob, id)).toEqual({ kind: 'not_found' });
    expect(await resolveTerminalTarget(db, cipher, alice, 'no-such-project')).toEqual({ kind: 'not_found' });
  });

  it('refuses a project that is not RUNNING, with its status', async () => {
    const id = await project(alice, 'paused', 'STOPPED', 'https://ttyd789.apps.example.com');
    expect(await resolveTerminalTarget(db, cipher, alice, id)).toEqual({ kind: 'not_running', status: 'STOPPED' });
  });

  it('refuses a RUNNING project whose terminal URL is not published yet', async () => {
    const id = await project(alice, 'young', 'RUNNING', null);
    expect(await resolveTerminalTarget(db, cipher, alice, id)).toEqual({ kind: 'not_running', status: 'STARTING' });
  });
});
