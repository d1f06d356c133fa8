// A ttyd stand-in for tests (ttyd is not installable on these machines): a real WebSocket
// server on /ws that speaks ttyd 1.7's protocol and enforces what ttyd enforces — the
// "tty" subprotocol, HTTP basic auth on the upgrade and the AuthToken of the first
// message. Mode "echo" sends input back as output; mode "shell" runs bash in a real pty
// (util-linux `script`), so a browser test can run commands. Everything it sees is recorded.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import {
  TTYD_SERVER,
  TTYD_SUBPROTOCOL,
  decodeClientFrame,
  ttydCredential,
  type TerminalSize,
} from '../web/server/terminal/ttyd-protocol';

export interface TtydPeerOptions {
  token: string;
  user?: string;
  mode?: 'echo' | 'shell';
  title?: string;
  preferences?: Record<string, unknown>;
}

export interface PeerConnection {
  /** ?arg= values of the upgrade URL (ttyd -a passes them to the command). */
  args: string[];
  init: TerminalSize | undefined;
  authenticated: boolean;
  resizes: TerminalSize[];
  /** Input bytes as received, one entry per input frame. */
  inputs: Buffer[];
  pauses: number;
  resumes: number;
  closed: Promise<{ code: number }>;
  socket: WebSocket;
}

export interface TtydPeer {
  /** ws://127.0.0.1:<port>/ws */
  url: string;
  /** http://127.0.0.1:<port> (what a Sandbox row's ttydUrl would hold) */
  httpUrl: string;
  connections: PeerConnection[];
  /** Upgrade attempts refused before the WebSocket opened, with the reason. */
  refusals: string[];
  /** Next connection, once its first message (AuthToken) arrived. */
  nextConnection(): Promise<PeerConnection>;
  /** Cuts every connection without a close frame, as a dying pod would. */
  dropAll(): void;
  /** Sends raw output bytes to every authenticated connection. */
  broadcastOutput(data: Buffer): void;
  close(): Promise<void>;
}

function frame(command: string, payload: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from(command, 'ascii'), Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8')]);
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export async function startTtydPeer(opts: TtydPeerOptions): Promise<TtydPeer> {
  const user = opts.user ?? 'user';
  const credential = ttydCredential(user, opts.token);
  const connections: PeerConnection[] = [];
  const refusals: string[] = [];
  const waiters: ((c: PeerConnection) => void)[] = [];
  const children = new Set<ChildProcess>();

  const server = http.createServer((_req, res) => {
    res.writeHead(404).end();
  });
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has(TTYD_SUBPROTOCOL) ? TTYD_SUBPROTOCOL : false),
  });

  const refuse = (socket: import('node:stream').Duplex, status: number, reason: string) => {
    refusals.push(reason);
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nWWW-Authenticate: Basic realm="ttyd"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
  };

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://peer');
    if (url.pathname !== '/ws') return refuse(socket, 404, `path ${url.pathname}`);
    if (req.headers.authorization !== `Basic ${credential}`) return refuse(socket, 401, 'basic auth');
    const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!protocols.includes(TTYD_SUBPROTOCOL)) return refuse(socket, 400, 'subprotocol');
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, url.searchParams.getAll('arg')));
  });

  function onConnection(ws: WebSocket, args: string[]) {
    let resolveClosed!: (v: { code: number }) => void;
    const conn: PeerConnection = {
      args,
      init: undefined,
      authenticated: false,
      resizes: [],
      inputs: [],
      pauses: 0,
      resumes: 0,
      closed: new Promise((r) => (resolveClosed = r)),
      socket: ws,
    };
    connections.push(conn);
    let shell: ChildProcess | undefined;
    ws.on('close', (code) => {
      shell?.kill('SIGKILL');
      resolveClosed({ code });
    });

    const output = (data: Buffer) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(frame(TTYD_SERVER.OUTPUT, data));
    };

    ws.on('message', (data) => {
      const msg = decodeClientFrame(toBuffer(data));
      if (!conn.authenticated) {
        // ttyd: the first message must be the JSON init with the right AuthToken.
        if (msg.type !== 'init' || msg.authToken !== credential) {
          refusals.push('AuthToken');
          ws.close(1008, 'unauthorized');
          return;
        }
        conn.authenticated = true;
        conn.init = msg.size;
        ws.send(frame(TTYD_SERVER.SET_WINDOW_TITLE, opts.title ?? 'bash (ttyd-peer)'));
        ws.send(frame(TTYD_SERVER.SET_PREFERENCES, JSON.stringify(opts.preferences ?? { fontSize: 14, theme: { background: '#1e1e1e' } })));
        if (opts.mode === 'shell') shell = startShell(output, () => ws.close(1000));
        const w = waiters.shift();
        if (w) w(conn);
        return;
      }
      switch (msg.type) {
        case 'input':
          conn.inputs.push(Buffer.from(msg.data));
          if (shell) shell.stdin?.write(msg.data);
          else output(msg.data);
          break;
        case 'resize':
          conn.resizes.push(msg.size);
          break;
        case 'pause':
          conn.pauses++;
          break;
        case 'resume':
          conn.resumes++;
          break;
        default:
          break;
      }
    });
  }

  function startShell(output: (b: Buffer) => void, onExit: () => void): ChildProcess {
    // `script` gives bash a real pty, so it echoes, edits lines and prints prompts.
    const child = spawn('script', ['-qfc', 'bash --norc --noprofile -i', '/dev/null'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm-256color', PS1: 'peer$ ', LANG: 'C.UTF-8' } as Record<string, string | undefined> as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.add(child);
    child.stdout?.on('data', (b: Buffer) => output(b));
    child.stderr?.on('data', (b: Buffer) => output(b));
    child.on('exit', () => {
      children.delete(child);
      onExit();
    });
    return child;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `ws://127.0.0.1:${port}/ws`,
    httpUrl: `http://127.0.0.1:${port}`,
    connections,
    refusals,
    nextConnection: () => new Promise((resolve) => waiters.push(resolve)),
    dropAll() {
      for (const c of connections) c.socket.terminate();
    },
    broadcastOutput(data) {
      for (const c of connections) if (c.authenticated && c.socket.readyState === WebSocket.OPEN) c.socket.send(frame(TTYD_SERVER.OUTPUT, data));
    },
    async close() {
      for (const child of children) child.kill('SIGKILL');
      for (const c of connections) c.socket.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
