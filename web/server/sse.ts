// Server-Sent Events: the response head every stream of the web starts with.
import type { Response } from 'express';

/** Starts an event stream: no caching or proxy buffering, and a 3 s reconnect hint. */
export function startEventStream(res: Response): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.write('retry: 3000\n\n');
  res.flushHeaders?.();
}

/**
 * Serializes snapshot pushes: a trigger while one runs asks for exactly one more run after
 * it, so bursts of changes cost at most two reads and the last state is always sent.
 */
export function coalesced(run: () => Promise<void>, onError: (err: unknown) => void): () => Promise<void> {
  let running = false;
  let again = false;
  return async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await run();
      } while (again);
    } catch (err) {
      onError(err);
    } finally {
      running = false;
    }
  };
}
