/** The http target's path mapping: /{entity}/rest?q → {base path}/rest?q, never above the base path. */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { HttpProxy } from '../../../src/agent/proxies/http-proxy';

describe('HttpProxy.localTarget', () => {
  const proxy = new HttpProxy('orders/v1', { url: 'http://127.0.0.1:9/svc/', timeoutMs: 1000, rejectUnauthorized: true });
  afterAll(() => proxy.close());

  it.each([
    ['/orders/v1', '/svc'],
    ['/orders/v1/', '/svc/'],
    ['/orders/v1/items/7?x=1&y=%20', '/svc/items/7?x=1&y=%20'],
    ['/ORDERS/v1/items', '/svc/items'],
    ['/orders%2Fv1/items', '/svc/items'],
    ['/orders/v1/caf\u00e9 bar', '/svc/caf%C3%A9%20bar'],
    ['/orders/v1/a..b/.hidden/x.', '/svc/a..b/.hidden/x.'],
  ])('%s → %s', (target, local) => {
    expect(proxy.localTarget(target)).toBe(local);
  });

  it.each(['/orders/v1/../admin', '/orders/v1/./x', '/orders/v1/..', '/orders/v1/%2e%2E/admin', '/orders/v1/.%2e/admin', '/orders/v1/..%2fadmin', '/orders/v1/..\\admin', '/orders/v1/x/%5c..%5cadmin'])(
    'refuses %s (it would leave the base path)',
    (target) => {
      expect(() => proxy.localTarget(target)).toThrow(expect.objectContaining({ code: 'RELAY_ERR_PROTOCOL_INVALID_MESSAGE', httpStatus: 400 }));
    },
  );

  it('localUrl is localTarget on the service origin', () => {
    expect(proxy.localUrl('/orders/v1/items?q=1').href).toBe('http://127.0.0.1:9/svc/items?q=1');
  });
});

describe('HttpProxy.call against a real local service: small answers whole, others streamed', () => {
  let server: http.Server;
  let proxy: HttpProxy;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/svc/sized') return res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '11' }).end('hello world');
      if (req.url === '/svc/chunked') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('hello ');
        return res.end('chunks');
      }
      if (req.url === '/svc/cut') {
        // Declares 100 bytes, sends 5 and hangs up.
        res.writeHead(200, { 'Content-Length': '100' });
        res.write('short');
        return setTimeout(() => res.socket?.destroy(), 20);
      }
      res.writeHead(404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    proxy = new HttpProxy('p', { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/svc`, timeoutMs: 5000, rejectUnauthorized: true });
  });
  afterAll(async () => {
    proxy.close();
    server.close();
  });
  const call = (target: string, wholeUpTo?: number) => proxy.call({ method: 'GET', requestTarget: `/p/${target}`, headers: {}, body: undefined, wholeUpTo });
  const text = async (body: Readable | Buffer) => (Buffer.isBuffer(body) ? body : Buffer.concat(await body.toArray())).toString();

  it('an answer whose Content-Length is within wholeUpTo comes back as a Buffer, headers kept', async () => {
    const res = await call('sized', 11);
    expect(Buffer.isBuffer(res.body)).toBe(true);
    expect(res.body.toString()).toBe('hello world');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe('11');
    expect(res.headers['content-type']).toBe('text/plain');
  });

  it('a longer answer, a chunked one, or no wholeUpTo: a stream with the same bytes', async () => {
    for (const [target, limit, want] of [
      ['sized', 10, 'hello world'],
      ['sized', undefined, 'hello world'],
      ['chunked', 1 << 20, 'hello chunks'],
    ] as const) {
      const res = await call(target, limit);
      expect(Buffer.isBuffer(res.body)).toBe(false);
      expect(await text(res.body)).toBe(want);
    }
  });

  it('an answer cut short of its Content-Length fails the call, never a short body', async () => {
    await expect(call('cut', 1000)).rejects.toMatchObject({ code: 'RELAY_ERR_TARGET_UNREACHABLE' });
  });
});
