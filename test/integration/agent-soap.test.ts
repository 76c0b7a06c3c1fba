/**
 * The agent's SOAP-aware service proxies end to end: relay + agent + local services on loopback.
 * http (To rewriting, SOAP 1.1 <-> 1.2 translation both ways, faults, REST passthrough, local
 * side down / silent), module (the calculator sample on node-soap, run inside the agent).
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { Harness, request, waitFor } from '../helpers/harness';
import { faultOf, post11, post12, SOAP11_NS, SOAP12_NS, textOf, WSA_NS, envelopeOf } from '../helpers/soap';
import type { RelayServer } from '../../src/relay/relay-server';
import { startCreditCheckService, type CreditCheckService } from '../../samples/credit-check/service';
import { freePort } from '../helpers/mono';

const CC_ACTION = 'http://example.org/creditcheck/ICreditCheck/CheckCredit';
const checkCredit = (id: string, amount: number) => `<CheckCredit xmlns="http://example.org/creditcheck"><customerId>${id}</customerId><amount>${amount}</amount></CheckCredit>`;
const CALC = 'http://example.org/calc/ICalculator';
const calc = (op: string, inner: string) => `<${op} xmlns="http://example.org/calc">${inner}</${op}>`;

interface Recorded {
  headers: http.IncomingHttpHeaders;
  body: string;
  url: string;
}

describe('agent SOAP proxies through relay + agent', () => {
  const h = new Harness();
  let relay: RelayServer;
  let creditCheck: CreditCheckService;
  const rec11: Recorded[] = [];
  const rec12: Recorded[] = [];
  let rec11Url: string;
  let rec12Url: string;
  let silentUrl: string;
  let splitUrl: string;

  /**
   * A SOAP 1.1 service whose WSDL is split as WCF publishes it (`?wsdl` imports `?wsdl=wsdl0`,
   * which holds the portType with declared actions, and a document the agent cannot reach);
   * Divide answers a typed fault.
   */
  const splitWsdlService = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const query = new URL(req.url ?? '/', 'http://x').search;
    res.setHeader('Content-Type', 'text/xml; charset=utf-8');
    if (req.method === 'GET' && query === '?wsdl') {
      res.end(`<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:i0="urn:calc" targetNamespace="http://tempuri.org/">
        <wsdl:import namespace="urn:calc" location="${splitUrl}?wsdl=wsdl0"/>
        <wsdl:import namespace="urn:unreachable" location="http://127.0.0.1:1/nowhere?wsdl"/>
        <wsdl:binding name="B" type="i0:ICalc"><soap:binding transport="http://schemas.xmlsoap.org/soap/http"/>
          <wsdl:operation name="Divide"><soap:operation soapAction="urn:calc:divide"/></wsdl:operation></wsdl:binding></wsdl:definitions>`);
    } else if (req.method === 'GET' && query === '?wsdl=wsdl0') {
      res.end(`<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:wsam="http://www.w3.org/2007/05/addressing/metadata" xmlns:tns="urn:calc" xmlns:d="urn:calc:data" targetNamespace="urn:calc">
        <wsdl:message name="F"><wsdl:part name="detail" element="d:ByZero"/></wsdl:message>
        <wsdl:portType name="ICalc"><wsdl:operation name="Divide"><wsdl:input wsam:Action="urn:calc:divide" message="tns:In"/>
          <wsdl:output wsam:Action="urn:calc:divided" message="tns:Out"/><wsdl:fault wsam:Action="urn:calc:by-zero" name="ByZeroFault" message="tns:F"/>
        </wsdl:operation></wsdl:portType></wsdl:definitions>`);
    } else if (req.method === 'POST') {
      req.resume();
      req.on('end', () => {
        const b = (req.headers.soapaction ?? '').includes('zero');
        res.statusCode = b ? 500 : 200;
        res.end(
          b
            ? `<s:Envelope xmlns:s="${SOAP11_NS}"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>by zero</faultstring><detail><ByZero xmlns="urn:calc:data"/></detail></s:Fault></s:Body></s:Envelope>`
            : `<s:Envelope xmlns:s="${SOAP11_NS}"><s:Body><DivideResponse xmlns="urn:calc"><DivideResult>3</DivideResult></DivideResponse></s:Body></s:Envelope>`,
        );
      });
    } else {
      res.statusCode = 404;
      res.end();
    }
  };

  const calculatorWsdl = fs.readFileSync(path.resolve(__dirname, '../../wsdl/calculator.wsdl'));

  /** A SOAP service that records what it gets and answers in `version` (Divide → a fault); GET ?wsdl: the calculator's WSDL. */
  const recorder = (version: '1.1' | '1.2', log: Recorded[]) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.method === 'GET') {
      res.setHeader('Content-Type', 'text/xml; charset=utf-8');
      res.end(calculatorWsdl);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      log.push({ headers: req.headers, body, url: req.url ?? '' });
      if (body.includes('Notify')) {
        res.statusCode = 202;
        res.end();
        return;
      }
      const fault = body.includes('<Divide');
      if (version === '1.1') {
        res.setHeader('Content-Type', 'text/xml; charset=utf-8');
        res.statusCode = fault ? 500 : 200;
        res.end(
          fault
            ? `<s:Envelope xmlns:s="${SOAP11_NS}"><s:Body><s:Fault><faultcode xmlns:f="http://example.org/calc/faults">f:DivideByZero</faultcode><faultstring xml:lang="en-US">Cannot divide by zero</faultstring><detail><CalcFault xmlns="http://example.org/calc/data"><Operation>Divide</Operation></CalcFault></detail></s:Fault></s:Body></s:Envelope>`
            : `<s:Envelope xmlns:s="${SOAP11_NS}"><s:Body><AddResponse xmlns="http://example.org/calc"><AddResult>5</AddResult></AddResponse></s:Body></s:Envelope>`,
        );
      } else {
        const id = /<a:MessageID>([^<]*)</.exec(body)?.[1] ?? '';
        res.setHeader('Content-Type', 'application/soap+xml; charset=utf-8');
        res.statusCode = fault ? 500 : 200;
        res.end(
          fault
            ? `<s:Envelope xmlns:s="${SOAP12_NS}" xmlns:a="${WSA_NS}"><s:Header><a:Action s:mustUnderstand="1">http://example.org/calc/ICalculator/DivideCalcFaultFault</a:Action><a:RelatesTo>${id}</a:RelatesTo></s:Header><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code><s:Reason><s:Text xml:lang="en-US">Cannot divide by zero</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>`
            : `<s:Envelope xmlns:s="${SOAP12_NS}" xmlns:a="${WSA_NS}"><s:Header><a:Action s:mustUnderstand="1">http://example.org/calc/ICalculator/AddResponse</a:Action><a:RelatesTo>${id}</a:RelatesTo></s:Header><s:Body><AddResponse xmlns="http://example.org/calc"><AddResult>5</AddResult></AddResponse></s:Body></s:Envelope>`,
        );
      }
    });
  };

  beforeAll(async () => {
    relay = await h.relay({
      entities: ['credit', 'rec11', 'rec12', 'calc', 'down', 'silent', 'rest', 'split'].map((p) => ({ path: p, requiresClientAuthorization: false })),
    });
    creditCheck = await startCreditCheckService();
    h.defer(() => creditCheck.close());
    rec11Url = `${(await h.httpService(recorder('1.1', rec11))).url}/Calc.svc`;
    rec12Url = `${(await h.httpService(recorder('1.2', rec12))).url}/Calc.svc`;
    silentUrl = (await h.httpService(() => undefined)).url;
    const rest = await h.httpService();
    const split = await h.httpService(splitWsdlService);
    splitUrl = `${split.url}/Calc.svc`;
    const agent = await h.agent(relay, [
      { path: 'credit', target: { type: 'http', url: creditCheck.url } }, // soapVersion auto: read from ?wsdl
      { path: 'rec11', target: { type: 'http', url: rec11Url, soapVersion: '1.1' } },
      { path: 'rec12', target: { type: 'http', url: rec12Url, soapVersion: '1.2' } },
      { path: 'calc', target: { type: 'module', module: path.resolve(__dirname, '../../samples/calculator/service.ts'), includeExceptionDetail: true } },
      { path: 'down', target: { type: 'http', url: `http://127.0.0.1:${await freePort()}/svc`, soapVersion: '1.1' } },
      { path: 'silent', target: { type: 'http', url: silentUrl, soapVersion: '1.1', timeoutMs: 300 } },
      { path: 'rest', target: { type: 'http', url: rest.url } },
      { path: 'split', target: { type: 'http', url: splitUrl } }, // soapVersion auto, from a WSDL in two documents
    ]);
    await agent.whenReady();
  });
  afterAll(() => h.close());

  describe('http target', () => {
    it('SOAP 1.1 client → SOAP 1.1 service (version read from the WSDL): no translation', async () => {
      const res = await post11(`${relay.url}/credit`, CC_ACTION, checkCredit('C-1001', 1000));
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/xml/);
      expect(textOf(res.body, 'Approved')).toBe('true');
      expect(textOf(res.body, 'Score')).toBe('780');
    });

    it('SOAP 1.2 + WS-Addressing client → SOAP 1.1 service: request and reply translated', async () => {
      const id = 'urn:uuid:11111111-2222-3333-4444-555555555555';
      const res = await post12(`${relay.url}/credit`, CC_ACTION, checkCredit('C-1002', 9000), { messageId: id });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/soap\+xml/);
      const env = envelopeOf(res);
      expect(env.soapVersion).toBe('soap12');
      expect(env.addressing).toMatchObject({ action: `${CC_ACTION}Response`, relatesTo: id });
      expect(textOf(res.body, 'Approved')).toBe('false');
      expect(textOf(res.body, 'Reason')).toBe('amount above the limit of 8000');
    });

    it('a fault from a SOAP 1.1 service reaches a SOAP 1.2 client as a SOAP 1.2 fault with RelatesTo', async () => {
      const id = 'urn:uuid:aaaaaaaa-2222-3333-4444-555555555555';
      const res = await post12(`${relay.url}/credit`, CC_ACTION, checkCredit('nobody', 1), { messageId: id });
      expect(res.status).toBe(500);
      const f = faultOf(res);
      expect(f).toMatchObject({ soapVersion: 'soap12', kind: 'Sender', reason: "Unknown customer 'nobody'", relatesTo: id });
    });

    it('what the SOAP 1.1 service receives: no addressing, SOAPAction set, envelope 1.1', async () => {
      rec11.length = 0;
      const res = await post12(`${relay.url}/rec11`, `${CALC}/Add`, calc('Add', '<a>2</a><b>3</b>'));
      expect(res.status).toBe(200);
      expect(textOf(res.body, 'AddResult')).toBe('5');
      expect(rec11[0]!.headers.soapaction).toBe(`"${CALC}/Add"`);
      expect(rec11[0]!.headers['content-type']).toBe('text/xml; charset=utf-8');
      expect(rec11[0]!.body).toContain(SOAP11_NS);
      expect(rec11[0]!.body).not.toContain(WSA_NS);
      expect(rec11[0]!.url).toBe('/Calc.svc');
    });

    it('typed fault from SOAP 1.1 → SOAP 1.2 client: code, subcode and detail carried over', async () => {
      const res = await post12(`${relay.url}/rec11`, `${CALC}/Divide`, calc('Divide', '<a>1</a><b>0</b>'));
      expect(res.status).toBe(500);
      const f = faultOf(res);
      expect(f.soapVersion).toBe('soap12');
      expect(f.subcodes[0]).toMatchObject({ localName: 'DivideByZero', namespaceUri: 'http://example.org/calc/faults' });
      expect(f.reason).toBe('Cannot divide by zero');
      expect(res.body.toString()).toContain('<Operation>Divide</Operation>');
      // The Action a .NET client matches FaultException<CalcFault> by, named from the service's WSDL.
      expect(f.action).toBe(`${CALC}/DivideCalcFaultFault`);
    });

    it('a WSDL split over imports (WCF style, one unreachable): translated replies get the actions it declares', async () => {
      const fault = faultOf(await post12(`${relay.url}/split`, 'urn:calc:divide-zero', '<Divide xmlns="urn:calc"/>'));
      expect(fault.soapVersion).toBe('soap12');
      // the request action names no operation; the detail element names the fault
      expect(fault.action).toBe('urn:calc:by-zero');
      const ok = await post12(`${relay.url}/split`, 'urn:calc:divide', '<Divide xmlns="urn:calc"/>', { messageId: 'urn:uuid:5' });
      expect(ok.status).toBe(200);
      expect(envelopeOf(ok).addressing).toMatchObject({ action: 'urn:calc:divided', relatesTo: 'urn:uuid:5' });
    });

    it('SOAP 1.2 client → SOAP 1.2 service: wsa:To rewritten to the service address, rest byte-for-byte', async () => {
      rec12.length = 0;
      const id = 'urn:uuid:bbbbbbbb-2222-3333-4444-555555555555';
      const res = await post12(`${relay.url}/rec12`, `${CALC}/Add`, calc('Add', '<a>2</a><b>3</b>'), { messageId: id, to: 'https://relay.example.com/rec12' });
      expect(res.status).toBe(200);
      expect(envelopeOf(res).addressing?.relatesTo).toBe(id);
      expect(textOf(rec12[0]!.body, 'To')).toBe(rec12Url);
      expect(rec12[0]!.body).toContain(`<a:MessageID>${id}</a:MessageID>`);
    });

    it('SOAP 1.1 client → SOAP 1.2 service: Action, MessageID, ReplyTo and To added; reply back in 1.1', async () => {
      rec12.length = 0;
      const res = await post11(`${relay.url}/rec12`, `${CALC}/Add`, calc('Add', '<a>2</a><b>3</b>'));
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/xml/);
      expect(envelopeOf(res).soapVersion).toBe('soap11');
      expect(res.body.toString()).not.toContain(WSA_NS);
      expect(textOf(res.body, 'AddResult')).toBe('5');
      const sent = rec12[0]!;
      expect(sent.headers['content-type']).toBe(`application/soap+xml; charset=utf-8; action="${CALC}/Add"`);
      expect(sent.headers.soapaction).toBeUndefined();
      expect(textOf(sent.body, 'Action')).toBe(`${CALC}/Add`);
      expect(textOf(sent.body, 'To')).toBe(rec12Url);
      expect(textOf(sent.body, 'MessageID')).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    });

    it('SOAP 1.2 service fault → SOAP 1.1 client fault', async () => {
      const res = await post11(`${relay.url}/rec12`, `${CALC}/Divide`, calc('Divide', '<a>1</a><b>0</b>'));
      expect(res.status).toBe(500);
      expect(faultOf(res)).toMatchObject({ soapVersion: 'soap11', kind: 'Sender', reason: 'Cannot divide by zero' });
    });

    it('one-way through translation: 202 with an empty body', async () => {
      const res = await post11(`${relay.url}/rec12`, `${CALC}/Notify`, calc('Notify', '<msg>x</msg>'));
      expect(res.status).toBe(202);
      expect(res.body.length).toBe(0);
    });

    it('local service down: a SOAP fault in the caller\'s version, not a hang', async () => {
      const r11 = await post11(`${relay.url}/down`, `${CALC}/Add`, calc('Add', ''));
      expect(r11.status).toBe(500);
      // SOAP 1.1 has no subcodes: the relaybridge error code is the faultcode.
      expect(faultOf(r11)).toMatchObject({ soapVersion: 'soap11', code: { localName: 'RELAY_ERR_TARGET_UNREACHABLE' } });
      expect(faultOf(r11).reason).toMatch(/unreachable/);
      const id = 'urn:uuid:cccccccc-2222-3333-4444-555555555555';
      const r12 = await post12(`${relay.url}/down`, `${CALC}/Add`, calc('Add', ''), { messageId: id });
      expect(faultOf(r12)).toMatchObject({ soapVersion: 'soap12', kind: 'Receiver', relatesTo: id });
      expect(faultOf(r12).subcodes[0]?.localName).toBe('RELAY_ERR_TARGET_UNREACHABLE');
    });

    it('local service silent: a timeout fault after target.timeoutMs', async () => {
      const res = await post11(`${relay.url}/silent`, `${CALC}/Add`, calc('Add', ''));
      expect(res.status).toBe(500);
      expect(faultOf(res).reason).toMatch(/did not answer in time \(id [\w.-]+\)/);
    });

    it('REST requests pass through untouched (GET JSON, POST of non-envelope XML)', async () => {
      const get = await request(`${relay.url}/rest/items/1?x=2`);
      expect(get.status).toBe(200);
      expect(JSON.parse(get.body.toString())).toMatchObject({ method: 'GET', url: '/items/1?x=2' });
      const xml = '<order><id>7</id></order>';
      const post = await request(`${relay.url}/rest/orders`, { method: 'POST', headers: { 'Content-Type': 'text/xml' }, body: xml });
      expect(JSON.parse(post.body.toString())).toMatchObject({ method: 'POST', body: xml });
    });

    it.each(['/rest/../secret', '/rest/%2e%2e/secret', '/rest/x/..%2F..%2Fsecret'])('%s is refused with 400 at the relay: a call never leaves the base path', async (target) => {
      // Written on a raw socket: HTTP clients would remove the dot segments themselves. The relay
      // refuses such targets before routing; the agent's own check (unit-tested in http-proxy)
      // stays for relays that pass them on.
      const { hostname, port } = new URL(relay.url);
      const text = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(port), hostname, () => socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        socket.on('error', reject);
      });
      expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(text).toContain('RELAY_ERR_PROTOCOL_INVALID_TARGET');
      expect(text).not.toContain('secret');
    });
  });

  describe('module target (the calculator sample on node-soap, inside the agent)', () => {
    const url = () => `${relay.url}/calc`;

    it('serves the WSDL for ?wsdl', async () => {
      const res = await request(`${url()}?wsdl`);
      expect(res.status).toBe(200);
      expect(res.body.toString()).toContain('<wsdl:definitions name="CalculatorService"');
    });

    it('request/reply in SOAP 1.1 and SOAP 1.2 (translated)', async () => {
      const r11 = await post11(url(), `${CALC}/Add`, calc('Add', '<a>2</a><b>3</b>'));
      expect(r11.status).toBe(200);
      expect(textOf(r11.body, 'AddResult')).toBe('5');
      const id = 'urn:uuid:dddddddd-2222-3333-4444-555555555555';
      const r12 = await post12(url(), `${CALC}/Add`, calc('Add', '<a>40</a><b>2</b>'), { messageId: id });
      expect(r12.status).toBe(200);
      expect(envelopeOf(r12).addressing).toMatchObject({ relatesTo: id, action: `${CALC}/AddResponse` });
      expect(textOf(r12.body, 'AddResult')).toBe('42');
    });

    it('typed fault (CalcFault) in both SOAP versions', async () => {
      const r11 = await post11(url(), `${CALC}/Divide`, calc('Divide', '<a>1</a><b>0</b>'));
      expect(r11.status).toBe(500);
      const f11 = faultOf(r11);
      expect(f11.code).toMatchObject({ localName: 'DivideByZero', namespaceUri: 'http://example.org/calc/faults' });
      expect(f11.detail).toBeDefined();
      expect(r11.body.toString()).toMatch(/<calcdata:Problem>division by zero<\/calcdata:Problem>/);
      const f12 = faultOf(await post12(url(), `${CALC}/Divide`, calc('Divide', '<a>1</a><b>0</b>')));
      expect(f12.subcodes[0]).toMatchObject({ localName: 'DivideByZero' });
      expect(f12.kind).toBe('Sender');
      expect(f12.action).toBe(`${CALC}/DivideCalcFaultFault`);
    });

    it('an unhandled exception becomes a Receiver fault (not node-soap\'s malformed one)', async () => {
      const res = await post11(url(), `${CALC}/Crash`, calc('Crash', '<msg>bang</msg>'));
      expect(res.status).toBe(500);
      expect(faultOf(res)).toMatchObject({ kind: 'Receiver', reason: 'Crash: bang' });
    });

    it('one-way: 202 at once, and the operation ran', async () => {
      const res = await post11(url(), `${CALC}/Notify`, calc('Notify', '<msg>hello-module</msg>'));
      expect(res.status).toBe(202);
      expect(res.body.length).toBe(0);
      await waitFor(() => true);
      const seen = await post11(url(), `${CALC}/WasNotified`, calc('WasNotified', '<msg>hello-module</msg>'));
      expect(textOf(seen.body, 'WasNotifiedResult')).toBe('true');
    });

    it('GET without ?wsdl: 405, not a crash', async () => {
      const res = await request(url());
      expect(res.status).toBe(405);
    });
  });
});
