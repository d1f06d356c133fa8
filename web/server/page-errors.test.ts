// What an unexpected failure may show (unexpected-errors.ts, page-errors.ts): the database
// being down is told apart from other failures, a page service error becomes a Response with
// a short message and the request id, service answers pass through, and the log line with
// that id carries the details.
import { Writable } from 'node:stream';
import express from 'express';
import { createLogger } from '../../server/logger';
import { requestLogMiddleware } from '../../server/request-log';
import { ApiError } from './http/errors';
import { guardWebApi, pageErrorHandler, type PageFailureBody } from './page-errors';
import { isDatabaseUnavailable, publicFailure } from './unexpected-errors';
import type { WebApi } from './web-api';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger('test', 'info', stream) };
}

const prismaDown = Object.assign(new Error('\nInvalid `db.user.findUnique()` invocation:\n\nCan\'t reach database server at 127.0.0.1:5433'), {
  code: 'P1001',
  meta: { driverAdapterError: { name: 'DriverAdapterError', cause: { kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 5433 } } },
});
const sqlError = Object.assign(new Error('Invalid `prisma.project.findMany()` invocation: Raw query failed. Code: `42501`. Message: `permission denied for table Project`'), {
  code: 'P2010',
  meta: { driverAdapterError: { cause: { originalCode: '42501', kind: 'postgres' } } },
});

it('tells a database that is not reachable apart from other failures', () => {
  expect(isDatabaseUnavailable(prismaDown)).toBe(true);
  expect(isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5433'), { code: 'ECONNREFUSED' }))).toBe(true);
  expect(isDatabaseUnavailable(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]))).toBe(true);
  expect(isDatabaseUnavailable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
  expect(isDatabaseUnavailable({ code: 'P2010', meta: { driverAdapterError: { cause: { originalCode: '08006' } } } })).toBe(true);
  expect(isDatabaseUnavailable(sqlError)).toBe(false);
  expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
  expect(isDatabaseUnavailable(null)).toBe(false);

  expect(publicFailure(prismaDown, 'r-1')).toEqual({
    status: 503,
    code: 'unavailable',
    message: 'The database is not reachable right now. Try again in a moment.',
    messageWithId: 'The database is not reachable right now. Try again in a moment. If it keeps happening, report request id r-1.',
    requestId: 'r-1',
  });
  expect(publicFailure(sqlError)).toMatchObject({ status: 500, code: 'internal', message: 'Something went wrong on our side. Try again.' });
});

it('turns unexpected page service errors into a Response with the request id; service answers pass through', async () => {
  const { lines, logger } = capture();
  const api = {
    listProjects: async () => {
      throw sqlError;
    },
    findUser: async () => {
      throw prismaDown;
    },
    getProject: async () => {
      throw new ApiError('not_found', 'project not found');
    },
    signalProject: () => {
      throw new Error('sync boom');
    },
    providers: { password: true },
  } as unknown as WebApi;
  const guarded = guardWebApi(api, logger, 'req-42');
  expect(guarded.providers).toBe(api.providers);

  const failure = (await guarded.listProjects('u').catch((e: unknown) => e)) as Response;
  expect(failure).toBeInstanceOf(Response);
  expect(failure.status).toBe(500);
  const body = (await failure.json()) as PageFailureBody;
  expect(body).toEqual({ message: 'Something went wrong on our side. Try again.', code: 'internal', requestId: 'req-42' });

  const down = (await guarded.findUser('u').catch((e: unknown) => e)) as Response;
  expect(down.status).toBe(503);
  expect(((await down.json()) as PageFailureBody).code).toBe('unavailable');

  await expect(guarded.getProject('u', 'p')).rejects.toBeInstanceOf(ApiError);
  expect(() => guarded.signalProject('u', 'p', 'stop')).toThrow(Response);

  // The details are in the log, with the request id.
  const logged = lines.filter((l) => l.msg === 'page service call listProjects failed');
  expect(logged).toHaveLength(1);
  expect(JSON.stringify(logged[0])).toContain('permission denied for table Project');
});

it('answers page requests that fail outside Remix with a short page (or JSON), the request id and a log line', async () => {
  const { lines, logger } = capture();
  const app = express();
  app.use(requestLogMiddleware(logger));
  app.get('/projects', (_req, _res, next) => next(prismaDown));
  app.get('/settings', (_req, _res, next) => next(sqlError));
  app.use(pageErrorHandler(logger));
  const server = app.listen(0);
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    const page = await fetch(`${base}/projects`, { headers: { Accept: 'text/html' } });
    const html = await page.text();
    const id = page.headers.get('x-request-id')!;
    expect(page.status).toBe(503);
    expect(page.headers.get('retry-after')).toBe('5');
    expect(html).toContain('Temporarily unavailable');
    expect(html).toContain(`<code data-request-id>${id}</code>`);
    expect(html).not.toMatch(/invocation|127\.0\.0\.1|P1001/);

    const data = await fetch(`${base}/settings?_data=root`);
    expect(data.status).toBe(500);
    expect(data.headers.get('x-remix-catch')).toBe('yes');
    const body = (await data.json()) as PageFailureBody;
    expect(body).toEqual({ message: 'Something went wrong on our side. Try again.', code: 'internal', requestId: data.headers.get('x-request-id') });

    const json = await fetch(`${base}/settings`, { headers: { Accept: 'application/json' } });
    expect(await json.json()).toEqual({ error: { code: 'internal', message: expect.stringContaining(json.headers.get('x-request-id')!), details: { requestId: json.headers.get('x-request-id') } } });

    const detail = lines.find((l) => l.msg === 'page request failed' && l.requestId === id);
    expect(JSON.stringify(detail)).toContain("Can't reach database server");
  } finally {
    server.close();
  }
});
