/**
 * SOAP over HTTP through relay + agent: a Node SOAP service (the `soap` package, implementing
 * test/fixtures/wsdl/calculator.wsdl, the contract of the Mono captures) behind the agent, called
 * by the `soap` client through the relay's rewritten WSDL and by raw replays of the Mono captures;
 * relay-side faults in both SOAP versions; malformed input; per-operation rules; metrics.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import * as soap from 'soap';
import { Harness, request, token, waitFor, type SimpleResponse } from '../helpers/harness';
import type { RelayServer } from '../../src/relay/relay-server';
import { parseFault } from '../../src/protocol/soap/fault';

const FIXTURES = path.join(__dirname, '..', 'fixtures');
const WSDL = fs.readFileSync(path.join(FIXTURES, 'wsdl', 'calculator.wsdl'), 'utf8');
const NS = 'http://example.org/calc';
const ACTION = (op: string): string => `${NS}/ICalculator/${op}`;

function capture(name: string): { request: Buffer; headers: Record<string, string> } {
  const dir = path.join(FIXTURES, 'soap', name);
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { request: { headers: Record<string, string> } };
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta.request.headers)) {
    if (!/^(host|content-length|connection)$/i.test(k)) headers[k] = v;
  }
  return { request: fs.readFileSync(path.join(dir, 'request.xml')), headers };
}

const soap11 = (op: string, inner: string, header = ''): string =>
  `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">${header ? `<s:Header>${header}</s:Header>` : ''}` +
  `<s:Body><${op} xmlns="${NS}">${inner}</${op}></s:Body></s:Envelope>`;

const soap12 = (op: string, inner: string, messageId = 'urn:uuid:6a1c2f4e-0000-4000-8000-000000000001'): string =>
  `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:s="http://www.w3.org/2003/05/soap-envelope">` +
  `<s:Header><a:Action s:mustUnderstand="1">${ACTION(op)}</a:Action><a:MessageID>${messageId}</a:MessageID>` +
  `<a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo><a:To s:mustUnderstand="1">http://x/calc</a:To></s:Header>` +
  `<s:Body><${op} xmlns="${NS}">${inner}</${op}></s:Body></s:Envelope>`;

const h11 = (op: string): Record<string, string> => ({ 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${ACTION(op)}"` });
const H12 = { 'Content-Type': 'application/soap+xml; charset=utf-8' };

/** Checks a relay fault: HTTP 500, the caller's SOAP version, the relaybridge subcode, RelatesTo. */
function expectFault(res: SimpleResponse, version: '1.1' | '1.2', code: string, relatesTo?: string): string {
  expect(res.status).toBe(500);
  expect(res.headers['content-type']).toMatch(version === '1.1' ? /^text\/xml/ : /^application\/soap\+xml/);
  expect(res.headers['relaybridge-error']).toBe(code);
  const fault = parseFault(res.body)!;
  expect(fault).toBeDefined();
  expect(fault.soapVersion).toBe(version === '1.1' ? 'soap11' : 'soap12');
  if (version === '1.2') expect(fault.subcodes.map((s) => s.localName)).toEqual([code]);
  else expect(fault.code.localName).toBe(code);
  expect(fault.relatesTo).toBe(relatesTo);
  expect(fault.reason.length).toBeGreaterThan(10);
  return fault.reason;
}

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

async function soapService(h: Harness, seen: Seen[], notified: string[], delayMs = 0): Promise<string> {
  const impl = {
    Add: async (args: { a: number | string; b: number | string }) => {
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      return { AddResult: Number(args.a) + Number(args.b) };
    },
    Echo: (args: { text?: string }) => ({ EchoResult: args.text ?? '' }),
    Notify: (args: { msg: string }) => {
      notified.push(args.msg);
      return {};
    },
  };
  const svc = await h.httpService();
  svc.server.removeAllListeners('request');
  await new Promise<void>((resolve, reject) => {
    soap.listen(svc.server, {
      path: '/calc',
      services: { CalculatorService: { BasicHttpBinding_ICalculator: impl, WSHttpBinding_ICalculator: impl } },
      xml: WSDL,
      callback: (err: unknown) => (err ? reject(err) : resolve()),
    });
  });
  // After soap.listen (it takes over the listeners present when it starts): records what arrives.
  svc.server.on('request', (req: http.IncomingMessage) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => seen.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }));
  });
  return svc.url;
}

/** A service that serves WCF-style metadata: ?wsdl importing ?wsdl=wsdl0 and ?xsd=xsd0. */
async function wcfMetadataService(h: Harness): Promise<{ url: string; port: number }> {
  let port = 0;
  const svc = await h.httpService((req, res) => {
    const q = (req.url ?? '').split('?')[1]?.toLowerCase() ?? '';
    const base = `http://127.0.0.1:${port}/Svc.svc`;
    let body: string | undefined;
    if (q === 'wsdl') {
      body =
        `<?xml version="1.0" encoding="utf-8"?><wsdl:definitions name="Svc" targetNamespace="http://tempuri.org/" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" ` +
        `xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/" xmlns:wsa10="http://www.w3.org/2005/08/addressing" xmlns:i0="${NS}">` +
        `<wsdl:import namespace="${NS}" location="${base}?wsdl=wsdl0"/>` +
        `<wsdl:service name="Svc"><wsdl:port name="basic" binding="i0:B"><soap:address location="${base}/basic"/></wsdl:port>` +
        `<wsdl:port name="ws" binding="i0:W"><soap12:address location="${base}/ws"/><wsa10:EndpointReference><wsa10:Address>${base}/ws</wsa10:Address>` +
        `<Identity xmlns="http://schemas.xmlsoap.org/ws/2006/02/addressingidentity"><Dns>localhost</Dns></Identity></wsa10:EndpointReference></wsdl:port></wsdl:service></wsdl:definitions>`;
    } else if (q === 'wsdl=wsdl0') {
      body =
        `<?xml version="1.0" encoding="utf-8"?><wsdl:definitions targetNamespace="${NS}" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:xsd="http://www.w3.org/2001/XMLSchema">` +
        `<wsdl:types><xsd:schema targetNamespace="${NS}/Imports"><xsd:import schemaLocation="${base}?xsd=xsd0" namespace="${NS}"/>` +
        `<xsd:import schemaLocation="http://www.w3.org/2005/05/xmlmime" namespace="http://www.w3.org/2005/05/xmlmime"/></xsd:schema></wsdl:types></wsdl:definitions>`;
    } else if (q === 'xsd=xsd0') {
      body = `<?xml version="1.0" encoding="utf-8"?><xs:schema elementFormDefault="qualified" targetNamespace="${NS}" xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:include schemaLocation="${base}?xsd=xsd1"/></xs:schema>`;
    } else if (q === 'singlewsdl') {
      body = `<?xml version="1.0" encoding="utf-8"?><wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"><wsdl:service name="Svc"><wsdl:port name="basic"><soap:address location="${base}"/></wsdl:port></wsdl:service></wsdl:definitions>`;
    }
    if (body === undefined) {
      res.statusCode = 404;
      res.end('no such metadata');
      return;
    }
    res.setHeader('Content-Type', 'text/xml; charset=UTF-8');
    res.end(body);
  });
  port = svc.port;
  return { url: `${svc.url}/Svc.svc`, port };
}

describe('SOAP through relay and agent', () => {
  const h = new Harness();
  let relay: RelayServer;
  let tight: RelayServer;
  const seen: Seen[] = [];
  const notified: string[] = [];
  let auth: Record<string, string>;
  const ADDER_KEY = 'YWRkZXIta2V5LW5vdC1zZWNyZXQ=';
  const NONOTIFY_KEY = 'bm8tbm90aWZ5LWtleS1ub3Qtc2VjcmV0';

  beforeAll(async () => {
    relay = await h.relay({
      metrics: true,
      entities: [
        {
          path: 'calc',
          requiresClientAuthorization: true,
          authorizationRules: [
            { keyName: 'adder', primaryKey: ADDER_KEY, rights: ['Send'], operations: { allow: [ACTION('Add')] } },
            { keyName: 'no-notify', primaryKey: NONOTIFY_KEY, rights: ['Send'], operations: { deny: [`${NS}/ICalculator/Notif*`] } },
          ],
        },
        { path: 'open', requiresClientAuthorization: false },
        { path: 'offline', requiresClientAuthorization: false },
        { path: 'wcfmeta', requiresClientAuthorization: false },
      ],
    });
    tight = await h.relay({
      limits: { requestTimeoutMs: 600, maxSoapEnvelopeBytes: 4096 },
      entities: [
        { path: 'slow', requiresClientAuthorization: false },
        { path: 'small', requiresClientAuthorization: false },
      ],
    });
    const svcUrl = await soapService(h, seen, notified);
    const slowUrl = await soapService(h, [], [], 3000);
    const agent = await h.agent(relay, [
      { path: 'calc', target: { type: 'http', url: `${svcUrl}/calc` } },
      { path: 'open', target: { type: 'http', url: `${svcUrl}/calc` } },
    ]);
    const tightAgent = await h.agent(tight, [
      { path: 'slow', target: { type: 'http', url: `${slowUrl}/calc` } },
      { path: 'small', target: { type: 'http', url: `${svcUrl}/calc` } },
    ]);
    await agent.whenReady();
    await tightAgent.whenReady();
    auth = { ServiceBusAuthorization: token(relay, 'calc') };
  });
  afterAll(() => h.close());

  describe('calls', () => {
    it('the soap client calls the service through the relay, using the relay-rewritten WSDL', async () => {
      // The WSDL names calc.internal.example; the call can only work through the rewritten address.
      const wsdl = await request(`${relay.url}/open?wsdl`);
      expect(wsdl.body.toString()).toContain(`<soap:address location="${relay.url}/open"/>`);
      expect(wsdl.body.toString()).toContain(`<soap12:address location="${relay.url}/open"/>`);
      const client = await soap.createClientAsync(`${relay.url}/open?wsdl`);
      const [result] = (await client.AddAsync({ a: 20, b: 22 })) as [{ AddResult: number }];
      expect(Number(result.AddResult)).toBe(42);
    });

    it('the soap client passes a token in ServiceBusAuthorization (stripped before the service)', async () => {
      const client = await soap.createClientAsync(`${relay.url}/calc?wsdl`, { wsdl_headers: auth });
      client.addHttpHeader('ServiceBusAuthorization', auth.ServiceBusAuthorization!);
      const [result] = (await client.EchoAsync({ text: 'héllo <&>' })) as [{ EchoResult: string }];
      expect(result.EchoResult).toBe('héllo <&>');
      const last = seen.filter((s) => s.body.includes('Echo')).pop()!;
      expect(last.headers.servicebusauthorization).toBeUndefined();
    });

    it.each(['mono-basichttp-add', 'mono-wshttp-add'])('replays the Mono capture %s (Expect: 100-continue)', async (name) => {
      const { request: body, headers } = capture(name);
      expect(headers.Expect).toBe('100-continue');
      const res = await request(`${relay.url}/calc`, { method: 'POST', headers: { ...headers, ...auth }, body });
      expect(res.status).toBe(200);
      expect(res.body.toString()).toMatch(/<(\w+:)?AddResult>5<\/(\w+:)?AddResult>/);
    });

    it('replays one-way Notify in both versions; the service gets the message', async () => {
      for (const name of ['mono-basichttp-notify-oneway', 'mono-wshttp-notify-oneway']) {
        const { request: body, headers } = capture(name);
        const before = notified.length;
        const res = await request(`${relay.url}/calc`, { method: 'POST', headers: { ...headers, ...auth }, body });
        expect([200, 202]).toContain(res.status);
        await waitFor(() => notified.length === before + 1, 2000, 'notify');
        expect(notified[notified.length - 1]).toBe('ping');
      }
    });

    it.each([
      ['quoted', `"${ACTION('Add')}"`],
      ['unquoted', ACTION('Add')],
      ['empty', '""'],
    ])('accepts a %s SOAPAction', async (_kind, soapAction) => {
      const res = await request(`${relay.url}/open`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: soapAction },
        body: soap11('Add', '<a>1</a><b>2</b>'),
      });
      expect(res.status).toBe(200);
      expect(res.body.toString()).toMatch(/AddResult>3</);
    });

    it('decodes a percent-encoded SOAPAction before checking operations', async () => {
      const adder = { ServiceBusAuthorization: token(relay, 'calc', 'adder', ADDER_KEY) };
      const res = await request(`${relay.url}/calc`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${ACTION('Add').replace('/Add', '/%41dd')}"`, ...adder },
        body: soap11('Add', '<a>1</a><b>2</b>'),
      });
      expect(res.headers['relaybridge-error']).toBeUndefined(); // passed the allow list as .../Add
    });

    it('accepts SOAP 1.2 with action= in the Content-Type', async () => {
      const res = await request(`${relay.url}/open`, {
        method: 'POST',
        headers: { 'Content-Type': `application/soap+xml; charset=utf-8; action="${ACTION('Add')}"` },
        body: soap12('Add', '<a>4</a><b>5</b>'),
      });
      expect(res.status).toBe(200);
      expect(res.body.toString()).toMatch(/AddResult>9</);
    });

    it('decodes a chunked, gzip-encoded request body (and a deflate one)', async () => {
      for (const [encoding, encode] of [['gzip', zlib.gzipSync], ['deflate', zlib.deflateSync]] as const) {
        const body = encode(Buffer.from(soap11('Add', '<a>10</a><b>5</b>')));
        const res = await new Promise<SimpleResponse>((resolve, reject) => {
          const req = http.request(`${relay.url}/open`, { method: 'POST', headers: { ...h11('Add'), 'Content-Encoding': encoding, 'Transfer-Encoding': 'chunked' } }, (r) => {
            const chunks: Buffer[] = [];
            r.on('data', (c: Buffer) => chunks.push(c));
            r.on('end', () => resolve({ status: r.statusCode!, statusMessage: '', headers: r.headers, body: Buffer.concat(chunks) }));
          });
          req.on('error', reject);
          req.write(body.subarray(0, 7));
          setTimeout(() => req.end(body.subarray(7)), 20);
        });
        expect(res.status).toBe(200);
        expect(res.body.toString()).toMatch(/AddResult>15</);
        const last = seen[seen.length - 1]!;
        expect(last.headers['content-encoding']).toBeUndefined();
      }
    });

    it('serves many calls on one keep-alive connection', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const ports = new Set<number>();
        for (let i = 0; i < 6; i++) {
          const res = await new Promise<SimpleResponse & { port: number }>((resolve, reject) => {
            const req = http.request(`${relay.url}/open`, { method: 'POST', headers: h11('Add'), agent }, (r) => {
              const chunks: Buffer[] = [];
              r.on('data', (c: Buffer) => chunks.push(c));
              r.on('end', () => resolve({ status: r.statusCode!, statusMessage: '', headers: r.headers, body: Buffer.concat(chunks), port: req.socket!.localPort! }));
            });
            req.on('error', reject);
            req.end(soap11('Add', `<a>${i}</a><b>1</b>`));
          });
          expect(res.status).toBe(200);
          expect(res.body.toString()).toContain(`AddResult>${i + 1}<`);
          ports.add(res.port);
        }
        expect(ports.size).toBe(1);
      } finally {
        agent.destroy();
      }
    });

    it('relays a request body over 64 KiB (rendezvous) from the buffered body', async () => {
      const text = 'x'.repeat(200 * 1024);
      const res = await request(`${relay.url}/open`, { method: 'POST', headers: h11('Echo'), body: soap11('Echo', `<text>${text}</text>`) });
      expect(res.status).toBe(200);
      expect(res.body.toString()).toContain(text);
    });

    it('takes the token from a RelayAccessToken SOAP header and strips it before the service', async () => {
      const tok = auth.ServiceBusAuthorization!;
      const header =
        `<RelayAccessToken xmlns="http://schemas.microsoft.com/netservices/2009/05/servicebus/connect">` +
        `<wsse:BinarySecurityToken xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" ` +
        `ValueType="http://schemas.microsoft.com/servicebus/2010/08/protocol/#SharedAccessSignature" ` +
        `EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${Buffer.from(tok).toString('base64')}</wsse:BinarySecurityToken></RelayAccessToken>`;
      const res = await request(`${relay.url}/calc`, { method: 'POST', headers: h11('Add'), body: soap11('Add', '<a>7</a><b>8</b>', header) });
      expect(res.status).toBe(200);
      expect(res.body.toString()).toMatch(/AddResult>15</);
      const last = seen.filter((s) => s.body.includes('<a>7</a>')).pop()!;
      expect(last.body).not.toContain('RelayAccessToken');
      expect(last.body).toContain('<s:Header></s:Header>');
    });
  });

  describe('relay-side failures are SOAP faults in the caller\'s version', () => {
    const MID = 'urn:uuid:0d7c9a52-1111-4000-8000-00000000abcd';

    it('unknown path', async () => {
      const r11 = await request(`${relay.url}/nope`, { method: 'POST', headers: h11('Add'), body: soap11('Add', '') });
      expect(expectFault(r11, '1.1', 'RELAY_ERR_ENTITY_NOT_FOUND')).toMatch(/Endpoint does not exist/);
      expect(r11.headers['relaybridge-status']).toBe('404');
      const r12 = await request(`${relay.url}/nope`, { method: 'POST', headers: H12, body: soap12('Add', '', MID) });
      expectFault(r12, '1.2', 'RELAY_ERR_ENTITY_NOT_FOUND', MID);
    });

    it('no listener', async () => {
      const r11 = await request(`${relay.url}/offline`, { method: 'POST', headers: h11('Add'), body: soap11('Add', '') });
      expect(expectFault(r11, '1.1', 'RELAY_ERR_NO_LISTENER')).toMatch(/No listener is connected for 'offline'/);
      const r12 = await request(`${relay.url}/offline`, { method: 'POST', headers: H12, body: soap12('Add', '', MID) });
      expectFault(r12, '1.2', 'RELAY_ERR_NO_LISTENER', MID);
      const fault = parseFault(r12.body)!;
      expect(fault.kind).toBe('Receiver');
      expect(fault.action).toBe('http://www.w3.org/2005/08/addressing/soap/fault');
    });

    it('listener timeout', async () => {
      const r11 = await request(`${tight.url}/slow`, { method: 'POST', headers: h11('Add'), body: soap11('Add', '<a>1</a><b>1</b>') });
      expect(expectFault(r11, '1.1', 'RELAY_ERR_LISTENER_TIMEOUT')).toMatch(/did not respond/);
      const r12 = await request(`${tight.url}/slow`, { method: 'POST', headers: H12, body: soap12('Add', '<a>1</a><b>1</b>', MID) });
      expectFault(r12, '1.2', 'RELAY_ERR_LISTENER_TIMEOUT', MID);
    });

    it('unauthorized: no token, and a bad one', async () => {
      const r11 = await request(`${relay.url}/calc`, { method: 'POST', headers: h11('Add'), body: soap11('Add', '') });
      expect(expectFault(r11, '1.1', 'RELAY_ERR_SAS_MISSING')).toMatch(/ServiceBusAuthorization/);
      const bad = { ServiceBusAuthorization: token(relay, 'calc', 'RootManageSharedAccessKey', 'd3Jvbmc=') };
      const r12 = await request(`${relay.url}/calc`, { method: 'POST', headers: { ...H12, ...bad }, body: soap12('Add', '', MID) });
      expectFault(r12, '1.2', 'RELAY_ERR_SAS_BAD_SIGNATURE', MID);
      expect(parseFault(r12.body)!.kind).toBe('Sender');
    });

    it('body too large (declared, chunked, and a gzip bomb)', async () => {
      const big = soap11('Echo', `<text>${'y'.repeat(8000)}</text>`);
      const r1 = await request(`${tight.url}/small`, { method: 'POST', headers: h11('Echo'), body: big });
      expect(expectFault(r1, '1.1', 'RELAY_ERR_BODY_TOO_LARGE')).toMatch(/maxSoapEnvelopeBytes/);
      const bomb = zlib.gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20));
      expect(bomb.length).toBeLessThan(4096 * 30);
      const r2 = await request(`${tight.url}/small`, { method: 'POST', headers: { ...H12, 'Content-Encoding': 'gzip' }, body: bomb });
      expectFault(r2, '1.2', 'RELAY_ERR_BODY_TOO_LARGE');
      const ok = await request(`${tight.url}/small`, { method: 'POST', headers: h11('Add'), body: soap11('Add', '<a>1</a><b>1</b>') });
      expect(ok.status).toBe(200);
    });
  });

  describe('malformed input gets a fault and the relay keeps serving', () => {
    const cases: Array<[string, Record<string, string>, string | Buffer, string]> = [
      ['not XML', h11('Add'), 'this is not xml', 'RELAY_ERR_PROTOCOL_INVALID_MESSAGE'],
      ['not an envelope', h11('Add'), '<root/>', 'RELAY_ERR_PROTOCOL_INVALID_MESSAGE'],
      [
        'an entity-expansion bomb (DOCTYPE)',
        h11('Add'),
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>&lol2;</s:Body></s:Envelope>',
        'RELAY_ERR_PROTOCOL_INVALID_MESSAGE',
      ],
      [
        'deep nesting in the header',
        h11('Add'),
        `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>${'<x>'.repeat(5000)}${'</x>'.repeat(5000)}</s:Header><s:Body/></s:Envelope>`,
        'RELAY_ERR_PROTOCOL_INVALID_MESSAGE',
      ],
      ['a SOAP 1.1 envelope sent as SOAP 1.2', H12, soap11('Add', ''), 'RELAY_ERR_PROTOCOL_INVALID_MESSAGE'],
      ['a wrong content type with SOAPAction', { 'Content-Type': 'application/json', SOAPAction: '"x"' }, soap11('Add', ''), 'RELAY_ERR_PROTOCOL_INVALID_MESSAGE'],
      ['an unsupported Content-Encoding', { ...h11('Add'), 'Content-Encoding': 'compress' }, soap11('Add', ''), 'RELAY_ERR_PROTOCOL_INVALID_MESSAGE'],
      ['corrupt gzip', { ...h11('Add'), 'Content-Encoding': 'gzip' }, Buffer.from('1f8b0800000000000003ffff', 'hex'), 'RELAY_ERR_PROTOCOL_INVALID_MESSAGE'],
    ];
    it.each(cases)('%s', async (_name, headers, body, code) => {
      const res = await request(`${relay.url}/open`, { method: 'POST', headers, body });
      const version = headers['Content-Type'] === H12['Content-Type'] ? '1.2' : '1.1';
      expectFault(res, version, code);
      const ok = await request(`${relay.url}/open`, { method: 'POST', headers: h11('Add'), body: soap11('Add', '<a>2</a><b>2</b>') });
      expect(ok.status).toBe(200);
    });
  });

  describe('per-operation rules', () => {
    const as = (keyName: string, key: string) => ({ ServiceBusAuthorization: token(relay, 'calc', keyName, key) });

    it('an allow list lets its operations through and refuses others', async () => {
      const adder = as('adder', ADDER_KEY);
      const ok = await request(`${relay.url}/calc`, { method: 'POST', headers: { ...h11('Add'), ...adder }, body: soap11('Add', '<a>1</a><b>1</b>') });
      expect(ok.status).toBe(200);
      const no = await request(`${relay.url}/calc`, { method: 'POST', headers: { ...h11('Echo'), ...adder }, body: soap11('Echo', '<text>x</text>') });
      expect(expectFault(no, '1.1', 'RELAY_ERR_AUTH_OPERATION_FORBIDDEN')).toMatch(/does not allow the operation 'http:\/\/example.org\/calc\/ICalculator\/Echo'/);
      expect(no.headers['relaybridge-status']).toBe('403');
      const no12 = await request(`${relay.url}/calc`, { method: 'POST', headers: { ...H12, ...adder }, body: soap12('Echo', '<text>x</text>', 'urn:uuid:1') });
      expectFault(no12, '1.2', 'RELAY_ERR_AUTH_OPERATION_FORBIDDEN', 'urn:uuid:1');
    });

    it('a deny pattern with * refuses matching operations only', async () => {
      const nn = as('no-notify', NONOTIFY_KEY);
      const { request: body, headers } = capture('mono-basichttp-notify-oneway');
      const before = notified.length;
      const no = await request(`${relay.url}/calc`, { method: 'POST', headers: { ...headers, ...nn }, body });
      expect(expectFault(no, '1.1', 'RELAY_ERR_AUTH_OPERATION_FORBIDDEN')).toMatch(/denies the operation/);
      expect(notified.length).toBe(before);
      const ok = await request(`${relay.url}/calc`, { method: 'POST', headers: { ...h11('Echo'), ...nn }, body: soap11('Echo', '<text>y</text>') });
      expect(ok.status).toBe(200);
    });

    it('a rule with operations refuses plain HTTP and SOAP calls without an action', async () => {
      const adder = as('adder', ADDER_KEY);
      const plain = await request(`${relay.url}/calc`, { method: 'POST', headers: { 'Content-Type': 'application/xml', ...adder }, body: soap11('Echo', '') });
      expect(plain.status).toBe(403);
      expect(JSON.parse(plain.body.toString()).error.relayCode).toBe('RELAY_ERR_AUTH_OPERATION_FORBIDDEN');
      // text/xml without SOAPAction is relayed as plain HTTP, but its errors are SOAP 1.1 faults.
      const bare = await request(`${relay.url}/calc`, { method: 'POST', headers: { 'Content-Type': 'text/xml', ...adder }, body: soap11('Echo', '') });
      expectFault(bare, '1.1', 'RELAY_ERR_AUTH_OPERATION_FORBIDDEN');
      const empty = await request(`${relay.url}/calc`, { method: 'POST', headers: { 'Content-Type': 'text/xml', SOAPAction: '""', ...adder }, body: soap11('Echo', '') });
      expect(expectFault(empty, '1.1', 'RELAY_ERR_AUTH_OPERATION_FORBIDDEN')).toMatch(/carries no SOAP action/);
      // Metadata is not an operation: the WSDL is still served.
      const wsdl = await request(`${relay.url}/calc?wsdl`, { headers: adder });
      expect(wsdl.status).toBe(200);
    });

    it('operations are managed through the management API (validated)', async () => {
      const mgmt = { Authorization: token(relay, ''), 'Content-Type': 'application/json' };
      const put = await request(`${relay.url}/$management/hybridconnections/calc/authorizationrules/echoer`, {
        method: 'PUT',
        headers: mgmt,
        body: JSON.stringify({ rights: ['Send'], primaryKey: 'ZWNob2VyLWtleQ==', operations: { allow: [`${NS}/ICalculator/Echo*`] } }),
      });
      expect(put.status).toBe(200);
      expect(JSON.parse(put.body.toString()).operations).toEqual({ allow: [`${NS}/ICalculator/Echo*`] });
      const echoer = as('echoer', 'ZWNob2VyLWtleQ==');
      const ok = await request(`${relay.url}/calc`, { method: 'POST', headers: { ...h11('Echo'), ...echoer }, body: soap11('Echo', '<text>z</text>') });
      expect(ok.status).toBe(200);
      const no = await request(`${relay.url}/calc`, { method: 'POST', headers: { ...h11('Add'), ...echoer }, body: soap11('Add', '<a>1</a><b>1</b>') });
      expectFault(no, '1.1', 'RELAY_ERR_AUTH_OPERATION_FORBIDDEN');
      const bad = await request(`${relay.url}/$management/hybridconnections/calc/authorizationrules/bad`, {
        method: 'PUT',
        headers: mgmt,
        body: JSON.stringify({ rights: ['Send'], operations: { allow: ['a*b'], nope: [] } }),
      });
      expect(bad.status).toBe(400);
      const text = bad.body.toString();
      expect(text).toMatch(/operations\.allow\[0\]: '\*' is allowed only at the end/);
      expect(text).toMatch(/operations\.nope: unknown field/);
      const del = await request(`${relay.url}/$management/hybridconnections/calc/authorizationrules/echoer`, { method: 'DELETE', headers: mgmt });
      expect(del.status).toBe(204);
    });
  });

  it('counts and labels SOAP calls by path and action', async () => {
    await request(`${relay.url}/open`, { method: 'POST', headers: h11('Add'), body: soap11('Add', '<a>1</a><b>1</b>') });
    await request(`${relay.url}/offline`, { method: 'POST', headers: H12, body: soap12('Echo', '') });
    const text = (await request(`${relay.url}/$metrics`, { headers: { Authorization: token(relay, '') } })).body.toString();
    expect(text).toMatch(new RegExp(`relaybridge_http_requests_total\\{path="open",operation="${ACTION('Add')}",status="200"\\} \\d+`));
    expect(text).toMatch(new RegExp(`relaybridge_http_requests_total\\{path="offline",operation="${ACTION('Echo')}",status="500"\\} \\d+`));
    expect(text).toMatch(new RegExp(`relaybridge_http_request_duration_seconds_count\\{path="open",operation="${ACTION('Add')}"\\} \\d+`));
  });
});

describe('metadata through the relay', () => {
  const h = new Harness();
  let relay: RelayServer;
  let metaPort = 0;

  beforeAll(async () => {
    relay = await h.relay({ entities: [{ path: 'wcfmeta', requiresClientAuthorization: false }, { path: 'locked', requiresClientAuthorization: true }] });
    const meta = await wcfMetadataService(h);
    metaPort = meta.port;
    const agent = await h.agent(relay, [
      { path: 'wcfmeta', target: { type: 'http', url: meta.url } },
      { path: 'locked', target: { type: 'http', url: meta.url } },
    ]);
    await agent.whenReady();
  });
  afterAll(() => h.close());

  it('rewrites addresses, EndpointReference, Identity and imports to the relay URL', async () => {
    const res = await request(`${relay.url}/wcfmeta?wsdl`);
    expect(res.status).toBe(200);
    const text = res.body.toString();
    expect(text).not.toContain(`127.0.0.1:${metaPort}`);
    expect(text).toContain(`location="${relay.url}/wcfmeta?wsdl=wsdl0"`);
    expect(text).toContain(`<soap:address location="${relay.url}/wcfmeta/basic"/>`);
    expect(text).toContain(`<soap12:address location="${relay.url}/wcfmeta/ws"/>`);
    expect(text).toContain(`<wsa10:Address>${relay.url}/wcfmeta/ws</wsa10:Address>`);
    expect(text).toContain('<Dns>127.0.0.1</Dns>');
  });

  it.each([
    ['?WSDL=wsdl0', `schemaLocation="RELAY/wcfmeta?xsd=xsd0"`],
    ['?xsd=xsd0', `schemaLocation="RELAY/wcfmeta?xsd=xsd1"`],
    ['?Xsd=XSD0', `schemaLocation="RELAY/wcfmeta?xsd=xsd1"`],
    ['?singleWsdl', `location="RELAY/wcfmeta"`],
  ])('serves %s rewritten', async (query, expected) => {
    const res = await request(`${relay.url}/wcfmeta${query}`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toContain(expected.replace('RELAY', relay.url));
    expect(res.body.toString()).not.toContain(`127.0.0.1:${metaPort}`);
  });

  it('keeps third-party schema locations', async () => {
    const res = await request(`${relay.url}/wcfmeta?wsdl=wsdl0`);
    expect(res.body.toString()).toContain('schemaLocation="http://www.w3.org/2005/05/xmlmime"');
  });

  it('uses X-Forwarded-Proto/Host/Port/Prefix behind a reverse proxy', async () => {
    const res = await request(`${relay.url}/wcfmeta?wsdl`, {
      headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'relay.example.com, proxy.internal', 'X-Forwarded-Port': '8443', 'X-Forwarded-Prefix': '/gw/' },
    });
    const text = res.body.toString();
    expect(text).toContain('<soap:address location="https://relay.example.com:8443/gw/wcfmeta/basic"/>');
    expect(text).toContain('location="https://relay.example.com:8443/gw/wcfmeta?wsdl=wsdl0"');
    expect(text).toContain('<Dns>relay.example.com</Dns>');
  });

  it('uses RFC 7239 Forwarded', async () => {
    const res = await request(`${relay.url}/wcfmeta?wsdl`, { headers: { Forwarded: 'for=1.2.3.4;proto=https;host="soap.example.org", for=5.6.7.8' } });
    expect(res.body.toString()).toContain('<soap:address location="https://soap.example.org/wcfmeta/basic"/>');
  });

  it('needs Send authorization; a query token is carried into the links', async () => {
    const denied = await request(`${relay.url}/locked?wsdl`);
    expect(denied.status).toBe(401);
    const tok = token(relay, 'locked');
    const res = await request(`${relay.url}/locked?wsdl&sb-hc-token=${encodeURIComponent(tok)}`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toContain(`location="${relay.url}/locked?wsdl=wsdl0&amp;sb-hc-token=${encodeURIComponent(tok)}"`);
    expect(res.body.toString()).toContain(`<soap:address location="${relay.url}/locked/basic"/>`);
  });

  it("answers the service's own error with its status (404) and the relay's text, not the service's page", async () => {
    const res = await request(`${relay.url}/wcfmeta?xsd=xsd9`);
    expect(res.status).toBe(404);
    expect(res.body.toString()).not.toContain('no such metadata');
    expect(res.body.toString()).toMatch(/no metadata document for \?xsd=xsd9 \(id [\w.-]+\)/);
  });
});

describe('metadata cache while the agent is offline', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('serves the last good document, marked as cached, and errors for documents never fetched', async () => {
    const relay = await h.relay({ entities: [{ path: 'm', requiresClientAuthorization: false }] });
    const meta = await wcfMetadataService(h);
    const agent = await h.agent(relay, [{ path: 'm', target: { type: 'http', url: meta.url } }]);
    await agent.whenReady();
    const live = await request(`${relay.url}/m?wsdl`);
    expect(live.status).toBe(200);
    expect(live.headers['relaybridge-metadata']).toBeUndefined();
    await agent.stop();
    await waitFor(() => relay.router.registry.count('m') === 0, 3000, 'listener gone');

    const cached = await request(`${relay.url}/m?wsdl`, { headers: { 'X-Forwarded-Host': 'cache.example.com' } });
    expect(cached.status).toBe(200);
    expect(cached.headers['relaybridge-metadata']).toBe('cached');
    expect(cached.headers.age).toMatch(/^\d+$/);
    expect(cached.body.toString()).toContain('<soap:address location="http://cache.example.com/m/basic"/>');
    const never = await request(`${relay.url}/m?xsd=xsd0`);
    expect(never.status).toBe(502);
    expect(JSON.parse(never.body.toString()).error.relayCode).toBe('RELAY_ERR_NO_LISTENER');
  });
});
