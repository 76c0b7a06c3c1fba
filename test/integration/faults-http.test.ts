/**
 * Issue item 6 over HTTP SOAP: the version of a service without metadata is learned from its
 * 415 (and the call retried once), non-SOAP answers become faults with a correlation id, a
 * `module` target answers an unknown action with WCF's ActionNotSupported fault.
 */
import http from 'node:http';
import path from 'node:path';
import type { RelayServer } from '../../src/relay/relay-server';
import { Harness, request } from '../helpers/harness';
import { NetTcpClient } from '../helpers/net-tcp-client';
import { envelopeOf, faultOf, post11, post12, textOf } from '../helpers/soap';
import { emptyStatusService, memoryLogger, rawListener, timeout, type LogLine } from './faults-support';

const NS = 'http://example.org/calc';
const CALC = `${NS}/ICalculator`;
const calc = (op: string, inner: string): string => `<${op} xmlns="${NS}">${inner}</${op}>`;
const NO_HANG_MS = 15_000;

/** A basicHttp (SOAP 1.1) service with no metadata, as Mono's: 415 to SOAP 1.2, 404 HTML to GETs. */
function basicHttpWithoutMetadata(seen: string[]): http.RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${req.headers['content-type'] ?? ''}`);
      if (req.method !== 'POST' && req.url?.endsWith('?singleWsdl')) {
        // Mono's help page for a service without metadata: 200, HTML, internal links.
        return void res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html><a href="http://10.7.7.7:8733/Design_Time_Addresses/Calc?singleWsdl">wsdl</a></html>');
      }
      if (req.method !== 'POST') return void res.writeHead(404, { 'Content-Type': 'text/html' }).end('<html>no metadata at http://10.9.9.9/</html>');
      if (!String(req.headers['content-type']).startsWith('text/xml')) return void res.writeHead(415, 'Unsupported Media Type').end();
      const text = Buffer.concat(chunks).toString();
      const sum = Number(/<a>(\d+)</.exec(text)?.[1]) + Number(/<b>(\d+)</.exec(text)?.[1]);
      res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' });
      res.end(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><AddResponse xmlns="${NS}"><AddResult>${sum}</AddResult></AddResponse></s:Body></s:Envelope>`);
    });
  };
}

describe('HTTP SOAP: faults, not hangs', () => {
  const h = new Harness();
  let relay: RelayServer;
  const seen: string[] = [];
  const agentLog: LogLine[] = [];

  beforeAll(async () => {
    relay = await h.relay({
      netTcp: { port: 0, host: '127.0.0.1' },
      entities: ['auto11', 'declared415', 'calc', 'raw415'].map((p) => ({ path: p, requiresClientAuthorization: false })),
    });
    const svc = await h.httpService(basicHttpWithoutMetadata(seen));
    const s415 = await h.httpService(emptyStatusService(415));
    const agent = await h.agent(
      relay,
      [
        { path: 'auto11', target: { type: 'http', url: `${svc.url}/Calc.svc` } }, // the default: soapVersion auto
        { path: 'declared415', target: { type: 'http', url: `${s415.url}/svc`, soapVersion: '1.2' } },
        { path: 'calc', target: { type: 'module', module: path.resolve(__dirname, '../../samples/calculator/service.ts') } },
      ],
      { logger: memoryLogger(agentLog) },
    );
    await agent.whenReady();
    const raw = await rawListener(relay, 'raw415', () => ({ statusCode: 415 }));
    h.defer(() => raw.terminate());
  });
  afterAll(() => h.close());

  it('default config, basicHttp service without metadata: a SOAP 1.2 call is learned to need 1.1 from its 415, retried once, and the next goes in 1.1 at once', async () => {
    const id = 'urn:uuid:aaaaaaaa-1111-2222-3333-444444444444';
    const r = await timeout(post12(`${relay.url}/auto11`, `${CALC}/Add`, calc('Add', '<a>2</a><b>3</b>'), { messageId: id }), NO_HANG_MS, 'Add');
    expect(r.status).toBe(200);
    expect(textOf(r.body, 'AddResult')).toBe('5');
    expect(envelopeOf(r).addressing).toMatchObject({ relatesTo: id });
    // The WSDL was asked for at {url}?wsdl (never {url}/?wsdl), then the call in 1.2 (415), then in 1.1.
    expect(seen).toContain('GET /Calc.svc?wsdl ');
    expect(seen.some((s) => s.startsWith('GET /Calc.svc/?'))).toBe(false);
    const posts = seen.filter((s) => s.startsWith('POST'));
    expect(posts).toEqual([expect.stringMatching(/^POST \/Calc\.svc application\/soap\+xml/), expect.stringMatching(/^POST \/Calc\.svc text\/xml/)]);
    seen.length = 0;
    const again = await timeout(post12(`${relay.url}/auto11`, `${CALC}/Add`, calc('Add', '<a>40</a><b>2</b>')), NO_HANG_MS, 'Add');
    expect(textOf(again.body, 'AddResult')).toBe('42');
    expect(seen).toEqual([expect.stringMatching(/^POST \/Calc\.svc text\/xml/)]);
  });

  it('the same service from a net.tcp client: bridged to SOAP 1.1, a reply with RelatesTo', async () => {
    const c = await NetTcpClient.connect({ port: relay.netTcp!.port });
    h.defer(() => c.destroy());
    await c.open(`${relay.netTcp!.url}/auto11`);
    const reply = await timeout(c.request(`${CALC}/Add`, calc('Add', '<a>1</a><b>1</b>')), NO_HANG_MS, 'net.tcp Add');
    expect(textOf(reply, 'AddResult')).toBe('2');
  });

  it('a declared version answered with an empty 415: a fault in the caller\'s version with RelatesTo and a correlation id, not the bare 415', async () => {
    const id = 'urn:uuid:bbbbbbbb-1111-2222-3333-444444444444';
    const r = await post12(`${relay.url}/declared415`, `${CALC}/Add`, calc('Add', ''), { messageId: id });
    expect(r.status).toBe(500);
    const f = faultOf(r);
    expect(f).toMatchObject({ soapVersion: 'soap12', kind: 'Receiver', relatesTo: id, subcodes: [{ localName: 'RELAY_ERR_TARGET_BAD_RESPONSE' }] });
    const cid = r.headers['relaybridge-correlation-id'];
    expect(cid).toMatch(/^[\w.-]+$/);
    expect(f.reason).toBe(`The service behind this path answered HTTP 415 instead of a SOAP message (id ${cid}).`);
    expect(r.body.toString()).not.toMatch(/127\.0\.0\.1/);
    expect(agentLog.find((l) => l.correlationId === cid)).toMatchObject({ level: 'warn', err: expect.stringMatching(/HTTP 415/) });
  });

  it('module target, an action its WSDL lacks: WCF\'s ActionNotSupported fault naming the action, both versions', async () => {
    const r11 = await post11(`${relay.url}/calc`, `${CALC}/Nope`, calc('Nope', ''));
    expect(r11.status).toBe(500);
    const f11 = faultOf(r11);
    expect(f11.code).toMatchObject({ localName: 'ActionNotSupported', namespaceUri: 'http://schemas.microsoft.com/ws/2005/05/addressing/none' });
    expect(f11.reason).toContain(`'${CALC}/Nope'`);
    expect(r11.body.toString()).not.toMatch(/TypeError/);
    const id = 'urn:uuid:cccccccc-1111-2222-3333-444444444444';
    const r12 = await post12(`${relay.url}/calc`, `${CALC}/Nope`, calc('Nope', ''), { messageId: id });
    const f12 = faultOf(r12);
    expect(f12).toMatchObject({ kind: 'Sender', relatesTo: id, action: 'http://www.w3.org/2005/08/addressing/soap/fault' });
    expect(f12.subcodes[0]).toMatchObject({ localName: 'ActionNotSupported', namespaceUri: 'http://www.w3.org/2005/08/addressing' });
    // Known operations still work.
    expect(textOf((await post11(`${relay.url}/calc`, `${CALC}/Add`, calc('Add', '<a>2</a><b>2</b>'))).body, 'AddResult')).toBe('4');
  });

  it('a listener that is not ours answers a SOAP call with an empty 415: the relay sends a fault with RelatesTo', async () => {
    const id = 'urn:uuid:dddddddd-1111-2222-3333-444444444444';
    const r = await post12(`${relay.url}/raw415`, `${CALC}/Add`, calc('Add', ''), { messageId: id });
    expect(r.status).toBe(500);
    expect(faultOf(r)).toMatchObject({ soapVersion: 'soap12', relatesTo: id, subcodes: [{ localName: 'RELAY_ERR_TARGET_BAD_RESPONSE' }] });
    expect(r.headers['relaybridge-correlation-id']).toMatch(/^[\w.-]+$/);
    const r11 = await post11(`${relay.url}/raw415`, `${CALC}/Add`, calc('Add', ''));
    expect(faultOf(r11)).toMatchObject({ soapVersion: 'soap11', code: { localName: 'RELAY_ERR_TARGET_BAD_RESPONSE' } });
  });

  it("a service's HTML answer to a metadata request is not passed on: 502/404 with the relay's own text", async () => {
    const page = await request(`${relay.url}/auto11?singleWsdl`);
    expect(page.status).toBe(502);
    expect(page.body.toString()).not.toMatch(/10\.7\.7\.7|<html/);
    expect(page.body.toString()).toMatch(/did not answer \?singlewsdl with a metadata document \(id [\w.-]+\)/);
    const missing = await request(`${relay.url}/auto11?wsdl`);
    expect(missing.status).toBe(404);
    expect(missing.body.toString()).not.toMatch(/10\.9\.9\.9|<html/);
  });
});
