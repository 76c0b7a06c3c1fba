/**
 * The failed-handshake throttle (limits.maxFailedHandshakesPerSecond per caller address) counts
 * only failures and refuses only failing handshakes: after 200 bad handshakes from 127.0.0.1, a
 * listener with a good token and the agent's own rendezvous sockets from the same address still
 * get through. With trustedProxies, callers behind a proxy are counted by X-Forwarded-For.
 * The relay's clock is frozen in one second so the test does not depend on the machine's speed.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { systemClock } from '../../src/core/clock';
import type { RelayServer } from '../../src/relay/relay-server';
import { Harness, request, token } from '../helpers/harness';

/** Sends a WebSocket upgrade; resolves with 101 or the status the relay refused it with. */
function upgradeStatus(relay: RelayServer, target: string, headers: Record<string, string> = {}): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${relay.url}${target}`, {
      agent: false,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), ...headers },
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve({ status: 101 });
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined });
    });
    req.on('error', reject);
  });
}

const badListen = (relay: RelayServer): string => `/$hc/calc?sb-hc-action=listen&sb-hc-token=${encodeURIComponent(token(relay, 'calc').replace(/sig=[^&]+/, 'sig=AAAA'))}`;

describe('the failed-handshake throttle never refuses valid traffic from the same address', () => {
  const h = new Harness();
  let relay: RelayServer;
  let proxied: RelayServer;
  const frozen = Date.now();
  const clock = { ...systemClock, now: () => frozen };

  beforeAll(async () => {
    const options = { entities: [{ path: 'calc' }], clock, limits: { maxFailedHandshakesPerSecond: 20, agentControlBodyBytes: 0 as const } };
    relay = await h.relay(options);
    proxied = await h.relay({ ...options, trustedProxies: ['127.0.0.0/8'] });
    const svc = await h.httpService();
    const agent = await h.agent(relay, [{ path: 'calc', target: { type: 'http', url: `${svc.url}/calc` } }]);
    await agent.whenReady();
  });
  afterAll(() => h.close());

  it('200 bad handshakes: the first 20 get their own 401, the rest 429 with Retry-After', async () => {
    const results = [];
    for (let i = 0; i < 200; i++) results.push(await upgradeStatus(relay, badListen(relay)));
    expect(results.slice(0, 20).every((r) => r.status === 401)).toBe(true);
    expect(results.slice(20).every((r) => r.status === 429 && r.retryAfter === '1')).toBe(true);
  }, 60_000);

  it('then a listener with a good token, from the same address and second, gets its 101', async () => {
    const good = await upgradeStatus(relay, `/$hc/calc?sb-hc-action=listen&sb-hc-token=${encodeURIComponent(token(relay, 'calc'))}&sb-hc-id=extra`);
    expect(good.status).toBe(101);
  });

  it('and calls that need the agent\'s rendezvous socket (a 200 KiB body) still succeed', async () => {
    const body = Buffer.alloc(200 * 1024, 'r');
    for (let i = 0; i < 5; i++) {
      const res = await request(`${relay.url}/calc/echo`, { method: 'POST', headers: { ServiceBusAuthorization: token(relay, 'calc') }, body });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body.toString()).bodyLength).toBe(body.length);
    }
    // Failing handshakes are still throttled.
    expect((await upgradeStatus(relay, badListen(relay))).status).toBe(429);
  }, 60_000);

  it('ignores X-Forwarded-For without trustedProxies', async () => {
    expect((await upgradeStatus(relay, badListen(relay), { 'X-Forwarded-For': '203.0.113.9' })).status).toBe(429);
  });

  it('counts callers behind a trusted proxy by their X-Forwarded-For address', async () => {
    const from = (ip: string) => ({ 'X-Forwarded-For': `${ip}, 127.0.0.1` });
    const results = [];
    for (let i = 0; i < 30; i++) results.push((await upgradeStatus(proxied, badListen(proxied), from('198.51.100.1'))).status);
    expect(results.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(results.slice(20).every((s) => s === 429)).toBe(true);
    // Another caller behind the same proxy is not punished.
    expect((await upgradeStatus(proxied, badListen(proxied), from('198.51.100.2'))).status).toBe(401);
  }, 60_000);
});
