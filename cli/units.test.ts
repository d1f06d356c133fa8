// The CLI's pure parts (SSE parsing, the config file, URLs, durations, rendering) and two
// guards: cli/ speaks only the public API (its imports), and README.md documents every
// --json shape in cli/schemas.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { configPath, normalizeUrl, readConfig, requireCredentials, writeConfig } from './config';
import { CliError, EXIT } from './errors';
import type { CliIO } from './io';
import { ProgressDisplay, formatDuration, renderStatus, statusOutput } from './render';
import { OUTPUTS, statusOutputSchema, type ProjectView } from './schemas';
import { parseSse, type SseEvent } from './sse';

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(new TextEncoder().encode(ch));
      c.close();
    },
  });
}

async function events(chunks: string[]): Promise<{ events: SseEvent[]; retry: number[] }> {
  const retry: number[] = [];
  const out: SseEvent[] = [];
  for await (const e of parseSse(streamOf(chunks), (ms) => retry.push(ms))) out.push(e);
  return { events: out, retry };
}

function testIO(env: Record<string, string> = {}): { io: CliIO; stderr: () => string } {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-unit-'));
  let err = '';
  const io: CliIO = {
    env: { XDG_CONFIG_HOME: path.join(home, 'cfg'), ...env },
    stdin: Readable.from([]),
    stdout: new Writable({ write: (_c, _e, cb) => cb() }),
    stderr: new Writable({
      write(c: Buffer, _e, cb) {
        err += c.toString();
        cb();
      },
    }),
    onSignal: () => () => undefined,
    homedir: home,
    hostname: 'unit',
  };
  return { io, stderr: () => err };
}

describe('SSE parsing', () => {
  it('reads events split anywhere, CRLF or LF, comments, multi-line data, names, ids and retry', async () => {
    const r = await events(['retry: 3000\n\n: heartbeat\n\nid: 1\nda', 'ta: {"a":1}\r', '\n\r\nevent: revoked\ndata: line1\ndata: line2\n\n', 'data: tail without end']);
    expect(r.retry).toEqual([3000]);
    expect(r.events).toEqual([
      { event: 'message', data: '{"a":1}', id: '1' },
      { event: 'revoked', data: 'line1\nline2', id: '1' },
    ]);
  });
});

describe('config file', () => {
  it('is written 0600 in a 0700 folder, atomically, under XDG_CONFIG_HOME (or ~/.config)', () => {
    const { io } = testIO();
    const file = writeConfig(io, { url: 'http://x', token: 'fsa_secret' });
    expect(file).toBe(path.join(io.env.XDG_CONFIG_HOME!, 'fsa', 'config.json'));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['config.json']);
    expect(readConfig(io)).toEqual({ url: 'http://x', token: 'fsa_secret' });
    const { io: plain } = testIO();
    delete plain.env.XDG_CONFIG_HOME;
    expect(configPath(plain)).toBe(path.join(plain.homedir, '.config', 'fsa', 'config.json'));
    plain.env.XDG_CONFIG_HOME = 'relative/dir'; // invalid per the XDG spec: ignored
    expect(configPath(plain)).toBe(path.join(plain.homedir, '.config', 'fsa', 'config.json'));
  });

  it('a file readable by others is tightened to 0600, with a warning', () => {
    const { io, stderr } = testIO();
    const file = writeConfig(io, { url: 'http://x', token: 'fsa_secret' });
    fs.chmodSync(file, 0o644);
    readConfig(io);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(stderr()).toMatch(/was readable by other users \(mode 644\); its mode is now 600/);
    expect(stderr()).not.toContain('fsa_secret');
  });

  it('a broken file says how to recover', () => {
    const { io } = testIO();
    const file = writeConfig(io, { url: 'http://x' });
    fs.writeFileSync(file, '{nope');
    expect(() => readConfig(io)).toThrow(/is not valid JSON/);
  });

  it('the stored token is only sent to the server it was made for', () => {
    const { io } = testIO({ FSA_URL: 'https://other.example' });
    writeConfig(io, { url: 'https://fsa.example', token: 'fsa_secret' });
    expect(() => requireCredentials(io)).toThrow(/not signed in/);
    io.env.FSA_URL = 'https://fsa.example/';
    expect(requireCredentials(io)).toMatchObject({ url: 'https://fsa.example', token: 'fsa_secret', source: 'config' });
    io.env.FSA_TOKEN = 'fsa_env';
    expect(requireCredentials(io)).toMatchObject({ token: 'fsa_env', source: 'env' });
  });
});

describe('URLs', () => {
  it('normalizes and refuses what is not a web address', () => {
    expect(normalizeUrl('https://fsa.example.com/')).toBe('https://fsa.example.com');
    expect(normalizeUrl('localhost:3000')).toBe('http://localhost:3000');
    expect(normalizeUrl('https://h.example/base/?q=1#x')).toBe('https://h.example/base');
    for (const bad of ['ftp://h', 'https://user:pw@h', '::']) {
      try {
        normalizeUrl(bad);
        throw new Error(`accepted ${bad}`);
      } catch (err) {
        expect(err).toBeInstanceOf(CliError);
        expect((err as CliError).exitCode).toBe(EXIT.USAGE);
      }
    }
  });
});

const VIEW: ProjectView = {
  id: 'p1',
  name: 'demo',
  description: null,
  k8sName: 'demo-agentruntime-abcdef',
  createdAt: '2025-01-01T00:00:00.000Z',
  status: 'STARTING',
  desired: 'RUNNING',
  sandbox: { status: 'STARTING', publicUrl: 'https://app.example', ttydUrl: null },
  database: { status: 'RUNNING', host: 'db', port: 5432 },
  stages: [
    { name: 'database', state: 'done', startedAt: '2025-01-01T00:00:00.000Z', finishedAt: '2025-01-01T00:00:01.500Z' },
    { name: 'container', state: 'active', startedAt: '2025-01-01T00:00:01.500Z' },
    { name: 'network', state: 'pending' },
    { name: 'terminal', state: 'pending' },
    { name: 'ready', state: 'pending' },
  ],
  lastError: null,
  updatedAt: '2025-01-01T00:00:02.000Z',
  statusSource: 'workflow',
};

describe('rendering', () => {
  it('formats durations', () => {
    expect([0, 340, 12_345, 65_000, 3_600_000 + 120_000].map(formatDuration)).toEqual(['0.0s', '0.3s', '12.3s', '1m05s', '1h02m']);
  });

  it('--json stages carry their duration once finished', () => {
    const out = statusOutputSchema.parse(statusOutput(VIEW));
    expect(out.stages.map((s) => s.durationMs)).toEqual([1500, null, null, null, null]);
  });

  it('plain when piped (words), symbols and colours on a terminal, none with NO_COLOR', () => {
    const { io } = testIO();
    const now = Date.parse('2025-01-01T00:00:03.500Z');
    const plain = renderStatus(io, { isTTY: false } as never, VIEW, { now });
    expect(plain).toEqual([
      'demo (p1)',
      '  status    STARTING → RUNNING',
      '  sandbox   STARTING  https://app.example',
      '  database  RUNNING  db:5432',
      '  stages',
      '    done     database   1.5s',
      '    active   container  2.0s',
      '    pending  network',
      '    pending  terminal',
      '    pending  ready',
    ]);
    const tty = renderStatus(io, { isTTY: true } as never, VIEW, { now }).join('\n');
    expect(tty).toContain('\x1b[32m✓\x1b[39m database');
    io.env.NO_COLOR = '1';
    const noColor = renderStatus(io, { isTTY: true } as never, VIEW, { now }).join('\n');
    expect(noColor).not.toContain('\x1b[');
    expect(noColor).toContain('✓ database');
  });
});

describe('progress when piped', () => {
  it('one line per change: the first status, then stages starting, finishing or failing', () => {
    const { io } = testIO();
    let text = '';
    const stream = new Writable({
      write(c: Buffer, _e, cb) {
        text += c.toString();
        cb();
      },
    });
    const d = new ProgressDisplay(io, stream as never, { label: 'demo' });
    d.update(VIEW);
    const finished = structuredClone(VIEW);
    finished.stages[1] = { name: 'container', state: 'done', startedAt: '2025-01-01T00:00:01.500Z', finishedAt: '2025-01-01T00:00:02.000Z' };
    finished.stages[2] = { name: 'network', state: 'failed', startedAt: '2025-01-01T00:00:02.000Z' };
    finished.status = 'ERROR';
    finished.lastError = { message: 'ingress refused', at: '2025-01-01T00:00:03.000Z' };
    d.update(finished);
    d.update(finished); // no change, no line
    const stopped = structuredClone(finished);
    stopped.status = 'STOPPED';
    stopped.stages = stopped.stages.map((st) => ({ name: st.name, state: 'pending' as const }));
    d.update(stopped);
    d.done();
    expect(text.replace(/^\d\d:\d\d:\d\d /gm, '')).toBe(
      ['demo status STARTING', 'demo stage container active', 'demo status ERROR', 'demo stage container done 0.5s', 'demo stage network failed', 'demo error ingress refused', 'demo status STOPPED', ''].join('\n'),
    );
  });
});

describe('guards', () => {
  it('cli/ speaks only the public API: no server, service or database modules', () => {
    const allowed = [/^node:/, /^commander$/, /^ws$/, /^zod$/, /^\.\/[\w-]+$/, /^\.\.\/common\/(lifecycle|status)$/, /^\.\.\/web\/server\/terminal\/browser-protocol$/];
    const files = fs.readdirSync('cli').filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const src = fs.readFileSync(path.join('cli', f), 'utf8');
      for (const m of src.matchAll(/^import\s[^'"]*['"]([^'"]+)['"]/gm)) {
        expect({ file: f, module: m[1], allowed: allowed.some((re) => re.test(m[1]!)) }).toEqual({ file: f, module: m[1], allowed: true });
      }
    }
  });

  it('README.md documents the CLI: every command with --json output and the exit codes', () => {
    const readme = fs.readFileSync('README.md', 'utf8');
    const start = readme.indexOf('## Command-line client');
    expect(start).toBeGreaterThanOrEqual(0);
    const next = readme.indexOf('\n## ', start + 1);
    const section = readme.slice(start, next < 0 ? undefined : next);
    for (const command of Object.keys(OUTPUTS)) expect({ command, documented: section.includes(`\`${command}\``) }).toEqual({ command, documented: true });
    for (const code of ['`0`', '`1`', '`2`', '`3`', '`4`', '`5`', '`130`']) expect(section).toContain(code);
  });
});
