/**
 * NatsStore against a real nats-server (JetStream): the Store contract, writes from two nodes at
 * once losing no update, changes from another node seen by watch(), documents, and the store
 * riding out a NATS restart.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { storeFromConfig } from '../../src/cli/commands/relay';
import { generateSelfSigned } from '../../src/cli/tls';
import { NatsStore } from '../../src/store/nats-store';
import type { StoreChange } from '../../src/store/store';
import { storeContract } from '../contract/store.contract';
import { natsDescribe, requireNats, startNats, type NatsServer } from '../helpers/nats';
import { freePort, makeTempDir } from '../helpers/processes';
import { noopLogger } from '../../src/core/logger';

let server: Promise<NatsServer> | undefined;
/** One nats-server for this file, started on first use. */
const nats = (): Promise<NatsServer> => (server ??= startNats());
afterAll(async () => {
  if (server) await (await server).destroy();
});

const bucket = (): string => `t-${randomUUID().slice(0, 8)}`;

if (requireNats()) {
  storeContract('NatsStore (JetStream KV)', async () => {
    const s = await nats();
    const store = new NatsStore({ servers: [s.url], bucket: bucket() });
    return { store, cleanup: async () => undefined };
  });
}

const waitFor = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

natsDescribe('NatsStore')('NatsStore: several nodes on one bucket', () => {
  const opened: NatsStore[] = [];
  const node = async (b: string, extra: Partial<ConstructorParameters<typeof NatsStore>[0]> = {}): Promise<NatsStore> => {
    const s = new NatsStore({ servers: [(await nats()).url], bucket: b, ...extra });
    await s.open();
    opened.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });

  it('messages between nodes: a busy turn\'s messages all arrive, in order, one socket write after the first', async () => {
    const b = bucket();
    const [a, c] = [await node(b), await node(b)];
    const from = a.messaging()!;
    expect(a.messaging()).toBe(from); // one per connection: every message through the same gate
    const got: string[] = [];
    c.messaging()!.subscribe('t', (d) => got.push(Buffer.from(d).toString()));
    // The subscription is in place at the server before anything is published.
    await new Promise((r) => setTimeout(r, 200));
    const sent: string[] = [];
    for (let turn = 0; turn < 3; turn++) {
      // One turn: the first goes out at once, the other 49 at the turn's end.
      for (let i = 0; i < 50; i++) {
        sent.push(`${turn}.${i}`);
        from.publish('t', Buffer.from(`${turn}.${i}`));
      }
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => got.length === sent.length);
    expect(got).toEqual(sent);
  });

  it('concurrent writes from two nodes lose no update (revision-checked writes)', async () => {
    const b = bucket();
    const [a, c] = [await node(b), await node(b)];
    await a.createEntity({ path: 'orders' });
    const rule = (n: string) => ({ keyName: n, primaryKey: `${n}-key`, rights: ['Send' as const] });
    await Promise.all([
      ...['a1', 'a2', 'a3', 'a4', 'a5', 'a6'].map((n) => a.putEntityRule('orders', rule(n))),
      ...['c1', 'c2', 'c3', 'c4', 'c5', 'c6'].map((n) => c.putEntityRule('orders', rule(n))),
      ...['na1', 'na2', 'na3'].map((n) => a.putNamespaceRule(rule(n))),
      ...['nc1', 'nc2', 'nc3'].map((n) => c.putNamespaceRule(rule(n))),
    ]);
    const names = (await c.getEntity('orders'))!.authorizationRules.map((r) => r.keyName).sort();
    expect(names).toEqual(['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6']);
    expect((await a.listNamespaceRules()).map((r) => r.keyName).sort()).toEqual(['na1', 'na2', 'na3', 'nc1', 'nc2', 'nc3']);
    // The cap holds across nodes: a 13th rule is refused whichever node writes it.
    await expect(a.putEntityRule('orders', rule('x'))).rejects.toThrow(/at most 12/);
    // Two nodes creating one entity at once: exactly one wins.
    const results = await Promise.allSettled([a.createEntity({ path: 'race' }), c.createEntity({ path: 'race' })]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason.code).toBe('RELAY_ERR_ENTITY_EXISTS');
  });

  it('watch() on one node sees entity and namespace-rule changes made through another', async () => {
    const b = bucket();
    const [a, c] = [await node(b), await node(b)];
    const seen: StoreChange[] = [];
    const stop = a.watch((ch) => seen.push(ch));
    await new Promise((r) => setTimeout(r, 200)); // the watch is set up
    await c.createEntity({ path: 'Team/Orders' });
    await c.putNamespaceRule({ keyName: 'k', primaryKey: 'p', rights: ['Send'] });
    await c.deleteEntity('team/orders');
    await waitFor(() => seen.length >= 3);
    stop();
    expect(seen).toEqual([
      { kind: 'entity', path: 'team/orders', deleted: false },
      { kind: 'namespaceRules' },
      { kind: 'entity', path: 'team/orders', deleted: true },
    ]);
  });

  it('listeners are namespace-wide: each node sees the others’, and a closed node’s go at once', async () => {
    const b = bucket();
    const [a, c] = [await node(b), await node(b)];
    await a.registerListener({ path: 'orders', listenerId: 'l1', nodeId: 'a', connectedAt: new Date().toISOString() });
    await c.registerListener({ path: 'ORDERS', listenerId: 'l2', nodeId: 'c', connectedAt: new Date().toISOString() });
    expect((await a.listListeners('orders')).map((l) => l.listenerId)).toEqual(['l1', 'l2']);
    expect(await c.countListeners('orders')).toBe(2);
    await c.close();
    opened.splice(opened.indexOf(c), 1);
    expect((await a.listListeners('orders')).map((l) => l.nodeId)).toEqual(['a']);
  });

  it('a node that dies without closing: its listener records expire (listenerTtlMs)', async () => {
    const b = bucket();
    const a = await node(b, { listenerTtlMs: 1500 });
    await a.registerListener({ path: 'p', listenerId: 'alive', nodeId: 'a', connectedAt: new Date().toISOString() });
    // Another node wrote a record and was killed (no refresh, no purge): written here with a bare client.
    const nc = await connect({ servers: [(await nats()).url] });
    const kv = await new Kvm(nc).open(`${b}-listeners`);
    const enc = (t: string) => Buffer.from(t).toString('base64url');
    await kv.put(`l.${enc('p')}.${enc('gone')}`, JSON.stringify({ path: 'p', listenerId: 'gone', nodeId: 'x', connectedAt: new Date().toISOString(), order: 0 }));
    await nc.close();
    expect((await a.listListeners('p')).map((l) => l.listenerId)).toEqual(['gone', 'alive']);
    // The live node's record is refreshed (every ttl/3); the dead one's expires.
    await new Promise((r) => setTimeout(r, 2500));
    expect((await a.listListeners('p')).map((l) => l.listenerId)).toEqual(['alive']);
  });

  it('documents are shared and deleting the entity deletes them', async () => {
    const b = bucket();
    const [a, c] = [await node(b), await node(b)];
    await a.createEntity({ path: 'calc' });
    await a.putDocument('calc', 'wsdl', { body: Buffer.from('<definitions/>'), contentType: 'text/xml', storedAt: 1 });
    expect((await c.getDocument('CALC', 'wsdl'))?.body.toString()).toBe('<definitions/>');
    await c.deleteEntity('calc');
    expect(await a.getDocument('calc', 'wsdl')).toBeUndefined();
  });

  it('rides out a NATS restart: reads and writes work again, and watch() reports a reset', async () => {
    const s = await startNats();
    try {
      const a = new NatsStore({ servers: [s.url], bucket: 'restart', timeoutMs: 2000 });
      await a.open();
      opened.push(a);
      await a.createEntity({ path: 'before' });
      const seen: StoreChange[] = [];
      const stop = a.watch((ch) => seen.push(ch));
      await s.restart();
      await waitFor(() => seen.some((ch) => ch.kind === 'reset'), 15_000);
      let created = false;
      for (let i = 0; i < 50 && !created; i++) {
        created = await a.createEntity({ path: 'after' }).then(
          () => true,
          () => new Promise<boolean>((r) => setTimeout(() => r(false), 200)),
        );
      }
      expect(created).toBe(true);
      expect((await a.listEntities()).map((e) => e.path)).toEqual(['after', 'before']);
      stop();
    } finally {
      await s.destroy();
    }
  }, 30_000);
});

natsDescribe('NatsStore secured')('a secured NATS: TLS and a user/password, from the relay config file', () => {
  let secured: NatsServer;
  let dir: string;
  beforeAll(async () => {
    dir = makeTempDir('nats-tls-');
    const { cert, key } = await generateSelfSigned(['localhost', '127.0.0.1']);
    fs.writeFileSync(path.join(dir, 'nats-cert.pem'), cert);
    fs.writeFileSync(path.join(dir, 'nats-key.pem'), key);
    secured = await startNats(['--tls', '--tlscert', path.join(dir, 'nats-cert.pem'), '--tlskey', path.join(dir, 'nats-key.pem'), '--user', 'relay', '--pass', 's3cret-pass']);
  });
  afterAll(async () => {
    await secured.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const config = (extra: Record<string, unknown>) => ({
    type: 'nats' as const,
    servers: [`tls://localhost:${secured.port}`],
    bucket: 'secured',
    replicas: 1,
    listenerTtlMs: 30_000,
    tls: { caFile: './nats-cert.pem' },
    user: 'relay',
    pass: 's3cret-pass',
    ...extra,
  });

  it('opens with the CA file (relative to the config file) and the credentials, and stores and reads', async () => {
    const store = await storeFromConfig(path.join(dir, 'relay.yaml'), config({}));
    await store.open();
    try {
      await store.createEntity({ path: 'over-tls' });
      expect((await store.getEntity('over-tls'))?.path).toBe('over-tls');
    } finally {
      await store.close();
    }
  });

  it('a wrong password or an untrusted certificate fails open() with a clear error', async () => {
    const wrongPass = await storeFromConfig(path.join(dir, 'relay.yaml'), config({ pass: 'wrong' }));
    await expect(wrongPass.open()).rejects.toThrow(/NATS|authoriz/i);
    const noCa = await storeFromConfig(path.join(dir, 'relay.yaml'), config({ tls: undefined }));
    await expect(noCa.open()).rejects.toThrow(/NATS|certificate|TLS/i);
  });
});

natsDescribe('NatsStore start')('NATS not there yet when a node starts', () => {
  it('open() keeps trying, says so in the log, and opens once NATS is up', async () => {
    const port = await freePort();
    const warnings: string[] = [];
    const log = { ...noopLogger, warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)), child: () => log } as typeof noopLogger;
    const store = new NatsStore({ servers: [`nats://127.0.0.1:${port}`], bucket: 'late', log, timeoutMs: 1000 });
    let opened = false;
    const opening = store.open().then(() => (opened = true));
    await waitFor(() => warnings.length > 0, 5000);
    expect(warnings[0]).toMatch(/NATS is not reachable yet; trying again/);
    expect(opened).toBe(false);
    const late = await startNats([], port);
    try {
      await opening;
      await store.createEntity({ path: 'late' });
      expect((await store.getEntity('late'))?.path).toBe('late');
    } finally {
      await store.close();
      await late.destroy();
    }
  }, 30_000);
});
