/**
 * A caller-written Host (or net.tcp Via host) never widens the token audience. A token minted
 * for another relay that shares this relay's key (staging and production built from one config)
 * names that relay in `sr`; sent here with `Host: relay-y.example`, it must get what it gets with
 * the real Host: 403 for Send, Listen and Manage, a fault on net.tcp. The relay runs without
 * publicUrl and audienceHosts, as the README's quick starts do.
 */
import http from 'node:http';
import WebSocket from 'ws';
import { createSasToken } from '../../src/auth/sas-token';
import { parseFault } from '../../src/protocol/soap/fault';
import type { RelayServer } from '../../src/relay/relay-server';
import { Harness, ROOT_KEY, ROOT_KEY_NAME } from '../helpers/harness';
import { NetTcpClient } from '../helpers/net-tcp-client';

const FOREIGN = 'relay-y.example';
const foreignToken = (path: string): string =>
  createSasToken({ resourceUri: `http://${FOREIGN}/${path}`, keyName: ROOT_KEY_NAME, key: ROOT_KEY });

/** A request with a Host header of the caller's choosing (fetch-style clients fix it to the URL's). */
function send(relay: RelayServer, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  const url = new URL(relay.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path, method: body === undefined ? 'GET' : 'POST', headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('a caller-written Host never widens the token audience', () => {
  const h = new Harness();
  let relay: RelayServer;
  afterAll(() => h.close());

  beforeAll(async () => {
    relay = await h.relay({ entities: [{ path: 'orders', requiresClientAuthorization: true }], netTcp: { port: 0, host: '127.0.0.1' } });
  });

  it('Send over HTTP: 403 with Host set to the token’s host, as with the real Host', async () => {
    const tok = foreignToken('orders');
    for (const host of [FOREIGN, new URL(relay.url).host]) {
      const res = await send(relay, '/orders/x', { Host: host, ServiceBusAuthorization: tok });
      expect(res.status).toBe(403);
      expect(res.text).toContain('RELAY_ERR_SAS_WRONG_AUDIENCE');
    }
  });

  it('Send as SOAP: a fault, never a relayed call', async () => {
    const env = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Ping xmlns="urn:t"/></s:Body></s:Envelope>';
    const res = await send(relay, '/orders', { Host: FOREIGN, ServiceBusAuthorization: foreignToken('orders'), 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '"urn:t/Ping"' }, env);
    expect(res.status).toBe(500); // SOAP 1.1 faults travel with 500
    expect(res.text).toContain('RELAY_ERR_SAS_WRONG_AUDIENCE');
  });

  it('Listen: the upgrade is refused (no 101), so the caller never receives real callers’ requests', async () => {
    const url = `${relay.url.replace(/^http/, 'ws')}/$hc/orders?sb-hc-action=listen&sb-hc-token=${encodeURIComponent(foreignToken('orders'))}`;
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url, { headers: { Host: FOREIGN } });
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => {
        resolve(101);
        ws.terminate();
      });
      ws.on('error', () => undefined);
    });
    expect(status).toBe(403);
    expect(relay.router.registry.count('orders')).toBe(0);
  });

  it('Manage: the management API and /$status refuse it', async () => {
    const mgmt = await send(relay, '/$management/hybridconnections', { Host: FOREIGN, Authorization: createSasToken({ resourceUri: `http://${FOREIGN}/`, keyName: ROOT_KEY_NAME, key: ROOT_KEY }) });
    expect(mgmt.status).toBe(403);
    const status = await send(relay, '/$status', { Host: FOREIGN, Authorization: foreignToken('$status') });
    expect(status.status).toBe(403);
  });

  it('net.tcp: a Via naming the token’s host does not make it valid (fault, not relayed)', async () => {
    const c = await NetTcpClient.connect({ port: relay.netTcp!.port });
    h.defer(() => c.destroy());
    await c.open(`net.tcp://${FOREIGN}:${relay.netTcp!.port}/orders`);
    const reply = await c.request('urn:t/Ping', '<Ping xmlns="urn:t"/>', { token: foreignToken('orders') });
    expect(parseFault(reply)?.subcodes[0]?.localName).toBe('RELAY_ERR_SAS_WRONG_AUDIENCE');
  });
});
