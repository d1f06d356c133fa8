// Processes started by the tiers' global setups, stopped by the global teardown. Kept on
// globalThis because each setup and the teardown load this module separately (same process).
import type { ManagedProcess } from '../scripts/services/process';

const g = globalThis as { __fsaTestServices?: ManagedProcess[]; __fsaTestReady?: Set<string> };
const started = (g.__fsaTestServices ??= []);
const ready = (g.__fsaTestReady ??= new Set());

export function track<T extends ManagedProcess>(p: T): T {
  started.push(p);
  return p;
}

/** Runs `start` unless an earlier tier of this run already did (tiers share their services). */
export async function once(name: string, start: () => Promise<void>): Promise<void> {
  if (ready.has(name)) return;
  await start();
  ready.add(name);
}

export async function stopAll(): Promise<void> {
  ready.clear();
  await Promise.all(started.splice(0).reverse().map((p) => p.stop()));
}
