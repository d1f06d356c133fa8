// A list from the loader, replaced by what a live stream pushes (see live-stream.ts); fresh
// loader data (navigation, revalidation) replaces it again.
import { useEffect, useRef, useState } from 'react';
import { useLiveStream, type LiveStatus } from './use-live-stream';

export function useLiveList<T, M>(initial: T[], url: string, pick: (message: M) => T[] | undefined): { items: T[]; live: LiveStatus } {
  const [items, setItems] = useState(initial);
  useEffect(() => setItems(initial), [initial]);
  const select = useRef(pick);
  select.current = pick;
  const live = useLiveStream<M>(url, (message) => {
    const next = select.current(message);
    if (Array.isArray(next)) setItems(next);
  });
  return { items, live };
}
