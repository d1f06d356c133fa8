import { defineConfig } from 'prisma/config';

// The CLI is used offline only (generate, migrate diff); migrations are applied by
// scripts/migrate.ts so no schema-engine binary is needed at run time.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/unused' },
});
