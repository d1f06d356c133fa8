// Processes started by the global setup, stopped by the global teardown. Kept on
// globalThis because setup and teardown load this module separately (same process).
import type { ManagedProcess } from '../scripts/services/process';

const g = globalThis as { __fsaTestServices?: ManagedProcess[] };
const started = (g.__fsaTestServices ??= []);

export function track<T extends ManagedProcess>(p: T): T {
  started.push(p);
  return p;
}

export async function stopAll(): Promise<void> {
  await Promise.all(started.splice(0).reverse().map((p) => p.stop()));
}
