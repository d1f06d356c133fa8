// The embedded app database: PGlite (PostgreSQL compiled to WASM, nothing to install)
// persisted under DATA_DIR and served on a local port, so Prisma/pg connect to it like
// any PostgreSQL. A real server is used instead whenever DATABASE_URL is set.
import fs from 'node:fs';
import path from 'node:path';

export async function startPglite(o: { dataDir: string; port: number }): Promise<{ url: string; stop(): Promise<void> }> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const dir = path.join(o.dataDir, 'pglite');
  fs.mkdirSync(dir, { recursive: true });
  const db = await PGlite.create(dir);
  const server = new PGLiteSocketServer({ db, port: o.port, host: '127.0.0.1', maxConnections: 64 });
  await server.start();
  return {
    url: `postgresql://postgres:postgres@127.0.0.1:${o.port}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
