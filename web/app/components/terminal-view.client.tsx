// One terminal tab: an xterm.js terminal sized to its container (fit addon), wired to a
// TerminalConnection. Client-only: xterm touches window at import time.
import { useEffect, useRef, useState } from 'react';
import { Terminal, type ITheme } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { TerminalConnection, startProject, type ConnectionState } from './terminal-connection';

export interface TerminalViewProps {
  projectId: string;
  session: string;
  active: boolean;
  onTitle?(title: string): void;
}

const DEFAULT_THEME: ITheme = { background: '#1e1e1e', foreground: '#d4d4d4', cursor: '#aeafad', selectionBackground: '#264f78' };

function describe(state: ConnectionState): string | null {
  switch (state.kind) {
    case 'open':
      return null;
    case 'connecting':
      return state.attempt === 0 ? 'Connecting to the sandbox…' : `Reconnecting (attempt ${state.attempt + 1})…`;
    case 'retrying':
      return `Disconnected: ${state.reason}. Reconnecting in ${Math.ceil(state.retryInMs / 1000)} s…`;
    case 'ended':
      return 'The shell exited. Press Enter to start a new shell.';
    case 'stopped':
      return state.status === 'STOPPED' ? 'Sandbox is stopped — start it' : `Sandbox is not running (${state.status}). Waiting for it…`;
    case 'unauthorized':
      return 'Your session has expired. Sign in again to use the terminal.';
    case 'not_found':
      return 'Project not found.';
  }
}

export default function TerminalView({ projectId, session, active, onTitle }: TerminalViewProps) {
  const container = useRef<HTMLDivElement>(null);
  const fitRef = useRef<FitAddon | null>(null);
  const termRef = useRef<Terminal | null>(null);
  const connRef = useRef<TerminalConnection | null>(null);
  const titleRef = useRef(onTitle);
  titleRef.current = onTitle;
  const [state, setState] = useState<ConnectionState>({ kind: 'connecting', attempt: 0 });
  const [startError, setStartError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);

  useEffect(() => {
    const el = container.current;
    if (!el) return;
    const term = new Terminal({
      cursorBlink: true,
      fontSize: 14,
      fontFamily: "Menlo, Consolas, 'DejaVu Sans Mono', monospace",
      scrollback: 5000,
      theme: DEFAULT_THEME,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(el);
    const safeFit = () => {
      // A hidden tab has no size; fitting it would shrink the shell to nothing.
      if (el.offsetWidth > 0 && el.offsetHeight > 0) fit.fit();
    };
    safeFit();
    termRef.current = term;
    fitRef.current = fit;

    const conn = new TerminalConnection({
      projectId,
      session,
      size: () => ({ columns: term.cols, rows: term.rows }),
      onOutput: (bytes) => term.write(bytes),
      onControl: (control) => {
        if (control.type === 'title') titleRef.current?.(control.title);
        if (control.type === 'preferences') {
          const { fontSize, theme } = control.preferences;
          if (typeof fontSize === 'number') term.options.fontSize = fontSize;
          if (theme && typeof theme === 'object') term.options.theme = { ...DEFAULT_THEME, ...(theme as ITheme) };
          safeFit();
        }
      },
      onState: (s) => {
        setState(s);
        if (s.kind === 'open') setStartError(null);
      },
    });
    connRef.current = conn;

    const subs = [
      term.onData((data) => {
        if (conn.current.kind === 'ended') {
          if (data === '\r') conn.reconnectNow();
          return;
        }
        conn.sendInput(data);
      }),
      // Non-UTF-8 input (e.g. some mouse reports): one byte per character.
      term.onBinary((data) => conn.sendInput(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff))),
      term.onResize(({ cols, rows }) => conn.resize({ columns: cols, rows })),
    ];
    // The container follows the window (and the tab bar), so one observer covers both.
    const observer = new ResizeObserver(() => safeFit());
    observer.observe(el);
    conn.start();

    return () => {
      observer.disconnect();
      subs.forEach((s) => s.dispose());
      conn.dispose();
      term.dispose();
      termRef.current = null;
      fitRef.current = null;
      connRef.current = null;
    };
  }, [projectId, session]);

  useEffect(() => {
    if (!active) return;
    const el = container.current;
    if (el && el.offsetWidth > 0) fitRef.current?.fit();
    termRef.current?.focus();
  }, [active]);

  const message = describe(state);
  const onStart = async () => {
    setStarting(true);
    const error = await startProject(projectId);
    setStartError(error);
    setStarting(false);
    if (!error) connRef.current?.checkNow();
  };

  return (
    <div className="terminal-view" data-session={session} data-state={state.kind} style={{ position: 'absolute', inset: 0, display: active ? 'block' : 'none' }}>
      <div ref={container} className="terminal-view__xterm" style={{ position: 'absolute', inset: 0, padding: 4, background: DEFAULT_THEME.background }} />
      {message && (
        <div
          role="status"
          className="terminal-view__status"
          style={{
            position: 'absolute',
            left: '50%',
            top: 16,
            transform: 'translateX(-50%)',
            maxWidth: '90%',
            padding: '8px 14px',
            borderRadius: 6,
            background: state.kind === 'stopped' || state.kind === 'unauthorized' ? '#5a1d1d' : '#333',
            color: '#eee',
            font: '14px system-ui, sans-serif',
            boxShadow: '0 2px 8px rgba(0,0,0,.4)',
            display: 'flex',
            gap: 12,
            alignItems: 'center',
          }}
        >
          <span>{message}</span>
          {state.kind === 'stopped' && (
            <button type="button" onClick={() => void onStart()} disabled={starting}>
              {starting ? 'Starting…' : 'Start sandbox'}
            </button>
          )}
          {state.kind === 'ended' && (
            <button type="button" onClick={() => connRef.current?.reconnectNow()}>
              New shell
            </button>
          )}
          {state.kind === 'retrying' && (
            <button type="button" onClick={() => connRef.current?.reconnectNow()}>
              Retry now
            </button>
          )}
          {state.kind === 'unauthorized' && <a href={`/signin?callbackUrl=${encodeURIComponent(`/projects/${projectId}/terminal`)}`}>Sign in</a>}
          {state.kind === 'not_found' && <a href="/">Back to projects</a>}
          {startError && <span style={{ color: '#f88' }}>{startError}</span>}
        </div>
      )}
    </div>
  );
}
