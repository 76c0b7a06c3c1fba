/** Relay + agent + a local HTTP service, over real sockets on loopback. */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { Harness, request, token, ROOT_KEY } from '../helpers/harness';
import type { RelayServer } from '../../src/relay/relay-server';

describe('HTTP senders through relay and agent', () => {
  const h = new Harness();
  let relay: RelayServer;
  let auth: Record<string, string>;

  beforeAll(async () => {
    relay = await h.relay({
      entities: [
        { path: 'svc', requiresClientAuthorization: true },
        { path: 'open', requiresClientAuthorization: false },
        { path: 'nobody', requiresClientAuthorization: true },
        {
          path: 'locked',
          requiresClientAuthorization: true,
          authorizationRules: [
            { keyName: 'listen-only', primaryKey: 'bGlzdGVuLWtleQ==', rights: ['Listen'] },
            { keyName: 'send-only', primaryKey: 'c2VuZC1rZXk=', rights: ['Send'] },
          ],
        },
      ],
    });
    const svc = await h.httpService((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname.endsWith('/status')) {
        const code = Number(url.searchParams.get('code'));
        res.statusCode = code;
        if (url.searchParams.get('msg')) res.statusMessage = url.searchParams.get('msg')!;
        res.end(code === 204 || code === 304 ? undefined : `status ${code}`);
        return;
      }
      if (url.pathname.endsWith('/big')) {
        const n = Number(url.searchParams.get('n'));
        res.setHeader('Content-Type', 'application/octet-stream');
        res.end(Buffer.alloc(n, 7));
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        res.setHeader('Content-Type', 'application/json');
        res.setHeader('X-Service', 'local');
        res.end(
          JSON.stringify({
            method: req.method,
            url: req.url,
            headers: req.headers,
            bodyLength: body.length,
            sha: createHash('sha256').update(body).digest('hex'),
          }),
        );
      });
    });
    const agent = await h.agent(relay, [
      { path: 'svc', target: { type: 'http', url: `${svc.url}/base` } },
      { path: 'open', target: { type: 'http', url: svc.url } },
      { path: 'locked', target: { type: 'http', url: svc.url } },
    ]);
    await agent.whenReady();
    auth = { ServiceBusAuthorization: token(relay, 'svc') };
  });
  afterAll(() => h.close());

  it('relays a GET with sub-path and query to the local service and adds Via', async () => {
    const res = await request(`${relay.url}/svc/a/b?x=1&sb-hc-id=abc&y=2`, { headers: { ...auth, 'X-Custom': 'v' } });
    expect(res.status).toBe(200);
    expect(res.headers.via).toMatch(/^1\.1 /);
    expect(res.headers['x-service']).toBe('local');
    const echoed = JSON.parse(res.body.toString());
    expect(echoed.method).toBe('GET');
    expect(echoed.url).toBe('/base/a/b?x=1&y=2');
    expect(echoed.headers['x-custom']).toBe('v');
    expect(echoed.headers.servicebusauthorization).toBeUndefined();
    expect(echoed.headers.via).toMatch(/1\.1 127\.0\.0\.1/);
  });

  it('relays every method with bodies, and joins repeated headers', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const body = Buffer.from(`payload for ${method}`);
      const res = await request(`${relay.url}/svc/m`, {
        method,
        headers: { ...auth, 'Content-Type': 'text/plain', 'Content-Length': String(body.length) },
        body,
      });
      expect(res.status).toBe(200);
      const echoed = JSON.parse(res.body.toString());
      expect(echoed.method).toBe(method);
      expect(echoed.bodyLength).toBe(body.length);
    }
    const raw = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${relay.url}/svc/h`, { headers: { ServiceBusAuthorization: auth.ServiceBusAuthorization!, 'X-Multi': ['a', 'b'] } }, (res) => {
        let s = '';
        res.on('data', (c) => (s += c));
        res.on('end', () => resolve(s));
      });
      req.on('error', reject);
      req.end();
    });
    expect(JSON.parse(raw).headers['x-multi']).toBe('a, b');
  });

  it('passes status codes and reason phrases through; HEAD and 204 carry no body', async () => {
    for (const code of [201, 301, 404, 418, 450, 502, 504]) {
      const res = await request(`${relay.url}/svc/status?code=${code}`, { headers: auth });
      expect(res.status).toBe(code);
      expect(res.headers.via).toBeDefined();
    }
    const custom = await request(`${relay.url}/svc/status?code=201&msg=Made%20It`, { headers: auth });
    expect(custom.statusMessage).toBe('Made It');
    const noContent = await request(`${relay.url}/svc/status?code=204`, { headers: auth });
    expect(noContent.status).toBe(204);
    expect(noContent.body.length).toBe(0);
    const head = await request(`${relay.url}/svc/x`, { method: 'HEAD', headers: auth });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    // The channel is still in step after the body-less responses.
    expect((await request(`${relay.url}/svc/after`, { headers: auth })).status).toBe(200);
  });

  it('moves bodies at the 64 KiB boundary both ways', async () => {
    for (const n of [0, 1, 65535, 65536, 65537, 300_000]) {
      const body = Buffer.alloc(n, n % 251);
      const up = await request(`${relay.url}/svc/up`, { method: 'POST', headers: { ...auth, 'Content-Length': String(n) }, body });
      expect(JSON.parse(up.body.toString()).sha).toBe(createHash('sha256').update(body).digest('hex'));
      const down = await request(`${relay.url}/svc/big?n=${n}`, { headers: auth });
      expect(down.status).toBe(200);
      expect(down.body.length).toBe(n);
    }
  });

  it('accepts a chunked request body (no Content-Length) over rendezvous', async () => {
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${relay.url}/svc/chunked`, { method: 'POST', headers: { ...auth, 'Transfer-Encoding': 'chunked' } }, (r) => {
        let s = '';
        r.on('data', (c) => (s += c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body: s }));
      });
      req.on('error', reject);
      req.write('part one;');
      setTimeout(() => req.end('part two'), 20);
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).bodyLength).toBe('part one;part two'.length);
  });

  it('serves many concurrent requests with no cross-talk', async () => {
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => {
        const body = Buffer.alloc(i % 3 === 0 ? 70_000 + i : 100 + i, i);
        return request(`${relay.url}/svc/c${i}`, { method: 'POST', headers: { ...auth, 'Content-Length': String(body.length) }, body }).then((r) => ({
          i,
          body,
          echoed: JSON.parse(r.body.toString()),
        }));
      }),
    );
    for (const { i, body, echoed } of results) {
      expect(echoed.url).toBe(`/base/c${i}`);
      expect(echoed.sha).toBe(createHash('sha256').update(body).digest('hex'));
    }
  });

  it('lets senders in without a token when the entity allows anonymous senders', async () => {
    expect((await request(`${relay.url}/open/x`)).status).toBe(200);
  });

  it('answers 404 for an unknown entity, 401 for missing or bad tokens, 403 for a missing right', async () => {
    const unknown = await request(`${relay.url}/nope/x`, { headers: auth });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body.toString()).error.message).toMatch(/Endpoint does not exist/);
    expect((await request(`${relay.url}/svc/x`)).status).toBe(401);
    const forged = token(relay, 'svc', 'RootManageSharedAccessKey', 'd3Jvbmcta2V5');
    expect((await request(`${relay.url}/svc/x`, { headers: { ServiceBusAuthorization: forged } })).status).toBe(401);
    const expired = token(relay, 'svc', 'RootManageSharedAccessKey', ROOT_KEY, -3600);
    expect((await request(`${relay.url}/svc/x`, { headers: { ServiceBusAuthorization: expired } })).status).toBe(401);
    const listenOnly = token(relay, 'locked', 'listen-only', 'bGlzdGVuLWtleQ==');
    expect((await request(`${relay.url}/locked/x`, { headers: { ServiceBusAuthorization: listenOnly } })).status).toBe(403);
    const sendOnly = token(relay, 'locked', 'send-only', 'c2VuZC1rZXk=');
    expect((await request(`${relay.url}/locked/x`, { headers: { ServiceBusAuthorization: sendOnly } })).status).toBe(200);
    const otherAudience = token(relay, 'open', 'send-only', 'c2VuZC1rZXk=');
    expect((await request(`${relay.url}/locked/x`, { headers: { ServiceBusAuthorization: otherAudience } })).status).toBe(403);
  });

  it('takes the token from the query or the Authorization header, and strips it', async () => {
    const t = token(relay, 'svc');
    const q = await request(`${relay.url}/svc/q?sb-hc-token=${encodeURIComponent(t)}&keep=1`);
    expect(q.status).toBe(200);
    expect(JSON.parse(q.body.toString()).url).toBe('/base/q?keep=1');
    const a = await request(`${relay.url}/svc/a`, { headers: { Authorization: t } });
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body.toString()).headers.authorization).toBeUndefined();
    // With ServiceBusAuthorization present, Authorization belongs to the application.
    const both = await request(`${relay.url}/svc/b`, { headers: { ...auth, Authorization: 'Bearer app' } });
    expect(JSON.parse(both.body.toString()).headers.authorization).toBe('Bearer app');
  });

  it('answers 502 when no listener is connected', async () => {
    const res = await request(`${relay.url}/nobody/x`, { headers: { ServiceBusAuthorization: token(relay, 'nobody') } });
    expect(res.status).toBe(502);
    expect(res.headers.via).toBeUndefined();
  });

  it('answers 404 when the pinning headers match no listener', async () => {
    const res = await request(`${relay.url}/svc/x`, { headers: { ...auth, 'Microsoft-Relay-AllowedListeners': 'no-such-listener' } });
    expect(res.status).toBe(404);
    expect(res.body.toString()).toContain('None of the connected listeners meet the AllowedListeners/DisallowedListeners criteria');
  });
});
