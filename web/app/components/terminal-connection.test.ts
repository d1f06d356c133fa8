// TerminalConnection's decisions (reconnect, ended, stopped, signed out) with a scripted
// socket in place of the browser's WebSocket.
import { TERMINAL_CLOSE } from '../../server/terminal/browser-protocol';
import { TerminalConnection, backoffDelay, probeProject, type ConnectionState, type ProbeResult } from './terminal-connection';

class FakeSocket {
  static all: FakeSocket[] = [];
  binaryType = '';
  readyState = 0;
  sent: (string | Uint8Array)[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  serverClose(code: number, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  send(data: string | Uint8Array) {
    this.sent.push(data);
  }
  close() {
    this.readyState = 3;
  }
}

function setup(probe: () => Promise<ProbeResult> = async () => ({ kind: 'running' })) {
  FakeSocket.all = [];
  const states: ConnectionState[] = [];
  const output: Uint8Array[] = [];
  const conn = new TerminalConnection({
    projectId: 'p1',
    session: 'tab-1',
    origin: 'ws://web.test',
    size: () => ({ columns: 100, rows: 30 }),
    onOutput: (b) => output.push(b),
    onState: (s) => states.push(s),
    probe,
    createSocket: (url) => new FakeSocket(url),
    backoff: { baseMs: 1, maxMs: 4 },
  });
  return { conn, states, output, socket: (i: number) => FakeSocket.all[i]! };
}

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

describe('backoffDelay', () => {
  it('doubles from the base up to the cap, with jitter between half and all of it', () => {
    const opts = { baseMs: 500, maxMs: 15_000 };
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, opts, () => 1))).toEqual([500, 1000, 2000, 4000]);
    expect(backoffDelay(10, opts, () => 1)).toBe(15_000);
    expect(backoffDelay(10, opts, () => 0)).toBe(7_500);
    expect(backoffDelay(1000, opts, () => 0.5)).toBe(11_250);
  });
});

describe('TerminalConnection', () => {
  it('connects with the size and session in the URL, sends input as bytes and resize as JSON', () => {
    const { conn, states, output, socket } = setup();
    conn.start();
    // Opening the page may wake a stopped project; see the reconnect test for the opposite.
    expect(socket(0).url).toBe('ws://web.test/api/projects/p1/terminal?cols=100&rows=30&session=tab-1&wake=1');
    socket(0).open();
    expect(states.at(-1)).toEqual({ kind: 'open' });
    conn.sendInput('ls\r');
    conn.resize({ columns: 120, rows: 40 });
    expect(socket(0).sent.at(-2)).toEqual(new TextEncoder().encode('ls\r'));
    expect(socket(0).sent.at(-1)).toBe('{"type":"resize","columns":120,"rows":40}');
    socket(0).onmessage?.({ data: new Uint8Array([0xff, 0x41]).buffer });
    expect(output).toEqual([new Uint8Array([0xff, 0x41])]);
    conn.dispose();
  });

  it('reconnects with backoff after a drop', async () => {
    const { conn, states, socket } = setup();
    conn.start();
    socket(0).open();
    socket(0).serverClose(TERMINAL_CLOSE.UPSTREAM_DROPPED, 'the sandbox terminal disconnected');
    expect(states.at(-1)).toMatchObject({ kind: 'retrying', attempt: 0, reason: 'the sandbox terminal disconnected' });
    await tick();
    expect(FakeSocket.all).toHaveLength(2);
    // An automatic reconnect never asks to wake the project (a tab left open after a stop).
    expect(socket(1).url).not.toContain('wake=1');
    socket(1).open();
    expect(states.at(-1)).toEqual({ kind: 'open' });
    conn.dispose();
  });

  it('waits for the user after the shell exits, then starts a new one', () => {
    const { conn, states, socket } = setup();
    conn.start();
    socket(0).open();
    socket(0).serverClose(TERMINAL_CLOSE.SESSION_ENDED, 'terminal session ended');
    expect(states.at(-1)).toEqual({ kind: 'ended', reason: 'terminal session ended' });
    expect(FakeSocket.all).toHaveLength(1);
    conn.reconnectNow();
    expect(FakeSocket.all).toHaveLength(2);
    conn.dispose();
  });

  it('a refused upgrade of a stopped sandbox shows "stopped" and connects once it runs', async () => {
    let status: ProbeResult = { kind: 'not_running', status: 'STOPPED' };
    const { conn, states, socket } = setup(async () => status);
    conn.start();
    socket(0).serverClose(1006);
    await tick();
    expect(states.at(-1)).toEqual({ kind: 'stopped', status: 'STOPPED' });
    status = { kind: 'running' };
    conn.checkNow();
    await tick();
    expect(FakeSocket.all).toHaveLength(2);
    socket(1).open();
    expect(states.at(-1)).toEqual({ kind: 'open' });
    conn.dispose();
  });

  it('a refused upgrade when signed out stops retrying', async () => {
    const { conn, states, socket } = setup(async () => ({ kind: 'unauthorized' }));
    conn.start();
    socket(0).serverClose(1006);
    await tick(50);
    expect(states.at(-1)).toEqual({ kind: 'unauthorized' });
    expect(FakeSocket.all).toHaveLength(1);
    conn.dispose();
  });

  it('dispose stops every timer and reconnect', async () => {
    const { conn, socket } = setup();
    conn.start();
    socket(0).open();
    socket(0).serverClose(TERMINAL_CLOSE.UPSTREAM_DROPPED);
    conn.dispose();
    await tick();
    expect(FakeSocket.all).toHaveLength(1);
  });
});

describe('probeProject', () => {
  const respond = (status: number, body: unknown) => (async () => new Response(JSON.stringify(body), { status })) as unknown as typeof fetch;
  it('reads the project API status', async () => {
    expect(await probeProject('p', respond(200, { status: 'RUNNING' }))).toEqual({ kind: 'running' });
    expect(await probeProject('p', respond(200, { status: 'STOPPED' }))).toEqual({ kind: 'not_running', status: 'STOPPED' });
    expect(await probeProject('p', respond(401, {}))).toEqual({ kind: 'unauthorized' });
    expect(await probeProject('p', respond(404, {}))).toEqual({ kind: 'not_found' });
    expect(await probeProject('p', respond(503, {}))).toEqual({ kind: 'unknown' });
  });
});
