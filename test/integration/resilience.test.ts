/** Load spreading, failover, agent restarts mid-traffic, relay restarts with a file store. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Harness, request, token, waitFor, ROOT_KEY, ROOT_KEY_NAME } from '../helpers/harness';
import { MemoryStore } from '../../src/store/memory-store';
import { createRelayServer } from '../../src/relay/relay-server';

describe('several listeners on one path', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('spreads requests over two listeners and fails over when one drops', async () => {
    const relay = await h.relay({ entities: [{ path: 'lb' }] });
    const a = await h.httpService((_req, res) => res.end('A'));
    const b = await h.httpService((_req, res) => res.end('B'));
    const agentA = await h.agent(relay, [{ path: 'lb', target: { type: 'http', url: a.url } }]);
    const agentB = await h.agent(relay, [{ path: 'lb', target: { type: 'http', url: b.url } }]);
    await agentA.whenReady();
    await agentB.whenReady();
    const headers = { ServiceBusAuthorization: token(relay, 'lb') };
    const counts: Record<string, number> = { A: 0, B: 0 };
    for (let i = 0; i < 60; i++) {
      const res = await request(`${relay.url}/lb`, { headers });
      counts[res.body.toString()]!++;
    }
    expect(counts.A).toBeGreaterThan(10);
    expect(counts.B).toBeGreaterThan(10);
    await agentA.stop();
    await waitFor(() => relay.router.registry.count('lb') === 1, 5000, 'listener A to be removed');
    for (let i = 0; i < 20; i++) {
      const res = await request(`${relay.url}/lb`, { headers });
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe('B');
    }
  });

  it('pins a call to a listener with Microsoft-Relay-AllowedListeners', async () => {
    const relay = await h.relay({ entities: [{ path: 'pin' }] });
    const a = await h.httpService((_req, res) => res.end('A'));
    const b = await h.httpService((_req, res) => res.end('B'));
    await (await h.agent(relay, [{ path: 'pin', listenerId: 'listener-a', target: { type: 'http', url: a.url } }])).whenReady();
    await (await h.agent(relay, [{ path: 'pin', listenerId: 'listener-b', target: { type: 'http', url: b.url } }])).whenReady();
    const headers = { ServiceBusAuthorization: token(relay, 'pin') };
    for (let i = 0; i < 10; i++) {
      expect((await request(`${relay.url}/pin`, { headers: { ...headers, 'Microsoft-Relay-AllowedListeners': 'listener-b' } })).body.toString()).toBe('B');
      expect((await request(`${relay.url}/pin`, { headers: { ...headers, 'Microsoft-Relay-DisallowedListeners': 'listener-b' } })).body.toString()).toBe('A');
    }
  });
});

describe('agent killed and restarted mid-traffic', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('gives callers an error status (never a hang) and serves new calls once the agent is back', async () => {
    const relay = await h.relay({ entities: [{ path: 'flaky' }], limits: { requestTimeoutMs: 3000 } });
    let release: (() => void) | undefined;
    const svc = await h.httpService((req, res) => {
      if (req.url?.includes('slow')) {
        release = () => res.end('late');
        return;
      }
      res.end('ok');
    });
    const agent = await h.agent(relay, [{ path: 'flaky', target: { type: 'http', url: svc.url } }]);
    await agent.whenReady();
    const headers = { ServiceBusAuthorization: token(relay, 'flaky') };
    // Calls in flight while the agent dies.
    const inFlight = Array.from({ length: 5 }, () => request(`${relay.url}/flaky/slow`, { headers }));
    await waitFor(() => release !== undefined, 5000, 'the service to receive a slow call');
    await agent.stop();
    const results = await Promise.all(inFlight);
    for (const r of results) expect([502, 504]).toContain(r.status);
    release?.();
    // With the agent gone, new calls fail fast with 502.
    expect((await request(`${relay.url}/flaky/x`, { headers })).status).toBe(502);
    const again = await h.agent(relay, [{ path: 'flaky', target: { type: 'http', url: svc.url } }]);
    await again.whenReady();
    const ok = await request(`${relay.url}/flaky/x`, { headers });
    expect(ok.status).toBe(200);
    expect(ok.body.toString()).toBe('ok');
  });

  it('answers 504 with Azure\'s JSON error when a listener never responds', async () => {
    const relay = await h.relay({ entities: [{ path: 'silent' }], limits: { requestTimeoutMs: 300 } });
    const svc = await h.httpService(() => {
      /* never answers */
    });
    const agent = await h.agent(relay, [{ path: 'silent', target: { type: 'http', url: svc.url } }]);
    await agent.whenReady();
    const res = await request(`${relay.url}/silent`, { headers: { ServiceBusAuthorization: token(relay, 'silent') } });
    expect(res.status).toBe(504);
    expect(JSON.parse(res.body.toString()).error.code).toBe('GatewayTimeout');
  });
});

describe('relay restarted', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('keeps entities and rules in the embedded store, and the agent reconnects by itself', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaybridge-'));
    h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'store.json');
    const rules = [{ keyName: ROOT_KEY_NAME, primaryKey: ROOT_KEY, rights: ['Manage', 'Listen', 'Send'] as const }];
    const first = createRelayServer({ port: 0, host: '127.0.0.1', store: new MemoryStore({ file }), namespaceRules: [...rules].map((r) => ({ ...r, rights: [...r.rights] })), metrics: false });
    const { port } = await first.listen();
    // Created through the management API, not the config: it must survive the restart.
    const mgmt = token(first, '');
    const created = await request(`${first.url}/$management/hybridconnections/persisted`, {
      method: 'PUT',
      headers: { Authorization: mgmt, 'Content-Type': 'application/json' },
      body: JSON.stringify({ requiresClientAuthorization: true, userMetadata: 'kept' }),
    });
    expect(created.status).toBe(201);
    const svc = await h.httpService((_req, res) => res.end('still here'));
    const agent = await h.agent(first, [{ path: 'persisted', target: { type: 'http', url: svc.url } }]);
    await agent.whenReady();
    await first.close();
    await waitFor(() => agent.channels.every((c) => c.state !== 'READY'), 5000, 'the agent to notice');

    const second = createRelayServer({ port, host: '127.0.0.1', store: new MemoryStore({ file }), metrics: false });
    await second.listen();
    h.defer(() => second.close());
    await agent.whenReady(10_000);
    const res = await request(`${second.url}/persisted/x`, { headers: { ServiceBusAuthorization: token(second, 'persisted') } });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('still here');
    const entity = JSON.parse((await request(`${second.url}/$management/hybridconnections/persisted`, { headers: { Authorization: mgmt } })).body.toString());
    expect(entity.userMetadata).toBe('kept');
    expect(entity.listenerCount).toBe(1);
  });
});
