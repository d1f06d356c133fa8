// globalTeardown of every tier with services: stops what the tiers' setups started. One
// module for all of them, so jest runs it once, after the last test of the run.
import { tsImport } from 'tsx/esm/api';

export default async function globalTeardown() {
  const { stopAll } = await tsImport('../services.ts', import.meta.url);
  await stopAll();
}
