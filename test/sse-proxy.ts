// A TCP proxy in front of the web for browser tests of the live indicator: it passes
// everything through, and on cut() drops the open status streams (GET /api/events,
// GET /api/projects/:id/events) and answers new ones 503 until restore() — what a browser
// sees while the web restarts or a proxy in between fails, without touching the page's
// other connections (in development, Vite reloads the page when its HMR socket drops).
import net from 'node:net';

const STREAM_REQUEST = /^GET \/api\/(?:projects\/[^/\s]+\/)?events[?\s]/;

export interface SseProxy {
  port: number;
  baseUrl: string;
  /** Status streams open through the proxy now. */
  openStreams(): number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startSseProxy(upstreamPort: number): Promise<SseProxy> {
  let blocked = false;
  const streams = new Set<net.Socket>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    sockets.add(upstream);
    const done = () => {
      streams.delete(client);
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (STREAM_REQUEST.test(chunk.subarray(0, 200).toString('latin1'))) {
        if (blocked) {
          client.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
          upstream.destroy();
          return;
        }
        streams.add(client);
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', done);
    upstream.on('close', done);
    client.on('error', done);
    upstream.on('error', done);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    openStreams: () => streams.size,
    cut() {
      blocked = true;
      for (const s of streams) s.destroy();
      streams.clear();
    },
    restore() {
      blocked = false;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
