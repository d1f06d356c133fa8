// startProcess's output: a child's logs go to its file, never to a pipe nobody reads (a
// child blocks once a pipe's buffer is full; the Temporal servers did, decision 12).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startProcess } from './process';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsa-process-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const MIB = 1 << 20;
// Far more than a pipe holds (64 KiB on Linux), on stdout and on stderr.
const chatty = `process.stdout.write('o'.repeat(${MIB})); process.stderr.write('e'.repeat(${MIB}));`;

const exitOf = (proc: ReturnType<typeof startProcess>) =>
  new Promise<number | null>((resolve) => {
    if (proc.child.exitCode !== null) resolve(proc.child.exitCode);
    else proc.child.once('exit', (code) => resolve(code));
  });

it.each([
  ['a log file alone', {}],
  // What the Temporal services passed when they had a log file: the bug that wedged them.
  ['a log file and stdio: undefined', { stdio: undefined }],
])('writes all of a chatty child to %s, and the child exits', async (_, extra) => {
  const logFile = path.join(dir, `${Math.random().toString(36).slice(2)}.log`);
  const proc = startProcess('chatty', process.execPath, ['-e', chatty], { logFile, ...extra });
  const exited = exitOf(proc);
  const blocked = new Promise<'blocked'>((resolve) => setTimeout(() => resolve('blocked'), 20_000).unref());
  try {
    expect(await Promise.race([exited, blocked])).toBe(0);
  } finally {
    await proc.stop();
  }
  const text = fs.readFileSync(logFile, 'utf8');
  expect(text.match(/o/g)?.length).toBe(MIB);
  expect(text.match(/e/g)?.length).toBe(MIB);
});

it('refuses a log file together with stdio, which would leave one of them unused', () => {
  expect(() => startProcess('both', process.execPath, ['-e', ''], { logFile: path.join(dir, 'x.log'), stdio: 'inherit' })).toThrow(/logFile or stdio, not both/);
});
