// Prisma client over node-postgres (Prisma 7: no native engine at run time).
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../prisma/generated/client';

export type Db = PrismaClient;
export { Prisma } from '../prisma/generated/client';

export function createDb(databaseUrl: string, opts: { max?: number } = {}): Db {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: opts.max ?? 10 });
  return new PrismaClient({ adapter });
}
