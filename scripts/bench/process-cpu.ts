// CPU time of every process on the machine, grouped by program name (from /proc), so a
// benchmark can say where the cores went: the worker, the API server, etcd, Temporal,
// PostgreSQL. Linux only; elsewhere it reports nothing.
import fs from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ on Linux

/** Seconds of CPU (user + system) used so far by each program name, living processes only. */
export function cpuByProgram(): Map<string, number> {
  const out = new Map<string, number>();
  let pids: string[] = [];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // "pid (comm) state ..." — comm may hold spaces or parentheses: split at the last ')'.
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
      out.set(comm, (out.get(comm) ?? 0) + ticks / TICKS_PER_S);
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** The difference of two snapshots, largest first, as lines "  name  seconds  share". */
export function cpuReport(before: Map<string, number>, after: Map<string, number>, wallSeconds: number, top = 8): string[] {
  const used = [...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const).filter(([, v]) => v > 0.5);
  used.sort((a, b) => b[1] - a[1]);
  const total = used.reduce((n, [, v]) => n + v, 0);
  return [
    `CPU used by program                    ${total.toFixed(0)} s in ${wallSeconds.toFixed(0)} s of wall time (${(total / wallSeconds).toFixed(2)} cores busy on average)`,
    ...used.slice(0, top).map(([k, v]) => `  ${k.padEnd(20)} ${v.toFixed(0).padStart(6)} s  ${((100 * v) / total).toFixed(0).padStart(3)} %`),
  ];
}
