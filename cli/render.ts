// How the CLI shows a project's status: a block with the five stages and their durations;
// on a terminal a live progress display redrawn in place, when piped one plain line per
// change (status or stage), so logs stay readable.
import type { CliIO, OutStream } from './io';
import { styler } from './io';
import type { ProjectView, StatusOutput } from './schemas';

export function formatDuration(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  if (m < 60) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Milliseconds a stage took (finished) or has taken so far (active, given `now`); null otherwise. */
export function stageElapsed(stage: ProjectView['stages'][number], now?: number): number | null {
  if (!stage.startedAt) return null;
  const start = Date.parse(stage.startedAt);
  if (stage.finishedAt) return Math.max(0, Date.parse(stage.finishedAt) - start);
  if (now !== undefined && stage.state === 'active') return Math.max(0, now - start);
  return null;
}

/** The `--json` form of a status: the API's view with each stage's duration. */
export function statusOutput(view: ProjectView): StatusOutput {
  return { ...view, stages: view.stages.map((s) => ({ ...s, durationMs: s.finishedAt ? stageElapsed(s) : null })) };
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function statusColor(st: ReturnType<typeof styler>, status: string): string {
  if (status === 'RUNNING') return st.green(status);
  if (status === 'ERROR') return st.red(status);
  if (status === 'STOPPED' || status === 'TERMINATED') return st.dim(status);
  return st.yellow(status);
}

/** The status block (`fsa status`), for a terminal (symbols, colours) or plain. */
export function renderStatus(io: CliIO, stream: OutStream, view: ProjectView, opts: { now?: number; frame?: number } = {}): string[] {
  const st = styler(io, stream);
  const tty = !!stream.isTTY;
  const now = opts.now ?? Date.now();
  const lines: string[] = [];
  lines.push(`${st.bold(view.name)} ${st.dim(`(${view.id})`)}`);
  const desired = view.desired !== view.status && !(view.desired === 'TERMINATED' && view.status === 'TERMINATING') ? st.dim(` → ${view.desired}`) : '';
  lines.push(`  status    ${statusColor(st, view.status)}${desired}`);
  lines.push(`  sandbox   ${statusColor(st, view.sandbox.status)}${view.sandbox.publicUrl ? `  ${st.cyan(view.sandbox.publicUrl)}` : ''}`);
  if (view.database) lines.push(`  database  ${statusColor(st, view.database.status)}${view.database.host ? st.dim(`  ${view.database.host}${view.database.port ? `:${view.database.port}` : ''}`) : ''}`);
  lines.push('  stages');
  for (const s of view.stages) {
    const elapsed = stageElapsed(s, now);
    const time = elapsed === null ? '' : formatDuration(elapsed);
    let mark: string;
    if (tty) {
      mark =
        s.state === 'done'
          ? st.green('✓')
          : s.state === 'failed'
            ? st.red('✗')
            : s.state === 'active'
              ? st.yellow(SPINNER[(opts.frame ?? 0) % SPINNER.length]!)
              : st.dim('·');
      lines.push(`    ${mark} ${s.name.padEnd(10)} ${s.state === 'done' ? st.dim(time) : time}`.trimEnd());
    } else {
      lines.push(`    ${s.state.padEnd(8)} ${s.name.padEnd(10)} ${time}`.trimEnd());
    }
  }
  if (view.lastError) lines.push(`  ${st.red('error')}     ${view.lastError.message} ${st.dim(`(${view.lastError.at})`)}`);
  return lines;
}

const clock = () => new Date().toTimeString().slice(0, 8);

/**
 * Follows a stream of snapshots on `stream`: redrawn in place on a terminal, one line per
 * change otherwise. `done()` leaves the last state on screen.
 */
export class ProgressDisplay {
  private last?: ProjectView;
  private drawn = 0;
  private frame = 0;
  private timer?: NodeJS.Timeout;
  private readonly tty: boolean;
  private plainSeen = new Map<string, string>();

  constructor(
    private readonly io: CliIO,
    private readonly stream: OutStream,
    private readonly opts: { label?: string } = {},
  ) {
    this.tty = !!stream.isTTY && io.env.TERM !== 'dumb';
  }

  update(view: ProjectView): void {
    if (this.tty) {
      this.last = view;
      if (!this.timer) {
        this.stream.write('\x1b[?25l'); // hide the cursor while redrawing
        this.timer = setInterval(() => this.redraw(), 100);
        this.timer.unref();
      }
      this.redraw();
      return;
    }
    this.plain(view);
  }

  /** A line of its own (reconnects, the end), above the live block on a terminal. */
  note(text: string): void {
    if (this.tty) {
      this.clear();
      this.stream.write(`${text}\n`);
      this.redraw();
    } else {
      this.stream.write(`${clock()} ${text}\n`);
    }
  }

  done(finalNote?: string): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty && this.last) {
      this.redraw();
      this.stream.write('\x1b[?25h');
      this.drawn = 0;
    }
    if (finalNote) this.stream.write(this.tty ? `${finalNote}\n` : `${clock()} ${finalNote}\n`);
  }

  private clear(): void {
    if (this.drawn > 0) this.stream.write(`\x1b[${this.drawn}F\x1b[J`);
    this.drawn = 0;
  }

  private redraw(): void {
    if (!this.last) return;
    const lines = renderStatus(this.io, this.stream, this.last, { frame: this.frame++ });
    const width = this.stream.columns ?? 0;
    // Lines wider than the terminal wrap and would break the cursor arithmetic: cut them.
    const fitted = width > 0 ? lines.map((l) => cut(l, width - 1)) : lines;
    this.clear();
    this.stream.write(fitted.map((l) => `${l}\x1b[K`).join('\n') + '\n');
    this.drawn = fitted.length;
  }

  private plain(view: ProjectView): void {
    const label = this.opts.label ? `${this.opts.label} ` : '';
    const out: string[] = [];
    if (this.plainSeen.get('status') !== view.status) {
      this.plainSeen.set('status', view.status);
      out.push(`status ${view.status}`);
    }
    for (const s of view.stages) {
      if (this.plainSeen.get(`stage:${s.name}`) === s.state) continue;
      const first = !this.plainSeen.has(`stage:${s.name}`);
      this.plainSeen.set(`stage:${s.name}`, s.state);
      // Changes only: stages finished before the first snapshot are old news, and a stage
      // going back to pending (the project stopped) is said by the status line.
      if (s.state === 'pending' || (first && s.state === 'done')) continue;
      const elapsed = s.finishedAt ? stageElapsed(s) : null;
      out.push(`stage ${s.name} ${s.state}${elapsed === null ? '' : ` ${formatDuration(elapsed)}`}`);
    }
    const err = view.lastError ? `${view.lastError.at} ${view.lastError.message}` : '';
    if (err && this.plainSeen.get('error') !== err) {
      this.plainSeen.set('error', err);
      out.push(`error ${view.lastError!.message}`);
    }
    const t = clock();
    for (const l of out) this.stream.write(`${t} ${label}${l}\n`);
  }
}

/** Cuts a string to `width` visible characters, keeping ANSI escapes intact. */
function cut(s: string, width: number): string {
  let visible = 0;
  let out = '';
  for (let i = 0; i < s.length; ) {
    // eslint-disable-next-line no-control-regex -- matching ANSI escapes is the point
    const m = /^\x1b\[[0-9;?]*[A-Za-z]/.exec(s.slice(i));
    if (m) {
      out += m[0];
      i += m[0].length;
      continue;
    }
    const ch = String.fromCodePoint(s.codePointAt(i)!);
    if (visible >= width) {
      i += ch.length;
      continue;
    }
    out += ch;
    visible++;
    i += ch.length;
  }
  return out;
}
