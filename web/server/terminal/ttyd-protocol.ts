// ttyd's WebSocket protocol (ttyd 1.7): subprotocol "tty"; every message is one command
// byte followed by its payload. Pure functions, shared by the proxy and the test peer.

export const TTYD_SUBPROTOCOL = 'tty';

/** Client -> ttyd command bytes. The first message is JSON (it starts with '{'). */
export const TTYD_CLIENT = { INPUT: '0', RESIZE: '1', PAUSE: '2', RESUME: '3', JSON_DATA: '{' } as const;
/** ttyd -> client command bytes. */
export const TTYD_SERVER = { OUTPUT: '0', SET_WINDOW_TITLE: '1', SET_PREFERENCES: '2' } as const;

export interface TerminalSize {
  columns: number;
  rows: number;
}

/** ttyd's credential as it expects it: base64("user:password"), both in the Basic header and as AuthToken. */
export function ttydCredential(user: string, token: string): string {
  return Buffer.from(`${user}:${token}`, 'utf8').toString('base64');
}

export function basicAuthHeader(user: string, token: string): string {
  return `Basic ${ttydCredential(user, token)}`;
}

function frame(command: string, payload: Uint8Array | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return Buffer.concat([Buffer.from(command, 'ascii'), body]);
}

/** The first message ttyd expects after the WebSocket opens. */
export function encodeInit(credential: string, size: TerminalSize): Buffer {
  return Buffer.from(JSON.stringify({ AuthToken: credential, columns: size.columns, rows: size.rows }), 'utf8');
}

export function encodeInput(data: Uint8Array | string): Buffer {
  return frame(TTYD_CLIENT.INPUT, data);
}

export function encodeResize(size: TerminalSize): Buffer {
  return frame(TTYD_CLIENT.RESIZE, JSON.stringify({ columns: size.columns, rows: size.rows }));
}

export function encodePause(): Buffer {
  return Buffer.from(TTYD_CLIENT.PAUSE, 'ascii');
}

export function encodeResume(): Buffer {
  return Buffer.from(TTYD_CLIENT.RESUME, 'ascii');
}

export type TtydServerFrame =
  | { type: 'output'; data: Buffer }
  | { type: 'title'; title: string }
  | { type: 'preferences'; preferences: Record<string, unknown> }
  | { type: 'unknown'; command: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function decodeServerFrame(message: Buffer): TtydServerFrame {
  const command = message.subarray(0, 1).toString('latin1');
  const payload = message.subarray(1);
  switch (command) {
    case TTYD_SERVER.OUTPUT:
      return { type: 'output', data: payload };
    case TTYD_SERVER.SET_WINDOW_TITLE:
      return { type: 'title', title: payload.toString('utf8') };
    case TTYD_SERVER.SET_PREFERENCES: {
      try {
        const parsed: unknown = JSON.parse(payload.toString('utf8'));
        return isRecord(parsed) ? { type: 'preferences', preferences: parsed } : { type: 'unknown', command };
      } catch {
        return { type: 'unknown', command };
      }
    }
    default:
      return { type: 'unknown', command };
  }
}

export type TtydClientFrame =
  | { type: 'init'; authToken: string | undefined; size: TerminalSize | undefined }
  | { type: 'input'; data: Buffer }
  | { type: 'resize'; size: TerminalSize }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'unknown'; command: string };

function asSize(v: unknown): TerminalSize | undefined {
  if (!isRecord(v)) return undefined;
  const { columns, rows } = v;
  return typeof columns === 'number' && typeof rows === 'number' ? { columns, rows } : undefined;
}

function parseJson(b: Buffer): unknown {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Server side of the protocol (what ttyd reads); used by the test peer. */
export function decodeClientFrame(message: Buffer): TtydClientFrame {
  const command = message.subarray(0, 1).toString('latin1');
  const payload = message.subarray(1);
  switch (command) {
    case TTYD_CLIENT.JSON_DATA: {
      const json = parseJson(message);
      const authToken = isRecord(json) && typeof json.AuthToken === 'string' ? json.AuthToken : undefined;
      return { type: 'init', authToken, size: asSize(json) };
    }
    case TTYD_CLIENT.INPUT:
      return { type: 'input', data: payload };
    case TTYD_CLIENT.RESIZE: {
      const size = asSize(parseJson(payload));
      return size ? { type: 'resize', size } : { type: 'unknown', command };
    }
    case TTYD_CLIENT.PAUSE:
      return { type: 'pause' };
    case TTYD_CLIENT.RESUME:
      return { type: 'resume' };
    default:
      return { type: 'unknown', command };
  }
}
