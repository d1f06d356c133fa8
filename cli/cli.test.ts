// `fsa` against the real platform: the web app (Auth.js sign-in, JSON API, SSE, terminal
// proxy) on PostgreSQL and Temporal with a lifecycle worker (fake Kubernetes activities),
// and a real ttyd 1.7.7 for `fsa shell` (a ttyd-protocol peer if the pinned binary cannot be
// had). Every command's --json output is validated against cli/schemas.ts; `fsa shell`, the
// hidden prompts and the progress display are driven through a pseudo-terminal.
import { spawn } from 'node:child_process';
import { jest } from '@jest/globals';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { z } from 'zod';
import { ApiClient, waitFor } from '../web/test/harness';
import { startTtydPeer } from '../test/ttyd-peer';
import { EXIT } from './errors';
import {
  actionOutputSchema,
  envListSchema,
  envRmOutputSchema,
  envSetOutputSchema,
  errorOutputSchema,
  logoutSchema,
  projectListSchema,
  statusOutputSchema,
  tokenCreatedSchema,
  tokenListSchema,
  tokenRevokedSchema,
  watchLineSchema,
  whoamiSchema,
} from './schemas';
import { VERSION } from './main';
import { ensureTtyd, startRealTtyd } from './test/real-ttyd';
import { FSA_BIN, fsa, fsaCommand, inPty, newMachine, spawnFsa, startCliPlatform, type CliPlatform, type Machine, type RunResult } from './test/platform';

// Known flake, not yet understood: `fsa shell` with piped stdin exited 1 once in ~4 full
// runs on an idle machine. A failure is retried once so it cannot hide a real regression
// that fails every time; the flake is tracked in the closing note of stop 16.
jest.retryTimes(1, { logErrorsBeforeRetry: true });

const PASSWORD = 'correct horse battery';
/** The spawned `fsa login` names its token after the machine. */
const LOGIN_TOKEN_NAME = `fsa CLI on ${os.hostname()}`.slice(0, 64);

let p: CliPlatform;
let alice: Machine;
/** Every token value the tests saw; none may show up in what the CLI prints. */
const tokens: string[] = [];

const parse = <S extends z.ZodType>(schema: S, r: RunResult): z.infer<S> => {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  return schema.parse(JSON.parse(r.stdout));
};
const jsonError = (r: RunResult) => errorOutputSchema.parse(JSON.parse(r.stderr.trim().split('\n').pop()!));
const storedToken = (m: Machine) => (JSON.parse(fs.readFileSync(m.configFile, 'utf8')) as { token: string }).token;
const noTokenIn = (...texts: string[]) => {
  for (const t of tokens) for (const text of texts) expect(text).not.toContain(t);
};
/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}
const projectIdOf = async (name: string) => (await p.h.db.project.findFirstOrThrow({ where: { name } })).id;

beforeAll(async () => {
  p = await startCliPlatform('fsa_cli');
  alice = newMachine();
});

afterAll(async () => {
  await p?.close();
});

describe('fsa without the platform', () => {
  it('prints its version and help; a wrong command line is a usage error (2)', async () => {
    const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string; bin: Record<string, string> };
    expect(pkg.bin.fsa).toBe('cli/bin/fsa.mjs');
    const version = await spawnFsa(alice, ['--version']).done;
    expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    expect(VERSION).toBe(pkg.version);
    const help = await fsa(alice, ['--help']);
    expect(help.code).toBe(0);
    for (const cmd of ['login', 'logout', 'whoami', 'projects', 'create', 'start', 'stop', 'delete', 'status', 'env', 'shell', 'tokens']) expect(help.stdout).toContain(cmd);
    expect(help.stdout).toContain('Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict, 5 timeout');

    const bogus = await spawnFsa(alice, ['bogus']).done;
    expect(bogus.code).toBe(EXIT.USAGE);
    expect(bogus.stderr).toMatch(/unknown command 'bogus'/);
    expect((await fsa(alice, ['create'])).code).toBe(EXIT.USAGE);
    expect((await fsa(alice, ['start', 'x', '--timeout', 'soon'])).code).toBe(EXIT.USAGE);
    expect((await fsa(alice, ['env', 'set', 'A=1', '--category', 'nope'])).code).toBe(EXIT.USAGE);
  });

  it('not signed in: exit 1 with the fix; an unreachable server names the address', async () => {
    const r = await fsa(alice, ['whoami']);
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.stderr).toMatch(/not signed in\n\s+fix: run fsa login/);
    const json = jsonError(await fsa(alice, ['projects', 'ls', '--json']));
    expect(json.error).toMatchObject({ code: 'unauthenticated', exitCode: 1, fix: expect.stringContaining('fsa login') });

    const closed = await closedPort();
    const down = await fsa(alice, ['login', '--url', `http://127.0.0.1:${closed}`, '--username', 'alice'], { input: PASSWORD });
    expect(down.code).toBe(EXIT.ERROR);
    expect(down.stderr).toContain(`cannot reach http://127.0.0.1:${closed} (ECONNREFUSED)`);
    expect(down.stderr).toMatch(/fix: is the platform running/);
    expect(fs.existsSync(alice.configFile)).toBe(false);
  });
});

describe('login, whoami, logout', () => {
  it('signs in with username and password (stdin), stores a token 0600 in the config folder, never prints it', async () => {
    // A wide-open umask must not widen the token file's mode.
    const r = await spawnFsa(alice, ['login', '--url', p.url, '--username', 'alice'], { input: `${PASSWORD}\n`, umask: '000' }).done;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Signed in to ${p.url} as alice`);
    expect(fs.statSync(alice.configFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(`${alice.configHome}/fsa`).mode & 0o777).toBe(0o700);
    const token = storedToken(alice);
    expect(token).toMatch(/^fsa_/);
    tokens.push(token);
    noTokenIn(r.stdout, r.stderr);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    // The token is a real API token of alice, named after the machine.
    const api = new ApiClient(p.url);
    api.token = token;
    const list = await api.call('GET', '/api/tokens');
    expect(list.body.map((t: { name: string }) => t.name)).toEqual([LOGIN_TOKEN_NAME]);
  });

  it('a wrong password: exit 1 with the message, nothing stored', async () => {
    const other = newMachine();
    const r = await fsa(other, ['login', '--url', p.url, '--username', 'alice', '--json'], { input: 'not the password' });
    expect(r.code).toBe(EXIT.ERROR);
    expect(jsonError(r).error).toMatchObject({ code: 'wrong_credentials', message: 'wrong username or password' });
    expect(fs.existsSync(other.configFile)).toBe(false);
    const short = await fsa(other, ['login', '--url', p.url, '--username', 'alice'], { input: 'short' });
    expect(short.code).toBe(EXIT.USAGE);
    expect(short.stderr).toMatch(/password: use at least 8 characters/);
    const noUser = await fsa(other, ['login', '--url', p.url], { input: PASSWORD });
    expect(noUser.code).toBe(EXIT.USAGE);
    expect(noUser.stderr).toMatch(/--username is required when stdin is not a terminal/);
  });

  it('signs in on a terminal: the password prompt echoes nothing', async () => {
    const m = newMachine();
    const r = await inPty(m, fsaCommand(['login', '--url', p.url]), [
      { expect: 'Username: ' },
      { send: 'alice\r' },
      { expect: 'Password: ' },
      { send: `${PASSWORD}\r` },
      { expect: 'Signed in' },
    ]);
    expect(r.failed).toBeNull();
    expect(r.exitCode).toBe(0);
    expect(r.output).not.toContain(PASSWORD);
    tokens.push(storedToken(m));
    // Its token is revoked on logout.
    expect((await fsa(m, ['logout'])).code).toBe(0);
  });

  it('whoami --json: the user, the server, the token by id and name (not its value)', async () => {
    const r = await fsa(alice, ['whoami', '--json']);
    const me = parse(whoamiSchema, r);
    const config = JSON.parse(fs.readFileSync(alice.configFile, 'utf8')) as { tokenId: string };
    expect(me).toMatchObject({ url: p.url, user: { name: 'alice' }, token: { id: config.tokenId, name: LOGIN_TOKEN_NAME, source: 'config' }, configFile: alice.configFile });
    noTokenIn(r.stdout);
    const human = await fsa(alice, ['whoami']);
    expect(human.stdout).toContain(`on ${p.url}\ntoken: "${LOGIN_TOKEN_NAME}"`);
    expect(human.stdout).toMatch(/^alice \(/);
  });

  it('signs in with a pasted token (stdin); FSA_TOKEN works without a config file', async () => {
    const created = parse(tokenCreatedSchema, await fsa(alice, ['tokens', 'create', 'pasted', '--json']));
    tokens.push(created.token);
    const m = newMachine();
    const r = await fsa(m, ['login', '--url', p.url, '--with-token', '--json'], { input: `${created.token}\n` });
    const me = parse(whoamiSchema, r);
    expect(me.token).toMatchObject({ id: created.id, name: 'pasted' });
    noTokenIn(r.stdout, r.stderr);
    expect(fs.statSync(m.configFile).mode & 0o777).toBe(0o600);

    const ci = newMachine();
    const env = { FSA_URL: p.url, FSA_TOKEN: created.token };
    expect(parse(whoamiSchema, await fsa(ci, ['whoami', '--json'], { env })).token).toMatchObject({ id: created.id, source: 'env' });
    // The stored token is never sent to another server than the one it was made for.
    const elsewhere = await fsa(alice, ['projects', 'ls'], { env: { FSA_URL: `http://127.0.0.1:${await closedPort()}` } });
    expect(elsewhere.code).toBe(EXIT.ERROR);
    expect(elsewhere.stderr).toMatch(/not signed in/);

    const bad = await fsa(newMachine(), ['login', '--url', p.url, '--with-token'], { input: 'fsa_not-a-token' });
    expect(bad.code).toBe(EXIT.ERROR);
    expect(bad.stderr).toMatch(/the token was refused/);
  });
});

describe('projects', () => {
  let id: string;

  it('projects ls --json: empty at first', async () => {
    expect(parse(projectListSchema, await fsa(alice, ['projects', 'ls', '--json']))).toEqual([]);
    expect((await fsa(alice, ['projects', 'ls'])).stdout).toMatch(/No projects yet/);
  });

  it('create --wait --json: RUNNING with five done stages and their durations; progress as plain lines on stderr', async () => {
    const r = await spawnFsa(alice, ['create', 'cli demo', '--wait', '--json', '--description', 'made by fsa']).done;
    const view = parse(statusOutputSchema, r);
    id = view.id;
    expect(view).toMatchObject({ name: 'cli demo', description: 'made by fsa', status: 'RUNNING', statusSource: 'workflow' });
    expect(view.stages.map((s) => `${s.name}:${s.state}`)).toEqual(['database:done', 'container:done', 'network:done', 'terminal:done', 'ready:done']);
    for (const s of view.stages) expect(s.durationMs).toBe(Date.parse(s.finishedAt!) - Date.parse(s.startedAt!));
    // Piped stderr: one line per change, no escape sequences.
    expect(r.stderr).toMatch(/^\d\d:\d\d:\d\d cli demo status (CREATING|STARTING|RUNNING)$/m);
    expect(r.stderr).toMatch(/^\d\d:\d\d:\d\d cli demo stage ready done \d+\.\ds$/m);
    expect(r.stderr).not.toContain('\x1b[');
  });

  it('a taken name is a conflict (4), a bad name a usage error (2), both with the API message', async () => {
    const dup = await spawnFsa(alice, ['create', 'cli demo']).done;
    expect(dup.code).toBe(EXIT.CONFLICT);
    expect(dup.stderr).toContain('fsa: name: you already have a project named "cli demo"; choose another name');
    const long = await fsa(alice, ['create', 'x'.repeat(70), '--json']);
    expect(long.code).toBe(EXIT.USAGE);
    expect(jsonError(long).error).toMatchObject({ code: 'invalid_input', status: 400, message: expect.stringMatching(/^name: is too long/) });
  });

  it('projects ls and status by id or name (--json and human)', async () => {
    const list = parse(projectListSchema, await fsa(alice, ['projects', 'ls', '--json']));
    expect(list).toEqual([expect.objectContaining({ id, name: 'cli demo', status: 'RUNNING' })]);
    expect((await fsa(alice, ['projects', 'ls'])).stdout).toMatch(new RegExp(`^ID\\s+NAME\\s+STATUS\\s+CREATED\\n${id}\\s+cli demo\\s+RUNNING`));
    for (const ref of [id, 'cli demo', 'CLI Demo']) {
      expect(parse(statusOutputSchema, await fsa(alice, ['status', ref, '--json']))).toMatchObject({ id, status: 'RUNNING' });
    }
    const human = await fsa(alice, ['status', 'cli demo']);
    expect(human.stdout).toMatch(/^cli demo \(.+\)\n {2}status {4}RUNNING\n/);
    expect(human.stdout).toMatch(/^ {4}done {5}database {3}\d+\.\ds$/m);
    const missing = await fsa(alice, ['status', 'nope']);
    expect(missing.code).toBe(EXIT.NOT_FOUND);
    expect(missing.stderr).toMatch(/no project "nope"\n\s+fix: fsa projects ls/);
  });

  it('status --watch when piped: one plain line per change, NDJSON with --json; Ctrl-C ends it (130)', async () => {
    const watch = spawnFsa(alice, ['status', id, '--watch']);
    const watchJson = spawnFsa(alice, ['status', id, '--watch', '--json']);
    await waitFor(async () => watch.stdout() + '|' + watchJson.stdout(), (s) => /status RUNNING/.test(s) && /"RUNNING"/.test(s), 20_000, 'first snapshots');
    parse(actionOutputSchema, await fsa(alice, ['stop', id, '--json']));
    await waitFor(async () => watch.stdout(), (s) => /status STOPPED/.test(s), 20_000, 'STOPPED in the watch');
    // The project's own status, not a resource's ("STOPPED" also appears inside a PARTIAL line).
    const statuses = (out: string) => out.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { status?: string }).status);
    await waitFor(async () => watchJson.stdout(), (s) => statuses(s).includes('STOPPED'), 20_000, 'STOPPED in the JSON watch');
    watch.kill('SIGINT');
    watchJson.kill('SIGINT');
    const [a, b] = await Promise.all([watch.done, watchJson.done]);
    expect(a.code).toBe(EXIT.INTERRUPTED);
    expect(a.stdout).toMatch(/^\d\d:\d\d:\d\d cli demo status RUNNING\n/);
    // (STOPPING may pass between two snapshots; the fake cluster stops in 200 ms.)
    expect(a.stdout).toMatch(/status RUNNING\n(.*\n)*.*status STOPPED\n/);
    expect(a.stdout).not.toContain('\x1b[');
    expect(b.code).toBe(EXIT.INTERRUPTED);
    const lines = b.stdout.trim().split('\n').map((l) => watchLineSchema.parse(JSON.parse(l)));
    expect(lines.map((l) => l.status)).toEqual(expect.arrayContaining(['RUNNING', 'STOPPED']));
  });

  it('start --wait on a terminal: a live progress display, redrawn in place, cursor restored', async () => {
    const r = await inPty(alice, fsaCommand(['start', 'cli demo', '--wait']), [{ expect: 'is RUNNING' }], { cols: 100 });
    expect(r.failed).toBeNull();
    expect(r.exitCode).toBe(0);
    expect(r.output).toContain('\x1b[?25l'); // cursor hidden while drawing
    expect(r.output.split('\x1b[J').length).toBeGreaterThan(2); // redrawn in place (cursor up N lines, clear below)
    expect(r.output).toMatch(/\[\d+F/);
    expect(r.output).toContain('✓');
    expect(r.output).toMatch(/ready +\S*\d+\.\ds/);
    expect(r.output.lastIndexOf('\x1b[?25h')).toBeGreaterThan(r.output.lastIndexOf('\x1b[?25l'));
  });

  it('status --watch on a terminal: the same display; Ctrl-C stops it and shows the cursor again', async () => {
    const r = await inPty(alice, fsaCommand(['status', 'cli demo', '--watch']), [{ expect: 'ready' }, { sleep: 0.3 }, { send: '\x03' }]);
    expect(r.failed).toBeNull();
    expect(r.exitCode).toBe(EXIT.INTERRUPTED);
    expect(r.output).toContain('RUNNING');
    expect(r.output.lastIndexOf('\x1b[?25h')).toBeGreaterThan(r.output.lastIndexOf('\x1b[?25l'));
  });

  it('stop --wait --json and start --wait --json', async () => {
    expect(parse(actionOutputSchema, await fsa(alice, ['stop', 'cli demo', '--wait', '--json']))).toEqual({ id, name: 'cli demo', action: 'stop', accepted: true, waited: true, status: 'STOPPED' });
    const again = await fsa(alice, ['stop', 'cli demo', '--wait']);
    expect(again.stdout).toBe(`cli demo (${id}) is STOPPED.\n`);
    expect(parse(actionOutputSchema, await fsa(alice, ['start', id, '--wait', '--json', '--quiet']))).toMatchObject({ action: 'start', status: 'RUNNING', waited: true });
  });

  it('--wait runs out: exit 5 with what to do; a lifecycle error: exit 1 with its message', async () => {
    await fsa(alice, ['stop', id, '--wait', '--quiet']);
    p.h.fake!.neverBecomeReady(id);
    const slow = await fsa(alice, ['start', id, '--wait', '--timeout', '2', '--json']);
    expect(slow.code).toBe(EXIT.TIMEOUT);
    expect(jsonError(slow).error).toMatchObject({ code: 'timeout', exitCode: 5, message: expect.stringMatching(/still (STARTING|STOPPED|STOPPING) after 2s \(waiting for RUNNING\)/), fix: expect.stringContaining('--watch') });
    p.h.fake!.neverReady.delete(id);
    await fsa(alice, ['start', id, '--wait', '--quiet']);

    await fsa(alice, ['stop', id, '--wait', '--quiet']);
    p.h.fake!.failNext('ensureSandbox', { type: 'InvalidSpec', message: 'simulated: the StatefulSet was refused (422)' });
    const failed = await fsa(alice, ['start', id, '--wait']);
    expect(failed.code).toBe(EXIT.ERROR);
    expect(failed.stderr).toMatch(/fsa: cli demo failed: .*simulated: the StatefulSet was refused \(422\)/);
    expect(failed.stderr).toMatch(/fix: fsa status .* shows the stages/);
    // start from ERROR retries.
    expect(parse(actionOutputSchema, await fsa(alice, ['start', id, '--wait', '--json']))).toMatchObject({ status: 'RUNNING' });
  });
});

describe('env', () => {
  const ref = ['-p', 'cli demo'];

  it('set KEY=VALUE, update it, list it, remove it (--json shapes)', async () => {
    const created = parse(envSetOutputSchema, await fsa(alice, ['env', 'set', ...ref, 'API_URL=https://example.com/?a=b', '--json']));
    expect(created).toMatchObject({ key: 'API_URL', value: 'https://example.com/?a=b', category: 'general', isSecret: false, action: 'created' });
    const updated = parse(envSetOutputSchema, await fsa(alice, ['env', 'set', ...ref, 'API_URL=https://api.example.com', '--category', 'auth', '--json']));
    expect(updated).toMatchObject({ id: created.id, value: 'https://api.example.com', category: 'auth', action: 'updated' });
    const piped = parse(envSetOutputSchema, await fsa(alice, ['env', 'set', ...ref, 'GREETING', '--json'], { input: 'hello world\n' }));
    expect(piped.value).toBe('hello world');
    const list = parse(envListSchema, await fsa(alice, ['env', 'ls', 'cli demo', '--json']));
    expect(list.map((e) => e.key).sort()).toEqual(['API_URL', 'GREETING']);
    expect((await fsa(alice, ['env', 'ls', '--json'], { env: { FSA_PROJECT: 'cli demo' } })).stdout).toContain('API_URL');
    const human = (await fsa(alice, ['env', 'ls', ...ref])).stdout;
    expect(human).toMatch(/^KEY\s+VALUE\s+CATEGORY\s+SECRET\n/);
    expect(human).toMatch(/^API_URL\s+https:\/\/api\.example\.com\s+auth\s+no$/m);
    expect(parse(envRmOutputSchema, await fsa(alice, ['env', 'rm', ...ref, 'GREETING', '--json']))).toEqual({ id: piped.id, key: 'GREETING', deleted: true });
    const gone = await fsa(alice, ['env', 'rm', ...ref, 'GREETING']);
    expect(gone.code).toBe(EXIT.NOT_FOUND);
    expect(gone.stderr).toMatch(/cli demo has no variable GREETING\n\s+fix: fsa env ls/);
    const reserved = await fsa(alice, ['env', 'set', ...ref, 'PORT=1']);
    expect(reserved.code).toBe(EXIT.USAGE);
    expect(reserved.stderr).toMatch(/key: is reserved/);
    expect((await fsa(alice, ['env', 'ls'])).code).toBe(EXIT.USAGE);
  });

  it('secret values come from stdin or a hidden prompt, never from argv, and are masked', async () => {
    const secret = parse(envSetOutputSchema, await fsa(alice, ['env', 'set', ...ref, 'STRIPE_KEY', '--secret', '--json'], { input: 'sk_live_from_stdin\n' }));
    expect(secret).toMatchObject({ key: 'STRIPE_KEY', isSecret: true, category: 'secret', value: '••••••••' });
    const row = await p.h.db.environment.findUniqueOrThrow({ where: { id: secret.id } });
    expect(row.value).toMatch(/^v1:/);
    expect(p.h.web.ctx.cipher.decrypt(row.value)).toBe('sk_live_from_stdin');

    for (const args of [['STRIPE_KEY=sk_on_argv'], ['OTHER=sk_on_argv', '--secret'], ['OTHER=sk_on_argv', '--category', 'secret']]) {
      const r = await fsa(alice, ['env', 'set', ...ref, ...args]);
      expect(r.code).toBe(EXIT.USAGE);
      expect(r.stderr).toMatch(/secret values are not taken from the command line/);
      expect(r.stderr).toMatch(/fix: .*printf %s "\$VALUE" \| fsa env set/);
    }
    expect(p.h.web.ctx.cipher.decrypt((await p.h.db.environment.findUniqueOrThrow({ where: { id: secret.id } })).value)).toBe('sk_live_from_stdin');
    expect(await p.h.db.environment.count({ where: { key: 'OTHER' } })).toBe(0);

    const typed = await inPty(alice, fsaCommand(['env', 'set', ...ref, 'TYPED_SECRET', '--secret']), [{ expect: 'Value of TYPED_SECRET \\(hidden\\): ' }, { send: 'typed-s3cret\r' }, { expect: 'Added TYPED_SECRET' }]);
    expect(typed.failed).toBeNull();
    expect(typed.exitCode).toBe(0);
    expect(typed.output).not.toContain('typed-s3cret');
    const stored = await p.h.db.environment.findFirstOrThrow({ where: { key: 'TYPED_SECRET' } });
    expect(p.h.web.ctx.cipher.decrypt(stored.value)).toBe('typed-s3cret');

    const listed = await fsa(alice, ['env', 'ls', ...ref, '--json']);
    expect(listed.stdout).not.toMatch(/sk_live|typed-s3cret/);
    expect(parse(envListSchema, listed).filter((e) => e.isSecret).map((e) => e.value)).toEqual(['••••••••', '••••••••']);
    // The sandbox rolled with the changes; let it settle before the terminal tests.
    await waitFor(() => fsa(alice, ['status', 'cli demo', '--json']), (r) => JSON.parse(r.stdout).status === 'RUNNING', 30_000, 'RUNNING after env changes');
  });
});

describe('shell', () => {
  let id: string;
  let ttydUrl: string;
  let stopTtyd: () => Promise<void>;
  let pointer: NodeJS.Timeout;
  let kind: string;

  beforeAll(async () => {
    id = await projectIdOf('cli demo');
    const sandbox = await p.h.db.sandbox.findFirstOrThrow({ where: { projectId: id } });
    const token = p.h.web.ctx.cipher.decrypt(sandbox.ttydAccessToken);
    const bin = ensureTtyd();
    if (bin.path !== null) {
      const t = await startRealTtyd(bin.path, token);
      ttydUrl = t.httpUrl;
      stopTtyd = t.close;
      kind = 'ttyd 1.7.7';
    } else {
      console.warn(`fsa shell tests use the ttyd-protocol peer: ${bin.reason}`);
      const peer = await startTtydPeer({ token, mode: 'shell' });
      ttydUrl = peer.httpUrl;
      stopTtyd = peer.close;
      kind = 'ttyd-peer';
    }
    // The fake activities publish an unreachable ttyd URL (and republish it after a restart):
    // keep the sandbox pointed at the local ttyd.
    const point = () => p.h.db.sandbox.updateMany({ where: { projectId: id }, data: { ttydUrl } }).catch(() => undefined);
    await point();
    pointer = setInterval(() => void point(), 100);
  });

  afterAll(async () => {
    clearInterval(pointer);
    await stopTtyd?.();
  });

  it(`starts the STOPPED project, opens its terminal in raw mode, runs echo $((6*7)), follows a resize, restores the terminal`, async () => {
    parse(actionOutputSchema, await fsa(alice, ['stop', 'cli demo', '--wait', '--json']));
    const script = `stty -g > before.txt; ${fsaCommand(['shell', 'cli demo'])}; echo "fsa-exit=$?"; stty -g > after.txt`;
    const r = await inPty(
      alice,
      `cd '${alice.home}' && ${script}`,
      [
        { expect: 'cli demo is STOPPED; starting it' },
        { expect: '\\$ $|# $', timeout: 40 },
        { send: 'stty size; echo $((6*7))\r' },
        { expect: '^42\\r*$' },
        { resize: [33, 101] },
        { sleep: 0.5 },
        { send: 'stty size\r' },
        { expect: '\\b33 101\\r*$' },
        { send: 'exit\r' },
        { expect: 'fsa-exit=(\\d+)' },
      ],
      { rows: 30, cols: 90, timeoutS: 90 },
    );
    if (r.failed) throw new Error(`${kind}: step ${JSON.stringify(r.failed)} failed; the terminal showed:\n${r.output}`);
    // Raw mode keeps the local terminal's ONLCR: the remote's \r\n shows as \r\r\n.
    expect(r.output).toMatch(/^30 90\r*$/m); // the initial size reached the remote pty
    expect(r.output).toMatch(/^42\r*$/m);
    expect(r.output).toContain('fsa-exit=0');
    expect(fs.readFileSync(`${alice.home}/after.txt`, 'utf8')).toBe(fs.readFileSync(`${alice.home}/before.txt`, 'utf8'));
    noTokenIn(r.output);
    expect(parse(statusOutputSchema, await fsa(alice, ['status', 'cli demo', '--json'])).status).toBe('RUNNING');
  });

  it('with piped stdin: runs the commands, ends with the input (Ctrl-D), exit 0', async () => {
    const r = await spawnFsa(alice, ['shell', id, '--quiet'], { input: 'echo "answer=$((6*7))"\nexit\n' }).done;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^answer=42\r*$/m);
  });

  it('a token revoked during the session ends it with the reason and the fix (exit 1)', async () => {
    const created = parse(tokenCreatedSchema, await fsa(alice, ['tokens', 'create', 'revoked mid-session', '--json']));
    tokens.push(created.token);
    const env = { FSA_URL: p.url, FSA_TOKEN: created.token };
    const m = newMachine();
    // stdin stays open: the session lasts until something ends it.
    const session = spawnFsa(m, ['shell', 'cli demo', '--quiet'], { env });
    await waitFor(async () => session.stdout(), (s) => /[$#] $/.test(s), 20_000, 'the remote prompt');
    const watch = spawnFsa(m, ['status', 'cli demo', '--watch'], { env });
    await waitFor(async () => watch.stdout(), (s) => /status RUNNING/.test(s), 20_000, 'the watch');
    parse(tokenRevokedSchema, await fsa(alice, ['tokens', 'revoke', created.id, '--json']));
    const [shell, watched] = await Promise.all([session.done, watch.done]);
    expect(shell.code).toBe(EXIT.ERROR);
    expect(shell.stderr).toMatch(/fsa: the API token was revoked or expired during the session\n\s+fix: run fsa login/);
    expect(watched.code).toBe(EXIT.ERROR);
    expect(watched.stderr).toMatch(/fsa: .*(revoked|no longer valid).*\n\s+fix: run fsa login/i);
    noTokenIn(shell.stdout, shell.stderr, watched.stdout, watched.stderr);
  });

  it('a missing project is exit 3', async () => {
    const r = await fsa(alice, ['shell', 'nope']);
    expect(r.code).toBe(EXIT.NOT_FOUND);
    expect(r.stderr).toMatch(/no project "nope"/);
  });
});

describe('tokens', () => {
  it('create --json (shown once), ls --json marks the CLI token, revoke --json, revoke again is 3', async () => {
    const created = parse(tokenCreatedSchema, await fsa(alice, ['tokens', 'create', 'ci deploy', '--json']));
    tokens.push(created.token);
    const human = await fsa(alice, ['tokens', 'create', 'human']);
    expect(human.stdout).toMatch(/^fsa_\S+\n$/);
    expect(human.stderr).toMatch(/shown this once/);
    tokens.push(human.stdout.trim());

    const list = parse(tokenListSchema, await fsa(alice, ['tokens', 'ls', '--json']));
    const config = JSON.parse(fs.readFileSync(alice.configFile, 'utf8')) as { tokenId: string };
    expect(list.find((t) => t.current)?.id).toBe(config.tokenId);
    expect(list.find((t) => t.id === created.id)).toMatchObject({ name: 'ci deploy', current: false });
    const table = await fsa(alice, ['tokens', 'ls']);
    expect(table.stdout).toMatch(/\(this CLI\)/);
    noTokenIn(table.stdout, JSON.stringify(list));

    expect(parse(tokenRevokedSchema, await fsa(alice, ['tokens', 'revoke', created.id, '--json']))).toEqual({ id: created.id, revoked: true });
    expect(parse(tokenRevokedSchema, await fsa(alice, ['tokens', 'revoke', 'human', '--json'])).revoked).toBe(true);
    const again = await fsa(alice, ['tokens', 'revoke', created.id]);
    expect(again.code).toBe(EXIT.NOT_FOUND);
    expect(again.stderr).toMatch(/no token .*\n\s+fix: fsa tokens ls/);
  });

  it('a revoked token: the stored one names its file and the fix; FSA_TOKEN names itself', async () => {
    const created = parse(tokenCreatedSchema, await fsa(alice, ['tokens', 'create', 'soon revoked', '--json']));
    tokens.push(created.token);
    const bob = newMachine();
    parse(whoamiSchema, await fsa(bob, ['login', '--url', p.url, '--with-token', '--json'], { input: created.token }));
    expect((await fsa(alice, ['tokens', 'revoke', created.id])).code).toBe(0);

    const r = await spawnFsa(bob, ['projects', 'ls']).done;
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.stderr).toContain(`fsa: the API token stored in ${bob.configFile} was refused by ${p.url}: not signed in`);
    expect(r.stderr).toMatch(/fix: the token was revoked or has expired: run fsa login to sign in again/);
    noTokenIn(r.stdout, r.stderr);
    const json = jsonError(await fsa(bob, ['status', 'cli demo', '--json']));
    expect(json.error).toMatchObject({ code: 'unauthenticated', status: 401, exitCode: 1 });

    const env = await fsa(newMachine(), ['projects', 'ls'], { env: { FSA_URL: p.url, FSA_TOKEN: created.token } });
    expect(env.code).toBe(EXIT.ERROR);
    expect(env.stderr).toMatch(/FSA_TOKEN was refused .*\n\s+fix: the token was revoked or mistyped/);
  });
});

describe('a scripted session', () => {
  let ttyd: { close(): Promise<void> } | undefined;
  let pointer: NodeJS.Timeout | undefined;

  afterAll(async () => {
    clearInterval(pointer);
    await ttyd?.close();
  });

  it('create --wait, env set, shell, stop: the transcript (test-results/cli-session.txt)', async () => {
    // The sandbox of the project the script creates gets a real ttyd (its own token) as soon
    // as the project exists; `fsa shell` waits for RUNNING and retries until the terminal answers.
    const bin = ensureTtyd();
    let starting = false;
    let url: string | undefined;
    pointer = setInterval(() => {
      void (async () => {
        const sandbox = await p.h.db.sandbox.findFirst({ where: { project: { name: 'shop' } } });
        if (!sandbox) return;
        if (!url && !starting) {
          starting = true;
          const token = p.h.web.ctx.cipher.decrypt(sandbox.ttydAccessToken);
          const t = bin.path !== null ? await startRealTtyd(bin.path, token) : await startTtydPeer({ token, mode: 'shell' });
          ttyd = t;
          url = t.httpUrl;
        }
        if (url) await p.h.db.sandbox.updateMany({ where: { id: sandbox.id }, data: { ttydUrl: url } });
      })().catch(() => undefined);
    }, 100);

    const child = spawn('bash', ['--norc', '--noprofile', '-c', `bash cli/test/scripted-session.sh 2>&1; echo "exit=$?"`], {
      env: { ...alice.env, FSA_NODE: process.execPath, FSA_BIN, STRIPE_KEY: 'sk_test_from_the_environment' } as Record<string, string> as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let transcript = '';
    child.stdout.on('data', (b: Buffer) => (transcript += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (transcript += b.toString('utf8')));
    await new Promise((r) => child.on('close', r));
    fs.mkdirSync('test-results', { recursive: true });
    fs.writeFileSync('test-results/cli-session.txt', transcript.replace(/\r/g, ''));
    expect(transcript).toMatch(/exit=0\n$/);
    expect(transcript).toMatch(/^shop \(\S+\) is RUNNING: https:\/\//m);
    expect(transcript).toMatch(/^Added STRIPE_KEY to shop \(category secret, value hidden\)/m);
    expect(transcript).toMatch(/^STRIPE_KEY\s+••••••••\s+secret\s+yes$/m);
    expect(transcript).toMatch(/^42\r*$/m);
    expect(transcript).toMatch(/^shop \(\S+\) is STOPPED\.$/m);
    expect(transcript).not.toContain('sk_test_from_the_environment');
    noTokenIn(transcript);
    expect(await fsa(alice, ['delete', 'shop', '--wait', '--quiet'])).toMatchObject({ code: 0 });
  });
});

describe('delete and logout', () => {
  it('delete --wait --json: TERMINATED, then the project is gone (3)', async () => {
    const r = await fsa(alice, ['delete', 'cli demo', '--wait', '--json']);
    expect(parse(actionOutputSchema, r)).toMatchObject({ name: 'cli demo', action: 'delete', waited: true, status: 'TERMINATED' });
    expect((await fsa(alice, ['status', 'cli demo'])).code).toBe(EXIT.NOT_FOUND);
    expect(parse(projectListSchema, await fsa(alice, ['projects', 'ls', '--json']))).toEqual([]);
  });

  it('logout revokes the token fsa login made and removes the config file', async () => {
    const token = storedToken(alice);
    const r = await fsa(alice, ['logout', '--json']);
    expect(parse(logoutSchema, r)).toEqual({ url: p.url, signedOut: true, tokenRevoked: true });
    expect(fs.existsSync(alice.configFile)).toBe(false);
    const api = new ApiClient(p.url);
    api.token = token;
    expect((await api.call('GET', '/api/projects')).status).toBe(401);
    expect((await fsa(alice, ['whoami'])).code).toBe(EXIT.ERROR);
    expect((await fsa(alice, ['logout'])).stdout).toMatch(/Not signed in/);
  });
});
