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
