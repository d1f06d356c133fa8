// WebSocket proxy from the terminal page to a sandbox's ttyd. The browser authenticates
// with its web session; the proxy checks ownership and RUNNING before the upgrade, then
// speaks ttyd's protocol upstream with the sandbox's token, which never leaves the server.
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Logger } from 'pino';
import { createLogger } from '../../../server/logger';
import { localhostAwareLookup } from '../../../server/localhost-lookup';
import { tooManyStreamsMessage, type StreamLease, type StreamRegistry } from '../streams';
import { TERMINAL_CLOSE, encodeServerControl, parseClientControl, parseTerminalQuery, type TerminalSize } from './browser-protocol';
import { TTYD_SUBPROTOCOL, basicAuthHeader, decodeServerFrame, encodeInit, encodeInput, encodePause, encodeResize, encodeResume, ttydCredential } from './ttyd-protocol';

export type TerminalTarget =
  | { kind: 'ok'; /** ws(s) URL of the sandbox ttyd /ws endpoint */ url: string; /** TTYD_ACCESS_TOKEN, plain */ token: string }
  | { kind: 'not_found' }
  | { kind: 'not_running'; status: string };

export interface TerminalProxyDeps {
  authenticate(req: IncomingMessage): Promise<{ userId: string } | null>;
  resolveTarget(userId: string, projectId: string): Promise<TerminalTarget>;
  logger?: Logger;
  /**
   * Origins allowed to open the terminal (cookies ride along on cross-site WebSocket
   * upgrades). Default: PUBLIC_URL's origin when `publicUrl` is set, else the Origin's host
   * must equal the request's Host. Requests without an Origin (scripts, not browsers) are
   * allowed.
   */
  allowedOrigins?: string[];
  /** PUBLIC_URL: the one origin browsers open the terminal from (the Host header may be a proxy's). */
  publicUrl?: string;
  /** Per-user cap on open streams and the periodic credential re-check (the web app's registry). */
  streams?: StreamRegistry;
  /** Ping interval towards the page; a page that misses a whole interval is dropped. */
  pingIntervalMs?: number;
  /** How long to wait for the sandbox's ttyd to accept the connection. */
  upstreamTimeoutMs?: number;
  /** Told of every frame of input or output (the idle auto-stop's activity; batched there). */
  activity?: { touch(projectId: string): void };
  /**
   * Wake on access: called when the project is STOPPED (or on its way up); starts it, waits
   * until it runs and returns the target then. Without it such a request is refused with 409.
   */
  wake?(user: { userId: string; actor?: unknown }, projectId: string): Promise<TerminalTarget>;
}

export interface TerminalProxy {
  /** Open terminal connections. */
  connections(): number;
  /** Closes every terminal connection and stops handling upgrades. */
  close(): Promise<void>;
}

/** Statuses from which opening the terminal starts the project and connects once it runs. */
const WAKES_FROM = new Set(['STOPPED', 'STOPPING', 'STARTING', 'UPDATING']);

export const TERMINAL_PATH = /^\/api\/projects\/([^/?#]+)\/terminal\/?$/;
const PROJECT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const TTYD_USER = 'user';
/** Output buffered towards a slow page before ttyd is asked to pause. */
const HIGH_WATER = 1 << 20;
const LOW_WATER = 1 << 16;

function refuse(socket: Duplex, status: number, code: string, message: string, details?: Record<string, unknown>): void {
  if (socket.destroyed || socket.writableEnded) return; // refuse once
  const body = JSON.stringify({ error: { code, message, ...(details ? { details } : {}) } });
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Cache-Control: no-store\r\n' +
      'Connection: close\r\n\r\n' +
      body,
  );
}

function originAllowed(req: IncomingMessage, allowed: string[] | undefined, publicOrigin: string | undefined): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  if (allowed) return allowed.includes(origin);
  try {
    const u = new URL(origin);
    if (publicOrigin) return u.origin === publicOrigin;
    return u.host === req.headers.host;
  } catch {
    return false;
  }
}

function closeReason(text: string): string {
  // WebSocket close reasons are at most 123 bytes.
  return Buffer.from(text).subarray(0, 123).toString('utf8');
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export function attachTerminalProxy(httpServer: Server, deps: TerminalProxyDeps): TerminalProxy {
  const log = deps.logger ?? createLogger('terminal-proxy');
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 1 << 20 });
  const live = new Set<{ client: WebSocket; upstream: WebSocket }>();
  const pingIntervalMs = deps.pingIntervalMs ?? 30_000;
  const upstreamTimeoutMs = deps.upstreamTimeoutMs ?? 10_000;
  const publicOrigin = deps.publicUrl ? new URL(deps.publicUrl).origin : undefined;
  let closing = false;

  async function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://placeholder');
    const match = TERMINAL_PATH.exec(url.pathname);
    if (!match) return; // another upgrade handler's path (e.g. the dev server's HMR)

    socket.on('error', () => socket.destroy());
    if (closing) return refuse(socket, 503, 'unavailable', 'The server is shutting down.');
    if (!originAllowed(req, deps.allowedOrigins, publicOrigin)) return refuse(socket, 403, 'forbidden', 'This origin may not open the terminal.');

    let projectId: string;
    try {
      projectId = decodeURIComponent(match[1]!);
    } catch {
      return refuse(socket, 404, 'not_found', 'Project not found.');
    }
    if (!PROJECT_ID.test(projectId)) return refuse(socket, 404, 'not_found', 'Project not found.');

    let target: TerminalTarget;
    let userId: string;
    try {
      const user = await deps.authenticate(req);
      if (!user) return refuse(socket, 401, 'unauthorized', 'Sign in to open the terminal.');
      userId = user.userId;
      target = await deps.resolveTarget(user.userId, projectId);
      if (target.kind === 'not_running' && deps.wake && parseTerminalQuery(url.searchParams).wake && WAKES_FROM.has(target.status)) {
        log.info({ projectId, status: target.status }, 'terminal: waking the project');
        target = await deps.wake(user, projectId);
      }
    } catch (err) {
      const e = err as { status?: number; code?: string; message?: string };
      if (typeof e?.status === 'number' && e.code) return refuse(socket, e.status, e.code, e.message ?? 'Could not open the terminal.');
      log.error({ err, projectId }, 'terminal: authentication or project lookup failed');
      return refuse(socket, 500, 'internal', 'Could not open the terminal.');
    }
    if (target.kind === 'not_found') return refuse(socket, 404, 'not_found', 'Project not found.');
    if (target.kind === 'not_running') {
      return refuse(socket, 409, 'conflict', `The sandbox is not running (status ${target.status}). Start the project first.`, {
        status: target.status,
      });
    }

    // One slot of the user's stream cap, held until the page's connection ends; when the
    // credential that opened it stops being valid, the terminal is closed.
    let onRevoked: (reason: string) => void = () => undefined;
    let lease: StreamLease | undefined;
    if (deps.streams) {
      const l = deps.streams.open(userId, req, 'terminal', (reason) => onRevoked(reason));
      if (!l) return refuse(socket, 429, 'too_many_requests', tooManyStreamsMessage(deps.streams.maxPerUser), { limit: deps.streams.maxPerUser });
      lease = l;
    }

    const { size, session } = parseTerminalQuery(url.searchParams);
    const upstream = connectUpstream(target, session);
    const abort = () => upstream.terminate();
    socket.once('close', abort);
    socket.once('close', () => lease?.release());
    onRevoked = (reason) => {
      upstream.terminate();
      refuse(socket, 401, 'unauthorized', reason);
    };

    let opened = false;
    upstream.once('unexpected-response', (_r, res) => {
      opened = true; // answered: the 'error' that terminate() raises is not news
      log.warn({ projectId, status: res.statusCode }, 'terminal: sandbox ttyd refused the connection');
      res.resume();
      upstream.terminate();
      refuse(socket, 502, 'bad_gateway', `The sandbox terminal refused the connection (HTTP ${res.statusCode}).`);
    });
    upstream.once('error', (err) => {
      if (opened) return; // the bridge handles errors after the upgrade
      log.warn({ projectId, err: err.message }, 'terminal: sandbox ttyd unreachable');
      refuse(socket, 502, 'bad_gateway', 'The sandbox terminal is not reachable yet. Try again in a moment.');
    });
    upstream.once('open', () => {
      opened = true;
      socket.off('close', abort);
      if (socket.destroyed) return upstream.terminate();
      wss.handleUpgrade(req, socket, head, (client) => {
        onRevoked = (reason) => client.close(TERMINAL_CLOSE.UNAUTHORIZED, closeReason(reason));
        bridge(client, upstream, target.token, size, projectId, lease);
      });
    });
  }

  function connectUpstream(target: Extract<TerminalTarget, { kind: 'ok' }>, session: string): WebSocket {
    const u = new URL(target.url);
    u.searchParams.set('arg', session); // ttyd -a: becomes ttyd-startup.sh's first argument
    return new WebSocket(u, [TTYD_SUBPROTOCOL], {
      headers: { Authorization: basicAuthHeader(TTYD_USER, target.token) },
      handshakeTimeout: upstreamTimeoutMs,
      // The embedded cluster's ingress serves `*.sandbox.localhost` on loopback.
      lookup: localhostAwareLookup,
      perMessageDeflate: false,
      maxPayload: 16 << 20,
    });
  }

  function bridge(client: WebSocket, upstream: WebSocket, token: string, size: TerminalSize, projectId: string, lease?: StreamLease): void {
    const entry = { client, upstream };
    live.add(entry);
    let paused = false;
    let alive = true;
    let drainTimer: NodeJS.Timeout | undefined;

    upstream.send(encodeInit(ttydCredential(TTYD_USER, token), size));
    log.info({ projectId, connections: live.size }, 'terminal: connected');

    const ping = setInterval(() => {
      if (!alive) return client.close(TERMINAL_CLOSE.CLIENT_TIMEOUT, 'no answer to ping');
      alive = false;
      client.ping();
    }, pingIntervalMs);
    ping.unref();
    client.on('pong', () => (alive = true));

    // Back-pressure: ask ttyd to pause while the page is not keeping up.
    const watchDrain = () => {
      if (drainTimer) return;
      drainTimer = setInterval(() => {
        if (client.bufferedAmount > LOW_WATER || client.readyState !== WebSocket.OPEN) return;
        clearInterval(drainTimer);
        drainTimer = undefined;
        paused = false;
        if (upstream.readyState === WebSocket.OPEN) upstream.send(encodeResume());
      }, 20);
      drainTimer.unref();
    };

    upstream.on('message', (data) => {
      if (client.readyState !== WebSocket.OPEN) return;
      const frame = decodeServerFrame(toBuffer(data));
      switch (frame.type) {
        case 'output':
          deps.activity?.touch(projectId);
          client.send(frame.data, { binary: true });
          if (!paused && client.bufferedAmount > HIGH_WATER) {
            paused = true;
            upstream.send(encodePause());
            watchDrain();
          }
          break;
        case 'title':
          client.send(encodeServerControl({ type: 'title', title: frame.title }));
          break;
        case 'preferences':
          client.send(encodeServerControl({ type: 'preferences', preferences: frame.preferences }));
          break;
        case 'unknown':
          break;
      }
    });

    client.on('message', (data, isBinary) => {
      if (upstream.readyState !== WebSocket.OPEN) return;
      const bytes = toBuffer(data);
      if (isBinary) {
        deps.activity?.touch(projectId);
        upstream.send(encodeInput(bytes));
        return;
      }
      const control = parseClientControl(bytes.toString('utf8'));
      if (!control) return client.close(TERMINAL_CLOSE.PROTOCOL_ERROR, 'unknown control message');
      upstream.send(encodeResize(control));
    });

    let clientGone = false;
    upstream.on('close', (code) => {
      if (clientGone) return;
      if (code === 1000) client.close(TERMINAL_CLOSE.SESSION_ENDED, 'terminal session ended');
      else if (code === 1008) client.close(TERMINAL_CLOSE.UPSTREAM_REFUSED, closeReason('the sandbox terminal refused the credentials'));
      else client.close(TERMINAL_CLOSE.UPSTREAM_DROPPED, closeReason('the sandbox terminal disconnected'));
      log.info({ projectId, upstreamCode: code }, 'terminal: sandbox closed the connection');
    });
    upstream.on('error', (err) => log.warn({ projectId, err: err.message }, 'terminal: sandbox connection error'));

    client.on('close', () => {
      clientGone = true;
      lease?.release();
      clearInterval(ping);
      if (drainTimer) clearInterval(drainTimer);
      live.delete(entry);
      if (upstream.readyState === WebSocket.OPEN || upstream.readyState === WebSocket.CONNECTING) upstream.close(1000);
      // A ttyd that ignores the close handshake must not keep the connection open.
      setTimeout(() => upstream.terminate(), 5_000).unref();
    });
    client.on('error', (err) => log.warn({ projectId, err: err.message }, 'terminal: page connection error'));
  }

  const listener = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void onUpgrade(req, socket, head).catch((err: unknown) => {
      log.error({ err }, 'terminal: upgrade failed');
      refuse(socket, 500, 'internal', 'Could not open the terminal.');
    });
  };
  httpServer.on('upgrade', listener);

  return {
    connections: () => live.size,
    async close() {
      closing = true;
      httpServer.off('upgrade', listener);
      const all = [...live];
      await Promise.all(
        all.map(
          ({ client, upstream }) =>
            new Promise<void>((resolve) => {
              if (client.readyState === WebSocket.CLOSED) return resolve();
              client.once('close', () => resolve());
              client.close(TERMINAL_CLOSE.SERVER_SHUTDOWN, 'server shutting down');
              upstream.close(1000);
              setTimeout(() => {
                client.terminate();
                resolve();
              }, 2_000).unref();
            }),
        ),
      );
      wss.close();
    },
  };
}
