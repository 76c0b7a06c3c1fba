/**
 * Management API, keys: a PUT on an existing rule keeps its keys, listkeys returns keys and
 * connection strings to a Manage caller, regeneratekeys renews one key; all need Manage.
 */
import { Harness, request, token } from '../helpers/harness';
import { createSasToken } from '../../src/auth/sas-token';
import { parseConnectionString } from '../../src/auth/connection-string';
import type { RelayServer } from '../../src/relay/relay-server';

describe('management API: rule keys', () => {
  const h = new Harness();
  let relay: RelayServer;
  let manage: Record<string, string>;
  const api = (path: string, method = 'GET', body?: unknown, headers = manage) =>
    request(`${relay.url}/$management/${path}`, {
      method,
      headers: { ...headers, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    }).then((r) => ({ status: r.status, data: r.body.length ? JSON.parse(r.body.toString()) : undefined }));

  beforeAll(async () => {
    relay = await h.relay();
    manage = { Authorization: token(relay, '') };
  });
  afterAll(() => h.close());

  it('a PUT on an existing entity rule keeps its keys; given keys replace them', async () => {
    await api('hybridconnections/keep', 'PUT', {});
    const first = await api('hybridconnections/keep/authorizationrules/app', 'PUT', { rights: ['Send'] });
    expect(first.status).toBe(200);
    const again = await api('hybridconnections/keep/authorizationrules/app', 'PUT', { rights: ['Send', 'Listen'] });
    expect(again.data).toMatchObject({ rights: ['Send', 'Listen'], primaryKey: first.data.primaryKey, secondaryKey: first.data.secondaryKey });
    // The old key still works for a call's token check (management: 403 = authenticated, not Manage).
    const t = createSasToken({ resourceUri: `${relay.url}/keep`, keyName: 'app', key: first.data.primaryKey });
    expect((await api('hybridconnections/keep', 'GET', undefined, { Authorization: t })).status).toBe(403);
    const replaced = await api('hybridconnections/keep/authorizationrules/app', 'PUT', { rights: ['Send'], primaryKey: 'bmV3LXByaW1hcnk=' });
    expect(replaced.data).toMatchObject({ primaryKey: 'bmV3LXByaW1hcnk=', secondaryKey: first.data.secondaryKey });
  });

  it('a PUT on an existing namespace rule keeps its keys', async () => {
    const first = await api('authorizationrules/ns-app', 'PUT', { rights: ['Listen'] });
    const again = await api('authorizationrules/ns-app', 'PUT', { rights: ['Listen', 'Send'] });
    expect(again.data).toMatchObject({ primaryKey: first.data.primaryKey, secondaryKey: first.data.secondaryKey, rights: ['Listen', 'Send'] });
  });

  it('listkeys returns the keys and connection strings (EntityPath for an entity rule) that work', async () => {
    await api('hybridconnections/team/orders', 'PUT', {});
    const rule = await api('hybridconnections/team/orders/authorizationrules/ops', 'PUT', { rights: ['Manage', 'Listen', 'Send'] });
    const keys = await api('hybridconnections/team/orders/authorizationrules/ops/listkeys', 'POST');
    expect(keys.status).toBe(200);
    expect(keys.data).toMatchObject({ keyName: 'ops', primaryKey: rule.data.primaryKey, secondaryKey: rule.data.secondaryKey });
    const cs = parseConnectionString(keys.data.primaryConnectionString);
    expect(cs).toMatchObject({ relayUrl: relay.url, keyName: 'ops', key: rule.data.primaryKey, entityPath: 'team/orders' });
    expect(keys.data.primaryConnectionString).toMatch(/^Endpoint=http:\/\/127\.0\.0\.1:\d+\/;/);
    expect(parseConnectionString(keys.data.secondaryConnectionString).key).toBe(rule.data.secondaryKey);
    // The credential in it manages its entity.
    const t = createSasToken({ resourceUri: `${cs.relayUrl}/team/orders`, keyName: cs.keyName!, key: cs.key! });
    expect((await api('hybridconnections/team/orders', 'GET', undefined, { Authorization: t })).status).toBe(200);
    const ns = await api('authorizationrules/ns-app/listkeys', 'POST');
    expect(ns.status).toBe(200);
    expect(parseConnectionString(ns.data.primaryConnectionString).entityPath).toBeUndefined();
    expect((await api('hybridconnections/team/orders/authorizationrules/nobody/listkeys', 'POST')).status).toBe(404);
    expect((await api('authorizationrules/nobody/listkeys', 'POST')).status).toBe(404);
  });

  it('regeneratekeys renews only the key named; the old one stops working at once', async () => {
    await api('hybridconnections/rot', 'PUT', {});
    const rule = await api('hybridconnections/rot/authorizationrules/app', 'PUT', { rights: ['Manage'] });
    const oldToken = createSasToken({ resourceUri: `${relay.url}/rot`, keyName: 'app', key: rule.data.primaryKey });
    expect((await api('hybridconnections/rot', 'GET', undefined, { Authorization: oldToken })).status).toBe(200);
    const renewed = await api('hybridconnections/rot/authorizationrules/app/regeneratekeys', 'POST', { keyType: 'PrimaryKey' });
    expect(renewed.status).toBe(200);
    expect(renewed.data.primaryKey).not.toBe(rule.data.primaryKey);
    expect(renewed.data.secondaryKey).toBe(rule.data.secondaryKey);
    expect(parseConnectionString(renewed.data.primaryConnectionString).key).toBe(renewed.data.primaryKey);
    expect((await api('hybridconnections/rot', 'GET', undefined, { Authorization: oldToken })).status).toBe(401);
    const sec = await api('hybridconnections/rot/authorizationrules/app/regeneratekeys', 'POST', { keyType: 'SecondaryKey' });
    expect(sec.data).toMatchObject({ primaryKey: renewed.data.primaryKey });
    expect(sec.data.secondaryKey).not.toBe(rule.data.secondaryKey);
    const bad = await api('hybridconnections/rot/authorizationrules/app/regeneratekeys', 'POST', { keyType: 'Both' });
    expect(bad.status).toBe(400);
    expect(bad.data.error.message).toMatch(/keyType: expected PrimaryKey or SecondaryKey/);
    const nsBefore = await api('authorizationrules/ns-app/listkeys', 'POST');
    const nsAfter = await api('authorizationrules/ns-app/regeneratekeys', 'POST', { keyType: 'SecondaryKey' });
    expect(nsAfter.data.primaryKey).toBe(nsBefore.data.primaryKey);
    expect(nsAfter.data.secondaryKey).not.toBe(nsBefore.data.secondaryKey);
  });

  it('keys need Manage: no token 401, a Send-only token 403', async () => {
    await api('hybridconnections/guarded-keys', 'PUT', {});
    const rule = await api('hybridconnections/guarded-keys/authorizationrules/sender', 'PUT', { rights: ['Send'] });
    const sendOnly = { Authorization: createSasToken({ resourceUri: `${relay.url}/guarded-keys`, keyName: 'sender', key: rule.data.primaryKey }) };
    expect((await api('hybridconnections/guarded-keys/authorizationrules/sender/listkeys', 'POST', undefined, {})).status).toBe(401);
    expect((await api('hybridconnections/guarded-keys/authorizationrules/sender/listkeys', 'POST', undefined, sendOnly)).status).toBe(403);
    expect((await api('hybridconnections/guarded-keys/authorizationrules/sender/regeneratekeys', 'POST', { keyType: 'PrimaryKey' }, sendOnly)).status).toBe(403);
    // An entity rule's token is not a namespace credential at all.
    expect([401, 403]).toContain((await api('authorizationrules/ns-app/listkeys', 'POST', undefined, sendOnly)).status);
  });
});
