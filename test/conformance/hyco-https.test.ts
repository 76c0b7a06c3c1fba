/**
 * Conformance with Microsoft's own listener library: hyco-https (npm 1.4.5) serving HTTP
 * through our relay. Its URL helpers force wss://…:443, so URLs are built by hand
 * (hybrid-connections.md §7.1, §12). Requests come from plain Node HTTP senders.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { Harness, request, ROOT_KEY, ROOT_KEY_NAME, waitFor } from '../helpers/harness';
import type { RelayServer } from '../../src/relay/relay-server';

const hycoHttps = require('hyco-https');

const smallMessage = 'SmallMessage';
let exactly64kb = '';
for (let i = 1024 * 64; i > 0; i--) exactly64kb += String.fromCharCode(i % 128);
const over64kb = exactly64kb + String.fromCharCode(0);

describe('hyco-https listener against the relay', () => {
  const h = new Harness();
  let relay: RelayServer;
  let server: { close(): void; on(e: string, f: (...a: unknown[]) => void): void; listen(): void };
  let listenUri: string;
  const seen: Array<{ method: string; url: string; headers: Record<string, string>; body: string }> = [];

  beforeAll(async () => {
    relay = await h.relay({ entities: [{ path: 'hyco' }] });
    listenUri = `${relay.url.replace('http', 'ws')}/$hc/hyco?sb-hc-action=listen`;
    server = hycoHttps.createRelayedServer(
      { server: listenUri, token: () => hycoHttps.createRelayToken(listenUri, ROOT_KEY_NAME, ROOT_KEY) },
      (req: http.IncomingMessage, res: http.ServerResponse) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer | string) => chunks.push(Buffer.from(c)));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers as Record<string, string>, body });
          const u = new URL(req.url ?? '/', 'http://x');
          const reply = u.searchParams.get('reply');
          const status = Number(u.searchParams.get('status') ?? '200');
          res.statusCode = status;
          if (u.searchParams.get('desc')) res.statusMessage = u.searchParams.get('desc')!;
          res.setHeader('X-Echo-Sha', createHash('sha256').update(body).digest('hex'));
          if (reply === 'small') res.end(smallMessage);
          else if (reply === '64k') res.end(exactly64kb);
          else if (reply === 'over') res.end(over64kb);
          else if (reply === 'parts') {
            res.write(smallMessage);
            res.write(exactly64kb);
            res.end(smallMessage);
          } else if (reply === 'none') res.end();
          else res.end(body);
        });
      },
    );
    server.on('error', () => undefined);
    server.listen();
    h.defer(() => server.close());
    await waitFor(() => relay.router.registry.count('hyco') === 1, 10_000, 'the hyco-https listener');
  });
  afterAll(() => h.close());

  const send = (path: string, method: string, body?: string, headers: Record<string, string> = {}) =>
    request(`${relay.url}/hyco${path}`, {
      method,
      headers: {
        ServiceBusAuthorization: hycoHttps.createRelayToken(`${relay.url}/hyco`, ROOT_KEY_NAME, ROOT_KEY),
        custom: 'Hello',
        ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}),
        ...headers,
      },
      body,
    });

  it('answers the first request right after listening (registration before 101)', async () => {
    const res = await send('/first?reply=small', 'GET');
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(smallMessage);
  });

  it.each([
    ['empty', ''],
    ['small', smallMessage],
    ['exactly 64 KiB (control channel)', exactly64kb],
    ['over 64 KiB (rendezvous)', over64kb],
  ])('POSTs a %s request body and gets it echoed', async (_name, body) => {
    const res = await send('/echo', 'POST', body);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(body);
    expect(res.headers['x-echo-sha']).toBe(createHash('sha256').update(body).digest('hex'));
    expect(seen.at(-1)!.headers.custom).toBe('Hello');
  });

  it.each([
    ['no body', 'none', ''],
    ['a small body', 'small', smallMessage],
    ['exactly 64 KiB (control channel)', '64k', exactly64kb],
    ['over 64 KiB (listener opens a rendezvous)', 'over', over64kb],
    ['several writes', 'parts', smallMessage + exactly64kb + smallMessage],
  ])('GETs a response with %s', async (_name, reply, expected) => {
    const res = await send(`/get?reply=${reply}`, 'GET');
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(expected);
  });

  it('streams a chunked POST over rendezvous', async () => {
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${relay.url}/hyco/chunked`, {
        method: 'POST',
        headers: { ServiceBusAuthorization: hycoHttps.createRelayToken(`${relay.url}/hyco`, ROOT_KEY_NAME, ROOT_KEY), custom: 'Hello' },
      }, (r) => {
        let s = '';
        r.on('data', (c) => (s += c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body: s }));
      });
      req.on('error', reject);
      req.write(smallMessage);
      req.write(exactly64kb);
      req.end(smallMessage);
    });
    expect(res.status).toBe(200);
    expect(res.body).toBe(smallMessage + exactly64kb + smallMessage);
  });

  it('passes status codes and reason phrases, and the request target with its query', async () => {
    for (const status of [201, 301, 404, 418, 450, 502, 504]) {
      const res = await send(`/status?status=${status}&reply=small`, 'GET');
      expect(res.status).toBe(status);
    }
    const custom = await send('/status?status=201&desc=Made%20It&reply=small', 'GET');
    expect(custom.statusMessage).toBe('Made It');
    await send('/q?sb-hc-id=1&custom=value&sb-hc-undefined&api-version=abc', 'GET');
    expect(seen.at(-1)!.url).toBe('/hyco/q?custom=value&sb-hc-undefined&api-version=abc');
  });

  it('answers HEAD and keeps the channel in step afterwards', async () => {
    const head = await send('/h?reply=small', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    const next = await send('/after?reply=small', 'GET');
    expect(next.body.toString()).toBe(smallMessage);
  });

  it('serves keep-alive senders, including a large response in the middle', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 10; i++) {
        const reply = i === 5 ? 'over' : 'small';
        const res = await request(`${relay.url}/hyco/ka${i}?reply=${reply}`, {
          headers: { ServiceBusAuthorization: hycoHttps.createRelayToken(`${relay.url}/hyco`, ROOT_KEY_NAME, ROOT_KEY) },
          agent,
        });
        expect(res.body.toString()).toBe(reply === 'over' ? over64kb : smallMessage);
      }
    } finally {
      agent.destroy();
    }
  });

  it('handles 40 parallel requests of mixed sizes with no cross-talk', async () => {
    const bodies = Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? over64kb : `${smallMessage}-${i}`));
    const results = await Promise.all(bodies.map((b, i) => send(`/p${i}`, 'POST', b)));
    results.forEach((r, i) => expect(r.body.toString()).toBe(bodies[i]));
  });

  it('does not forward relay credentials or hop-by-hop headers, and adds Via', async () => {
    await send('/headers', 'POST', 'x', { Authorization: 'Bearer app-token' });
    const headers = seen.at(-1)!.headers;
    expect(headers.servicebusauthorization).toBeUndefined();
    expect(headers['transfer-encoding']).toBeUndefined();
    expect(headers.connection).toBeUndefined();
    expect(headers.authorization).toBe('Bearer app-token');
    expect(headers.via).toMatch(/1\.1 /);
  });
});
