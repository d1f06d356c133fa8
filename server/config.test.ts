// Configuration errors name the variable and the fix; defaults are what the docs say.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, databaseUrl, loadConfig } from './config';
import { describeTemporalConnection, temporalConnectionOptions } from './temporal-connection';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('loadConfig accepted an invalid environment');
}

describe('loadConfig defaults', () => {
  const c = loadConfig({ HOME: '/home/op' });

  it('runs the embedded default', () => {
    expect(c).toMatchObject({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      PORT: 3000,
      EMBEDDED_DB_PORT: 5433,
      TEMPORAL_ADDRESS: 'localhost:7233',
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'project-lifecycle',
      TEMPORAL_UI_PORT: 8233,
      CLUSTER_DOMAIN: 'sandbox.localhost',
      EMBEDDED_CLUSTER: true,
      SANDBOX_DEADLINE_MS: 600_000,
      DATABASE_DEADLINE_MS: 900_000,
      WORKER_METRICS_PORT: 9464,
      WORKER_METRICS_HOST: '0.0.0.0',
      SHUTDOWN_TIMEOUT_MS: 30_000,
    });
    expect(c.CACHE_DIR).toBe('/home/op/.cache/fullstackagent');
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.TEMPORAL_TLS).toBeUndefined();
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '', EMBEDDED_CLUSTER: '' })).toMatchObject({ PORT: 3000, EMBEDDED_CLUSTER: true });
  });

  it('parses booleans and numbers', () => {
    expect(loadConfig({ EMBEDDED_CLUSTER: 'false', PORT: '8080', TEMPORAL_TLS: 'yes' })).toMatchObject({
      EMBEDDED_CLUSTER: false,
      PORT: 8080,
      TEMPORAL_TLS: true,
    });
  });
});

describe('loadConfig errors', () => {
  it.each([
    ['PORT', 'abc', /PORT: must be a TCP port number between 1 and 65535 \(got "abc"\)/],
    ['PORT', '70000', /PORT: must be a TCP port number/],
    ['WORKER_METRICS_PORT', '0', /WORKER_METRICS_PORT: must be a TCP port number/],
    ['EMBEDDED_CLUSTER', 'maybe', /EMBEDDED_CLUSTER: must be true or false \(got "maybe"\)/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL: .*info/],
    ['NODE_ENV', 'staging', /NODE_ENV: .*production/],
    ['PUBLIC_URL', 'agents.example.com', /PUBLIC_URL: must be an absolute URL such as https:\/\//],
    ['SANDBOX_DEADLINE_MS', '-5', /SANDBOX_DEADLINE_MS: must be a whole number of milliseconds greater than 0/],
    ['SHUTDOWN_TIMEOUT_MS', '1.5', /SHUTDOWN_TIMEOUT_MS: must be a whole number/],
    ['DATABASE_URL', 'mysql://u:p@h/db', /DATABASE_URL: must start with postgresql:\/\//],
    ['ENCRYPTION_KEY', 'c2hvcnQ=', /ENCRYPTION_KEY: must be base64 of exactly 32 bytes \(openssl rand -base64 32\)/],
    ['AUTH_SECRET', 'short', /AUTH_SECRET: must be at least 32 characters/],
    ['METRICS_TOKEN', 'abc', /METRICS_TOKEN: must be at least 16 characters/],
    ['CLUSTER_DOMAIN', 'https://apps.example.com', /CLUSTER_DOMAIN: must be a lower-case DNS name/],
    ['CLUSTER_DOMAIN', 'apps.example.com:443', /CLUSTER_DOMAIN: must be a lower-case DNS name/],
    ['CLUSTER_DOMAIN', 'Apps.Example.com', /CLUSTER_DOMAIN: must be a lower-case DNS name/],
    ['CLUSTER_DOMAIN', '*.apps.example.com', /CLUSTER_DOMAIN: must be a lower-case DNS name/],
  ])('%s=%s is rejected with the variable and the fix', (name, value, message) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('names every bad variable at once', () => {
    const problems = problemsOf({ PORT: 'x', EMBEDDED_CLUSTER: 'maybe', LOG_LEVEL: 'loud' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['EMBEDDED_CLUSTER', 'LOG_LEVEL', 'PORT']);
    expect(() => loadConfig({ PORT: 'x' })).toThrow(/Invalid configuration:\n {2}- PORT:/);
  });

  it('never echoes a secret value in the error', () => {
    const secrets = {
      DATABASE_URL: 'mysql://admin:hunter2-db-password@db/app',
      ENCRYPTION_KEY: 'not-a-key-but-secret-material',
      AUTH_SECRET: 'too-short-secret',
      METRICS_TOKEN: 'tok-123',
    };
    const problems = problemsOf(secrets);
    expect(problems).toHaveLength(4);
    for (const value of Object.values(secrets)) expect(problems.join('\n')).not.toContain(value);
    expect(problems.join('\n')).toContain('hidden because it is secret');
  });

  it('requires mTLS certificate and key together', () => {
    expect(problemsOf({ TEMPORAL_TLS_CERT: fileURLToPath(import.meta.url) })).toEqual(['TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: set both for mTLS, or neither']);
  });

  it('requires GitHub id and secret together', () => {
    expect(problemsOf({ AUTH_GITHUB_ID: 'abc' })[0]).toMatch(/^AUTH_GITHUB_ID and AUTH_GITHUB_SECRET: set both/);
  });

  it('reports TLS files that do not exist', () => {
    expect(problemsOf({ TEMPORAL_TLS_CA: '/nonexistent/ca.pem' })).toEqual([
      'TEMPORAL_TLS_CA: file /nonexistent/ca.pem does not exist (a PEM file path is expected, not the PEM text)',
    ]);
  });

  it('rejects TEMPORAL_TLS=false with an API key', () => {
    expect(problemsOf({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' })[0]).toMatch(/^TEMPORAL_TLS: is false but/);
  });
});

describe('temporalConnectionOptions', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-tls-'));
    fs.writeFileSync(path.join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n');
    fs.writeFileSync(path.join(dir, 'client.pem'), '-----BEGIN CERTIFICATE-----\nCRT\n-----END CERTIFICATE-----\n');
    fs.writeFileSync(path.join(dir, 'client.key'), '-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n');
    fs.writeFileSync(path.join(dir, 'not-pem.txt'), 'hello');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is plain address for the local dev server', () => {
    const c = loadConfig({ TEMPORAL_ADDRESS: '127.0.0.1:7233' });
    expect(temporalConnectionOptions(c)).toEqual({ address: '127.0.0.1:7233' });
    expect(describeTemporalConnection(c)).toBe('127.0.0.1:7233 namespace=default');
  });

  it('reads mTLS files, CA and server name for a remote cluster', () => {
    const c = loadConfig({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_NAMESPACE: 'fsa-prod',
      TEMPORAL_TLS_CERT: path.join(dir, 'client.pem'),
      TEMPORAL_TLS_KEY: path.join(dir, 'client.key'),
      TEMPORAL_TLS_CA: path.join(dir, 'ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'frontend.temporal',
    });
    const o = temporalConnectionOptions(c);
    expect(o.address).toBe('temporal.internal:7233');
    expect(o.tls?.serverNameOverride).toBe('frontend.temporal');
    expect(o.tls?.serverRootCACertificate?.toString()).toContain('CA');
    expect(o.tls?.clientCertPair?.crt.toString()).toContain('CRT');
    expect(o.tls?.clientCertPair?.key.toString()).toContain('KEY');
    expect(o.apiKey).toBeUndefined();
    expect(describeTemporalConnection(c)).toBe('temporal.internal:7233 namespace=fsa-prod mTLS');
  });

  it('uses TLS with system roots for an API key', () => {
    const c = loadConfig({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'cloud-api-key-value' });
    expect(temporalConnectionOptions(c)).toEqual({ address: 'ns.acct.tmprl.cloud:7233', apiKey: 'cloud-api-key-value', tls: {} });
    expect(describeTemporalConnection(c)).not.toContain('cloud-api-key-value');
  });

  it('turns TLS on without client certificates with TEMPORAL_TLS=true', () => {
    expect(temporalConnectionOptions(loadConfig({ TEMPORAL_TLS: 'true' })).tls).toEqual({});
  });

  it('names the variable whose file is not PEM', () => {
    const c = loadConfig({ TEMPORAL_TLS_CA: path.join(dir, 'not-pem.txt') });
    expect(() => temporalConnectionOptions(c)).toThrow(/TEMPORAL_TLS_CA: .*not-pem.txt is not a PEM file/);
  });

  it('names the variable whose file cannot be read', () => {
    const c = { ...loadConfig({}), TEMPORAL_TLS_CA: path.join(dir, 'gone.pem') };
    expect(() => temporalConnectionOptions(c)).toThrow(/TEMPORAL_TLS_CA: cannot read .*gone.pem \(ENOENT\)/);
  });
});

describe('README.md configuration table', () => {
  it('documents every variable of the config module in its table', async () => {
    const { configSchema } = await import('./config');
    const here = path.dirname(fileURLToPath(import.meta.url));
    const doc = fs.readFileSync(path.join(here, '../README.md'), 'utf8');
    const undocumented = Object.keys(configSchema.shape).filter((name) => !doc.includes(`| \`${name}\` |`));
    expect(undocumented).toEqual([]);
  });
});

describe('databaseUrl', () => {
  it('is DATABASE_URL when set, else the embedded server initialized in DATA_DIR, else a clear error', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-dburl-'));
    try {
      expect(databaseUrl(loadConfig({ DATA_DIR: dir, DATABASE_URL: 'postgresql://u:p@db:5432/x' }))).toBe('postgresql://u:p@db:5432/x');
      expect(() => databaseUrl(loadConfig({ DATA_DIR: dir }))).toThrow(/DATABASE_URL: not set, and no embedded PostgreSQL was initialized/);
      fs.writeFileSync(path.join(dir, 'postgres-app.password'), 'p w/x\n');
      expect(databaseUrl(loadConfig({ DATA_DIR: dir, EMBEDDED_DB_PORT: '5544' }))).toBe('postgresql://fullstackagent:p%20w%2Fx@127.0.0.1:5544/fullstackagent?sslmode=disable');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
