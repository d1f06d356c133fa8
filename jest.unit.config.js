// The unit tier: pure and in-process tests that need no PostgreSQL, Temporal or Kubernetes,
// so they run in seconds (`npm run test:unit`). `./scripts/test.sh` still runs everything,
// these included, through jest.config.js.
import base from './jest.config.js';

/** @type {import("jest").Config} */
const config = {
  ...base,
  globalSetup: undefined,
  globalTeardown: undefined,
  testMatch: [
    '<rootDir>/common/**/*.test.ts',
    '<rootDir>/workflows/lifecycle-state.test.ts',
    '<rootDir>/workflows/replay.test.ts',
    '<rootDir>/server/config.test.ts',
    '<rootDir>/server/egress.test.ts',
    '<rootDir>/server/kubeconfig.test.ts',
    '<rootDir>/server/logger.test.ts',
    '<rootDir>/server/localhost-lookup.test.ts',
    '<rootDir>/cluster/node-config.test.ts',
    '<rootDir>/cluster/pki.test.ts',
    '<rootDir>/server/http-metrics.test.ts',
    '<rootDir>/activities/kubernetes/errors.test.ts',
    '<rootDir>/activities/kubernetes/derive.test.ts',
    '<rootDir>/activities/kubernetes/watch.test.ts',
    '<rootDir>/runtime/*.test.ts',
    '<rootDir>/web/server/terminal/*-protocol.test.ts',
    '<rootDir>/web/server/terminal/proxy.test.ts',
    '<rootDir>/web/server/terminal/activity.test.ts',
    '<rootDir>/web/app/lib/*.test.ts',
    '<rootDir>/web/app/components/*.test.ts',
    '<rootDir>/web/server/page-errors.test.ts',
  ],
};
export default config;
