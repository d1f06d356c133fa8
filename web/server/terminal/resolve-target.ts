// Where a user's terminal connects: the project's sandbox ttyd, if the project is the
// user's and RUNNING. The token is decrypted here, server-side, for the proxy only.
import type { Db } from '../../../server/db';
import type { Cipher } from '../../../server/crypto';
import type { TerminalTarget } from './proxy';

/** ttyd's WebSocket endpoint for its public (Ingress) URL: https -> wss, http -> ws, plus /ws. */
export function ttydWebSocketUrl(ttydUrl: string): string {
  const u = new URL(ttydUrl);
  if (u.protocol === 'https:') u.protocol = 'wss:';
  else if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol !== 'wss:' && u.protocol !== 'ws:') throw new Error(`ttydUrl must be an http(s) URL, got ${u.protocol}`);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/ws`;
  u.search = '';
  u.hash = '';
  return u.toString();
}

export async function resolveTerminalTarget(db: Db, cipher: Cipher, userId: string, projectId: string): Promise<TerminalTarget> {
  const project = await db.project.findFirst({
    where: { id: projectId, userId },
    select: {
      status: true,
      sandboxes: { select: { ttydUrl: true, ttydAccessToken: true, status: true }, orderBy: { createdAt: 'asc' }, take: 1 },
    },
  });
  if (!project) return { kind: 'not_found' };
  if (project.status !== 'RUNNING') return { kind: 'not_running', status: project.status };
  const sandbox = project.sandboxes[0];
  // RUNNING without a published terminal URL: the network stage has not caught up yet.
  if (!sandbox?.ttydUrl) return { kind: 'not_running', status: 'STARTING' };
  return { kind: 'ok', url: ttydWebSocketUrl(sandbox.ttydUrl), token: cipher.decrypt(sandbox.ttydAccessToken) };
}
