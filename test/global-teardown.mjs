import { tsImport } from 'tsx/esm/api';

export default async function globalTeardown() {
  const { stopAll } = await tsImport('./services.ts', import.meta.url);
  await stopAll();
}
