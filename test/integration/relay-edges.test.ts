/**
 * Relay edge cases: malformed /$hc/ paths, invalid listener statuses, silent listeners, dot
 * segments, token audiences, one answer for unknown key names and bad signatures, header timeouts.
 * Real sockets on loopback; hand-written `ws` listeners where the listener must misbehave.
 */
import net from 'node:net';
import WebSocket from 'ws';
import { createSasToken } from '../../src/auth/sas-token';
import { Harness, request, token, waitFor, ROOT_KEY, ROOT_KEY_NAME } from '../helpers/harness';
import type { RelayServer } from '../../src/relay/relay-server';

interface RawListener {
  ws: WebSocket;
  requests: Array<Record<string, unknown>>;
}

/** A listener that answers every request with `answer(request)` (status, body) on the control channel. */
async function rawListener(relay: RelayServer, path: string, answer?: (r: Record<string, unknown>) => [number, string]): Promise<RawListener> {
  const ws = new WebSocket(`${relay.url.replace(/^http/, 'ws')}/$hc/${path}?sb-hc-action=listen&sb-hc-token=${encodeURIComponent(token(relay, path))}`);
  const requests: RawListener['requests'] = [];
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const r = (JSON.parse(data.toString()) as { request?: Record<string, unknown> }).request;
    if (!r) return;
    requests.push(r);
    if (!answer) return;
    const [status, body] = answer(r);
    ws.send(JSON.stringify({ response: { requestId: r.id, statusCode: status, responseHeaders: {}, body: body.length > 0 } }));
    if (body.length > 0) ws.send(Buffer.from(body), { binary: true });
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, requests };
}

/** Writes raw bytes and resolves with everything the relay answered until it closed (or `ms`). */
function rawHttp(port: number, text: string, ms = 20_000): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    const timer = setTimeout(() => s.destroy(), ms);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
  });
}

const portOf = (relay: RelayServer): number => Number(new URL(relay.url).port);

describe('relay edges', () => {
  const h = new Harness();
  let relay: RelayServer;

  beforeAll(async () => {
    relay = await h.relay({
      entities: [
        { path: 'a', requiresClientAuthorization: false },
        { path: 'b', requiresClientAuthorization: false },
        { path: 'status', requiresClientAuthorization: false },
        { path: 'guarded', requiresClientAuthorization: true },
      ],
      limits: { headersTimeoutMs: 1000 },
    });
  });
  afterAll(() => h.close());

  it('answers 400 (not 500) to a /$hc/ path with a bad percent-escape or a dot segment', async () => {
    const ws = relay.url.replace(/^http/, 'ws');
    const statusOf = (url: string): Promise<number> =>
      new Promise((resolve) => {
        const c = new WebSocket(url);
        c.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        c.on('open', () => {
          resolve(101);
          c.terminate();
        });
        c.on('error', () => undefined);
      });
    expect(await statusOf(`${ws}/$hc/a%zz?sb-hc-action=listen`)).toBe(400);
    expect(await statusOf(`${ws}/$hc/b/..%2fa?sb-hc-action=listen&sb-hc-token=${encodeURIComponent(token(relay, 'a'))}`)).toBe(400);
    expect(await statusOf(`${ws}/$hc/a%zz?sb-hc-action=connect`)).toBe(400);
    expect((await request(`${relay.url}/a%zz/x`)).status).toBe(400);
  });

  describe('listener status codes', () => {
    let listener: RawListener;
    beforeAll(async () => {
      listener = await rawListener(relay, 'status', (r) => [Number(String(r.requestTarget).split('/').pop()), 'from listener']);
      h.defer(() => listener.ws.terminate());
    });

    it.each([100, 101, 103, 199, 600, 999])('a listener status %i becomes 502 RELAY_ERR_LISTENER_BAD_STATUS', async (code) => {
      const res = await request(`${relay.url}/status/${code}`);
      expect(res.status).toBe(502);
      expect(res.body.toString()).toContain('RELAY_ERR_LISTENER_BAD_STATUS');
      expect(res.body.toString()).not.toContain('from listener');
    });

    it.each([200, 299, 404, 599])('a listener status %i passes through', async (code) => {
      const res = await request(`${relay.url}/status/${code}`);
      expect(res.status).toBe(code);
      expect(res.body.toString()).toBe('from listener');
    });
  });

  it('refuses dot segments in every spelling with 400 before any listener sees them', async () => {
    const listener = await rawListener(relay, 'a', () => [200, 'ok']);
    h.defer(() => listener.ws.terminate());
    const targets = [
      '/a/../b',
      '/a/./b',
      '/a/%2e%2e/b',
      '/a/%2E./b',
      '/a/..%2fb',
      '/a%2f..%2fb',
      '/a/..%5cb',
      '/a/..\\b',
      '/a/..;/b',
      '/a/%252e%252e/b',
      '/a/x/../../b',
      '/a/..',
    ];
    for (const t of targets) {
      const answer = await rawHttp(portOf(relay), `GET ${t} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      expect([t, answer.split('\r\n')[0]]).toEqual([t, 'HTTP/1.1 400 Bad Request']);
      expect(answer).toContain('RELAY_ERR_PROTOCOL_INVALID_TARGET');
    }
    // Also SOAP POSTs (the SOAP endpoint resolves the same way).
    const soap = await rawHttp(
      portOf(relay),
      `POST /a/../b HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nSOAPAction: "urn:x"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
    expect(soap.split('\r\n')[0]).toMatch(/^HTTP\/1\.1 (400|500) /);
    expect(soap).toContain('RELAY_ERR_PROTOCOL_INVALID_TARGET');
    expect(listener.requests).toHaveLength(0);
    // Names that merely contain dots are fine.
    const ok = await rawHttp(portOf(relay), `GET /a/.well-known/x..y/... HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    expect(ok.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(listener.requests.map((r) => r.requestTarget)).toEqual(['/a/.well-known/x..y/...']);
  });

  it('one answer for an unknown key name and a bad signature', async () => {
    const unknown = createSasToken({ resourceUri: `${relay.url}/guarded`, keyName: 'nobody', key: ROOT_KEY });
    const bad = createSasToken({ resourceUri: `${relay.url}/guarded`, keyName: ROOT_KEY_NAME, key: 'wrong' });
    const a = await request(`${relay.url}/guarded/x`, { headers: { ServiceBusAuthorization: unknown } });
    const b = await request(`${relay.url}/guarded/x`, { headers: { ServiceBusAuthorization: bad } });
    expect(a.status).toBe(401);
    expect(b.status).toBe(401);
    // Same status, same body (only a tracking id, correlation id or timestamp may differ), and no echo of the name.
    const strip = (r: { body: Buffer }) => r.body.toString().replace(/TrackingId:[^,"]*|Timestamp:[^,"]*|"correlationId":"[^"]*"/g, '');
    expect(strip(a)).toBe(strip(b));
    expect(a.headers['x-relay-error-code'] ?? strip(a)).toContain('RELAY_ERR_SAS_BAD_SIGNATURE');
    expect(strip(a)).not.toContain('nobody');
  });

  it('answers 408 when the request headers do not arrive in time', async () => {
    const answer = await rawHttp(portOf(relay), 'GET /a/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
  });

  it('answers 400 to malformed HTTP', async () => {
    const answer = await rawHttp(portOf(relay), 'NOT HTTP AT ALL\r\n\r\n');
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
  });
});

describe('token audiences', () => {
  const h = new Harness();
  afterAll(() => h.close());
  const entities = [{ path: 'aud', requiresClientAuthorization: true }];
  const tokenFor = (uri: string) => createSasToken({ resourceUri: uri, keyName: ROOT_KEY_NAME, key: ROOT_KEY });

  it('default: a token for another host is refused, one for this relay accepted', async () => {
    const relay = await h.relay({ entities });
    const foreign = await request(`${relay.url}/aud/x`, { headers: { ServiceBusAuthorization: tokenFor('https://other.example.net/aud') } });
    expect(foreign.status).toBe(403);
    expect(foreign.body.toString()).toContain('RELAY_ERR_SAS_WRONG_AUDIENCE');
    // Ours (no listener yet: past authorization, the call finds none).
    const ours = await request(`${relay.url}/aud/x`, { headers: { ServiceBusAuthorization: tokenFor(`${relay.url}/aud`) } });
    expect(ours.body.toString()).toContain('RELAY_ERR_NO_LISTENER');
    const localhost = await request(`${relay.url}/aud/x`, { headers: { ServiceBusAuthorization: tokenFor(`sb://localhost/aud`) } });
    expect(localhost.body.toString()).toContain('RELAY_ERR_NO_LISTENER');
  });

  it('with publicUrl: only its host', async () => {
    const relay = await h.relay({ entities, publicUrl: 'https://relay.example.com' });
    const local = await request(`${relay.url}/aud/x`, { headers: { ServiceBusAuthorization: tokenFor(`${relay.url}/aud`) } });
    expect(local.status).toBe(403);
    const pub = await request(`${relay.url}/aud/x`, { headers: { ServiceBusAuthorization: tokenFor('https://relay.example.com/aud') } });
    expect(pub.body.toString()).toContain('RELAY_ERR_NO_LISTENER');
  });

  it("audienceHosts: '*' accepts any host, as before", async () => {
    const relay = await h.relay({ entities, audienceHosts: '*' });
    const foreign = await request(`${relay.url}/aud/x`, { headers: { ServiceBusAuthorization: tokenFor('https://other.example.net/aud') } });
    expect(foreign.body.toString()).toContain('RELAY_ERR_NO_LISTENER');
  });
});

describe('a silent listener', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('gets no new calls once it missed a pong, and is evicted after maxMissed', async () => {
    const relay = await h.relay({ entities: [{ path: 'hb', requiresClientAuthorization: false }], heartbeat: { intervalMs: 300, maxMissed: 3 } });
    const frozen = await rawListener(relay, 'hb', () => [200, 'frozen']);
    const alive = await rawListener(relay, 'hb', () => [200, 'alive']);
    h.defer(() => {
      frozen.ws.terminate();
      alive.ws.terminate();
    });
    await waitFor(() => relay.router.registry.count('hb') === 2, 10_000, 'two listeners');
    // Freeze one: its socket is no longer read, so pings go unanswered (as SIGSTOP or a partition).
    (frozen.ws as unknown as { _socket: net.Socket })._socket.pause();
    const unhealthy = () => relay.router.registry.list('hb').filter((l) => !l.healthy).length === 1;
    await waitFor(unhealthy, 15_000, 'the frozen listener to be unroutable');
    for (let i = 0; i < 10; i++) {
      const res = await request(`${relay.url}/hb/x`);
      expect(res.body.toString()).toBe('alive');
    }
    await waitFor(() => relay.router.registry.count('hb') === 1, 15_000, 'the frozen listener to be evicted');
    expect(frozen.requests).toHaveLength(0);
  });
});
