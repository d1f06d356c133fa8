// Runs a reconcile function every `intervalMs` until stopped; an error is logged and the
// loop goes on (the API server may be restarting). Level-triggered, so a missed change is
// picked up on the next pass.
export interface PollLoop {
  stop(): Promise<void>;
  /** Resolves after the next complete pass (tests and start-up use it). */
  nextPass(): Promise<void>;
}

export function startPollLoop(
  name: string,
  intervalMs: number,
  reconcile: () => Promise<void>,
  log: (msg: string) => void,
): PollLoop {
  let stopped = false;
  let waiters: Array<() => void> = [];
  let lastError = '';
  const done = (async () => {
    while (!stopped) {
      try {
        await reconcile();
        lastError = '';
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        // Log a failure once per distinct message so a down API server does not flood the log.
        if (msg !== lastError) log(`[${name}] reconcile failed (will retry): ${msg}`);
        lastError = msg;
      }
      const w = waiters;
      waiters = [];
      w.forEach((r) => r());
      if (!stopped) await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      waiters.forEach((r) => r());
    },
    nextPass() {
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}
