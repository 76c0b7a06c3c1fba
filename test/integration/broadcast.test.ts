/**
 * Event distribution on one node (the cluster case: cluster-routing.test.ts): an entity with
 * `distribution: broadcast` hands each one-way message, HTTP or SOAP over HTTP or net.tcp, to
 * every listener of its path (two agents here), answers the HTTP caller 202 at once, and refuses
 * a call that waits for a reply with RELAY_ERR_BROADCAST_ONE_WAY in the protocol's own form
 * (JSON 405, SOAP fault, net.tcp SOAP 1.2 fault): a MessageID says so, and for basicHttp the
 * service's WSDL, read through a listener. The `distribution` spelling in config, the
 * management API and the CLI.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseFault } from '../../src/protocol/soap/fault';
import type { RelayServer } from '../../src/relay/relay-server';
import { runManage } from '../../src/cli/commands/manage';
import { createSasToken } from '../../src/auth/sas-token';
import { Harness, request, ROOT_KEY, ROOT_KEY_NAME, waitFor } from '../helpers/harness';
import { NetTcpClient } from '../helpers/net-tcp-client';
import { REPO_ROOT } from '../helpers/processes';

const NS = 'urn:events';
const ACTION = (op: string) => `${NS}/IEvents/${op}`;
const SOAP11 = (body: string) => `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>${body}</s:Body></s:Envelope>`;
const SOAP12 = (body: string, messageId?: string) =>
  `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="1">${ACTION('Ask')}</a:Action>${messageId ? `<a:MessageID>${messageId}</a:MessageID><a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>` : ''}<a:To s:mustUnderstand="1">http://x/events</a:To></s:Header><s:Body>${body}</s:Body></s:Envelope>`;

jest.setTimeout(30_000);

describe('event distribution (broadcast) on one node', () => {
  const h = new Harness();
  let relay: RelayServer;
  const got: Record<string, string[]> = { one: [], two: [] };

  beforeAll(async () => {
    relay = await h.relay({
      netTcp: { port: 0, host: '127.0.0.1' },
      entities: [
        { path: 'events', requiresClientAuthorization: false, distribution: 'broadcast' },
        { path: 'plain', requiresClientAuthorization: false },
        { path: 'calc-events', requiresClientAuthorization: false, distribution: 'broadcast' },
      ],
    });
    // Two SOAP 1.1 services with the calculator's WSDL (Notify one-way, Add request-reply).
    const wsdl = fs.readFileSync(path.join(REPO_ROOT, 'wsdl', 'calculator.wsdl'));
    for (const name of ['calcOne', 'calcTwo']) {
      const svc = await h.httpService((req: http.IncomingMessage, res: http.ServerResponse) => {
        if (req.method === 'GET' && req.url?.endsWith('?wsdl')) return void res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' }).end(wsdl);
        let text = '';
        req.on('data', (c: Buffer) => (text += c.toString()));
        req.on('end', () => {
          got[name] = [...(got[name] ?? []), `${req.headers.soapaction} ${text}`];
          res.writeHead(200).end();
        });
      });
      const agent = await h.agent(relay, [{ path: 'calc-events', target: { type: 'http', url: `${svc.url}/calc`, soapVersion: '1.1' } }]);
      await agent.whenReady();
    }
    const collector = (name: string) =>
      h.httpService((req: http.IncomingMessage, res: http.ServerResponse) => {
        if (req.url?.includes('?wsdl')) return void res.writeHead(404).end();
        let text = '';
        req.on('data', (c: Buffer) => (text += c.toString()));
        req.on('end', () => {
          got[name]!.push(`${req.method} ${req.headers['content-type']} ${text}`);
          res.writeHead(202).end();
        });
      });
    for (const name of ['one', 'two']) {
      const agent = await h.agent(relay, [{ path: 'events', target: { type: 'http', url: (await collector(name)).url, soapVersion: '1.2' } }]);
      await agent.whenReady();
    }
  });
  afterAll(() => h.close());
  beforeEach(() => {
    for (const k of Object.keys(got)) got[k] = [];
  });

  it('net.tcp: a one-way message reaches every listener; a request waiting for a reply gets a fault; the session goes on', async () => {
    const c = await NetTcpClient.connect({ port: relay.netTcp!.port });
    h.defer(() => c.destroy());
    await c.open(`${relay.netTcp!.url}/events`);
    c.notify(ACTION('Shipped'), `<Shipped xmlns="${NS}"><id>7</id></Shipped>`);
    await waitFor(() => got.one!.length === 1 && got.two!.length === 1, 5000, `both listeners to get the one-way message: ${JSON.stringify(got)}`);
    for (const g of [got.one!, got.two!]) {
      expect(g[0]).toMatch(/^POST application\/soap\+xml; charset=utf-8; action="urn:events\/IEvents\/Shipped" /);
      expect(g[0]).toContain('<id>7</id>');
    }
    const reply = await c.request(ACTION('Ask'), `<Ask xmlns="${NS}"/>`);
    const fault = parseFault(reply);
    expect(fault?.code.localName).toBe('Sender');
    expect(fault?.subcodes[0]?.localName).toBe('RELAY_ERR_BROADCAST_ONE_WAY');
    expect(fault?.reason).toMatch(/broadcast hybrid connection: it takes one-way operations only/);
    // Nothing of the refused request was delivered; the session still carries one-way messages.
    c.notify(ACTION('Shipped'), `<Shipped xmlns="${NS}"><id>8</id></Shipped>`);
    await waitFor(() => got.one!.length === 2 && got.two!.length === 2, 5000, 'the next one-way message');
    for (const g of [got.one!, got.two!]) expect(g[1]).toContain('<id>8</id>');
    expect(c.unsolicited).toEqual([]);
    await c.end();
  });

  it('SOAP over HTTP: one-way (no MessageID) answered 202 and delivered to both; with a MessageID, a SOAP fault and nothing delivered', async () => {
    const oneWay = await request(`${relay.url}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${ACTION('Shipped')}"` },
      body: SOAP11(`<Shipped xmlns="${NS}"><id>9</id></Shipped>`),
    });
    expect(oneWay.status).toBe(202);
    expect(oneWay.headers['x-relaybridge-listeners']).toBe('2');
    await waitFor(() => got.one!.length === 1 && got.two!.length === 1, 5000, 'both listeners to get the SOAP message');

    const twoWay = await request(`${relay.url}/events`, {
      method: 'POST',
      headers: { 'Content-Type': `application/soap+xml; charset=utf-8; action="${ACTION('Ask')}"` },
      body: SOAP12(`<Ask xmlns="${NS}"/>`, 'urn:uuid:7c8e9a40-0000-4000-8000-000000000001'),
    });
    expect(twoWay.status).toBe(500);
    expect(twoWay.headers['relaybridge-error']).toBe('RELAY_ERR_BROADCAST_ONE_WAY');
    const fault = parseFault(twoWay.body.toString());
    expect(fault?.subcodes[0]?.localName).toBe('RELAY_ERR_BROADCAST_ONE_WAY');
    expect(twoWay.body.toString()).toContain('<a:RelatesTo>urn:uuid:7c8e9a40-0000-4000-8000-000000000001</a:RelatesTo>');
    await new Promise((r) => setTimeout(r, 200));
    expect(got.one!.length + got.two!.length).toBe(2);
  });

  it("basicHttp (no WS-Addressing): the service's WSDL says which operations wait for a reply; those get a fault, one-way ones go to every listener", async () => {
    const send = (op: string, body: string) =>
      request(`${relay.url}/calc-events`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"http://example.org/calc/ICalculator/${op}"` },
        body: SOAP11(body),
      });
    const notify = await send('Notify', '<Notify xmlns="http://example.org/calc"><msg>shipped</msg></Notify>');
    expect(notify.status).toBe(202);
    await waitFor(() => (got.calcOne ?? []).length === 1 && (got.calcTwo ?? []).length === 1, 5000, 'both services to get Notify');
    expect(got.calcOne![0]).toContain('<msg>shipped</msg>');
    const add = await send('Add', '<Add xmlns="http://example.org/calc"><a>1</a><b>2</b></Add>');
    expect(add.status).toBe(500);
    expect(add.headers['relaybridge-error']).toBe('RELAY_ERR_BROADCAST_ONE_WAY');
    expect(parseFault(add.body.toString())?.reason).toMatch(/one-way operations only/);
    await new Promise((r) => setTimeout(r, 200));
    expect([...(got.calcOne ?? []), ...(got.calcTwo ?? [])]).toHaveLength(2);
  });

  it('`distribution` in the management API and the CLI: set, shown, contradictions refused', async () => {
    const creds = { relay: relay.url, keyName: ROOT_KEY_NAME, key: ROOT_KEY };
    expect((await runManage('hc', ['update', 'plain'], { distribution: 'broadcast' }, creds)).status).toBe(200);
    expect((await runManage('hc', ['show', 'plain'], {}, creds)).data).toMatchObject({ path: 'plain', broadcast: true, distribution: 'broadcast' });
    await expect(runManage('hc', ['update', 'plain'], { distribution: 'one', broadcast: true }, creds)).rejects.toMatchObject({
      issues: ['--broadcast, --no-broadcast and --distribution disagree: give one'],
    });
    await expect(runManage('hc', ['update', 'plain'], { distribution: 'everyone' }, creds)).rejects.toMatchObject({ issues: ['--distribution everyone: expected one or broadcast'] });
    expect((await runManage('hc', ['update', 'plain'], { distribution: 'one' }, creds)).status).toBe(200);
    expect((await runManage('hc', ['show', 'plain'], {}, creds)).data).toMatchObject({ broadcast: false, distribution: 'one' });
    // The API itself: the spelling is checked, and a contradiction named.
    const put = (body: unknown) => runManageRaw(relay, 'plain', body);
    expect(await put({ distribution: 'sometimes' })).toMatchObject({ status: 400, text: expect.stringContaining("distribution: expected 'one' or 'broadcast'") });
    expect(await put({ distribution: 'one', broadcast: true })).toMatchObject({ status: 400, text: expect.stringContaining('distribution: one contradicts broadcast: true') });
  });
});

/** A PUT of a raw management body (the CLI checks what it sends; this is what the API itself says). */
async function runManageRaw(relay: RelayServer, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const url = `${relay.url}/$management/hybridconnections/${path}`;
  const auth = createSasToken({ resourceUri: relay.url, keyName: ROOT_KEY_NAME, key: ROOT_KEY, expiresInSeconds: 600 });
  const res = await request(url, { method: 'PUT', headers: { Authorization: auth, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, text: res.body.toString() };
}
