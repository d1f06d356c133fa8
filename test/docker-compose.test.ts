// docker-compose.temporal.yml, validated by docker-compose itself (`config` needs no
// engine), then checked for what operators rely on: the services, their healthchecks,
// the search attribute registration, and secrets that come only from the environment.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '../server/config';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const COMPOSE_FILE = path.join(root, 'docker-compose.temporal.yml');

// Distinctive values, so the test can see where each one ends up.
const ENV = {
  TEMPORAL_DB_PASSWORD: 'tdb-pw-7f3a9c',
  APP_DB_PASSWORD: 'app-pw-0b1c2d',
  ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  AUTH_SECRET: 'auth-secret-for-the-compose-test-000000',
  CLUSTER_DOMAIN: 'sandbox.example.com',
  CLUSTER_ADMIN_KUBECONFIG_FILE: '/etc/fullstackagent/admin.kubeconfig',
};
const REQUIRED = Object.keys(ENV) as Array<keyof typeof ENV>;

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | null>;
  healthcheck?: { test: string[] | string };
  volumes?: Array<string | { source: string; target: string; read_only?: boolean }>;
  depends_on?: Record<string, { condition: string }> | string[];
  ports?: unknown[];
}
interface ComposeModel {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

let tmp: string;

function envFile(values: Record<string, string>): string {
  const file = path.join(tmp, `env-${Object.keys(values).length}-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(file, Object.entries(values).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  return file;
}

/** Runs `docker-compose config` with only the given variables (no inherited secrets, no stray .env). */
async function composeConfig(values: Record<string, string>): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)('docker-compose', ['-f', COMPOSE_FILE, '--env-file', envFile(values), 'config'], {
      cwd: root,
      // Only these variables: no inherited secrets reach the rendering.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmp } as Record<string, string> as NodeJS.ProcessEnv,
    });
    return { ok: true, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

/** YAML → JSON with the PyYAML that Debian's docker-compose itself runs on. */
function yamlToJson<T>(yaml: string): T {
  return JSON.parse(
    execFileSync('python3', ['-c', 'import json,sys,yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], { input: yaml }).toString(),
  ) as T;
}

let model: ComposeModel;
let rendered = '';

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-compose-'));
  try {
    execFileSync('docker-compose', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error('docker-compose is not installed: apt-get install -y docker-compose (Debian 1.29 validates files without a Docker engine)');
  }
  const r = await composeConfig(ENV);
  if (!r.ok) throw new Error(`docker-compose config rejected docker-compose.temporal.yml:\n${r.stderr}`);
  rendered = r.stdout;
  model = yamlToJson<ComposeModel>(rendered);
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const svc = (name: string): Service => {
  const s = model.services[name];
  if (!s) throw new Error(`service ${name} is missing`);
  return s;
};
const text = (v: string[] | string | undefined) => (Array.isArray(v) ? v.join(' ') : (v ?? ''));

describe('docker-compose.temporal.yml', () => {
  it('has Temporal on PostgreSQL, its setup jobs, the UI, and the platform', () => {
    expect(Object.keys(model.services).sort()).toEqual(
      ['app-db', 'temporal', 'temporal-db', 'temporal-schema', 'temporal-setup', 'temporal-ui', 'web', 'worker'].sort(),
    );
    expect(svc('temporal').image).toMatch(/^temporalio\/server:/);
    expect(svc('temporal').environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'temporal-db' });
    expect(svc('temporal-ui').image).toMatch(/^temporalio\/ui:/);
    expect(svc('temporal-ui').environment).toMatchObject({ TEMPORAL_ADDRESS: 'temporal:7233' });
    expect(svc('temporal-schema').image).toMatch(/^temporalio\/admin-tools:/);
    expect(text(svc('temporal-schema').command)).toMatch(/temporal-sql-tool --db temporal update-schema/);
    expect(text(svc('temporal-schema').command)).toMatch(/temporal-sql-tool --db temporal_visibility update-schema/);
  });

  it('registers the namespace and the three Keyword search attributes', () => {
    const setup = svc('temporal-setup');
    expect(setup.image).toMatch(/^temporalio\/admin-tools:/);
    const script = text(setup.command);
    expect(script).toContain('temporal operator namespace create');
    expect(script).toContain('for name in ProjectStatus ProjectOwner ProjectName');
    expect(script).toMatch(/temporal operator search-attribute create --namespace "\$+NAMESPACE" --name "\$+name" --type Keyword/);
    expect(setup.environment).toMatchObject({ TEMPORAL_ADDRESS: 'temporal:7233', NAMESPACE: 'default' });
  });

  it('has a healthcheck on every long-running service that others wait for', () => {
    expect(text(svc('temporal-db').healthcheck?.test)).toContain('pg_isready');
    expect(text(svc('app-db').healthcheck?.test)).toContain('pg_isready');
    expect(text(svc('temporal').healthcheck?.test)).toContain('temporal operator cluster health');
    expect(text(svc('web').healthcheck?.test)).toContain('/readyz');
    expect(text(svc('worker').healthcheck?.test)).toContain(':9464/metrics');
  });

  it('orders start-up on health and finished one-shot jobs', () => {
    expect(svc('temporal').depends_on).toMatchObject({
      'temporal-db': { condition: 'service_healthy' },
      'temporal-schema': { condition: 'service_completed_successfully' },
    });
    expect(svc('temporal-setup').depends_on).toMatchObject({ temporal: { condition: 'service_healthy' } });
    for (const name of ['web', 'worker']) {
      expect(svc(name).depends_on).toMatchObject({
        'app-db': { condition: 'service_healthy' },
        'temporal-setup': { condition: 'service_completed_successfully' },
      });
    }
  });

  it('runs web and worker from the root Dockerfile with a real cluster', () => {
    // The worker runs compiled (Dockerfile: npm run build:worker), its workflow bundle prebuilt.
    expect(text(svc('worker').command)).toBe('node --max-old-space-size=384 --enable-source-maps dist/worker.js');
    expect(text(svc('web').command)).toBe('node --import tsx web/server/index.ts');
    for (const name of ['web', 'worker']) {
      const s = svc(name);
      expect(s.build).toBeDefined();
      expect(s.environment).toMatchObject({
        TEMPORAL_ADDRESS: 'temporal:7233',
        EMBEDDED_CLUSTER: 'false',
        CLUSTER_ADMIN_KUBECONFIG: '/run/fullstackagent/kubeconfig',
        DATABASE_URL: `postgresql://fsa:${ENV.APP_DB_PASSWORD}@app-db:5432/fsa`,
        ENCRYPTION_KEY: ENV.ENCRYPTION_KEY,
        AUTH_SECRET: ENV.AUTH_SECRET,
      });
      expect(s.volumes).toContainEqual(`${ENV.CLUSTER_ADMIN_KUBECONFIG_FILE}:/run/fullstackagent/kubeconfig:ro`);
      expect(s.volumes).toContainEqual('fsa-data:/data:rw');
    }
    const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    // One definition for production and for the local build (test/web-image.test.ts builds and runs it).
    expect(dockerfile).toMatch(/^ARG BASE_IMAGE=docker\.io\/library\/debian:bookworm-slim$/m);
    expect(dockerfile).toMatch(/^FROM \$\{BASE_IMAGE\}$/m);
    expect(dockerfile).toMatch(/^\s+npm ci$/m);
    expect(dockerfile).toContain('npm run prisma:generate');
    expect(dockerfile).toContain('npm run build:web');
    expect(dockerfile).toContain('npm run build:worker');
  });

  it('lets the operator size the worker heap to its container', async () => {
    const r = await composeConfig({ ...ENV, WORKER_HEAP_LIMIT_MIB: '768' });
    expect(r.stderr).not.toMatch(/error/i);
    const worker = yamlToJson<ComposeModel>(r.stdout).services.worker;
    expect(text(worker?.command)).toBe('node --max-old-space-size=768 --enable-source-maps dist/worker.js');
    // A value with more flags in it stays one argument, which Node refuses ("illegal value").
    const hostile = await composeConfig({ ...ENV, WORKER_HEAP_LIMIT_MIB: '384 --require /tmp/x.js' });
    const command = yamlToJson<ComposeModel>(hostile.stdout).services.worker?.command;
    expect(command).toEqual(['node', '--max-old-space-size=384 --require /tmp/x.js', '--enable-source-maps', 'dist/worker.js']);
  });

  it('gives web and worker an environment that the config module accepts', () => {
    for (const name of ['web', 'worker']) {
      const env = Object.fromEntries(Object.entries(svc(name).environment ?? {}).map(([k, v]) => [k, v ?? '']));
      const c = loadConfig(env);
      expect(c).toMatchObject({ EMBEDDED_CLUSTER: false, TEMPORAL_ADDRESS: 'temporal:7233', WORKER_METRICS_PORT: 9464, NODE_ENV: 'production' });
    }
  });

  it('keeps data in named volumes', () => {
    expect(Object.keys(model.volumes ?? {}).sort()).toEqual(['app-db-data', 'fsa-data', 'temporal-db-data']);
    expect(svc('temporal-db').volumes).toContainEqual('temporal-db-data:/var/lib/postgresql/data:rw');
    expect(svc('app-db').volumes).toContainEqual('app-db-data:/var/lib/postgresql/data:rw');
  });
});

describe('secrets in docker-compose.temporal.yml', () => {
  const SECRET_NAME = /PASSWORD|PWD|SECRET|ENCRYPTION_KEY|API_KEY|TOKEN|DATABASE_URL/;

  it('hard-codes no secret: every secret-looking variable is interpolated from the environment', () => {
    const raw = yamlToJson<Record<string, unknown>>(fs.readFileSync(COMPOSE_FILE, 'utf8'));
    const found: string[] = [];
    const walk = (node: unknown, where: string) => {
      if (!node || typeof node !== 'object') return;
      for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
        if (k === 'environment' && v && typeof v === 'object' && !Array.isArray(v)) {
          for (const [name, value] of Object.entries(v as Record<string, unknown>)) {
            if (SECRET_NAME.test(name)) {
              found.push(name);
              expect([`${where}.${name}`, String(value)]).toEqual([`${where}.${name}`, expect.stringContaining('${')]);
            }
          }
        }
        walk(v, `${where}.${k}`);
      }
    };
    walk(raw, '');
    expect(found).toEqual(expect.arrayContaining(['POSTGRES_PASSWORD', 'POSTGRES_PWD', 'SQL_PASSWORD', 'DATABASE_URL', 'ENCRYPTION_KEY', 'AUTH_SECRET']));
  });

  it('contains none of the secret values itself (they appear only once rendered)', () => {
    const raw = fs.readFileSync(COMPOSE_FILE, 'utf8');
    for (const v of [ENV.TEMPORAL_DB_PASSWORD, ENV.APP_DB_PASSWORD, ENV.ENCRYPTION_KEY, ENV.AUTH_SECRET]) {
      expect(raw).not.toContain(v);
      expect(rendered).toContain(v);
    }
  });

  it.each(REQUIRED)('refuses to start without %s and says how to set it', async (name) => {
    const values: Record<string, string> = { ...ENV };
    delete values[name];
    const r = await composeConfig(values);
    expect(r.ok).toBe(false);
    expect(r.stderr).toContain(`set ${name} in .env`);
  });

  it('treats an empty value as missing', async () => {
    const r = await composeConfig({ ...ENV, ENCRYPTION_KEY: '' });
    expect(r.ok).toBe(false);
    expect(r.stderr).toContain('set ENCRYPTION_KEY in .env (openssl rand -base64 32)');
  });

  it('ships an example env file with every required variable and no values', () => {
    const example = fs.readFileSync(path.join(root, 'docker-compose.temporal.env.example'), 'utf8');
    for (const name of REQUIRED) expect(example).toMatch(new RegExp(`^${name}=$`, 'm'));
  });
});
