// The watch protocol edges the real API server will not produce on demand, over real HTTP
// against a small stand-in: a 410 Gone (as an ERROR event and as an answer) makes the set
// list afresh; a server that ends the watch is resumed from the last version (bookmarks
// included); a line above the bound ends the stream; an abort closes the connection.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeLineTooLongError } from '../../server/kube-http';
import { KubeClient, type KubeObject } from './kube-client';
import { ObjectSetWatch } from './watch';
import { SharedWatches } from './shared-watches';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void;

let server: http.Server;
let handler: Handler;
const requests: URL[] = [];
const closed: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    requests.push(url);
    req.on('close', () => closed.push(url.search));
    handler(req, res, url);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  requests.length = 0;
  closed.length = 0;
});

const client = () =>
  new KubeClient(
    { contextName: 'c', clusterName: 'c', userName: 'u', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, namespace: 'ns', skipTlsVerify: false },
    { timeoutMs: 2_000 },
  );
const pod = (name: string, rv: string) => ({ metadata: { name, resourceVersion: rv } });
const line = (o: unknown) => `${JSON.stringify(o)}\n`;
const STS = { apiVersion: 'apps/v1', kind: 'StatefulSet' };

function until(pred: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const t = setInterval(() => {
      if (pred()) {
        clearInterval(t);
        resolve();
      } else if (Date.now() - started > 10_000) {
        clearInterval(t);
        reject(new Error(`${what} not seen`));
      }
    }, 10);
  });
}

it('lists, watches from the list version, resumes after the server ends a watch, and lists afresh after 410 Gone', async () => {
  let watches = 0;
  let lists = 0;
  handler = (_req, res, url) => {
    res.setHeader('content-type', 'application/json');
    if (!url.searchParams.get('watch')) {
      lists++;
      return res.end(JSON.stringify({ metadata: { resourceVersion: lists === 1 ? '10' : '50' }, items: lists === 1 ? [pod('a', '9')] : [pod('c', '49')] }));
    }
    watches++;
    if (watches === 1) {
      // An event and a bookmark, then the server ends the watch.
      res.write(line({ type: 'ADDED', object: pod('b', '11') }));
      res.write(line({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '20' } } }));
      return res.end();
    }
    if (watches === 2) {
      res.write(line({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } }));
      return res.end();
    }
    // Held open until the watcher closes it.
    res.write(line({ type: 'DELETED', object: pod('c', '51') }));
  };
  const ac = new AbortController();
  let changes = 0;
  const w = new ObjectSetWatch<KubeObject>({ client: client(), kind: STS, fieldSelector: 'metadata.name=x', signal: ac.signal, onChange: () => changes++ });
  await w.ready;
  await until(() => watches >= 3 && w.items.size === 0, 'the third watch');
  const watchUrls = requests.filter((u) => u.searchParams.get('watch'));
  expect(watchUrls.map((u) => u.searchParams.get('resourceVersion'))).toEqual(['10', '20', '50']);
  for (const u of watchUrls) {
    expect(u.searchParams.get('allowWatchBookmarks')).toBe('true');
    expect(u.searchParams.get('fieldSelector')).toBe('metadata.name=x');
    expect(Number(u.searchParams.get('timeoutSeconds'))).toBeGreaterThan(0);
  }
  expect(w.stats).toMatchObject({ lists: 2, watches: 3, relistsAfterGone: 1 });
  expect(changes).toBeGreaterThanOrEqual(4); // list, ADDED, relist, DELETED
  ac.abort();
  await w.done;
  // The open watch was closed by the abort.
  await until(() => closed.some((s) => s.includes('resourceVersion=50')), 'the watch connection closed');
});

it('keeps the objects without their managedFields, from the list and from events', async () => {
  const managedFields = [{ manager: 'fullstackagent', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }];
  handler = (_req, res, url) => {
    res.setHeader('content-type', 'application/json');
    if (!url.searchParams.get('watch')) return res.end(JSON.stringify({ metadata: { resourceVersion: '10' }, items: [{ metadata: { name: 'a', resourceVersion: '9', managedFields }, spec: { replicas: 1 } }] }));
    res.write(line({ type: 'MODIFIED', object: { metadata: { name: 'b', resourceVersion: '11', labels: { x: 'y' }, managedFields }, spec: { replicas: 0 } } }));
  };
  const ac = new AbortController();
  const w = new ObjectSetWatch<KubeObject & { spec?: unknown }>({ client: client(), kind: STS, signal: ac.signal, onChange: () => undefined });
  try {
    await w.ready;
    await until(() => w.items.has('b'), 'the event');
    expect(w.items.get('a')).toEqual({ ...STS, metadata: { name: 'a', resourceVersion: '9' }, spec: { replicas: 1 } });
    expect(w.items.get('b')).toEqual({ ...STS, metadata: { name: 'b', resourceVersion: '11', labels: { x: 'y' } }, spec: { replicas: 0 } });
  } finally {
    ac.abort();
    await w.done;
  }
});

it('skips list items and events without object metadata instead of failing the watch', async () => {
  handler = (_req, res, url) => {
    res.setHeader('content-type', 'application/json');
    if (!url.searchParams.get('watch')) return res.end(JSON.stringify({ metadata: { resourceVersion: '10' }, items: [null, {}, { metadata: null }, pod('a', '9')] }));
    for (const object of [{}, { metadata: null }, { metadata: { name: 7 } }, 'x']) res.write(line({ type: 'MODIFIED', object }));
    res.write(line({ type: 'BOOKMARK', object: {} }));
    res.write(line({ type: 'ADDED', object: pod('b', '11') }));
  };
  const ac = new AbortController();
  const w = new ObjectSetWatch<KubeObject>({ client: client(), kind: STS, signal: ac.signal, onChange: () => undefined });
  try {
    await w.ready;
    await until(() => w.items.has('b'), 'the valid event after the malformed ones');
    expect([...w.items.keys()]).toEqual(['a', 'b']);
    expect(w.stats).toMatchObject({ lists: 1, events: 1 });
  } finally {
    ac.abort();
    await w.done;
  }
});

it('ends a stream whose line is longer than the bound, and a watch that is refused fails with the answer', async () => {
  handler = (_req, res, url) => {
    if (url.searchParams.get('watch')) {
      res.write('{"type":"ADDED","object":{"metadata":{"name":"' + 'x'.repeat(4096));
      return; // never ends the line
    }
    res.statusCode = 403;
    res.end(JSON.stringify({ kind: 'Status', reason: 'Forbidden', message: 'statefulsets is forbidden: cannot watch' }));
  };
  const stream = client().watch(STS, { resourceVersion: '1', timeoutSeconds: 30, maxLineBytes: 1024 });
  await expect((async () => { for await (const _ of stream) void _; })()).rejects.toBeInstanceOf(KubeLineTooLongError);

  const ac = new AbortController();
  const w = new ObjectSetWatch<KubeObject>({ client: client(), kind: STS, signal: ac.signal, onChange: () => undefined });
  await expect(w.ready).rejects.toMatchObject({ status: 403, message: expect.stringContaining('cannot watch') });
  await expect(w.done).rejects.toMatchObject({ status: 403 });
});

it('a client closed when idle (dropped from the client cache) keeps its open watch and closes after it ends', async () => {
  let watches = 0;
  handler = (_req, res, url) => {
    res.setHeader('content-type', 'application/json');
    if (!url.searchParams.get('watch')) return res.end(JSON.stringify({ metadata: { resourceVersion: '10' }, items: [pod('a', '9')] }));
    watches++;
    // Held open: the first event now, the next one after the client was dropped.
    res.write(line({ type: 'ADDED', object: pod('b', '11') }));
    setTimeout(() => res.write(line({ type: 'ADDED', object: pod('c', '12') })), 300);
  };
  const c = client();
  const ac = new AbortController();
  const w = new ObjectSetWatch<KubeObject>({ client: c, kind: STS, signal: ac.signal, onChange: () => undefined });
  await until(() => w.items.has('b'), 'the first event');
  expect(c.active).toBe(1);
  c.closeWhenIdle();
  // The stream is not cut: the later event still arrives on it.
  await until(() => w.items.has('c'), 'the event after the drop');
  expect(watches).toBe(1);
  ac.abort();
  await w.done;
  await until(() => c.active === 0, 'the watch released');
  await until(() => closed.length >= 2, 'the connections closed');
  // A late request on the dropped client is served (and closes it again).
  await expect(c.list(STS)).resolves.toHaveLength(1);
  await until(() => c.active === 0, 'the late request released');
});

it('shared watches: one list and one stream per client and kind for every listener, fan-out of changes, closed after the linger, and a failed one started afresh', async () => {
  let lists = 0;
  let refuse = false;
  handler = (_req, res, url) => {
    res.setHeader('content-type', 'application/json');
    if (refuse) {
      res.statusCode = 403;
      return res.end(JSON.stringify({ kind: 'Status', reason: 'Forbidden', message: 'pods is forbidden' }));
    }
    if (!url.searchParams.get('watch')) {
      lists++;
      return res.end(JSON.stringify({ metadata: { resourceVersion: '10' }, items: [pod('a', '9')] }));
    }
    res.write(line({ type: 'ADDED', object: pod('b', '11') }));
  };
  const shared = new SharedWatches({ lingerMs: 200 });
  const c = client();
  const seen = { one: 0, two: 0 };
  const one = shared.acquire(c, STS, 'x', () => seen.one++);
  const two = shared.acquire(c, STS, 'x', () => seen.two++);
  expect(two.watch).toBe(one.watch);
  // Another selector is another watch.
  const other = shared.acquire(c, STS, 'y', () => undefined);
  expect(other.watch).not.toBe(one.watch);
  expect(shared.size).toBe(2);
  await until(() => one.watch.items.has('b'), 'the event');
  expect(seen.one).toBeGreaterThanOrEqual(2); // the list and the event, to both listeners
  expect(seen.two).toBe(seen.one);
  expect(lists).toBe(2);
  one.release();
  one.release(); // twice is once
  expect(shared.size).toBe(2);
  two.release();
  other.release();
  // Reacquired within the linger: the same watch, no new list.
  const again = shared.acquire(c, STS, 'x', () => undefined);
  expect(again.watch).toBe(one.watch);
  again.release();
  await until(() => shared.size === 0, 'the watches closed after the linger');
  expect(lists).toBe(2);

  refuse = true;
  const refused = shared.acquire(c, STS, 'x', () => undefined);
  await expect(refused.watch.done).rejects.toMatchObject({ status: 403 });
  await until(() => shared.size === 0, 'the failed watch forgotten');
  refuse = false;
  const fresh = shared.acquire(c, STS, 'x', () => undefined);
  expect(fresh.watch).not.toBe(refused.watch);
  await fresh.watch.ready;
  fresh.release();
  refused.release();
  shared.close();
  await fresh.watch.done;
  expect(shared.size).toBe(0);
});
