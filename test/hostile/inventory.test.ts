/**
 * No anonymous inventory: /$status and /$metrics answer only to a Manage token on the public
 * port (or on the admin listener), /$health says only ok / not ok to the public.
 */
import { createSasToken } from '../../src/auth/sas-token';
import { Harness, request, token, ROOT_KEY, ROOT_KEY_NAME } from '../helpers/harness';
import type { RelayServer } from '../../src/relay/relay-server';

describe('/$status, /$metrics and /$health on the public port', () => {
  const h = new Harness();
  let relay: RelayServer;
  let manage: string;

  beforeAll(async () => {
    relay = await h.relay({
      metrics: true,
      namespaceRules: [
        { keyName: ROOT_KEY_NAME, primaryKey: ROOT_KEY, rights: ['Manage', 'Listen', 'Send'] },
        { keyName: 'sender', primaryKey: 'c2VuZGVyLWtleQ==', rights: ['Send', 'Listen'] },
      ],
      entities: [{ path: 'secret-inventory', requiresClientAuthorization: false }],
    });
    manage = createSasToken({ resourceUri: relay.url, keyName: ROOT_KEY_NAME, key: ROOT_KEY });
    // Something to count: one anonymous call, so metrics name the path.
    await request(`${relay.url}/secret-inventory/x`);
  });
  afterAll(() => h.close());

  it('refuses /$status and /$metrics without a token, and names no path', async () => {
    const status = await request(`${relay.url}/$status`);
    expect(status.status).toBe(401);
    expect(status.body.toString()).not.toContain('secret-inventory');
    expect(status.body.toString()).toContain('<form method="post"'); // the login form
    const metrics = await request(`${relay.url}/$metrics`);
    expect(metrics.status).toBe(401);
    expect(metrics.body.toString()).not.toContain('secret-inventory');
  });

  it('refuses a token without Manage, and a Manage token of a bad signature', async () => {
    const send = createSasToken({ resourceUri: relay.url, keyName: 'sender', key: 'c2VuZGVyLWtleQ==' });
    expect((await request(`${relay.url}/$metrics`, { headers: { ServiceBusAuthorization: send } })).status).toBe(403);
    const forged = createSasToken({ resourceUri: relay.url, keyName: ROOT_KEY_NAME, key: 'not-the-key' });
    const res = await request(`${relay.url}/$status`, { headers: { Authorization: forged } });
    expect(res.status).toBe(401);
    expect(res.body.toString()).not.toContain('secret-inventory');
  });

  it('serves both to a Manage token in the Authorization or ServiceBusAuthorization header', async () => {
    const metrics = await request(`${relay.url}/$metrics`, { headers: { Authorization: manage } });
    expect(metrics.status).toBe(200);
    expect(metrics.body.toString()).toContain('path="secret-inventory"');
    const status = await request(`${relay.url}/$status`, { headers: { ServiceBusAuthorization: manage } });
    expect(status.status).toBe(200);
    expect(status.body.toString()).toContain('secret-inventory');
    // An entity-scoped Manage token is not a namespace one.
    const scoped = token(relay, 'secret-inventory');
    expect((await request(`${relay.url}/$status`, { headers: { ServiceBusAuthorization: scoped } })).status).toBe(403);
  });

  it('logs a browser in with the form (HttpOnly cookie scoped to /$status), and out', async () => {
    const bad = await request(`${relay.url}/$status`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'token=SharedAccessSignature%20sr%3Dx%26sig%3Dy%26se%3D1%26skn%3Dz',
    });
    expect(bad.status).toBe(401);
    expect(bad.headers['set-cookie']).toBeUndefined();
    const login = await request(`${relay.url}/$status`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: manage }).toString(),
    });
    expect(login.status).toBe(303);
    const cookie = login.headers['set-cookie']![0]!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\/\$status/);
    const page = await request(`${relay.url}/$status`, { headers: { Cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(page.body.toString()).toContain('secret-inventory');
    // The cookie is not a credential for anything else.
    expect((await request(`${relay.url}/$metrics`, { headers: { Cookie: cookie.split(';')[0]! } })).status).toBe(401);
    const out = await request(`${relay.url}/$status`, { method: 'POST', body: 'logout=1', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(out.headers['set-cookie']![0]).toMatch(/Max-Age=0/);
  });

  it('/$health: only ok to the public, details with Manage', async () => {
    const pub = await request(`${relay.url}/$health`);
    expect(pub.status).toBe(200);
    expect(JSON.parse(pub.body.toString())).toEqual({ status: 'ok' });
    const full = await request(`${relay.url}/$health`, { headers: { Authorization: manage } });
    expect(JSON.parse(full.body.toString())).toMatchObject({ status: 'ok', nodeId: 'node-1', listeners: 0 });
  });
});

describe('the admin listener', () => {
  const h = new Harness();
  let relay: RelayServer;

  beforeAll(async () => {
    relay = await h.relay({ metrics: true, admin: { port: 0 }, entities: [{ path: 'listed', requiresClientAuthorization: false }] });
    await request(`${relay.url}/listed`);
  });
  afterAll(() => h.close());

  it('binds to loopback and serves status, metrics and detailed health without a token', async () => {
    expect(relay.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const status = await request(`${relay.adminUrl}/$status`);
    expect(status.status).toBe(200);
    expect(status.body.toString()).toContain('listed');
    const metrics = await request(`${relay.adminUrl}/$metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body.toString()).toContain('path="listed"');
    expect(JSON.parse((await request(`${relay.adminUrl}/$health`)).body.toString())).toMatchObject({ status: 'ok', nodeId: 'node-1' });
    // Nothing else is served there, and the public port still wants a token.
    expect((await request(`${relay.adminUrl}/listed`)).status).toBe(404);
    expect((await request(`${relay.url}/$status`)).status).toBe(401);
  });

  it('answers 503 on /$health while the relay closes', async () => {
    const closing = relay.close();
    // The public port stops at once; the admin listener closes first, so a probe sees 503 or a refusal.
    await closing;
    await expect(request(`${relay.adminUrl}/$health`)).rejects.toThrow();
  });
});
