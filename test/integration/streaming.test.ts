/** 10 MB bodies both ways, and WebSocket senders piped to a private TCP port. */
import { createHash } from 'node:crypto';
import http from 'node:http';
import WebSocket from 'ws';
import { Harness, token } from '../helpers/harness';
import type { RelayServer } from '../../src/relay/relay-server';

const TEN_MB = 10 * 1024 * 1024;

describe('streaming through relay and agent', () => {
  const h = new Harness();
  let relay: RelayServer;

  beforeAll(async () => {
    relay = await h.relay({ entities: [{ path: 'files', requiresClientAuthorization: true }, { path: 'tcp', requiresClientAuthorization: true }] });
    const svc = await h.httpService((req, res) => {
      if (req.method === 'GET') {
        // 10 MB generated in chunks, never held whole by the service either.
        res.setHeader('Content-Type', 'application/octet-stream');
        // ?length: the service declares its length, as most do for a file.
        if (req.url?.includes('length')) res.setHeader('Content-Length', String(TEN_MB));
        let left = TEN_MB;
        let i = 0;
        const pump = () => {
          while (left > 0) {
            const n = Math.min(left, 65_536);
            left -= n;
            if (!res.write(Buffer.alloc(n, i++ % 256))) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
        return;
      }
      const hash = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
        hash.update(c);
      });
      req.on('end', () => res.end(JSON.stringify({ n, sha: hash.digest('hex') })));
    });
    const echoPort = await h.tcpEcho();
    const agent = await h.agent(relay, [
      { path: 'files', target: { type: 'http', url: svc.url } },
      { path: 'tcp', target: { type: 'tcp', host: '127.0.0.1', port: echoPort } },
    ]);
    await agent.whenReady();
  });
  afterAll(() => h.close());

  it("keeps a streamed response's Content-Length from the service (not chunked), and chunked stays chunked", async () => {
    const head = (url: string) =>
      new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.get(url, { headers: { ServiceBusAuthorization: token(relay, 'files') }, agent: false }, (res) => {
          let n = 0;
          res.on('data', (c: Buffer) => (n += c.length));
          res.on('end', () => resolve(Object.assign(res, { received: n })));
        });
        req.on('error', reject);
      });
    const sized = (await head(`${relay.url}/files/big?length`)) as http.IncomingMessage & { received: number };
    expect(sized.headers['content-length']).toBe(String(TEN_MB));
    expect(sized.headers['transfer-encoding']).toBeUndefined();
    expect(sized.received).toBe(TEN_MB);
    const chunked = (await head(`${relay.url}/files/big`)) as http.IncomingMessage & { received: number };
    expect(chunked.headers['content-length']).toBeUndefined();
    expect(chunked.headers['transfer-encoding']).toBe('chunked');
    expect(chunked.received).toBe(TEN_MB);
  });

  it('uploads 10 MB (chunked and with Content-Length) and the service sees every byte', async () => {
    for (const chunked of [true, false]) {
      const expected = createHash('sha256');
      const result = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const headers: Record<string, string> = { ServiceBusAuthorization: token(relay, 'files') };
        if (!chunked) headers['Content-Length'] = String(TEN_MB);
        const req = http.request(`${relay.url}/files/upload`, { method: 'POST', headers, agent: false }, (res) => {
          let s = '';
          res.on('data', (c) => (s += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: s }));
        });
        req.on('error', reject);
        let sent = 0;
        let i = 0;
        const pump = () => {
          while (sent < TEN_MB) {
            const chunk = Buffer.alloc(Math.min(100_000, TEN_MB - sent), i++ % 256);
            sent += chunk.length;
            expected.update(chunk);
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          req.end();
        };
        pump();
      });
      expect(result.status).toBe(200);
      expect(JSON.parse(result.body)).toEqual({ n: TEN_MB, sha: expected.digest('hex') });
    }
  });

  it('downloads 10 MB streamed from the service', async () => {
    const expected = createHash('sha256');
    for (let left = TEN_MB, i = 0; left > 0; i++) {
      const n = Math.min(left, 65_536);
      expected.update(Buffer.alloc(n, i % 256));
      left -= n;
    }
    const got = await new Promise<{ n: number; sha: string; status: number; te?: string }>((resolve, reject) => {
      http
        .get(`${relay.url}/files/download`, { headers: { ServiceBusAuthorization: token(relay, 'files') }, agent: false }, (res) => {
          const hash = createHash('sha256');
          let n = 0;
          res.on('data', (c: Buffer) => {
            n += c.length;
            hash.update(c);
          });
          res.on('end', () => resolve({ n, sha: hash.digest('hex'), status: res.statusCode ?? 0, te: res.headers['transfer-encoding'] }));
        })
        .on('error', reject);
    });
    expect(got.status).toBe(200);
    expect(got.n).toBe(TEN_MB);
    expect(got.sha).toBe(expected.digest('hex'));
    expect(got.te).toBe('chunked');
  });

  it('pipes a WebSocket sender to a private TCP echo port, both ways, and closes cleanly', async () => {
    const ws = new WebSocket(`${relay.url.replace('http', 'ws')}/$hc/tcp?sb-hc-action=connect`, {
      headers: { ServiceBusAuthorization: token(relay, 'tcp') },
      perMessageDeflate: false,
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const payload = Buffer.alloc(1024 * 1024 + 7);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) % 256;
    const received: Buffer[] = [];
    let got = 0;
    const done = new Promise<void>((resolve) => {
      ws.on('message', (data: Buffer) => {
        received.push(data);
        got += data.length;
        if (got >= payload.length + 5) resolve();
      });
    });
    ws.send(payload);
    ws.send('hello');
    await done;
    expect(Buffer.concat(received).equals(Buffer.concat([payload, Buffer.from('hello')]))).toBe(true);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.close(1000, 'bye');
    expect(await closed).toBe(1000);
  });

  it('refuses a WebSocket sender without a token (401) and on an unknown path (404)', async () => {
    const status = (url: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => undefined);
      });
    const base = relay.url.replace('http', 'ws');
    expect(await status(`${base}/$hc/tcp?sb-hc-action=connect`)).toBe(401);
    expect(await status(`${base}/$hc/unknown?sb-hc-action=connect`, { ServiceBusAuthorization: token(relay, 'unknown') })).toBe(404);
  });
});
