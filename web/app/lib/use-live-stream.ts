// React binding of openLiveStream: subscribes while mounted (and while `url` is set), keeps
// the latest onMessage without resubscribing, and returns the state for the indicator.
import { useEffect, useRef, useState } from 'react';
import { openLiveStream, type LiveState } from './live-stream';

export interface LiveStatus {
  state: LiveState;
  /** Set when signed out (the server's reason) or while waiting to reconnect. */
  detail?: { retryInMs?: number; message?: string };
}

export function useLiveStream<T>(url: string | null, onMessage: (data: T) => void, opts: { onReconnected?: () => void } = {}): LiveStatus {
  const [status, setStatus] = useState<LiveStatus>({ state: 'connecting' });
  const handler = useRef(onMessage);
  handler.current = onMessage;
  const reconnected = useRef(opts.onReconnected);
  reconnected.current = opts.onReconnected;
  useEffect(() => {
    if (!url) return;
    setStatus({ state: 'connecting' });
    const stream = openLiveStream<T>({
      url,
      onMessage: (data) => handler.current(data),
      onState: (state, detail) => setStatus({ state, detail }),
      onReconnected: () => reconnected.current?.(),
    });
    return () => stream.close();
  }, [url]);
  return status;
}
