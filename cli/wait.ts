// --wait: follow the project's status stream until it reaches the state the command asked
// for, fails (a new lifecycle error), is deleted under us, or the timeout runs out.
import type { Api } from './api';
import { CliError, EXIT } from './errors';
import { ProgressDisplay } from './render';
import type { ProjectView } from './schemas';
import { watchProject } from './sse';
import type { CliIO } from './io';

export type Target = 'RUNNING' | 'STOPPED' | 'TERMINATED';

export interface WaitOptions {
  timeoutMs: number;
  /** The project's last error before the command acted; only a different one is a failure. */
  baselineError?: ProjectView['lastError'];
  /** Where progress goes (stderr by default); null for none. */
  display: ProgressDisplay | null;
  signal: AbortSignal;
}

const errorKey = (e: ProjectView['lastError'] | undefined) => (e ? `${e.at} ${e.message}` : '');

/** Resolves with the final view (null once deleted, for TERMINATED). */
export async function waitForStatus(io: CliIO, api: Api, project: { id: string; name: string }, target: Target, opts: WaitOptions): Promise<ProjectView | null> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = AbortSignal.any([opts.signal, timeout]);
  let last: ProjectView | undefined;
  let sawProgress = false;
  const baseline = errorKey(opts.baselineError);
  const secs = Math.round(opts.timeoutMs / 1000);
  try {
    for await (const snap of watchProject(api, project.id, { signal, onReconnect: (n) => opts.display?.note(`status stream dropped; reconnecting (${n})`) })) {
      if (snap.kind === 'deleted') {
        if (target === 'TERMINATED') return null;
        throw new CliError(`${project.name} was deleted while waiting for ${target}`, EXIT.NOT_FOUND, undefined, 'not_found');
      }
      const view = snap.view;
      last = view;
      opts.display?.update(view);
      if (view.status === target) return view;
      if (view.status !== 'ERROR') sawProgress = true;
      if (view.status === 'ERROR' && (sawProgress || errorKey(view.lastError) !== baseline)) {
        throw new CliError(
          `${project.name} failed: ${view.lastError?.message ?? 'the lifecycle reported ERROR'}`,
          EXIT.ERROR,
          `fsa status ${project.id} shows the stages; fix the cause, then fsa start ${project.id} retries`,
          'lifecycle_error',
        );
      }
      if (target !== 'TERMINATED' && view.desired === 'TERMINATED') {
        throw new CliError(`${project.name} is being deleted`, EXIT.CONFLICT, undefined, 'conflict');
      }
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
  if (timeout.aborted) {
    throw new CliError(
      `${project.name} is still ${last?.status ?? 'not reporting'} after ${secs}s (waiting for ${target})`,
      EXIT.TIMEOUT,
      `the platform keeps working on it: follow it with fsa status ${project.id} --watch, or wait longer with --timeout`,
      'timeout',
    );
  }
  throw new CliError('interrupted', EXIT.INTERRUPTED, `the platform keeps working on it: fsa status ${project.id} --watch follows it`, 'interrupted');
}
