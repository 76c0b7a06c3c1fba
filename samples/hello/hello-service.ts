/**
 * A small on-premises HTTP service for the demo: it stays on the private network and is
 * reached only through relay + agent.
 *   GET  /            greeting JSON (echoes path and query)
 *   POST /echo        echoes the body with its content type
 *   GET  /bytes?n=N   N bytes of data (large-response demo)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HelloService {
  url: string;
  port: number;
  close(): Promise<void>;
}

export function startHelloService(port = 0, host = '127.0.0.1'): Promise<HelloService> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (req.method === 'POST' && url.pathname.endsWith('/echo')) {
      res.setHeader('Content-Type', req.headers['content-type'] ?? 'application/octet-stream');
      req.pipe(res);
      return;
    }
    if (url.pathname.endsWith('/bytes')) {
      const n = Math.min(Number(url.searchParams.get('n') ?? '1024') || 0, 100 * 1024 * 1024);
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Length', n);
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let left = n;
      const pump = (): void => {
        while (left > 0) {
          const c = chunk.subarray(0, Math.min(left, chunk.length));
          left -= c.length;
          if (!res.write(c)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    req.resume();
    const body = JSON.stringify({
      message: 'Hello from the private network',
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      servedAt: new Date().toISOString(),
    });
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const p = (server.address() as AddressInfo).port;
      resolve({
        url: `http://${host}:${p}`,
        port: p,
        close: () =>
          new Promise((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}
