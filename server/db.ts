// Prisma client over node-postgres (Prisma 7: no native engine at run time).
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../prisma/generated/client';

export type Db = PrismaClient;
export { Prisma } from '../prisma/generated/client';

export function createDb(databaseUrl: string, opts: { max?: number } = {}): Db {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: opts.max ?? 10 });
  // A transaction waits up to 10 s for a pooled connection (Prisma's default is 2 s): with
  // 1,000 lifecycles writing their projections at once (scripts/bench-lifecycle.ts), the
  // default failed ~1,400 writes with P2028 "Unable to start a transaction in the given
  // time" and their retries piled on; within the recordStatus activity's 15 s.
  return new PrismaClient({ adapter, transactionOptions: { maxWait: 10_000, timeout: 10_000 } });
}
