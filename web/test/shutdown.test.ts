// Graceful shutdown of the web process (web/server/index.ts): on SIGTERM an SSE stream ends
// at once, a request in flight still completes, and a request that never finishes does not
// keep the process alive past SHUTDOWN_TIMEOUT_MS.
import fs from 'node:fs';
import net from 'node:net';
import { createMigratedDatabase } from '../../scripts/services/postgres';
import { ApiClient } from './harness';
import { startWebProcess, type WebProcess } from './web-process';

const SHUTDOWN_TIMEOUT_MS = 3_000;

/** A form POST whose headers promise `length` bytes of body; `part` of them are sent now. */
function partialPost(port: number, body: string, part: number): { socket: net.Socket; response: Promise<string>; closed: Promise<string> } {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(
    `POST /auth/callback/password HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, part)}`,
  );
  let text = '';
  const response = new Promise<string>((resolve) => {
    socket.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\r\n\r\n')) resolve(text);
    });
    socket.on('close', () => resolve(text));
    socket.on('error', () => undefined);
  });
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(text)));
  return { socket, response, closed };
}

describe('web shutdown (SHUTDOWN_TIMEOUT_MS)', () => {
  let database: Awaited<ReturnType<typeof createMigratedDatabase>>;
  let web: WebProcess;

  beforeAll(async () => {
    database = await createMigratedDatabase(process.env.TEST_DATABASE_URL!, 'fsa_shutdown');
    web = await startWebProcess({
      // Development mode (Vite middleware): no build needed for what this test asks.
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS!,
      TEMPORAL_TASK_QUEUE: `shutdown-${Date.now().toString(36)}`,
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    });
  });

  afterAll(async () => {
    await web?.stop();
    await database?.drop();
  });

  it('ends SSE streams, lets requests in flight finish and exits within the timeout despite a hanging request', async () => {
    const client = new ApiClient(web.baseUrl);
    await client.signIn('shutdown-user');
    expect(client.signedIn).toBe(true);
    const sse = await fetch(`${web.baseUrl}/api/events`, { headers: { cookie: [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
    expect(sse.status).toBe(200);
    expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const sseEnded = sse.text().then(() => Date.now());

    const body = 'csrfToken=x&username=nobody&password=wrong&callbackUrl=%2Fprojects';
    const inFlight = partialPost(web.port, body, 10);
    const hanging = partialPost(web.port, body, 10);
    await new Promise((r) => setTimeout(r, 300));

    const exited = new Promise<{ at: number; code: number | null }>((resolve) => web.proc.child.once('exit', (code) => resolve({ at: Date.now(), code })));
    const t0 = Date.now();
    web.proc.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    // The request in flight gets the rest of its body and its answer after the signal.
    inFlight.socket.write(body.slice(10));
    const answer = await inFlight.response;
    expect(answer).toMatch(/^HTTP\/1\.1 \d{3} /);
    // …and the server closes that connection instead of keeping it alive.
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    await inFlight.closed;

    expect((await sseEnded) - t0).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    const exit = await exited;
    expect(exit.code).toBe(0);
    // Not before the timeout (the hanging request was waited for), not long after it.
    expect(exit.at - t0).toBeGreaterThanOrEqual(SHUTDOWN_TIMEOUT_MS - 100);
    expect(exit.at - t0).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 3_000);
    // The hanging request's connection was closed without an answer.
    expect(await hanging.closed).toBe('');
    const log = fs.readFileSync(web.logFile, 'utf8');
    expect(log).toMatch(/requests still open after SHUTDOWN_TIMEOUT_MS/);
    expect(log).toMatch(/web stopped/);
  }, 90_000);
});
