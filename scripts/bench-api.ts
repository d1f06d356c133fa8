// Benchmark of the signal API against a running web server: POST /api/projects/:id/start
// and /stop with an API token, measured with autocannon. Prints p50/p99 latency and
// requests per second for each; no thresholds (figures only).
//
//   npx tsx scripts/bench-api.ts [--url http://localhost:3000] [--token fsa_...]
//                                [--project <id>] [--duration 10] [--connections 10]
//
// Without --token it signs in as a benchmark user (password flow) and creates a token;
// without --project it creates a project to signal.
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';

interface Args {
  url: string;
  token?: string;
  project?: string;
  duration: number;
  connections: number;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    url: (get('url') ?? process.env.BENCH_URL ?? 'http://localhost:3000').replace(/\/+$/, ''),
    token: get('token') ?? process.env.BENCH_TOKEN,
    project: get('project'),
    duration: Number(get('duration') ?? 10),
    connections: Number(get('connections') ?? 10),
  };
}

async function signInAndCreateToken(url: string): Promise<string> {
  const csrf = await fetch(`${url}/auth/csrf`);
  const cookie = csrf.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const form = new URLSearchParams({ csrfToken, username: 'bench-user', password: 'benchmark-password', callbackUrl: '/projects' });
  const signIn = await fetch(`${url}/auth/callback/password`, {
    method: 'POST',
    body: form,
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    redirect: 'manual',
  });
  const session = signIn.headers.getSetCookie().map((c) => c.split(';')[0] ?? '').find((c) => c.includes('session-token'));
  if (!session) throw new Error(`sign-in failed (HTTP ${signIn.status} → ${signIn.headers.get('location')})`);
  const res = await fetch(`${url}/api/tokens`, { method: 'POST', headers: { cookie: session, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench' }) });
  if (res.status !== 201) throw new Error(`token creation failed: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

async function createProject(url: string, token: string): Promise<string> {
  const res = await fetch(`${url}/api/projects`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `bench ${Date.now().toString(36)}` }),
  });
  if (res.status !== 202) throw new Error(`project creation failed: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

interface Result {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

function run(opts: { url: string; token: string; path: string; method?: string; duration: number; connections: number }): Promise<Result> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: opts.url + opts.path,
        method: opts.method ?? 'POST',
        connections: opts.connections,
        duration: opts.duration,
        headers: { authorization: `Bearer ${opts.token}` },
      },
      (err: Error | null, result: Result) => (err ? reject(err) : resolve(result)),
    );
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const health = await fetch(`${args.url}/healthz`).catch(() => null);
  if (!health?.ok) throw new Error(`no web server answering at ${args.url}/healthz; start it (npx tsx web/server/index.ts) or pass --url`);
  const token = args.token ?? (await signInAndCreateToken(args.url));
  const project = args.project ?? (await createProject(args.url, token));
  console.log(`benchmark: ${args.url}, project ${project}, ${args.connections} connections, ${args.duration}s per signal`);

  const rows: string[] = [];
  // A read that needs the same auth and ownership query but no Temporal call: the baseline.
  const cases = [
    { label: 'start', method: 'POST', path: `/api/projects/${project}/start` },
    { label: 'stop', method: 'POST', path: `/api/projects/${project}/stop` },
    { label: 'list', method: 'GET', path: '/api/projects' },
  ];
  for (const c of cases) {
    const signal = c.label;
    const r = await run({ url: args.url, token, path: c.path, method: c.method, duration: args.duration, connections: args.connections });
    rows.push(
      [
        signal.padEnd(6),
        `${r.latency.p50.toFixed(1)} ms`.padStart(10),
        `${r.latency.p99.toFixed(1)} ms`.padStart(10),
        `${r.latency.average.toFixed(1)} ms`.padStart(10),
        `${r.requests.average.toFixed(0)}`.padStart(8),
        `${r.requests.total}`.padStart(8),
        `${r.non2xx + r.errors + r.timeouts}`.padStart(7),
      ].join(' '),
    );
  }
  console.log('(list = GET /api/projects: same auth and database work, no Temporal call)');
  console.log(['route ', '       p50', '       p99', '      mean', '   req/s', '   total', ' errors'].join(' '));
  for (const row of rows) console.log(row);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
