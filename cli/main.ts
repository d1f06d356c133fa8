// fsa: the command-line client of FullstackAgent. It speaks only the public HTTP API
// (docs/design.md "HTTP contract") and the terminal proxy's WebSocket protocol. README.md
// "Command-line client" documents the commands, the --json shapes (cli/schemas.ts) and
// the exit codes (cli/errors.ts).
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';
import { Api } from './api';
import { DEFAULT_URL, configPath, normalizeUrl, readConfig, removeConfig, requireCredentials, writeConfig, type StoredConfig } from './config';
import { CliError, EXIT, usage } from './errors';
import { styler, type CliIO } from './io';
import { SessionApi, passwordSession } from './login';
import { ask, askHidden, confirm, readSecret, readStdin } from './prompt';
import { ProgressDisplay, renderStatus, statusOutput } from './render';
import { getProjectView, resolveProject, type ProjectSummary } from './resolve';
import {
  actionOutputSchema,
  envListSchema,
  envRmOutputSchema,
  envSetOutputSchema,
  envVarSchema,
  errorOutputSchema,
  logoutSchema,
  projectListSchema,
  projectViewSchema,
  signalAnswerSchema,
  statusOutputSchema,
  tokenCreatedSchema,
  tokenListSchema,
  tokenRevokedSchema,
  tokenSchema,
  userSchema,
  watchLineSchema,
  whoamiSchema,
  type ProjectView,
} from './schemas';
import { openShell } from './shell';
import { watchProject } from './sse';
import { waitForStatus, type Target } from './wait';

export const VERSION = '0.1.0';
const DEFAULT_TIMEOUT_S = 900;
const TOKEN_PREFIX_LENGTH = 10; // "fsa_" + 6, as the server stores it

interface Ctx {
  io: CliIO;
  /** Aborted by Ctrl-C / SIGTERM once a long-running command asked for it. */
  interruptible(): AbortSignal;
}

// ---------------------------------------------------------------------------------------
// Output helpers

function printJson<S extends z.ZodType>(ctx: Ctx, schema: S, value: z.input<S>, compact = false): void {
  const checked = schema.parse(value);
  ctx.io.stdout.write(JSON.stringify(checked, null, compact ? undefined : 2) + '\n');
}

function table(header: string[], rows: string[][]): string {
  const width = (s: string) => [...s].length;
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - width(c))))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

const ago = (iso: string | null) => {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
};

function parseTimeout(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 86_400) throw new InvalidArgumentError('give seconds, a number between 1 and 86400');
  return n;
}

function api(ctx: Ctx): Api {
  const c = requireCredentials(ctx.io);
  return new Api(c.url, c.token, { tokenSource: c.source, configFile: configPath(ctx.io) });
}

const pathOf = (id: string, rest = '') => `/api/projects/${encodeURIComponent(id)}${rest}`;
const NOT_FOUND_FIX = 'fsa projects ls lists your projects';

/** A plain-http URL to somewhere other than this machine sends the password and token in the clear. */
function warnInsecure(ctx: Ctx, url: string): void {
  const u = new URL(url);
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname) || u.hostname.endsWith('.localhost');
  if (u.protocol === 'http:' && !local) ctx.io.stderr.write(`fsa: warning: ${url} is plain http; the password and the API token travel unencrypted. Use https if the server has it.\n`);
}

// ---------------------------------------------------------------------------------------
// Commands

async function login(ctx: Ctx, opts: { url?: string; username?: string; withToken?: boolean; tokenName?: string; json?: boolean }): Promise<void> {
  const { io } = ctx;
  let existing: StoredConfig | null = null;
  try {
    existing = readConfig(io);
  } catch {
    existing = null; // a broken file is replaced below
  }
  const url = normalizeUrl(opts.url ?? io.env.FSA_URL ?? existing?.url ?? DEFAULT_URL);
  warnInsecure(ctx, url);

  let config: StoredConfig;
  if (opts.withToken) {
    if (opts.username) throw usage('--with-token and --username do not go together', 'sign in with a token or with a username and password');
    const token = (await readSecret(io, 'API token: ', 'token')).trim();
    if (!token) throw usage('no token given', 'paste the token when asked, or pipe it: fsa login --with-token < token.txt');
    const tokenApi = new Api(url, token);
    let user: z.infer<typeof userSchema>;
    try {
      user = await tokenApi.request('GET', '/api/user', userSchema);
    } catch (err) {
      if (err instanceof CliError && err.status === 401) {
        throw new CliError(`the token was refused by ${url}`, EXIT.ERROR, 'check that it was pasted whole; create a new one under Settings → API tokens, or sign in with a password (fsa login)', 'unauthenticated', 401);
      }
      throw err;
    }
    const mine = (await tokenApi.request('GET', '/api/tokens', tokenSchema.array())).filter((t) => t.prefix === token.slice(0, TOKEN_PREFIX_LENGTH));
    const match = mine.length === 1 ? mine[0]! : null;
    config = { url, token, tokenId: match?.id ?? null, tokenName: match?.name ?? null, tokenPrefix: match?.prefix ?? null, tokenSource: 'pasted', user };
  } else {
    let username = opts.username;
    if (!username) {
      if (!io.stdin.isTTY) throw usage('--username is required when stdin is not a terminal', 'fsa login --username NAME, with the password on stdin');
      username = (await ask(io, 'Username: ')).trim();
      if (!username) throw usage('no username given');
    }
    const password = io.stdin.isTTY ? await askHidden(io, 'Password: ') : await readStdin(io);
    if (!password) throw usage('no password given', io.stdin.isTTY ? 'type the password when asked' : 'pipe the password on stdin');
    const { cookie } = await passwordSession(url, username, password);
    const name = (opts.tokenName ?? `fsa CLI on ${io.hostname}`).slice(0, 64);
    const created = await new SessionApi(url, cookie).request('POST', '/api/tokens', tokenCreatedSchema, { body: { name } });
    const user = await new Api(url, created.token).request('GET', '/api/user', userSchema);
    config = { url, token: created.token, tokenId: created.id, tokenName: created.name, tokenPrefix: created.prefix, tokenSource: 'login', user };
  }

  // The token an earlier `fsa login` made for this server is not needed any more.
  if (existing?.tokenSource === 'login' && existing.url === url && existing.tokenId && existing.token !== config.token) {
    await new Api(url, config.token)
      .request('DELETE', `/api/tokens/${encodeURIComponent(existing.tokenId)}`, tokenRevokedSchema)
      .catch(() => undefined);
  }
  const file = writeConfig(io, config);
  const out = { url, user: config.user!, token: { id: config.tokenId ?? null, name: config.tokenName ?? null, prefix: config.tokenPrefix ?? null, source: 'config' as const }, configFile: file };
  if (opts.json) return printJson(ctx, whoamiSchema, out);
  const st = styler(io, io.stdout);
  io.stdout.write(
    `Signed in to ${url} as ${st.bold(config.user!.name)}.\n` +
      `The API token${config.tokenName ? ` "${config.tokenName}"` : ''} is saved in ${file} (readable by you only).\n`,
  );
}

async function logout(ctx: Ctx, opts: { keepToken?: boolean; revoke?: boolean; json?: boolean }): Promise<void> {
  const { io } = ctx;
  let config: StoredConfig | null = null;
  try {
    config = readConfig(io);
  } catch {
    config = null;
  }
  let revoked = false;
  const shouldRevoke = opts.revoke || (config?.tokenSource === 'login' && !opts.keepToken);
  if (config?.token && shouldRevoke) {
    const a = new Api(config.url, config.token);
    try {
      let id = config.tokenId ?? null;
      if (!id) id = (await a.request('GET', '/api/tokens', tokenSchema.array())).find((t) => t.prefix === config.token!.slice(0, TOKEN_PREFIX_LENGTH))?.id ?? null;
      if (id) {
        await a.request('DELETE', `/api/tokens/${encodeURIComponent(id)}`, tokenRevokedSchema);
        revoked = true;
      }
    } catch (err) {
      // Already revoked (401) or gone (404): signing out still succeeds.
      if (!(err instanceof CliError) || (err.status !== 401 && err.status !== 404)) {
        io.stderr.write(`fsa: warning: could not revoke the token (${(err as Error).message}); revoke it later with fsa tokens revoke or in Settings.\n`);
      }
    }
  }
  const removed = removeConfig(io);
  if (opts.json) return printJson(ctx, logoutSchema, { url: config?.url ?? null, signedOut: removed, tokenRevoked: revoked });
  if (!removed) io.stdout.write('Not signed in; nothing to do.\n');
  else io.stdout.write(`Signed out of ${config?.url ?? 'the server'}${revoked ? '; the token was revoked' : config?.token ? '; the token was kept (it was pasted in; revoke it with --revoke or in Settings)' : ''}.\n`);
}

async function currentToken(a: Api, config: StoredConfig | null, source: 'env' | 'config'): Promise<{ id: string | null; name: string | null; prefix: string | null }> {
  const tokens = await a.request('GET', '/api/tokens', tokenSchema.array());
  const mine = source === 'config' && config?.tokenId ? tokens.find((t) => t.id === config.tokenId) : tokens.find((t) => t.prefix === a.token!.slice(0, TOKEN_PREFIX_LENGTH));
  return { id: mine?.id ?? null, name: mine?.name ?? null, prefix: mine?.prefix ?? null };
}

async function whoami(ctx: Ctx, opts: { json?: boolean }): Promise<void> {
  const c = requireCredentials(ctx.io);
  const a = new Api(c.url, c.token, { tokenSource: c.source, configFile: configPath(ctx.io) });
  const user = await a.request('GET', '/api/user', userSchema);
  const token = await currentToken(a, c.config, c.source);
  const out = { url: c.url, user, token: { ...token, source: c.source }, configFile: configPath(ctx.io) };
  if (opts.json) return printJson(ctx, whoamiSchema, out);
  const st = styler(ctx.io, ctx.io.stdout);
  ctx.io.stdout.write(
    `${st.bold(user.name)} ${st.dim(`(${user.id})`)} on ${c.url}\n` +
      `token: ${token.name ? `"${token.name}"` : 'unnamed'}${token.id ? ` ${st.dim(`(${token.id})`)}` : ''}, from ${c.source === 'env' ? 'FSA_TOKEN' : out.configFile}\n`,
  );
}

async function projectsLs(ctx: Ctx, opts: { json?: boolean }): Promise<void> {
  const list = await api(ctx).request('GET', '/api/projects', projectListSchema);
  if (opts.json) return printJson(ctx, projectListSchema, list);
  if (list.length === 0) {
    ctx.io.stdout.write('No projects yet. Create one: fsa create NAME --wait\n');
    return;
  }
  ctx.io.stdout.write(table(['ID', 'NAME', 'STATUS', 'CREATED'], list.map((p) => [p.id, p.name, p.status, ago(p.createdAt)])));
}

interface WaitFlags {
  wait?: boolean;
  timeout: number;
  quiet?: boolean;
  json?: boolean;
}

async function waitWithProgress(ctx: Ctx, a: Api, project: { id: string; name: string }, target: Target, flags: WaitFlags, baselineError: ProjectView['lastError'] = null) {
  const display = flags.quiet ? null : new ProgressDisplay(ctx.io, ctx.io.stderr, { label: ctx.io.stderr.isTTY ? undefined : project.name });
  try {
    return await waitForStatus(ctx.io, a, project, target, { timeoutMs: flags.timeout * 1000, baselineError, display, signal: ctx.interruptible() });
  } finally {
    display?.done();
  }
}

async function create(ctx: Ctx, name: string, opts: WaitFlags & { description?: string }): Promise<void> {
  const a = api(ctx);
  const created = await a.request('POST', '/api/projects', projectViewSchema, { body: { name, ...(opts.description !== undefined ? { description: opts.description } : {}) } });
  const st = styler(ctx.io, ctx.io.stdout);
  if (!opts.wait) {
    if (opts.json) return printJson(ctx, statusOutputSchema, statusOutput(created));
    ctx.io.stdout.write(`Created ${st.bold(created.name)} (${created.id}), ${created.status}.\nFollow it: fsa status ${created.id} --watch\n`);
    return;
  }
  if (!opts.json && !opts.quiet) ctx.io.stderr.write(`Created ${created.name} (${created.id}); waiting for RUNNING…\n`);
  const final = (await waitWithProgress(ctx, a, created, 'RUNNING', opts))!;
  if (opts.json) return printJson(ctx, statusOutputSchema, statusOutput(final));
  ctx.io.stdout.write(`${st.bold(final.name)} (${final.id}) is ${st.green('RUNNING')}${final.sandbox.publicUrl ? `: ${final.sandbox.publicUrl}` : ''}\n`);
}

const TARGET: Record<'start' | 'stop' | 'delete', Target> = { start: 'RUNNING', stop: 'STOPPED', delete: 'TERMINATED' };
const VERB: Record<'start' | 'stop' | 'delete', string> = { start: 'Start', stop: 'Stop', delete: 'Delete' };

async function act(ctx: Ctx, action: 'start' | 'stop' | 'delete', ref: string, opts: WaitFlags & { yes?: boolean }): Promise<void> {
  const a = api(ctx);
  const project = await resolveProject(a, ref);
  if (action === 'delete' && !opts.yes && ctx.io.stdin.isTTY && ctx.io.stderr.isTTY) {
    const ok = await confirm(ctx.io, `Delete ${project.name} (${project.id}) with its sandbox, database and volumes? This cannot be undone.`);
    if (!ok) throw new CliError('not deleted', EXIT.ERROR, 'pass --yes to delete without being asked', 'cancelled');
  }
  const before = opts.wait ? await getProjectView(a, project.id).catch(() => null) : null;
  await a.request('POST', pathOf(project.id, `/${action}`), signalAnswerSchema, { notFoundFix: NOT_FOUND_FIX });
  let status: ProjectView['status'];
  if (opts.wait) {
    const final = await waitWithProgress(ctx, a, project, TARGET[action], opts, before?.lastError ?? null);
    status = final?.status ?? 'TERMINATED';
  } else {
    status = await getProjectView(a, project.id).then(
      (v) => v.status,
      (err: unknown) => {
        if (err instanceof CliError && err.status === 404) return 'TERMINATED' as const;
        throw err;
      },
    );
  }
  if (opts.json) return printJson(ctx, actionOutputSchema, { id: project.id, name: project.name, action, accepted: true, waited: !!opts.wait, status });
  const st = styler(ctx.io, ctx.io.stdout);
  if (opts.wait) {
    ctx.io.stdout.write(action === 'delete' ? `${st.bold(project.name)} (${project.id}) is deleted.\n` : `${st.bold(project.name)} (${project.id}) is ${status}.\n`);
  } else {
    ctx.io.stdout.write(`${VERB[action]} requested for ${st.bold(project.name)} (${project.id}); it is ${status}. Follow it: fsa status ${project.id} --watch\n`);
  }
}

async function status(ctx: Ctx, ref: string, opts: { watch?: boolean; json?: boolean }): Promise<void> {
  const a = api(ctx);
  const project = await resolveProject(a, ref);
  if (!opts.watch) {
    const view = await getProjectView(a, project.id);
    if (opts.json) return printJson(ctx, statusOutputSchema, statusOutput(view));
    ctx.io.stdout.write(renderStatus(ctx.io, ctx.io.stdout, view).join('\n') + '\n');
    return;
  }
  const signal = ctx.interruptible();
  const display = opts.json ? null : new ProgressDisplay(ctx.io, ctx.io.stdout, { label: ctx.io.stdout.isTTY ? undefined : project.name });
  try {
    for await (const snap of watchProject(a, project.id, { signal, onReconnect: (n) => display?.note(`status stream dropped; reconnecting (${n})`) })) {
      if (snap.kind === 'deleted') {
        if (opts.json) printJson(ctx, watchLineSchema, { id: snap.id, status: 'TERMINATED', deleted: true, updatedAt: snap.updatedAt }, true);
        display?.done(`${project.name} was deleted.`);
        return;
      }
      if (opts.json) printJson(ctx, watchLineSchema, statusOutput(snap.view), true);
      else display!.update(snap.view);
    }
  } finally {
    display?.done();
  }
  if (signal.aborted) throw new CliError('interrupted', EXIT.INTERRUPTED, undefined, 'interrupted');
}

function projectRef(ctx: Ctx, positional: string | undefined, opts: { project?: string }): string {
  const ref = positional ?? opts.project ?? ctx.io.env.FSA_PROJECT;
  if (!ref) throw usage('which project?', 'pass --project ID|NAME (or set FSA_PROJECT)');
  return ref;
}

async function envLs(ctx: Ctx, positional: string | undefined, opts: { project?: string; json?: boolean }): Promise<void> {
  const a = api(ctx);
  const project = await resolveProject(a, projectRef(ctx, positional, opts));
  const list = await a.request('GET', pathOf(project.id, '/environment'), envListSchema, { notFoundFix: NOT_FOUND_FIX });
  if (opts.json) return printJson(ctx, envListSchema, list);
  if (list.length === 0) {
    ctx.io.stdout.write(`${project.name} has no environment variables. Add one: fsa env set -p ${project.id} KEY=VALUE\n`);
    return;
  }
  ctx.io.stdout.write(table(['KEY', 'VALUE', 'CATEGORY', 'SECRET'], list.map((e) => [e.key, e.value, e.category, e.isSecret ? 'yes' : 'no'])));
}

const SECRET_ON_ARGV =
  'secret values are not taken from the command line (they would stay in the shell history and the process list)';

async function envSet(ctx: Ctx, assignment: string, opts: { project?: string; secret?: boolean; category?: string; json?: boolean }): Promise<void> {
  const { io } = ctx;
  const eq = assignment.indexOf('=');
  const key = eq < 0 ? assignment : assignment.slice(0, eq);
  let value = eq < 0 ? undefined : assignment.slice(eq + 1);
  if (!key) throw usage('no variable name', 'fsa env set KEY=VALUE, or KEY alone to be asked for the value');
  const a = api(ctx);
  const project = await resolveProject(a, projectRef(ctx, undefined, opts));
  const list = await a.request('GET', pathOf(project.id, '/environment'), envListSchema, { notFoundFix: NOT_FOUND_FIX });
  const existing = list.find((e) => e.key === key);
  const secret = opts.secret === true || opts.category === 'secret' || (opts.secret === undefined && !!existing?.isSecret);
  if (value !== undefined && secret) {
    throw usage(`${key}${existing?.isSecret && !opts.secret ? ' is a secret: its' : ':'} ${SECRET_ON_ARGV}`, `run fsa env set -p ${project.id} ${key}${opts.secret ? ' --secret' : ''} and type the value when asked, or pipe it: printf %s "$VALUE" | fsa env set -p ${project.id} ${key}${opts.secret ? ' --secret' : ''}`);
  }
  if (value === undefined) {
    if (io.stdin.isTTY) value = secret ? await askHidden(io, `Value of ${key} (hidden): `) : await ask(io, `Value of ${key}: `);
    else value = await readStdin(io);
  }
  let row: z.infer<typeof envVarSchema>;
  let action: 'created' | 'updated';
  if (existing) {
    row = await a.request('PUT', pathOf(project.id, `/environment/${encodeURIComponent(existing.id)}`), envVarSchema, {
      body: { value, ...(opts.category ? { category: opts.category } : {}), ...(opts.secret !== undefined ? { isSecret: opts.secret } : {}) },
    });
    action = 'updated';
  } else {
    row = await a.request('POST', pathOf(project.id, '/environment'), envVarSchema, {
      body: { key, value, category: opts.category ?? (secret ? 'secret' : 'general'), ...(secret ? { isSecret: true } : {}) },
    });
    action = 'created';
  }
  if (opts.json) return printJson(ctx, envSetOutputSchema, { ...row, action });
  io.stdout.write(
    `${action === 'created' ? 'Added' : 'Updated'} ${row.key} ${action === 'created' ? 'to' : 'on'} ${project.name} (category ${row.category}${row.isSecret ? ', value hidden' : ''}); the sandbox is rolled with it.\n`,
  );
}

async function envRm(ctx: Ctx, key: string, opts: { project?: string; json?: boolean }): Promise<void> {
  const a = api(ctx);
  const project = await resolveProject(a, projectRef(ctx, undefined, opts));
  const list = await a.request('GET', pathOf(project.id, '/environment'), envListSchema, { notFoundFix: NOT_FOUND_FIX });
  const existing = list.find((e) => e.key === key);
  if (!existing) throw new CliError(`${project.name} has no variable ${key}`, EXIT.NOT_FOUND, `fsa env ls -p ${project.id} lists them`, 'not_found', 404);
  await a.request('DELETE', pathOf(project.id, `/environment/${encodeURIComponent(existing.id)}`), envRmOutputSchema.pick({ id: true, deleted: true }));
  if (opts.json) return printJson(ctx, envRmOutputSchema, { id: existing.id, key, deleted: true });
  ctx.io.stdout.write(`Removed ${key} from ${project.name}.\n`);
}

async function shell(ctx: Ctx, ref: string, opts: { session?: string; timeout: number; quiet?: boolean }): Promise<number> {
  const a = api(ctx);
  const project: ProjectSummary = await resolveProject(a, ref);
  if (opts.session !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(opts.session)) throw usage('--session: use 1 to 64 of A-Z a-z 0-9 _ -');
  return openShell(ctx.io, a, project, { session: opts.session, signal: ctx.interruptible(), timeoutMs: opts.timeout * 1000, quiet: !!opts.quiet });
}

async function tokensLs(ctx: Ctx, opts: { json?: boolean }): Promise<void> {
  const c = requireCredentials(ctx.io);
  const a = new Api(c.url, c.token, { tokenSource: c.source, configFile: configPath(ctx.io) });
  const tokens = await a.request('GET', '/api/tokens', tokenSchema.array());
  const cur = await currentToken(a, c.config, c.source).catch(() => ({ id: null }));
  const rows = tokens.map((t) => ({ ...t, current: t.id === cur.id }));
  if (opts.json) return printJson(ctx, tokenListSchema, rows);
  if (rows.length === 0) return void ctx.io.stdout.write('No API tokens.\n');
  ctx.io.stdout.write(
    table(
      ['ID', 'NAME', 'PREFIX', 'CREATED', 'LAST USED', ''],
      rows.map((t) => [t.id, t.name, `${t.prefix}…`, ago(t.createdAt), ago(t.lastUsedAt), t.current ? '(this CLI)' : '']),
    ),
  );
}

async function tokensCreate(ctx: Ctx, name: string, opts: { json?: boolean }): Promise<void> {
  const created = await api(ctx).request('POST', '/api/tokens', tokenCreatedSchema, { body: { name } });
  if (opts.json) return printJson(ctx, tokenCreatedSchema, created);
  ctx.io.stderr.write(`Created token "${created.name}" (${created.id}). It is shown this once; store it somewhere safe:\n`);
  ctx.io.stdout.write(`${created.token}\n`);
}

async function tokensRevoke(ctx: Ctx, ref: string, opts: { json?: boolean }): Promise<void> {
  const c = requireCredentials(ctx.io);
  const a = new Api(c.url, c.token, { tokenSource: c.source, configFile: configPath(ctx.io) });
  const tokens = await a.request('GET', '/api/tokens', tokenSchema.array());
  let target = tokens.find((t) => t.id === ref);
  if (!target) {
    const byName = tokens.filter((t) => t.name === ref);
    if (byName.length > 1) throw new CliError(`${byName.length} tokens are named "${ref}"`, EXIT.USAGE, 'pass the id (fsa tokens ls)', 'ambiguous');
    target = byName[0];
  }
  if (!target) throw new CliError(`no token "${ref}"`, EXIT.NOT_FOUND, 'fsa tokens ls lists your tokens', 'not_found', 404);
  const cur = await currentToken(a, c.config, c.source).catch(() => ({ id: null }));
  const done = await a.request('DELETE', `/api/tokens/${encodeURIComponent(target.id)}`, tokenRevokedSchema, { notFoundFix: 'fsa tokens ls lists your tokens' });
  if (opts.json) printJson(ctx, tokenRevokedSchema, done);
  else ctx.io.stdout.write(`Revoked token "${target.name}" (${target.id}).\n`);
  if (cur.id === target.id) ctx.io.stderr.write('fsa: that was the token this CLI signs in with; run fsa login to sign in again.\n');
}

// ---------------------------------------------------------------------------------------
// The program

function buildProgram(ctx: Ctx, setExit: (code: number) => void): Command {
  const program = new Command('fsa');
  program
    .description('FullstackAgent from the command line: projects, their status, environment, terminal and API tokens.')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .showHelpAfterError('(fsa --help lists the commands)')
    .configureOutput({
      writeOut: (s) => void ctx.io.stdout.write(s),
      writeErr: (s) => void ctx.io.stderr.write(s),
      outputError: (s, write) => write(`fsa: ${s.replace(/^error: /, '')}`),
    })
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict, 5 timeout, 130 interrupted.
Configuration: $XDG_CONFIG_HOME/fsa/config.json (default ~/.config/fsa/config.json);
FSA_URL and FSA_TOKEN override it. Every read command takes --json (shapes: README.md).`,
    );

  const jsonOpt = () => new Option('--json', 'print JSON (documented, stable shape)');
  const waitOpts = (c: Command) =>
    c
      .option('--wait', 'wait until the project reaches the state (progress on stderr)')
      .addOption(new Option('--timeout <seconds>', 'how long --wait waits').argParser(parseTimeout).default(DEFAULT_TIMEOUT_S))
      .option('-q, --quiet', 'no progress display')
      .addOption(jsonOpt());

  program
    .command('login')
    .description('sign in (username and password, or a pasted API token) and store an API token for the CLI')
    .option('--url <url>', `address of the web app (default: the stored one, FSA_URL or ${DEFAULT_URL})`)
    .option('-u, --username <name>', 'username (asked for when omitted); the password is asked for, or read from stdin')
    .option('--with-token', 'sign in with an existing API token (asked for, or read from stdin)')
    .option('--token-name <name>', 'name of the API token created for this CLI (default "fsa CLI on <host>")')
    .addOption(jsonOpt())
    .action((opts) => login(ctx, opts));

  program
    .command('logout')
    .description('forget the stored token (and revoke it, if fsa login created it)')
    .option('--keep-token', 'do not revoke the token on the server')
    .option('--revoke', 'revoke the token even if it was pasted in')
    .addOption(jsonOpt())
    .action((opts) => logout(ctx, opts));

  program.command('whoami').description('who the CLI is signed in as, where, and with which token').addOption(jsonOpt()).action((opts) => whoami(ctx, opts));

  const projects = program.command('projects').description('list projects');
  projects.command('ls').alias('list').description('list your projects').addOption(jsonOpt()).action((opts) => projectsLs(ctx, opts));
  program.command('ls', { hidden: true }).addOption(jsonOpt()).action((opts) => projectsLs(ctx, opts));

  waitOpts(program.command('create').argument('<name>', 'display name (1-64 characters, unique among your projects)').description('create a project (sandbox and database)'))
    .option('-d, --description <text>', 'description')
    .action((name: string, opts) => create(ctx, name, opts));

  for (const action of ['start', 'stop', 'delete'] as const) {
    const c = waitOpts(
      program
        .command(action)
        .argument('<project>', 'project id or name')
        .description(
          action === 'start'
            ? 'start a stopped project (or retry one in ERROR)'
            : action === 'stop'
              ? 'stop a project (scale to zero; nothing is lost)'
              : 'delete a project with its sandbox, database and volumes',
        ),
    );
    if (action === 'delete') c.option('-y, --yes', 'do not ask for confirmation');
    c.action((ref: string, opts) => act(ctx, action, ref, opts));
  }

  program
    .command('status')
    .argument('<project>', 'project id or name')
    .description('status and stages of a project; --watch follows it live')
    .option('-w, --watch', 'follow the status stream (Ctrl-C to stop)')
    .addOption(jsonOpt())
    .action((ref: string, opts) => status(ctx, ref, opts));

  const env = program.command('env').description("a project's environment variables");
  const projectOpt = () => new Option('-p, --project <project>', 'project id or name (default: FSA_PROJECT)');
  env
    .command('ls')
    .alias('list')
    .argument('[project]', 'project id or name')
    .addOption(projectOpt())
    .addOption(jsonOpt())
    .description('list variables (secret values are masked)')
    .action((ref: string | undefined, opts) => envLs(ctx, ref, opts));
  env
    .command('set')
    .argument('<KEY[=VALUE]>', 'name and value; without =VALUE the value is asked for, or read from stdin')
    .addOption(projectOpt())
    .option('--secret', 'store the value encrypted and masked (never given on the command line)')
    .option('--no-secret', 'make a secret variable plain again (with a new value)')
    .addOption(new Option('--category <category>', 'category').choices(['general', 'auth', 'payment', 'secret']))
    .addOption(jsonOpt())
    .description('add or update a variable (the sandbox restarts with it)')
    .action((assignment: string, opts) => envSet(ctx, assignment, opts));
  env
    .command('rm')
    .alias('remove')
    .argument('<KEY>', 'name')
    .addOption(projectOpt())
    .addOption(jsonOpt())
    .description('remove a variable')
    .action((key: string, opts) => envRm(ctx, key, opts));

  program
    .command('shell')
    .argument('<project>', 'project id or name')
    .description("open the project's terminal here (starts a stopped project first)")
    .option('--session <id>', 'terminal session id (default: a new one)')
    .addOption(new Option('--timeout <seconds>', 'how long to wait for the project to be RUNNING').argParser(parseTimeout).default(DEFAULT_TIMEOUT_S))
    .option('-q, --quiet', 'no progress display')
    .action(async (ref: string, opts) => setExit(await shell(ctx, ref, opts)));

  const tokens = program.command('tokens').description('API tokens for scripts');
  tokens.command('ls').alias('list').description('list your API tokens').addOption(jsonOpt()).action((opts) => tokensLs(ctx, opts));
  tokens.command('create').argument('<name>', 'what uses it, e.g. "ci deploy"').description('create a token (shown once)').addOption(jsonOpt()).action((name: string, opts) => tokensCreate(ctx, name, opts));
  tokens.command('revoke').argument('<token>', 'token id (or its unique name)').description('revoke a token').addOption(jsonOpt()).action((ref: string, opts) => tokensRevoke(ctx, ref, opts));

  return program;
}

function printError(io: CliIO, err: CliError, json: boolean): void {
  if (json) {
    const body = errorOutputSchema.parse({ error: { code: err.code, message: err.message, fix: err.fix ?? null, status: err.status ?? null, exitCode: err.exitCode } });
    io.stderr.write(JSON.stringify(body) + '\n');
    return;
  }
  const st = styler(io, io.stderr);
  io.stderr.write(`${st.red('fsa:')} ${err.message}\n${err.fix ? `  ${st.dim('fix:')} ${err.fix}\n` : ''}`);
}

/** Runs one command line; resolves with the exit code (never exits the process itself). */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const interrupt = new AbortController();
  const unsubscribe: (() => void)[] = [];
  const ctx: Ctx = {
    io,
    interruptible() {
      if (unsubscribe.length === 0) {
        for (const sig of ['SIGINT', 'SIGTERM'] as const) unsubscribe.push(io.onSignal(sig, () => interrupt.abort()));
      }
      return interrupt.signal;
    },
  };
  let exit: number = EXIT.OK;
  const json = argv.includes('--json');
  try {
    await buildProgram(ctx, (code) => (exit = code)).parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.OK;
      return EXIT.USAGE; // commander already printed what is wrong
    }
    if (err instanceof CliError) {
      if (err.exitCode !== EXIT.INTERRUPTED || err.fix) printError(io, err, json);
      return err.exitCode;
    }
    printError(io, new CliError(`unexpected failure: ${(err as Error)?.stack ?? String(err)}`, EXIT.ERROR, 'this is a bug in fsa; please report it with the command you ran', 'internal'), json);
    return EXIT.ERROR;
  } finally {
    for (const u of unsubscribe) u();
  }
  return exit;
}
