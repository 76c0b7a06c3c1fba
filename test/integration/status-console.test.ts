/**
 * The console page (`/$status`) in a real browser: Debian's chromium driven by playwright-core.
 * It refuses without a Manage token (the login form), signs in, shows each path's listeners (our
 * agent's name and version), shows a live call within a few seconds of it, with the correlation
 * id the caller got, and marks a path whose agent stopped. The same data as JSON for scripts.
 * RELAYBRIDGE_SCREENSHOTS=DIR keeps screenshots there (docs/ has the ones made so).
 */
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Agent } from '../../src/agent/agent';
import type { RelayServer } from '../../src/relay/relay-server';
import { browserDescribe, chromiumPath } from '../helpers/browser';
import { Harness, request, token, waitFor } from '../helpers/harness';

const suite = browserDescribe('status console');
const SHOTS = process.env.RELAYBRIDGE_SCREENSHOTS ?? os.tmpdir();
/** A live update comes every 2 s: a few seconds is the page's promise. */
const LIVE_MS = 8000;

suite('the status console in a real browser', () => {
  const h = new Harness();
  let relay: RelayServer;
  let billing: Agent;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    relay = await h.relay({ entities: [{ path: 'orders', requiresClientAuthorization: false }, { path: 'billing', requiresClientAuthorization: false }, { path: 'reports', requiresClientAuthorization: true }] });
    const svc = await h.httpService((_req, res) => res.end('ok'));
    const orders = await h.agent(relay, [{ path: 'orders', target: { type: 'http', url: svc.url } }], { name: 'edge-a', version: '9.9.9' });
    billing = await h.agent(relay, [{ path: 'billing', target: { type: 'http', url: svc.url } }], { name: 'edge-b', version: '9.9.9' });
    await orders.whenReady();
    await billing.whenReady();
    browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await h.close();
  });

  it('refuses without a Manage token: the login form, 401', async () => {
    const res = await page.goto(`${relay.url}/$status`);
    expect(res?.status()).toBe(401);
    await expect(page.locator('textarea[name=token]').count()).resolves.toBe(1);
    expect(await page.content()).not.toContain('orders');
    // A Send token is not enough.
    await page.fill('textarea[name=token]', token(relay, 'orders'));
    await Promise.all([page.waitForLoadState(), page.click('button')]);
    await expect(page.locator('textarea[name=token]').count()).resolves.toBe(1);
  });

  it('signs in, shows the listeners, and a call live with the id its caller got', async () => {
    await page.goto(`${relay.url}/$status`);
    await page.fill('textarea[name=token]', token(relay, ''));
    await Promise.all([page.waitForURL(`${relay.url}/$status`), page.click('button')]);
    const orders = page.locator('tr.path[data-path="orders"]');
    await expect(orders.locator('td.listeners').innerText()).resolves.toMatch(/relaybridge-agent\/9\.9\.9 \(edge-a\) · 127\.0\.0\.1 · node-1 · since/);
    expect(await orders.getAttribute('class')).not.toContain('no-listener');
    // A path nobody serves is marked from the start.
    expect(await page.locator('tr.path[data-path="reports"]').getAttribute('class')).toContain('no-listener');

    const call = await request(`${relay.url}/orders/items/7`);
    expect(call.status).toBe(200);
    const id = String(call.headers['relaybridge-correlation-id']);
    // No reload: the page's own refresh brings it.
    const row = page.locator(`tr.call[data-id="${id}"]`);
    await row.waitFor({ timeout: LIVE_MS });
    await expect(row.innerText()).resolves.toMatch(/orders\s+GET\s+http\s+200/);
    await expect(orders.locator('td.rate').innerText()).resolves.not.toBe('0');
    await page.screenshot({ path: path.join(SHOTS, 'status-console.png'), fullPage: true });
  }, 30_000);

  it('marks a path whose agent stopped, within seconds', async () => {
    await billing.stop();
    await waitFor(() => relay.router.registry.count('billing') === 0, 10_000, 'the listener to go');
    await page.locator('tr.path.no-listener[data-path="billing"]').waitFor({ timeout: LIVE_MS });
    await expect(page.locator('tr.path[data-path="billing"] td.listeners').innerText()).resolves.toBe('no listener');
    // A failed call shows as failed.
    const failed = await request(`${relay.url}/billing/x`);
    expect(failed.status).toBe(502);
    const id = String(failed.headers['relaybridge-correlation-id']);
    await page.locator(`tr.call.failed[data-id="${id}"]`).waitFor({ timeout: LIVE_MS });
    await page.screenshot({ path: path.join(SHOTS, 'status-console-no-listener.png'), fullPage: true });
  }, 30_000);

  it('gives scripts the same data as JSON, to a Manage token in a header only', async () => {
    const refused = await request(`${relay.url}/$status?format=json`);
    expect(refused.status).toBe(401);
    const res = await request(`${relay.url}/$status?format=json`, { headers: { Authorization: token(relay, '') } });
    expect(res.status).toBe(200);
    const model = JSON.parse(res.body.toString());
    const orders = model.paths.find((p: { path: string }) => p.path === 'orders');
    expect(orders).toMatchObject({ noListener: false, listeners: [{ agent: 'relaybridge-agent/9.9.9 (edge-a)', remoteAddress: '127.0.0.1', node: 'node-1', healthy: true }] });
    expect(orders.calls).toBeGreaterThanOrEqual(1);
    expect(orders.p50Ms).toEqual(expect.any(Number));
    expect(model.paths.find((p: { path: string }) => p.path === 'billing')).toMatchObject({ noListener: true, listeners: [], errors: 1 });
    expect(model.recent[0]).toMatchObject({ path: 'billing', status: 502, code: 'RELAY_ERR_NO_LISTENER' });
    // The page's own requests are not calls.
    expect(model.recent.every((c: { endpoint: string }) => c.endpoint !== 'status')).toBe(true);
  });
});
