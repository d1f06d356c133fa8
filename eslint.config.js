// Lint rules that guard correctness: no floating promises anywhere, and workflow code
// that stays deterministic (no Node built-ins, no activity implementations, no Prisma).
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  {
    ignores: ['node_modules/', 'prisma/generated/', 'web/build/', 'web/.cache/', 'test-results/', '.data/', 'coverage/', '**/*.js', '**/*.mjs'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // No import cycles: a module that needs another's function and is needed by it holds
    // two jobs; move the shared piece into a module of its own.
    files: ['**/*.ts', '**/*.tsx'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    // Tests read loosely typed JSON responses.
    files: ['**/*.test.ts', '**/test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Workflow code is replayed: it must be deterministic and bundle without Node.
    files: ['workflows/**/*.ts', 'common/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code must not import Node built-ins.' })),
          patterns: [
            { group: ['**/activities/*', '!**/activities/types'], message: 'Workflows may import activity types only (import type ... from activities/types).' },
            { group: ['@prisma/*', '**/prisma/generated/*', '**/server/*'], message: 'Workflows must not touch the database or server modules.' },
            { group: ['@temporalio/worker', '@temporalio/client', '@temporalio/activity', '@kubernetes/*', 'pg'], message: 'Not allowed in workflow code.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'process', message: 'No process in workflow code.' }, { name: 'setTimeout', message: 'Use sleep() or condition() with a timeout.' }],
    },
  },
  {
    // The web writes rows and talks to Temporal; it never runs activities or workflow code,
    // and never uses the Kubernetes client library (the kubeconfig check goes through
    // server/kube-http.ts, which applies the egress policy).
    files: ['web/app/**/*.ts', 'web/app/**/*.tsx', 'web/server/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@kubernetes/*'], message: 'The web never talks to Kubernetes directly; the worker does.' },
            { group: ['**/activities/*', '**/activities'], message: 'The web does not import activities; signal the workflow instead.' },
            { group: ['**/workflows/*', '!**/workflows/messages'], message: 'The web imports only the shared message definitions (workflows/messages).' },
            { group: ['@temporalio/worker', '@temporalio/activity'], message: 'The web is a Temporal client only.' },
          ],
        },
      ],
    },
  },
);
