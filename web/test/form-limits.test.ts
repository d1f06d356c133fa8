// Body size limit of the pages' form actions: the real Remix request handler
// (@remix-run/express) serving the real "New project" route module, mounted through
// WebApp.mountUi as web/server/index.ts does. A form over the limit is refused with 413 and
// a message a person can read before Remix reads the body; a normal form still works.
import { createRequestHandler } from '@remix-run/express';
import type { ServerBuild } from '@remix-run/node';
import * as newProjectRoute from '../app/routes/projects.new';
import { PAGE_BODY_LIMIT } from '../server/http/body-limit';
import { ApiClient, startWebHarness, type WebHarness } from './harness';

let h: WebHarness;
let user: ApiClient;
let actionCalls = 0;

const ROUTE_ID = 'routes/projects.new';

/** A server build with the root and the New project route (what `vite build` makes, without the UI bundle). */
const build = {
  mode: 'production',
  entry: {
    module: {
      default: (_request: Request, status: number) => new Response('<!doctype html><title>page</title>', { status, headers: { 'Content-Type': 'text/html' } }),
    },
  },
  routes: {
    root: { id: 'root', path: '', module: { default: () => null } },
    [ROUTE_ID]: {
      id: ROUTE_ID,
      parentId: 'root',
      path: 'projects/new',
      module: {
        ...newProjectRoute,
        action: (args: Parameters<typeof newProjectRoute.action>[0]) => {
          actionCalls++;
          return newProjectRoute.action(args);
        },
      },
    },
  },
  assets: { routes: {}, entry: { module: '/entry.js', imports: [] }, url: '/manifest.js', version: 'test' },
  publicPath: '/assets/',
  assetsBuildDirectory: '/nonexistent',
  future: {},
  isSpaMode: false,
} as unknown as ServerBuild;

beforeAll(async () => {
  h = await startWebHarness({ prefix: 'fsa_web_forms' });
  h.web.mountUi((app) => {
    app.all('*', createRequestHandler({ build, mode: 'production', getLoadContext: (_req, res) => ({ user: res.locals.user, api: h.web.webApi }) }));
  });
  user = new ApiClient(h.baseUrl);
  await user.signIn('form-user');
  expect(user.signedIn).toBe(true);
});

afterAll(async () => {
  await h?.close();
});

const form = (fields: Record<string, string>) => ({
  body: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
});

it('a normal form reaches the action and creates the project (Remix data request)', async () => {
  const calls = actionCalls;
  const res = await user.raw('POST', `/projects/new?_data=${encodeURIComponent(ROUTE_ID)}`, form({ name: 'From the form: v2 🚀', description: 'ok' }));
  expect(res.status).toBe(204);
  expect(res.headers.get('x-remix-redirect')).toMatch(/^\/projects\/[a-z0-9]+$/);
  expect(actionCalls).toBe(calls + 1);
  expect(await h.db.project.count({ where: { name: 'From the form: v2 🚀' } })).toBe(1);
});

it('a 2 MiB form is a 413 before the action runs, shown by the page as a thrown response', async () => {
  const calls = actionCalls;
  const before = await h.db.project.count();
  const res = await user.raw('POST', `/projects/new?_data=${encodeURIComponent(ROUTE_ID)}`, form({ name: 'huge', description: 'd'.repeat(2 * 1024 * 1024) }));
  expect(res.status).toBe(413);
  // X-Remix-Catch: Remix's client throws it, and the root ErrorBoundary shows status and text.
  expect(res.headers.get('x-remix-catch')).toBe('yes');
  const text = await res.text();
  expect(text).toMatch(/The form you sent is too large \(2048 KiB; the limit is 256 KiB\)/);
  expect(actionCalls).toBe(calls);
  expect(await h.db.project.count()).toBe(before);
});

it('a form posted without JavaScript gets a readable 413 page', async () => {
  const calls = actionCalls;
  const res = await user.raw('POST', '/projects/new', form({ name: 'huge', description: 'd'.repeat(PAGE_BODY_LIMIT + 1) }));
  expect(res.status).toBe(413);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  const html = await res.text();
  expect(html).toContain('<h1>Form too large</h1>');
  expect(html).toMatch(/the limit is 256 KiB/);
  expect(actionCalls).toBe(calls);
});

it('a multipart form over the limit is refused the same way', async () => {
  const fd = new FormData();
  fd.set('name', 'multipart');
  fd.set('description', new Blob(['x'.repeat(PAGE_BODY_LIMIT)]), 'big.txt');
  const calls = actionCalls;
  const res = await fetch(`${h.baseUrl}/projects/new?_data=${encodeURIComponent(ROUTE_ID)}`, {
    method: 'POST',
    body: fd,
    headers: { cookie: [...user.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
  });
  expect(res.status).toBe(413);
  expect(actionCalls).toBe(calls);
});

it('a form body without a length (chunked) is refused with 411', async () => {
  const calls = actionCalls;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode('name=chunked'));
      c.close();
    },
  });
  const res = await fetch(`${h.baseUrl}/projects/new?_data=${encodeURIComponent(ROUTE_ID)}`, {
    method: 'POST',
    body,
    duplex: 'half',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: [...user.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
  } as RequestInit);
  expect(res.status).toBe(411);
  expect(await res.text()).toMatch(/without a Content-Length/);
  expect(actionCalls).toBe(calls);
});

it('a form just under the limit still reaches the action (its own validation answers)', async () => {
  const calls = actionCalls;
  const fields = form({ name: 'long description', description: 'd'.repeat(PAGE_BODY_LIMIT - 200) });
  const res = await user.raw('POST', `/projects/new?_data=${encodeURIComponent(ROUTE_ID)}`, fields);
  expect(actionCalls).toBe(calls + 1);
  expect(res.status).toBe(400);
  expect(((await res.json()) as { error: string }).error).toMatch(/description: is too long/);
});
