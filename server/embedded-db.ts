// Where the embedded PostgreSQL (scripts/services/embedded-postgres.ts) is reached: its
// platform role and database, and the password generated into DATA_DIR. Here, so that web
// and worker started without DATABASE_URL find the server the launcher started.
import fs from 'node:fs';
import path from 'node:path';

export const APP_DATABASE = 'fullstackagent';
export const APP_ROLE = 'fullstackagent';
export const APP_PASSWORD_FILE = 'postgres-app.password';

/** The platform's URL of the embedded server, or undefined when it was never initialized in dataDir. */
export function embeddedDatabaseUrl(dataDir: string, port: number): string | undefined {
  let password: string;
  try {
    password = fs.readFileSync(path.join(dataDir, APP_PASSWORD_FILE), 'utf8').trim();
  } catch {
    return undefined;
  }
  return `postgresql://${APP_ROLE}:${encodeURIComponent(password)}@127.0.0.1:${port}/${APP_DATABASE}?sslmode=disable`;
}
