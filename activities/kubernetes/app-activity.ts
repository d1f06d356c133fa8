// App-URL activity for the idle auto-stop (docs/decisions/0010-app-url-activity.md): the
// runtime image's watcher of the app port (runtime/app-activity.sh) writes at most one line
// a minute to the sandbox container's log,
//   fsa-app-activity at=2026-01-01T12:00:00Z connections=2
// and this reads the log after a given time (pods/log with sinceTime and timestamps, read
// through the API server from the kubelet: the same on the user's own cluster as here).
// A log that cannot be read is no signal, never an error: no pod, a container not started,
// a simulated (kwok) node where nothing runs, a runtime image without the watcher.
import type { Logger } from 'pino';
import type { ProjectRef } from '../../common/lifecycle';
import { resourceNames } from '../../common/names';
import type { AppActivityObservation } from '../types';
import { KubeApiError, resourcePath, type KubeClient } from './kube-client';
import { SANDBOX_CONTAINER } from './manifests';

export const APP_ACTIVITY_MARKER = 'fsa-app-activity';
/** Lines read at most (the watcher writes one a minute; ttyd logs a line per connection). */
const TAIL_LINES = 2_000;
const LIMIT_BYTES = 512 * 1024;

/**
 * The last app activity after `sinceMs` in a pods/log answer with timestamps: each line is
 * `<kubelet's RFC 3339 time> <text>`. A line's own `at=` is the watcher's time of the last
 * request it saw, in whole seconds, so it stands for the end of that second: a request in
 * the same second as `sinceMs` but after it still counts. Never later than when the kubelet
 * wrote the line.
 */
export function lastAppActivity(log: string, sinceMs: number): number | null {
  let last: number | null = null;
  for (const line of log.split('\n')) {
    const space = line.indexOf(' ');
    if (space < 0) continue;
    const text = line.slice(space + 1);
    if (!text.startsWith(`${APP_ACTIVITY_MARKER} `)) continue;
    const written = Date.parse(line.slice(0, space));
    const at = Date.parse(/(?:^| )at=(\S+)/.exec(text)?.[1] ?? '');
    if (!Number.isFinite(written)) continue;
    const t = Number.isFinite(at) ? Math.min(at + 999, written) : written;
    if (t > sinceMs && (last === null || t > last)) last = t;
  }
  return last;
}

export async function readAppActivity(client: KubeClient, ref: ProjectRef, since: string, logger?: Logger): Promise<AppActivityObservation> {
  const sinceMs = Date.parse(since);
  if (!Number.isFinite(sinceMs)) return { lastRequestAt: null, unavailable: `invalid time ${JSON.stringify(since)}` };
  // The StatefulSet's only pod.
  const pod = `${resourceNames(ref.k8sName).statefulSet}-0`;
  const path = `${resourcePath({ apiVersion: 'v1', kind: 'Pod', name: pod }, client.namespace)}/log`;
  let log: string;
  try {
    log = await client.request<string>('GET', path, {
      text: true,
      query: {
        container: SANDBOX_CONTAINER,
        timestamps: 'true',
        // Whole seconds (the API's time format); lines in the same second are filtered below.
        sinceTime: new Date(Math.floor(sinceMs / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        tailLines: String(TAIL_LINES),
        limitBytes: String(LIMIT_BYTES),
      },
    });
  } catch (err) {
    const why =
      err instanceof KubeApiError
        ? err.status === 404
          ? `no pod ${pod}`
          : `the log of ${pod} cannot be read (HTTP ${err.status}${err.message ? `: ${err.message.slice(0, 200)}` : ''})`
        : `the log of ${pod} cannot be read (${(err as Error).message?.slice(0, 200) ?? String(err)})`;
    logger?.debug({ projectId: ref.projectId, why }, 'no app activity signal');
    return { lastRequestAt: null, unavailable: why };
  }
  const last = lastAppActivity(typeof log === 'string' ? log : '', sinceMs);
  return { lastRequestAt: last === null ? null : new Date(last).toISOString() };
}
