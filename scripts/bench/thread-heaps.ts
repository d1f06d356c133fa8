// The V8 heaps of this process's worker threads (the SDK runs workflow code in one), which
// process.memoryUsage() leaves out: each thread is asked over the inspector protocol's
// NodeWorker domain for its own process.memoryUsage().
import { Session } from 'node:inspector/promises';

export interface ThreadHeap {
  title: string;
  heapUsed: number;
  heapTotal: number;
}

interface Attached {
  sessionId: string;
  workerInfo: { title: string; url: string };
}

export async function workerThreadHeaps(timeoutMs = 5_000): Promise<ThreadHeap[]> {
  const session = new Session();
  session.connect();
  const attached: Attached[] = [];
  const replies = new Map<string, (value: string) => void>();
  session.on('NodeWorker.attachedToWorker', (m) => attached.push(m.params as Attached));
  session.on('NodeWorker.receivedMessageFromWorker', (m) => {
    const { sessionId, message } = m.params as { sessionId: string; message: string };
    const reply = JSON.parse(message) as { id?: number; result?: { result?: { value?: string } } };
    if (reply.id === 1) replies.get(sessionId)?.(reply.result?.result?.value ?? '');
  });
  try {
    // Attaching reports the threads that already run (waitForDebuggerOnStart only affects new ones).
    await session.post('NodeWorker.enable', { waitForDebuggerOnStart: false });
    await new Promise((r) => setTimeout(r, 100));
    const heaps = await Promise.all(
      attached.map(async ({ sessionId, workerInfo }) => {
        const value = await Promise.race([
          new Promise<string>((resolve) => {
            replies.set(sessionId, resolve);
            const expression = 'JSON.stringify(process.memoryUsage())';
            void session.post('NodeWorker.sendMessageToWorker', { sessionId, message: JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression, returnByValue: true } }) });
          }),
          new Promise<string>((resolve) => setTimeout(() => resolve(''), timeoutMs)),
        ]);
        if (!value) return undefined;
        const m = JSON.parse(value) as { heapUsed: number; heapTotal: number };
        return { title: workerInfo.title || workerInfo.url, heapUsed: m.heapUsed, heapTotal: m.heapTotal };
      }),
    );
    await session.post('NodeWorker.disable');
    return heaps.filter((h) => h !== undefined);
  } finally {
    session.disconnect();
  }
}
