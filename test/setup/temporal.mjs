// globalSetup of the `temporal` tier (jest.config.js). Jest loads it outside its ESM
// transform; tsx runs the TypeScript instead.
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const { startServices } = await tsImport('../start-services.ts', import.meta.url);
  await startServices('temporal');
}
