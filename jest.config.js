// One jest run for the whole suite (./scripts/test.sh), in tiers by what the tests need.
// Each tier is a jest project; jest runs a project's globalSetup only when a test of that
// project is selected, so a run starts only the services its tests use:
//
//   unit      nothing: pure and in-process tests, seconds (`npm run test:unit`)
//   tools     no service, but programs of the machine: Chromium, docker-compose, buildah
//   database  PostgreSQL (scripts/test.sh starts it; TEST_DATABASE_URL)
//   temporal  PostgreSQL and the Temporal dev server (TEST_TEMPORAL_ADDRESS, TEMPORAL_CLI_PATH)
//   cluster   PostgreSQL, Temporal and the local Kubernetes control plane (TEST_KUBECONFIG)
//
// The test files of every tier but `unit` are listed here (a file, or a folder ending in
// `/`); every other test file is a unit test. A test file sees only its own tier's
// addresses (test/setup/tier-env.ts), so one listed too low fails in every run.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TIERS = {
  tools: {
    services: [],
    files: ['cluster/images.test.ts', 'test/docker-compose.test.ts', 'test/terminal-browser.test.ts'],
  },
  database: {
    services: ['database'],
    files: [
      'activities/kubernetes/hostile-user-clients.test.ts',
      'activities/status-projection.test.ts',
      'scripts/services/embedded-postgres.test.ts',
      'server/migrations.test.ts',
      'web/server/terminal/resolve-target.test.ts',
    ],
  },
  temporal: {
    services: ['database', 'temporal'],
    files: [
      'cli/cli.test.ts',
      'scripts/services/temporal.test.ts',
      'test/policies-browser.test.ts',
      'test/terminal-app-browser.test.ts',
      'test/web-image.test.ts',
      'test/worker-telemetry.test.ts',
      'web/test/',
      'worker/metrics.test.ts',
      'workflows/continue-as-new.test.ts',
      'workflows/lifecycle-policies.test.ts',
      'workflows/project-lifecycle.test.ts',
    ],
  },
  cluster: {
    services: ['database', 'temporal', 'cluster'],
    files: [
      'activities/kubernetes/kubernetes-activities.test.ts',
      'test/k8s-lifecycle.test.ts',
      'test/live-launcher.test.ts',
      'test/real-sandbox-browser.test.ts',
    ],
  },
};

/** What each service's setup (test/start-services.ts) puts in the environment. */
const SERVICE_ENV = {
  database: ['TEST_DATABASE_URL'],
  temporal: ['TEST_TEMPORAL_ADDRESS', 'TEMPORAL_CLI_PATH'],
  cluster: ['TEST_KUBECONFIG', 'TEST_CLUSTER_DATA_DIR'],
};

const ROOT = path.dirname(fileURLToPath(import.meta.url));
const IGNORED = ['/node_modules/', '/web/build/', '/.data/'];
const listed = Object.values(TIERS).flatMap((t) => t.files);
for (const entry of listed) {
  if (!fs.existsSync(path.join(ROOT, entry))) throw new Error(`jest.config.js lists ${entry}, which does not exist`);
  if (listed.some((other) => other !== entry && other.endsWith('/') && entry.startsWith(other))) throw new Error(`jest.config.js lists ${entry} twice`);
}
if (new Set(listed).size !== listed.length) throw new Error('jest.config.js lists a test file in two tiers');

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function project(name, services, testMatch, ignored = []) {
  const last = services.at(-1);
  return {
    displayName: name,
    rootDir: ROOT,
    testEnvironment: 'node',
    extensionsToTreatAsEsm: ['.ts', '.tsx'],
    transform: {
      '^.+\\.tsx?$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: false }],
    },
    moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
    testMatch,
    testPathIgnorePatterns: [...IGNORED, ...ignored],
    testTimeout: 120_000,
    setupFiles: ['<rootDir>/test/setup/tier-env.ts'],
    globals: { FSA_HIDDEN_ENV: Object.keys(SERVICE_ENV).filter((s) => !services.includes(s)).flatMap((s) => SERVICE_ENV[s]) },
    ...(last && { globalSetup: `<rootDir>/test/setup/${last}.mjs`, globalTeardown: '<rootDir>/test/setup/teardown.mjs' }),
  };
}

/** @type {import("jest").Config} */
const config = {
  projects: [
    project(
      'unit',
      [],
      ['<rootDir>/**/*.test.ts', '<rootDir>/**/*.test.tsx'],
      listed.map((entry) => `^${escape(path.join(ROOT, entry))}${entry.endsWith('/') ? '' : '$'}`),
    ),
    ...Object.entries(TIERS).map(([name, tier]) =>
      project(
        name,
        tier.services,
        tier.files.map((entry) => `<rootDir>/${entry}${entry.endsWith('/') ? '**/*.test.{ts,tsx}' : ''}`),
      ),
    ),
  ],
  testTimeout: 120_000,
  maxWorkers: 2,
};
export default config;
