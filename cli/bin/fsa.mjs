#!/usr/bin/env node
// The `fsa` command (package.json "bin"): runs the TypeScript CLI through tsx, in this process,
// so the terminal, signals and the exit code are the CLI's own.
import { tsImport } from 'tsx/esm/api';

const { runCli } = await tsImport('../main.ts', import.meta.url);
const { processIO } = await tsImport('../io.ts', import.meta.url);

// Whatever happens, the terminal is not left in raw mode.
process.on('exit', () => {
  if (process.stdin.isTTY && process.stdin.isRaw) process.stdin.setRawMode(false);
});
// A closed pipe on stdout (fsa ... | head) ends the command quietly.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const code = await runCli(process.argv.slice(2), processIO());
process.exitCode = code;
// Idle keep-alive sockets must not hold the command open once it is done.
setTimeout(() => process.exit(code), 1000).unref();
