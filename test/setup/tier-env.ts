// setupFiles of every tier: a test file sees only the addresses of its own tier's services.
// A run over several tiers starts them all, so without this a suite placed in too low a tier
// would pass in ./scripts/test.sh and fail when run alone. jest.config.js names the
// variables to remove in the global FSA_HIDDEN_ENV.
const hidden = (globalThis as { FSA_HIDDEN_ENV?: string[] }).FSA_HIDDEN_ENV ?? [];
for (const name of hidden) delete process.env[name];

export {};
