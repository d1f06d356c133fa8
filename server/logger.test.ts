// Secrets never reach the log output: every line is written to an in-memory stream and
// searched for the secret strings.
import { Writable } from 'node:stream';
import { createLogger, isSecretKey, redactSecrets, scrubText, withContext, withRequestId, withWorkflowId } from './logger';

const SECRETS = {
  password: 'pw-Tr0ub4dor-3',
  token: 'fsa_tok_9f8e7d6c5b4a',
  kubeconfigToken: 'eyJhbGciOiJSUzI1NiIsImtpZCI6Imt1YmUifQ.payload.sig',
  clientKeyData: 'LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=',
  dbPassword: 'db-s3cret-pass',
  anthropic: 'sk-ant-api03-abcdefghijklmnop',
  ttyd: 'ttyd-token-0123456789abcdef',
  envSecret: 'user-secret-env-value-42',
  cookie: 'authjs.session-token=session-cookie-value-777',
  bearer: 'api-bearer-token-abcdef123456',
  querySecret: 'query-token-value-555',
};

const KUBECONFIG = `apiVersion: v1
clusters:
- cluster:
    server: https://k8s.example.com:6443
  name: c
users:
- name: u
  user:
    token: ${SECRETS.kubeconfigToken}
    client-key-data: ${SECRETS.clientKeyData}
`;

function capture(level = 'trace') {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger('test', level, stream);
  return { logger, output: () => chunks.join(''), lines: () => chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function expectNoSecrets(output: string) {
  for (const [name, value] of Object.entries(SECRETS)) {
    if (output.includes(value)) throw new Error(`secret ${name} appeared in the log output:\n${output}`);
  }
}

describe('createLogger redaction', () => {
  it('redacts secrets by key at any depth', () => {
    const { logger, output, lines } = capture();
    logger.info({ password: SECRETS.password, user: { credentials: { password: SECRETS.password } } }, 'sign-in');
    logger.info({ token: SECRETS.token, deep: { a: { b: { c: { apiToken: SECRETS.token } } } } }, 'token');
    logger.info({ kubeconfig: KUBECONFIG }, 'kubeconfig saved');
    logger.info({ env: { ANTHROPIC_API_KEY: SECRETS.anthropic, TTYD_ACCESS_TOKEN: SECRETS.ttyd, DATABASE_URL: `postgresql://app:${SECRETS.dbPassword}@db:5432/app` } }, 'env');
    logger.info({ req: { headers: { authorization: `Bearer ${SECRETS.bearer}`, cookie: SECRETS.cookie, 'x-api-key': SECRETS.token } } }, 'request');
    logger.info({ ttydAccessToken: SECRETS.ttyd, anthropicApiKey: SECRETS.anthropic }, 'sandbox');
    expectNoSecrets(output());
    const [first, , third] = lines();
    expect(first).toMatchObject({ password: '[redacted]', user: { credentials: '[redacted]' }, msg: 'sign-in', name: 'test', level: 'info' });
    expect(third).toMatchObject({ kubeconfig: '[redacted]' });
  });

  it('redacts secret environment values, by flag and by name', () => {
    const { logger, output, lines } = capture();
    logger.info(
      {
        environment: [
          { key: 'MY_SECRET_THING', value: SECRETS.envSecret, isSecret: true },
          { key: 'NODE_ENV', value: 'production', isSecret: false },
        ],
        podEnv: [
          { name: 'TTYD_ACCESS_TOKEN', value: SECRETS.ttyd },
          { name: 'ANTHROPIC_API_KEY', value: SECRETS.anthropic },
          { name: 'PROJECT_NAME', value: 'demo' },
        ],
      },
      'environment applied',
    );
    expectNoSecrets(output());
    const line = lines()[0] as { environment: Array<Record<string, unknown>>; podEnv: Array<Record<string, unknown>> };
    // Non-secret values stay readable; the isSecret flag itself is kept.
    expect(line.environment[1]).toEqual({ key: 'NODE_ENV', value: 'production', isSecret: false });
    expect(line.environment[0]).toEqual({ key: 'MY_SECRET_THING', value: '[redacted]', isSecret: true });
    expect(line.podEnv[2]).toEqual({ name: 'PROJECT_NAME', value: 'demo' });
  });

  it('redacts credentials embedded in URLs, messages and errors', () => {
    const { logger, output, lines } = capture();
    const url = `postgresql://postgres:${SECRETS.dbPassword}@10.0.0.5:5432/app?sslmode=disable`;
    logger.info({ target: url }, 'connecting');
    logger.warn(`could not reach ${url}`);
    logger.info('fetching %s', `https://hooks.example.com/cb?token=${SECRETS.querySecret}&x=1`);
    logger.error({ err: new Error(`connect ECONNREFUSED ${url}`) }, 'database down');
    logger.error(new Error(`kube says: Authorization: Bearer ${SECRETS.bearer}`));
    logger.info({ body: KUBECONFIG }, 'kubeconfig upload');
    expectNoSecrets(output());
    const all = lines();
    expect(all[0]?.target).toBe('postgresql://postgres:[redacted]@10.0.0.5:5432/app?sslmode=disable');
    expect(all[1]?.msg).toBe('could not reach postgresql://postgres:[redacted]@10.0.0.5:5432/app?sslmode=disable');
    expect(all[2]?.msg).toBe('fetching https://hooks.example.com/cb?token=[redacted]&x=1');
    expect((all[3]?.err as { message: string; type: string }).type).toBe('Error');
    expect(String(all[5]?.body)).toContain('server: https://k8s.example.com:6443');
  });

  it('redacts secrets in child logger bindings', () => {
    const { logger, output } = capture();
    logger.child({ password: SECRETS.password, dsn: `redis://:${SECRETS.dbPassword}@cache:6379` }).info('child');
    expectNoSecrets(output());
  });

  it('does not break on cycles and keeps non-secret fields', () => {
    const { logger, lines } = capture();
    const a: Record<string, unknown> = { projectId: 'p1', count: 3, ok: true };
    a.self = a;
    logger.info({ a }, 'cyclic');
    expect(lines()[0]).toMatchObject({ a: { projectId: 'p1', count: 3, ok: true, self: '[circular]' } });
  });
});

describe('context helpers', () => {
  it('carry requestId and workflowId on every line', () => {
    const { logger, lines } = capture();
    withRequestId(logger, 'req-1').info('a');
    withWorkflowId(logger, 'project-abc', 'run-1').info('b');
    withContext(logger, { requestId: 'req-2', projectId: 'abc', userId: undefined }).info('c');
    const [a, b, c] = lines();
    expect(a).toMatchObject({ requestId: 'req-1', msg: 'a' });
    expect(b).toMatchObject({ workflowId: 'project-abc', runId: 'run-1', msg: 'b' });
    expect(c).toMatchObject({ requestId: 'req-2', projectId: 'abc' });
    expect(c).not.toHaveProperty('userId');
  });
});

describe('pure helpers', () => {
  it('isSecretKey matches key endings regardless of case and separators', () => {
    for (const k of ['password', 'ttydAccessToken', 'TTYD_ACCESS_TOKEN', 'ANTHROPIC_API_KEY', 'x-api-key', 'AUTH_GITHUB_SECRET', 'DATABASE_URL', 'kubeconfig', 'Set-Cookie', 'Authorization']) {
      expect([k, isSecretKey(k)]).toEqual([k, true]);
    }
    for (const k of ['projectId', 'status', 'tokens', 'name', 'isSecretCount', 'workflowId']) {
      expect([k, isSecretKey(k)]).toEqual([k, false]);
    }
  });

  it('scrubText leaves ordinary text alone', () => {
    expect(scrubText('project demo moved to RUNNING at https://app.example.com/x?y=1')).toBe('project demo moved to RUNNING at https://app.example.com/x?y=1');
  });

  it('redactSecrets does not modify its input', () => {
    const input = { password: 'x', nested: { token: 'y' } };
    redactSecrets(input);
    expect(input).toEqual({ password: 'x', nested: { token: 'y' } });
  });
});
