// Recognises Temporal client failures by name, so the services need not import classes
// whose identity differs between module instances (tests, Vite SSR).
export function isAlreadyStarted(err: unknown): boolean {
  return (err as Error)?.name === 'WorkflowExecutionAlreadyStartedError';
}

export function isWorkflowNotFound(err: unknown): boolean {
  const e = err as { name?: string; code?: number; message?: string };
  return e?.name === 'WorkflowNotFoundError' || /workflow (execution )?not found|not found/i.test(e?.message ?? '') && e?.code === 5;
}

/** The workflow's validator refused an Update (the answer names why). */
export function isUpdateRejected(err: unknown): boolean {
  return (err as Error)?.name === 'WorkflowUpdateFailedError';
}

export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string })?.code === 'P2002';
}

/** Resolves with `fallback` when `p` takes longer than `ms` (the late result is dropped). */
export async function withTimeout<T>(p: Promise<T>, ms: number, fallback: () => T | Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'__timeout'>((resolve) => {
    timer = setTimeout(() => resolve('__timeout'), ms);
  });
  try {
    const r = await Promise.race([p, late]);
    return r === '__timeout' ? await fallback() : (r as T);
  } finally {
    clearTimeout(timer);
    p.catch(() => undefined);
  }
}
