/** The management REST API: CRUD, rules, keys, validation, and changes taking effect at once. */
import { Harness, request, token } from '../helpers/harness';
import { createSasToken } from '../../src/auth/sas-token';
import type { RelayServer } from '../../src/relay/relay-server';
import { MemoryStore } from '../../src/store/memory-store';

describe('management API', () => {
  const h = new Harness();
  let relay: RelayServer;
  let manage: Record<string, string>;
  const api = (path: string, method = 'GET', body?: unknown) =>
    request(`${relay.url}/$management/${path}`, {
      method,
      headers: { ...manage, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    }).then((r) => ({ status: r.status, data: r.body.length ? JSON.parse(r.body.toString()) : undefined }));

  beforeAll(async () => {
    relay = await h.relay();
    manage = { Authorization: token(relay, '') };
  });
  afterAll(() => h.close());

  it('creates, lists, shows, updates and deletes hybrid connections (nested paths too)', async () => {
    expect((await api('hybridconnections/team/orders', 'PUT', { requiresClientAuthorization: false, userMetadata: 'm' })).status).toBe(201);
    const list = await api('hybridconnections');
    expect(list.data.value.map((e: { path: string }) => e.path)).toContain('team/orders');
    const one = await api('hybridconnections/team/orders');
    expect(one.data).toMatchObject({ path: 'team/orders', requiresClientAuthorization: false, userMetadata: 'm', listenerCount: 0, listeners: [] });
    expect((await api('hybridconnections/team/orders', 'PUT', { requiresClientAuthorization: true })).status).toBe(200);
    expect((await api('hybridconnections/team/orders')).data.requiresClientAuthorization).toBe(true);
    // Event distribution is switched on and off like any field.
    expect((await api('hybridconnections/team/orders')).data.broadcast).toBe(false);
    expect((await api('hybridconnections/team/orders', 'PUT', { broadcast: true })).status).toBe(200);
    expect((await api('hybridconnections/team/orders')).data.broadcast).toBe(true);
    expect((await api('hybridconnections/team/orders', 'PUT', { broadcast: 'yes' })).status).toBe(400);
    expect((await api('hybridconnections/team/orders', 'PUT', { broadcast: false })).status).toBe(200);
    expect((await api('hybridconnections/team/orders')).data.broadcast).toBe(false);
    expect((await api('hybridconnections/team/orders', 'DELETE')).status).toBe(204);
    expect((await api('hybridconnections/team/orders')).status).toBe(404);
  });

  it('names bad fields and refuses bad JSON', async () => {
    const bad = await api('hybridconnections/x', 'PUT', { requiresClientAuthorization: 'yes', colour: 1 });
    expect(bad.status).toBe(400);
    expect(bad.data.error.message).toMatch(/colour: unknown field/);
    const res = await request(`${relay.url}/$management/hybridconnections/x`, { method: 'PUT', headers: { ...manage, 'Content-Type': 'application/json' }, body: '{nope' });
    expect(res.status).toBe(400);
    expect((await api('hybridconnections/$bad', 'PUT', {})).status).toBe(400);
  });

  it('needs Manage: no token 401, a Send-only token 403', async () => {
    expect((await request(`${relay.url}/$management/hybridconnections`)).status).toBe(401);
    await api('hybridconnections/guarded', 'PUT', {});
    const rule = await api('hybridconnections/guarded/authorizationrules/sender', 'PUT', { rights: ['Send'] });
    const sendOnly = createSasToken({ resourceUri: `${relay.url}/guarded`, keyName: 'sender', key: rule.data.primaryKey });
    expect((await request(`${relay.url}/$management/hybridconnections/guarded`, { headers: { Authorization: sendOnly } })).status).toBe(403);
  });

  it('applies rule changes to the very next call (no stale cache)', async () => {
    await api('hybridconnections/live', 'PUT', {});
    const svc = await h.httpService((_req, res) => res.end('ok'));
    const agent = await h.agent(relay, [{ path: 'live', target: { type: 'http', url: svc.url } }]);
    await agent.whenReady();
    const rule = await api('hybridconnections/live/authorizationrules/app', 'PUT', { rights: ['Send'] });
    expect(rule.data.primaryKey).toBeDefined();
    const t = createSasToken({ resourceUri: `${relay.url}/live`, keyName: 'app', key: rule.data.primaryKey });
    expect((await request(`${relay.url}/live/x`, { headers: { ServiceBusAuthorization: t } })).status).toBe(200);
    expect((await request(`${relay.url}/live/x`, { headers: { ServiceBusAuthorization: t } })).status).toBe(200);
    expect((await api('hybridconnections/live/authorizationrules/app', 'DELETE')).status).toBe(204);
    expect((await request(`${relay.url}/live/x`, { headers: { ServiceBusAuthorization: t } })).status).toBe(401);
    // Deleting the entity closes its listeners (1001) and senders get 404.
    await api('hybridconnections/live', 'DELETE');
    expect((await request(`${relay.url}/live/x`, { headers: { ServiceBusAuthorization: t } })).status).toBe(404);
  });

  it('manages namespace rules', async () => {
    const put = await api('authorizationrules/ops', 'PUT', { rights: ['Listen'] });
    expect(put.status).toBe(200);
    expect(put.data.secondaryKey).toBeDefined();
    expect((await api('authorizationrules')).data.value.map((r: { keyName: string }) => r.keyName)).toContain('ops');
    expect((await api('authorizationrules/ops', 'DELETE')).status).toBe(204);
  });
});

describe('management API and the relay caches', () => {
  const h = new Harness();
  let relay: RelayServer;
  let lookups = 0;

  /** The embedded store, counting entity lookups (the relay caches them between changes). */
  class CountingStore extends MemoryStore {
    override async getEntity(path: string) {
      lookups++;
      return super.getEntity(path);
    }
  }

  beforeAll(async () => {
    relay = await h.relay({ store: new CountingStore(), entities: [{ path: 'open', requiresClientAuthorization: false }] });
  });
  afterAll(() => h.close());

  it('callers without Manage cannot make the relay drop its caches; an authorized change does', async () => {
    await request(`${relay.url}/open`); // no listener: 502, but the entity is now cached
    const warm = lookups;
    await request(`${relay.url}/open`);
    expect(lookups).toBe(warm);
    for (const method of ['PUT', 'DELETE', 'POST']) {
      const res = await request(`${relay.url}/$management/hybridconnections/open`, { method, headers: { 'Content-Type': 'application/json' }, body: '{}' });
      expect(res.status).toBeGreaterThanOrEqual(400); // refused (401, or 400/405 before any check)
    }
    // (the management routes read the store themselves; the relayed call must not need to)
    const before = lookups;
    await request(`${relay.url}/open`);
    expect(lookups).toBe(before);
    const put = await request(`${relay.url}/$management/hybridconnections/open`, {
      method: 'PUT',
      headers: { Authorization: token(relay, ''), 'Content-Type': 'application/json' },
      body: JSON.stringify({ requiresClientAuthorization: false, userMetadata: 'changed' }),
    });
    expect(put.status).toBe(200);
    const after = lookups;
    await request(`${relay.url}/open`);
    expect(lookups).toBeGreaterThan(after);
  });
});
