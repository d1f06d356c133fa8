// Everything the CLI touches outside itself goes through CliIO: the bin passes the real
// process, tests pass streams of their own (and run the real process through a pty).
import os from 'node:os';

export interface InStream extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  isRaw?: boolean;
}

export interface OutStream extends NodeJS.WritableStream {
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

export interface CliIO {
  env: Record<string, string | undefined>;
  stdin: InStream;
  stdout: OutStream;
  stderr: OutStream;
  /** Subscribes to a process signal; returns the unsubscribe function. */
  onSignal(signal: NodeJS.Signals, handler: () => void): () => void;
  homedir: string;
  hostname: string;
}

export function processIO(): CliIO {
  return {
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    onSignal(signal, handler) {
      process.on(signal, handler);
      return () => process.off(signal, handler);
    },
    homedir: os.homedir(),
    hostname: os.hostname(),
  };
}

/** Colours only on a terminal, and never with NO_COLOR set (https://no-color.org). */
export function styler(io: CliIO, stream: OutStream) {
  const on = !!stream.isTTY && !io.env.NO_COLOR && io.env.TERM !== 'dumb';
  const wrap = (open: number, close: number) => (s: string) => (on ? `\x1b[${open}m${s}\x1b[${close}m` : s);
  return { on, bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), cyan: wrap(36, 39) };
}

export const write = (stream: OutStream, text: string) => void stream.write(text);
