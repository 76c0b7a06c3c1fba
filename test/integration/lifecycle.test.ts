/** Agent state machine, backoff, token renewal and expiry, relay heartbeat, listener quota. */
import net from 'node:net';
import WebSocket from 'ws';
import { Harness, request, token, waitFor, ROOT_KEY, ROOT_KEY_NAME } from '../helpers/harness';
import { createSasToken } from '../../src/auth/sas-token';
import type { AgentStateEvent } from '../../src/agent/agent';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('agent connection life cycle', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('backs off with growing delays while the relay is down, then becomes READY when it appears', async () => {
    const port = await freePort();
    const events: AgentStateEvent[] = [];
    const agent = await h.agent(`http://127.0.0.1:${port}`, [{ path: 'later', target: { type: 'http', url: 'http://127.0.0.1:9' } }], {
      reconnect: { initialMs: 20, maxMs: 200, multiplier: 2, jitter: 0 },
    });
    agent.on('state', (e) => events.push(e));
    await waitFor(() => events.filter((e) => e.to === 'BACKOFF').length >= 4, 5000, 'several backoffs');
    const delays = events.filter((e) => e.to === 'BACKOFF').map((e) => e.delayMs);
    expect(delays.slice(0, 4)).toEqual([20, 40, 80, 160]);
    expect(events[0]).toMatchObject({ from: 'CONNECTING', to: 'BACKOFF' });
    const relay = await h.relay({ port, entities: [{ path: 'later' }] });
    await agent.whenReady(5000);
    expect(relay.router.registry.count('later')).toBe(1);
    await agent.stop();
    expect(agent.channels[0]!.state).toBe('CLOSED');
  });

  it('renews its token on the open channel before expiry', async () => {
    const relay = await h.relay({ entities: [{ path: 'renew' }] });
    let minted = 0;
    const agent = await h.agent(relay, [{ path: 'renew', target: { type: 'http', url: 'http://127.0.0.1:9' } }], {
      keyName: undefined,
      key: undefined,
      tokenProvider: async (audience, ttl) => {
        minted++;
        return createSasToken({ resourceUri: audience, keyName: ROOT_KEY_NAME, key: ROOT_KEY, expiresInSeconds: ttl });
      },
      tokenTtlSeconds: 60,
      renewBeforeSeconds: 59,
    });
    void agent;
    await waitFor(() => minted >= 3, 10_000, 'token renewals');
    expect(agent.channels[0]!.state).toBe('READY');
  });

  it('is closed with 1008 when its token expires, and reconnects with a fresh one', async () => {
    const relay = await h.relay({ entities: [{ path: 'expire' }], tokenGraceSeconds: 0 });
    const events: AgentStateEvent[] = [];
    const agent = await h.agent(relay, [{ path: 'expire', target: { type: 'http', url: 'http://127.0.0.1:9' } }], {
      keyName: undefined,
      key: undefined,
      // Tokens that live two seconds; the agent would renew only after an hour.
      tokenProvider: async (audience) => createSasToken({ resourceUri: audience, keyName: ROOT_KEY_NAME, key: ROOT_KEY, expiresInSeconds: 2 }),
    });
    agent.on('state', (e) => events.push(e));
    await agent.whenReady();
    await waitFor(() => events.some((e) => e.to === 'BACKOFF' && /1008/.test(e.reason ?? '')), 8000, 'the expiry close');
    await waitFor(() => agent.channels[0]!.state === 'READY', 8000, 'the reconnect');
  });
});

describe('relay side of listener channels', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('terminates a listener that stops answering pings, and senders then get 502', async () => {
    const relay = await h.relay({ entities: [{ path: 'dead' }], heartbeat: { intervalMs: 100, maxMissed: 2 } });
    const ws = new WebSocket(`${relay.url.replace('http', 'ws')}/$hc/dead?sb-hc-action=listen`, {
      headers: { ServiceBusAuthorization: token(relay, 'dead') },
      autoPong: false,
    });
    h.defer(() => ws.terminate());
    await new Promise<void>((r) => ws.once('open', () => r()));
    expect(relay.router.registry.count('dead')).toBe(1);
    await waitFor(() => relay.router.registry.count('dead') === 0, 5000, 'the silent listener to be evicted');
    expect((await request(`${relay.url}/dead`, { headers: { ServiceBusAuthorization: token(relay, 'dead') } })).status).toBe(502);
  });

  it('refuses listeners beyond the per-path quota and with the wrong right or a bad token', async () => {
    const relay = await h.relay({
      entities: [{ path: 'quota', authorizationRules: [{ keyName: 'sender', primaryKey: 'c2VuZGVy', rights: ['Send'] }] }],
      limits: { maxListenersPerPath: 2 },
    });
    const status = (headers: Record<string, string>, path = 'quota') =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${relay.url.replace('http', 'ws')}/$hc/${path}?sb-hc-action=listen`, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          h.defer(() => ws.terminate());
          resolve(101);
        });
        ws.on('error', () => undefined);
      });
    const good = { ServiceBusAuthorization: token(relay, 'quota') };
    expect(await status(good)).toBe(101);
    expect(await status(good)).toBe(101);
    expect(await status(good)).toBe(403);
    expect(await status({ ServiceBusAuthorization: token(relay, 'quota', 'sender', 'c2VuZGVy') })).toBe(403);
    expect(await status({ ServiceBusAuthorization: token(relay, 'quota', ROOT_KEY_NAME, 'wrong') })).toBe(401);
    expect(await status({})).toBe(401);
    expect(await status(good, 'unknown')).toBe(404);
  });

  it('survives a reconnect storm of failing handshakes (rate limited with 429)', async () => {
    const relay = await h.relay({ entities: [{ path: 'storm' }], limits: { maxFailedHandshakesPerSecond: 5 } });
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      statuses.push(
        await new Promise<number>((resolve) => {
          const ws = new WebSocket(`${relay.url.replace('http', 'ws')}/$hc/storm?sb-hc-action=listen`);
          ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          ws.on('error', () => resolve(0));
        }),
      );
    }
    expect(statuses).toContain(401);
    expect(statuses).toContain(429);
    expect((await request(`${relay.url}/$health`)).status).toBe(200);
  });

  it('closes a listener that sends a malformed control message, and keeps serving others', async () => {
    const relay = await h.relay({ entities: [{ path: 'bad' }] });
    const open = () =>
      new Promise<WebSocket>((resolve) => {
        const ws = new WebSocket(`${relay.url.replace('http', 'ws')}/$hc/bad?sb-hc-action=listen`, { headers: { ServiceBusAuthorization: token(relay, 'bad') } });
        h.defer(() => ws.terminate());
        ws.once('open', () => resolve(ws));
      });
    const a = await open();
    const b = await open();
    const closed = new Promise<number>((resolve) => a.once('close', (code) => resolve(code)));
    a.send('{not json');
    expect(await closed).toBe(1008);
    const closedBin = new Promise<number>((resolve) => b.once('close', (code) => resolve(code)));
    b.send(Buffer.from('unexpected'), { binary: true });
    expect(await closedBin).toBe(1008);
    const c = await open();
    expect(c.readyState).toBe(WebSocket.OPEN);
    expect(relay.router.registry.count('bad')).toBe(1);
  });

  it('a response that names its request but is invalid fails that request only (502); the channel and its other calls go on', async () => {
    const relay = await h.relay({ entities: [{ path: 'odd', requiresClientAuthorization: false }] });
    const ws = new WebSocket(`${relay.url.replace('http', 'ws')}/$hc/odd?sb-hc-action=listen`, { headers: { ServiceBusAuthorization: token(relay, 'odd') } });
    h.defer(() => ws.terminate());
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    const requests: Array<{ id: string; requestTarget: string }> = [];
    ws.on('message', (data, isBinary) => {
      if (!isBinary) requests.push((JSON.parse(data.toString()) as { request: { id: string; requestTarget: string } }).request);
    });
    let closedWith: number | undefined;
    ws.on('close', (code) => (closedWith = code));
    const bad = request(`${relay.url}/odd/bad`);
    const good = request(`${relay.url}/odd/good`);
    await waitFor(() => requests.length === 2, 5000, 'both requests');
    const idOf = (suffix: string) => requests.find((r) => r.requestTarget === `/odd/${suffix}`)!.id;
    // A status out of range, with a body announced (and sent): the body is dropped with its response.
    ws.send(JSON.stringify({ response: { requestId: idOf('bad'), statusCode: 42, responseHeaders: {}, body: true } }));
    ws.send(Buffer.from('dropped'), { binary: true });
    ws.send(JSON.stringify({ response: { requestId: idOf('good'), statusCode: 200, responseHeaders: {}, body: true } }));
    ws.send(Buffer.from('fine'), { binary: true });
    const [b, g] = await Promise.all([bad, good]);
    expect(b.status).toBe(502);
    expect(b.body.toString()).toContain('RELAY_ERR_TARGET_BAD_RESPONSE');
    expect(g.status).toBe(200);
    expect(g.body.toString()).toBe('fine');
    expect(closedWith).toBeUndefined();
    expect(relay.router.registry.count('odd')).toBe(1);
  });
});
