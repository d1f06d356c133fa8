// A secret value, once stored, never comes back: not from the API, not in an SSE event,
// not in a log line (the log is captured at debug level).
import { Writable } from 'node:stream';
import { createLogger } from '../../server/logger';
import { requestLogMiddleware } from '../../server/request-log';
import { ApiClient, startWebHarness, waitFor, type WebHarness } from './harness';

const SECRET = `sk_live_${Math.random().toString(36).slice(2)}_roundtrip`;
const lines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, cb) {
    lines.push(String(chunk));
    cb();
  },
});

let h: WebHarness;
let api: ApiClient;

beforeAll(async () => {
  const logger = createLogger('web-secret', 'debug', sink);
  h = await startWebHarness({ prefix: 'fsa_web_secret_rt', worker: true, app: { before: [requestLogMiddleware(logger)], context: { logger } } });
  api = new ApiClient(h.baseUrl);
  await api.signIn('secret-roundtrip');
});

afterAll(async () => {
  await h?.close();
});

async function firstEvent(path: string): Promise<string> {
  const ctrl = new AbortController();
  const res = await fetch(h.baseUrl + path, { headers: { cookie: [...api.cookies].map(([k, v]) => `${k}=${v}`).join('; ') }, signal: ctrl.signal });
  const reader = res.body!.getReader();
  let text = '';
  while (!/\ndata: /.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  ctrl.abort();
  // The server has let go of the stream before the test moves on (or closes the app).
  await waitFor(async () => h.web.streams.count(), (n) => n === 0, 10_000, 'stream closed');
  return text;
}

it('no API answer, SSE event or log line shows a secret value after it was stored', async () => {
  const p = await api.call('POST', '/api/projects', { name: 'secret round trip' });
  expect(p.status).toBe(202);
  const id = p.body.id;
  const created = await api.call('POST', `/api/projects/${id}/environment`, { key: 'STRIPE_KEY', value: SECRET, isSecret: true });
  expect(created.status).toBe(201);
  await api.call('PUT', `/api/projects/${id}/environment/${created.body.id}`, { key: 'STRIPE_KEY', value: SECRET, category: 'secret' });
  await waitFor(() => api.call('GET', `/api/projects/${id}`), (r) => r.body.status === 'RUNNING', 30_000, 'RUNNING');

  const answers = [
    JSON.stringify((await api.call('GET', `/api/projects/${id}`)).body),
    JSON.stringify((await api.call('GET', `/api/projects/${id}/environment`)).body),
    JSON.stringify((await api.call('GET', '/api/projects')).body),
    JSON.stringify(created.body),
    await firstEvent(`/api/projects/${id}/events`),
    await firstEvent('/api/events'),
  ];
  for (const a of answers) expect(a).not.toContain(SECRET);
  expect(answers[1]).toContain('STRIPE_KEY');
  expect(lines.length).toBeGreaterThan(0);
  expect(lines.join('')).not.toContain(SECRET);
  const row = await h.db.environment.findFirstOrThrow({ where: { projectId: id, key: 'STRIPE_KEY' } });
  expect(row.value).not.toContain(SECRET);
});
