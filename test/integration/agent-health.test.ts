/**
 * The agent's opt-in /$health endpoint, with a real relay and agent on loopback: 200 with every
 * path connected while the channels are READY, 503 with the state and last error per listener
 * while the relay is away, 200 again once it is back; /$metrics (Prometheus) beside it; nothing
 * else is served.
 */
import { Harness, request, waitFor } from '../helpers/harness';

interface Report {
  status: string;
  paths: Array<{ path: string; connected: boolean; listeners: Array<{ state: string; since: string; attempt: number; lastError?: { kind: string; cause?: string; reason: string } }> }>;
}

describe('agent /$health', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('reports each path and listener: 200 when READY, 503 with the cause while the relay is down', async () => {
    const relay = await h.relay({ entities: [{ path: 'a' }, { path: 'b' }] });
    const port = Number(new URL(relay.url).port);
    const agent = await h.agent(
      relay,
      [
        { path: 'a', connections: 2, target: { type: 'tcp', port: 9 } },
        { path: 'b', target: { type: 'tcp', port: 9 } },
      ],
      { health: { port: 0 } },
    );
    await agent.whenStarted();
    await agent.whenReady(20_000);
    const addr = agent.healthAddress()!;
    expect(addr.address).toBe('127.0.0.1');
    const url = `http://127.0.0.1:${addr.port}/$health`;

    const ok = await request(url);
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toMatch(/application\/json/);
    const body = JSON.parse(ok.body.toString()) as Report;
    expect(body.status).toBe('ok');
    expect(body.paths.map((p) => [p.path, p.connected, p.listeners.length])).toEqual([
      ['a', true, 2],
      ['b', true, 1],
    ]);
    expect(body.paths[0]!.listeners[0]).toMatchObject({ state: 'READY', attempt: 0 });
    expect(Date.parse(body.paths[0]!.listeners[0]!.since)).not.toBeNaN();

    expect((await request(`http://127.0.0.1:${addr.port}/other`)).status).toBe(404);
    expect((await request(url, { method: 'POST' })).status).toBe(405);

    await relay.close();
    await waitFor(() => agent.channels.every((c) => c.status().lastError?.kind === 'network'), 30_000, 'channels to fail to reconnect');
    const down = await request(url);
    expect(down.status).toBe(503);
    const downBody = JSON.parse(down.body.toString()) as Report;
    expect(downBody.status).toBe('degraded');
    expect(downBody.paths.every((p) => !p.connected)).toBe(true);
    expect(downBody.paths[0]!.listeners[0]!.lastError).toMatchObject({ kind: 'network', cause: 'ECONNREFUSED' });

    // The relay comes back on the same port: READY again, 200 again.
    await h.relay({ port, entities: [{ path: 'a' }, { path: 'b' }] });
    await agent.whenReady(30_000);
    expect((await request(url)).status).toBe(200);
  }, 90_000);

  it('a health port that cannot be opened fails whenStarted()', async () => {
    const relay = await h.relay({ entities: [{ path: 'c' }] });
    const first = await h.agent(relay, [{ path: 'c', target: { type: 'tcp', port: 9 } }], { health: { port: 0 } });
    await first.whenStarted();
    const taken = first.healthAddress()!.port;
    const second = await h.agent(relay, [{ path: 'c', target: { type: 'tcp', port: 9 } }], { health: { port: taken } });
    await expect(second.whenStarted()).rejects.toThrow(/EADDRINUSE/);
  }, 30_000);

  it('serves Prometheus metrics beside it: calls by path and status, their duration, connects, channel state', async () => {
    const relay = await h.relay({ entities: [{ path: 'm', requiresClientAuthorization: false }] });
    const svc = await h.httpService((req, res) => {
      res.statusCode = req.url?.includes('missing') ? 404 : 200;
      res.end('x');
    });
    const agent = await h.agent(relay, [{ path: 'm', target: { type: 'http', url: svc.url } }], { health: { port: 0 } });
    await agent.whenStarted();
    await agent.whenReady(20_000);
    expect((await request(`${relay.url}/m/a`)).status).toBe(200);
    expect((await request(`${relay.url}/m/missing`)).status).toBe(404);
    const res = await request(`http://127.0.0.1:${agent.healthAddress()!.port}/$metrics`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    const text = res.body.toString();
    expect(text).toContain('relaybridge_agent_calls_total{path="m",status="200"} 1');
    expect(text).toContain('relaybridge_agent_calls_total{path="m",status="404"} 1');
    expect(text).toMatch(/relaybridge_agent_call_duration_seconds_count\{path="m"\} 2/);
    expect(text).toContain('relaybridge_agent_connects_total{path="m"} 1');
    expect(text).toMatch(/relaybridge_agent_channel_ready\{path="m",listener="[^"]+"\} 1/);
  }, 30_000);
});
