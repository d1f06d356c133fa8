// The rows a project starts with: Project, its Sandbox (with a fresh, encrypted ttyd
// token) and its Database. One nested create, so all of them or none are written.
import { resourceNames } from '../common/names';
import { RUNTIME_IMAGE } from '../common/versions';
import { randomToken, type Cipher } from './crypto';
import type { Db } from './db';

export interface NewProjectRows {
  /** Normally generated; tests pin it. */
  id?: string;
  userId: string;
  name: string;
  description?: string | null;
  /** toK8sName(name)-agentruntime-xxxxxx, fixed for the project's life. */
  k8sName: string;
}

export function createProjectRows(db: Db, cipher: Cipher, p: NewProjectRows) {
  return db.project.create({
    data: {
      id: p.id,
      name: p.name,
      description: p.description ?? null,
      userId: p.userId,
      k8sName: p.k8sName,
      sandboxes: { create: { sandboxName: p.k8sName, ttydAccessToken: cipher.encrypt(randomToken()), runtimeImage: RUNTIME_IMAGE } },
      databases: { create: { name: resourceNames(p.k8sName).cluster } },
    },
  });
}
