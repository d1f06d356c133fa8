// The protocol between the terminal page and the web server's terminal proxy. Pure and
// free of Node built-ins: the page bundles it too.
//
//   URL:      /api/projects/<projectId>/terminal?cols=<c>&rows=<r>&session=<tab id>
//   page -> proxy: binary frame = keyboard input bytes; text frame = JSON control
//                  {"type":"resize","columns":c,"rows":r}
//   proxy -> page: binary frame = terminal output bytes (any bytes, not only UTF-8);
//                  text frame = JSON control {"type":"title",...} | {"type":"preferences",...}
//   close codes:   TERMINAL_CLOSE below; refusals happen before the upgrade as plain HTTP
//                  401 / 403 / 404 / 409 / 502 with the API's error body.
// The ttyd token never crosses this boundary.

export const TERMINAL_CLOSE = {
  /** The shell exited (ttyd closed normally). */
  SESSION_ENDED: 1000,
  /** The web server is shutting down. */
  SERVER_SHUTDOWN: 1001,
  /** The page sent something that is not part of this protocol. */
  PROTOCOL_ERROR: 1008,
  /** The sandbox's terminal dropped the connection (pod restarted, network). Reconnect. */
  UPSTREAM_DROPPED: 4001,
  /** The sandbox's terminal refused the proxy's credentials. */
  UPSTREAM_REFUSED: 4003,
  /** The page stopped answering pings. */
  CLIENT_TIMEOUT: 4008,
  /** The session or API token that opened the terminal was revoked or expired. Sign in again. */
  UNAUTHORIZED: 4401,
} as const;

export const TERMINAL_SIZE_LIMITS = { minColumns: 2, maxColumns: 1000, minRows: 1, maxRows: 500, defaultColumns: 80, defaultRows: 24 };

export interface TerminalSize {
  columns: number;
  rows: number;
}

export type ClientControl = { type: 'resize'; columns: number; rows: number };
export type ServerControl = { type: 'title'; title: string } | { type: 'preferences'; preferences: Record<string, unknown> };

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function isSessionId(value: string): boolean {
  return SESSION_ID.test(value);
}

function clampInt(value: unknown, min: number, max: number): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n)) return undefined;
  return Math.min(max, Math.max(min, Math.round(n)));
}

export function normalizeSize(columns: unknown, rows: unknown): TerminalSize | undefined {
  const L = TERMINAL_SIZE_LIMITS;
  const c = clampInt(columns, L.minColumns, L.maxColumns);
  const r = clampInt(rows, L.minRows, L.maxRows);
  return c === undefined || r === undefined ? undefined : { columns: c, rows: r };
}

/**
 * `wake`: the user opened (or asked to reconnect) the terminal, so a stopped project may be
 * started. Automatic reconnects leave it out: a tab left open after a stop, or after an idle
 * stop, must not start the project again.
 */
export function terminalSocketPath(projectId: string, opts: { size: TerminalSize; session: string; wake?: boolean }): string {
  const q = new URLSearchParams({ cols: String(opts.size.columns), rows: String(opts.size.rows), session: opts.session });
  if (opts.wake) q.set('wake', '1');
  return `/api/projects/${encodeURIComponent(projectId)}/terminal?${q.toString()}`;
}

/** Reads the upgrade URL's query; anything missing or malformed falls back to safe defaults. */
export function parseTerminalQuery(search: URLSearchParams): { size: TerminalSize; session: string; wake: boolean } {
  const L = TERMINAL_SIZE_LIMITS;
  const size = normalizeSize(search.get('cols'), search.get('rows')) ?? { columns: L.defaultColumns, rows: L.defaultRows };
  const session = search.get('session') ?? '';
  return { size, session: isSessionId(session) ? session : 'default', wake: search.get('wake') === '1' };
}

export function encodeClientControl(control: ClientControl): string {
  return JSON.stringify(control);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseClientControl(text: string): ClientControl | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(v) || v.type !== 'resize') return undefined;
  const size = normalizeSize(v.columns, v.rows);
  return size && { type: 'resize', ...size };
}

export function encodeServerControl(control: ServerControl): string {
  return JSON.stringify(control);
}

export function parseServerControl(text: string): ServerControl | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(v)) return undefined;
  if (v.type === 'title' && typeof v.title === 'string') return { type: 'title', title: v.title };
  if (v.type === 'preferences' && isRecord(v.preferences)) return { type: 'preferences', preferences: v.preferences };
  return undefined;
}
