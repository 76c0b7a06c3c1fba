/**
 * Several relay nodes as one namespace on a real nats-server (NatsStore): a rule revoked or an
 * entity deleted through one node is refused on the others within 1 s, a deleted entity's
 * listeners are closed on every node, the listener cap and counts are namespace-wide, and a node
 * keeps serving its own listeners while NATS is away (management writes get 503), resuming when
 * it is back. Also `relaybridge store export|import` between a file store and NATS.
 */
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { createSasToken } from '../../src/auth/sas-token';
import { exportStore, importStore } from '../../src/cli/commands/store';
import type { RelayServer } from '../../src/relay/relay-server';
import { MemoryStore } from '../../src/store/memory-store';
import { NatsStore } from '../../src/store/nats-store';
import { Harness, request, token, waitFor } from '../helpers/harness';
import { natsDescribe, startNats, startNatsCluster, type NatsServer } from '../helpers/nats';
import { makeTempDir, writeYaml } from '../helpers/processes';

const SENDER_KEY = 'c2VuZGVyLWtleS1ub3Qtc2VjcmV0LTAxMjM0NTY3ODk=';

/** A management API call with the root rule's Manage token. */
const api = (relay: RelayServer, p: string, method = 'GET', body?: unknown) =>
  request(`${relay.url}/$management/${p}`, {
    method,
    headers: { Authorization: token(relay, ''), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  }).then((r) => ({ status: r.status, data: r.body.length ? JSON.parse(r.body.toString()) : undefined }));
/** A POST to `p` signed with the given rule. */
const send = (relay: RelayServer, p: string, keyName: string, key: string) =>
  request(`${relay.url}/${p}/x`, {
    method: 'POST',
    headers: { ServiceBusAuthorization: createSasToken({ resourceUri: `${relay.url}/${p}`, keyName, key }) },
    body: 'hi',
  });

natsDescribe('cluster-store')('several relay nodes on one NATS namespace', () => {
  const h = new Harness();
  let nats: NatsServer;
  let a: RelayServer;
  let b: RelayServer;
  let bucket = 0;

  /** A relay node on the shared bucket. */
  const node = (nodeId: string, name: string, extra: Parameters<Harness['relay']>[0] = {}) =>
    h.relay({ nodeId, store: new NatsStore({ servers: [nats.url], bucket: name, timeoutMs: 2000 }), ...extra });

  beforeAll(async () => {
    nats = await startNats();
    h.defer(() => nats.destroy());
  });
  beforeEach(async () => {
    const name = `cluster-${++bucket}`;
    a = await node('node-a', name, { limits: { maxListenersPerPath: 2 } });
    b = await node('node-b', name, { limits: { maxListenersPerPath: 2 } });
  });
  afterAll(() => h.close());

  it('an entity made through one node serves senders on another; a rule revoked through one is refused on the other within 1 s', async () => {
    const service = await h.httpService();
    expect((await api(b, 'hybridconnections/orders', 'PUT', { authorizationRules: [{ keyName: 'sender', rights: ['Send'], primaryKey: SENDER_KEY }] })).status).toBe(201);
    const agent = await h.agent(a, [{ path: 'orders', target: { type: 'http', url: service.url } }]);
    await agent.whenReady();
    expect((await send(a, 'orders', 'sender', SENDER_KEY)).status).toBe(200);
    // Listener counts are namespace-wide: node B reports node A's listener.
    expect((await api(b, 'hybridconnections/orders')).data.listenerCount).toBe(1);
    expect((await api(b, 'hybridconnections/orders/authorizationrules/sender', 'DELETE')).status).toBe(204);
    const revokedAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 5000) status = (await send(a, 'orders', 'sender', SENDER_KEY)).status;
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(1000);
  });

  it('an entity deleted through one node closes its listeners on every node', async () => {
    const service = await h.httpService();
    expect((await api(a, 'hybridconnections/gone', 'PUT', {})).status).toBe(201);
    const agent = await h.agent(a, [{ path: 'gone', target: { type: 'http', url: service.url } }]);
    await agent.whenReady();
    const states: string[] = [];
    agent.on('state', (e) => states.push(e.to));
    expect((await api(b, 'hybridconnections/gone', 'DELETE')).status).toBe(204);
    await waitFor(() => states.includes('BACKOFF'), 2000, "the listener's channel closed");
    expect(a.router.registry.count('gone')).toBe(0);
  });

  it('the listener cap counts the listeners of every node', async () => {
    expect((await api(a, 'hybridconnections/capped', 'PUT', {})).status).toBe(201);
    const listen = (relay: RelayServer) =>
      new Promise<number | WebSocket>((resolve) => {
        const ws = new WebSocket(`${relay.url.replace(/^http/, 'ws')}/$hc/capped?sb-hc-action=listen&sb-hc-token=${encodeURIComponent(token(relay, 'capped'))}`);
        ws.once('open', () => resolve(ws));
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('error', () => undefined);
      });
    const first = await listen(a);
    const second = await listen(b);
    expect(first).toBeInstanceOf(WebSocket);
    expect(second).toBeInstanceOf(WebSocket);
    expect(await listen(a)).toBe(403);
    for (const ws of [first, second]) (ws as WebSocket).terminate();
  });

  it('while NATS is away a node keeps serving its own listeners and management writes get 503; all resumes when it is back', async () => {
    const service = await h.httpService();
    expect((await api(a, 'hybridconnections/steady', 'PUT', { authorizationRules: [{ keyName: 'sender', rights: ['Send'], primaryKey: SENDER_KEY }] })).status).toBe(201);
    const agent = await h.agent(a, [{ path: 'steady', target: { type: 'http', url: service.url } }]);
    await agent.whenReady();
    expect((await send(a, 'steady', 'sender', SENDER_KEY)).status).toBe(200);
    await nats.stop();
    try {
      await waitFor(() => !(a.store as NatsStore).connected, 5000, 'the node to notice');
      // Past the entity cache's second: served from what the node knows.
      await new Promise((r) => setTimeout(r, 1200));
      expect((await send(a, 'steady', 'sender', SENDER_KEY)).status).toBe(200);
      const write = await api(a, 'hybridconnections/new-one', 'PUT', {});
      expect(write.status).toBe(503);
      expect(write.data.error.code).toBe('RELAY_ERR_STORE_UNAVAILABLE');
    } finally {
      await nats.restart();
    }
    await waitFor(() => (a.store as NatsStore).connected && (b.store as NatsStore).connected, 15_000, 'the nodes to reconnect');
    expect((await api(a, 'hybridconnections/new-one', 'PUT', {})).status).toBe(201);
    expect((await api(b, 'hybridconnections/new-one')).status).toBe(200);
    expect((await send(a, 'steady', 'sender', SENDER_KEY)).status).toBe(200);
  }, 40_000);
});

natsDescribe('store export/import')('relaybridge store export|import: file store to NATS and back', () => {
  let nats: NatsServer;
  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(() => nats.destroy());

  it('moves entities and rules from a file store to NATS and back', async () => {
    const dir = makeTempDir('store-move');
    const fileStore = path.join(dir, 'relay-store.json');
    const seed = new MemoryStore({ file: fileStore });
    await seed.open();
    await seed.putNamespaceRule({ keyName: 'root', primaryKey: 'cm9vdA==', rights: ['Manage', 'Listen', 'Send'] });
    await seed.createEntity({ path: 'Orders/V1', requiresClientAuthorization: false, userMetadata: 'team a', authorizationRules: [{ keyName: 'app', primaryKey: 'YXBw', rights: ['Send'] }] });
    await seed.createEntity({ path: 'billing' });
    await seed.close();
    const fileCfg = writeYaml(dir, 'relay-file.yaml', { store: { type: 'file', path: fileStore } });
    const natsCfg = writeYaml(dir, 'relay-nats.yaml', { store: { type: 'nats', servers: [nats.url], bucket: 'moved' } });
    const dump = path.join(dir, 'dump.json');
    expect(await exportStore(fileCfg, dump)).toEqual({ entities: 2, namespaceRules: 1 });
    expect(fs.statSync(dump).mode & 0o777).toBe(0o600);
    expect(await importStore(natsCfg, dump)).toEqual({ entities: 2, namespaceRules: 1 });
    const back = path.join(dir, 'back.json');
    expect(await exportStore(natsCfg, back)).toEqual({ entities: 2, namespaceRules: 1 });
    const strip = (f: string) => {
      const d = JSON.parse(fs.readFileSync(f, 'utf8'));
      // Timestamps are the importing store's.
      for (const e of d.entities) delete e.createdAt, delete e.updatedAt;
      return d;
    };
    expect(strip(back)).toEqual(strip(dump));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

natsDescribe('cluster-nats-ha')('a three-server NATS cluster under the relay nodes', () => {
  const h = new Harness();
  let servers: NatsServer[];
  afterAll(() => h.close());

  /** A relay node on the cluster (bucket replicated on all three); JetStream may still be electing its leader. */
  async function node(nodeId: string, urls: string[]): Promise<RelayServer> {
    const until = Date.now() + 30_000;
    for (;;) {
      try {
        return await h.relay({ nodeId, store: new NatsStore({ servers: urls, bucket: 'ha', replicas: 3, timeoutMs: 3000 }) });
      } catch (err) {
        if (Date.now() > until) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  it('losing one NATS server: the nodes move to the others, writes, revocations and calls go on', async () => {
    servers = await startNatsCluster(3);
    h.defer(() => Promise.all(servers.map((s) => s.destroy())).then(() => undefined));
    const urls = servers.map((s) => s.url);
    // Node A connects to the first server, node B to the second.
    const a = await node('node-a', urls);
    const b = await node('node-b', [urls[1]!, urls[2]!, urls[0]!]);
    expect((await api(a, 'hybridconnections/ha', 'PUT', { authorizationRules: [{ keyName: 'sender', rights: ['Send'], primaryKey: SENDER_KEY }] })).status).toBe(201);
    const service = await h.httpService();
    const agent = await h.agent(b, [{ path: 'ha', target: { type: 'http', url: service.url } }]);
    await agent.whenReady();
    await waitFor(() => a.router.registry.count('ha') === 1, 5000, 'node A to know the listener on B');
    expect((await send(a, 'ha', 'sender', SENDER_KEY)).status).toBe(200);

    // A NATS server goes away. Clients connected to it move to another server of the cluster and
    // JetStream elects new leaders for the buckets; meanwhile a call may get 503 STORE_UNAVAILABLE.
    await servers[0]!.stop();
    const until = Date.now() + 20_000;
    const eventually = async (what: () => Promise<{ status: number }>, want: number): Promise<number> => {
      let status = 0;
      while ((status = (await what()).status) !== want && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
      return status;
    };
    expect(await eventually(() => api(a, 'hybridconnections/after-loss', 'PUT', {}), 201)).toBe(201);
    expect(await eventually(() => api(b, 'hybridconnections/after-loss'), 200)).toBe(200);
    expect(await eventually(() => send(a, 'ha', 'sender', SENDER_KEY), 200)).toBe(200);
    // A rule revoked through B is refused on A within 1 s once the watches settled: a watch whose
    // consumer lived on the lost server is re-created within JetStream's 5 s idle heartbeat
    // (meanwhile the 1 s entity cache bounds how long a revoked rule is still honoured).
    await new Promise((r) => setTimeout(r, 6000));
    expect((await api(b, 'hybridconnections/ha/authorizationrules/sender', 'DELETE')).status).toBe(204);
    const revokedAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 5000) status = (await send(a, 'ha', 'sender', SENDER_KEY)).status;
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(1000);
  }, 90_000);
});
