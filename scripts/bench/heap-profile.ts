// Where the main thread's live memory was allocated: V8's sampling heap profiler, started
// before the run and read once the projects have settled (after a full GC, so only what is
// still reachable counts). Diagnostics for the bench (--heap-profile FILE); the workflow
// thread is a worker thread of the SDK and not in it.
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

export interface HeapSampler {
  /** Writes the profile (open it in Chrome DevTools' Memory tab) and returns the top sites. */
  collect(file: string, top?: number): Promise<Array<{ site: string; bytes: number }>>;
}

/** `ownCode`: which script URLs are this repository's (default: under the root, outside node_modules). */
export async function startHeapSampling(o: { ownCode?: (url: string) => boolean } = {}): Promise<HeapSampler> {
  const isOwn = o.ownCode ?? ownCode;
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  // One sample per 64 KiB allocated on average; the default 32 KiB doubles the overhead.
  await session.post('HeapProfiler.startSampling', { samplingInterval: 65_536 });
  return {
    async collect(file, top = 15) {
      await session.post('HeapProfiler.collectGarbage');
      const { profile } = (await session.post('HeapProfiler.getSamplingProfile')) as { profile: { head: ProfileNode } };
      fs.writeFileSync(file, JSON.stringify(profile));
      // Self sizes by allocation site, folded into the nearest frame of our own code (or the
      // package), so a site reads as "which of our calls holds this memory".
      const bySite = new Map<string, number>();
      const walk = (node: ProfileNode, owner: string) => {
        const { functionName, url, lineNumber } = node.callFrame;
        const here = url && !url.includes('node:') ? `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}` : owner;
        const site = isOwn(url) ? here : owner === '(root)' ? here : owner;
        if (node.selfSize) bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
        for (const c of node.children) walk(c, site);
      };
      walk(profile.head, '(root)');
      await session.post('HeapProfiler.stopSampling');
      session.disconnect();
      return [...bySite].sort((a, b) => b[1] - a[1]).slice(0, top).map(([site, bytes]) => ({ site, bytes }));
    },
  };
}

const ownCode = (url: string) => url.includes(ROOT) && !url.includes('node_modules');
const shortUrl = (url: string) => url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(`${ROOT}/`, '');
