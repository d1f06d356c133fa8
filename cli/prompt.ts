// Reading what must not come from argv (passwords, tokens, secret values): a prompt with no
// echo on a terminal, or stdin when it is piped.
import readline from 'node:readline';
import { CliError, EXIT, usage } from './errors';
import type { CliIO } from './io';

/** Everything on stdin (piped), with one trailing newline removed (so `echo value |` works). */
export async function readStdin(io: CliIO, limit = 1 << 20): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin as AsyncIterable<Buffer | string>) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += b.length;
    if (size > limit) throw usage(`stdin is larger than ${limit} bytes`, 'pipe less data');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** A visible one-line answer on the terminal. */
export async function ask(io: CliIO, question: string): Promise<string> {
  const rl = readline.createInterface({ input: io.stdin, output: io.stderr, terminal: true });
  try {
    return await new Promise<string>((resolve, reject) => {
      rl.once('SIGINT', () => reject(new CliError('interrupted', EXIT.INTERRUPTED, undefined, 'interrupted')));
      rl.once('close', () => reject(new CliError('interrupted', EXIT.INTERRUPTED, undefined, 'interrupted')));
      rl.question(question, (answer) => resolve(answer));
    });
  } finally {
    rl.close();
  }
}

/** A hidden one-line answer on the terminal (raw mode, nothing echoed). */
export async function askHidden(io: CliIO, question: string): Promise<string> {
  const stdin = io.stdin;
  if (!stdin.isTTY || !stdin.setRawMode) throw usage('no terminal to ask on', 'pipe the value on stdin instead');
  // No echo from before the question is visible: typing ahead is not shown either.
  const wasRaw = !!stdin.isRaw;
  stdin.setRawMode(true);
  io.stderr.write(question);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = '';
      const onData = (chunk: Buffer | string) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            return resolve(value);
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            return reject(new CliError('interrupted', EXIT.INTERRUPTED, undefined, 'interrupted'));
          }
          if (ch === '\u0004' && value === '') {
            stdin.off('data', onData);
            return resolve('');
          }
          if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
          else if (ch === '\u0015') value = ''; // Ctrl-U
          else if (ch >= ' ') value += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(wasRaw);
    stdin.pause();
    io.stderr.write('\n');
  }
}

/** A secret: hidden prompt on a terminal, else all of stdin. */
export async function readSecret(io: CliIO, question: string, what: string): Promise<string> {
  if (io.stdin.isTTY) return askHidden(io, question);
  const v = await readStdin(io);
  if (v === '' && what !== 'value') throw usage(`no ${what} on stdin`, `pipe the ${what} on stdin, or run the command in a terminal to be asked`);
  return v;
}

export async function confirm(io: CliIO, question: string): Promise<boolean> {
  const answer = await ask(io, `${question} [y/N] `);
  return /^y(es)?$/i.test(answer.trim());
}
