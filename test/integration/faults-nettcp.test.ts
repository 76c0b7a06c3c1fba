/**
 * Issue item 6 over net.tcp: every answer that is not SOAP reaches a WCF-style net.tcp caller as a
 * SOAP 1.2 fault with RelatesTo (never silence, which leaves a WCF client waiting 60 s), private
 * detail stays in the logs under a correlation id, and net.tcp calls are logged and counted per
 * action like HTTP SOAP calls, failures included.
 */
import http from 'node:http';
import type WebSocket from 'ws';
import type { RelayServer } from '../../src/relay/relay-server';
import { parseFault } from '../../src/protocol/soap/fault';
import { Harness } from '../helpers/harness';
import { NetTcpClient, requestEnvelope } from '../helpers/net-tcp-client';
import { emptyStatusService, memoryLogger, rawListener, timeout, type LogLine } from './faults-support';

const NS = 'http://example.org/calc';
const ACTION = (op: string): string => `${NS}/ICalculator/${op}`;
/** Far below the 60 s a WCF client waits, far above a loaded machine's round trip. */
const NO_HANG_MS = 15_000;

/** A SOAP 1.2 service: Add answers with RelatesTo; Notify is one-way (202). */
const soap12Service: http.RequestListener = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString();
    const id = /<a:MessageID>([^<]*)</.exec(text)?.[1];
    if (text.includes('Notify')) return void res.writeHead(202).end();
    res.writeHead(200, { 'Content-Type': 'application/soap+xml; charset=utf-8' });
    res.end(
      `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>` +
        `<a:Action s:mustUnderstand="1">${ACTION('AddResponse')}</a:Action><a:RelatesTo>${id}</a:RelatesTo></s:Header>` +
        `<s:Body><AddResponse xmlns="${NS}"><AddResult>3</AddResult></AddResponse></s:Body></s:Envelope>`,
    );
  });
};

describe('net.tcp: faults, not hangs', () => {
  const h = new Harness();
  let relay: RelayServer;
  let base: string;
  let port: number;
  const relayLog: LogLine[] = [];
  const agentLog: LogLine[] = [];
  const clients: NetTcpClient[] = [];
  let raw: WebSocket;

  async function open(path: string): Promise<NetTcpClient> {
    const c = await NetTcpClient.connect({ port });
    clients.push(c);
    await c.open(`${base}/${path}`);
    return c;
  }

  beforeAll(async () => {
    relay = await h.relay({
      netTcp: { port: 0, host: '127.0.0.1' },
      metrics: true,
      logger: memoryLogger(relayLog),
      entities: ['http415', 'raw415', 'rawhtml', 'raw200', 'raw202', 'calc', 'offline'].map((path) => ({ path, requiresClientAuthorization: false })),
    });
    port = relay.netTcp!.port;
    base = relay.netTcp!.url;
    const svc415 = await h.httpService(emptyStatusService(415));
    const calc = await h.httpService(soap12Service);
    const agent = await h.agent(
      relay,
      [
        { path: 'http415', target: { type: 'http', url: `${svc415.url}/svc`, soapVersion: '1.2' } },
        { path: 'calc', target: { type: 'http', url: `${calc.url}/svc`, soapVersion: '1.2' } },
      ],
      { logger: memoryLogger(agentLog) },
    );
    await agent.whenReady();
    raw = await rawListener(relay, 'raw415', () => ({ statusCode: 415, statusDescription: 'Unsupported Media Type' }));
    h.defer(() => raw.terminate());
    const html = await rawListener(relay, 'rawhtml', () => ({
      statusCode: 500,
      headers: { 'Content-Type': 'text/html' },
      body: Buffer.from('<html><body>Error at http://10.1.2.3:8080/internal</body></html>'),
    }));
    h.defer(() => html.terminate());
    // Listeners that are not ours answering every call with an empty success (as a hyco-https handler that never writes).
    for (const [path, statusCode] of [['raw200', 200], ['raw202', 202]] as const) {
      const ws = await rawListener(relay, path, () => ({ statusCode }));
      h.defer(() => ws.terminate());
    }
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });

  afterAll(() => h.close());

  it('an http target whose service answers an empty 415: a SOAP 1.2 fault with RelatesTo, no private address; the detail is in the agent log under its id', async () => {
    const c = await open('http415');
    const reply = await timeout(c.request(ACTION('Add'), `<Add xmlns="${NS}"><a>1</a><b>2</b></Add>`), NO_HANG_MS, 'Add');
    const fault = parseFault(reply)!;
    expect(fault).toMatchObject({ soapVersion: 'soap12', kind: 'Receiver', subcodes: [{ localName: 'RELAY_ERR_TARGET_BAD_RESPONSE' }] });
    expect(fault.relatesTo).toMatch(/^urn:uuid:/);
    const id = /\(id ([\w.-]+)\)/.exec(fault.reason)?.[1];
    expect(id).toBeDefined();
    expect(reply).not.toMatch(/127\.0\.0\.1/);
    const line = agentLog.find((l) => l.correlationId === id);
    expect(line).toMatchObject({ level: 'warn', code: 'RELAY_ERR_TARGET_BAD_RESPONSE' });
    expect(String(line!.err)).toMatch(/HTTP 415/);
  });

  it('a listener that is not ours answers an empty 415: the relay sends the fault (RelatesTo) and logs the answer under its id', async () => {
    const c = await open('raw415');
    const reply = await timeout(c.request(ACTION('Add'), `<Add xmlns="${NS}"><a>1</a><b>2</b></Add>`), NO_HANG_MS, 'Add');
    const fault = parseFault(reply)!;
    expect(fault.subcodes[0]?.localName).toBe('RELAY_ERR_TARGET_BAD_RESPONSE');
    expect(fault.relatesTo).toMatch(/^urn:uuid:/);
    expect(fault.reason).toMatch(/HTTP 415 with no body instead of a SOAP message \(id [\w.-]+\)/);
    const id = /\(id ([\w.-]+)\)/.exec(fault.reason)![1];
    expect(relayLog.find((l) => l.correlationId === id)).toMatchObject({ level: 'warn', status: 415 });
  });

  it('an HTML error page from a listener: a fault without the page (its internal links stay in the relay log)', async () => {
    const c = await open('rawhtml');
    const reply = await timeout(c.request(ACTION('Add'), `<Add xmlns="${NS}"/>`), NO_HANG_MS, 'Add');
    expect(parseFault(reply)!.reason).toMatch(/HTTP 500 with text\/html instead of a SOAP message \(id [\w.-]+\)/);
    expect(reply).not.toMatch(/10\.1\.2\.3/);
    const id = /\(id ([\w.-]+)\)/.exec(reply)![1];
    expect(String(relayLog.find((l) => l.correlationId === id)?.answer)).toMatch(/10\.1\.2\.3:8080/);
  });

  it.each(['raw200', 'raw202'])('a listener that is not ours answers a request-reply message with an empty success (%s): a fault at once, not the client’s 60 s SendTimeout', async (path) => {
    const c = await open(path);
    const reply = await timeout(c.request(ACTION('Add'), `<Add xmlns="${NS}"><a>1</a><b>2</b></Add>`), NO_HANG_MS, 'Add');
    const fault = parseFault(reply)!;
    expect(fault.subcodes[0]?.localName).toBe('RELAY_ERR_TARGET_BAD_RESPONSE');
    expect(fault.relatesTo).toMatch(/^urn:uuid:/);
    expect(fault.reason).toMatch(/with no body instead of a SOAP reply to a request-reply message/);
  });

  it('our agent marks a service’s empty one-way acknowledgement: a one-way message that carries a MessageID (as Mono sends) gets nothing back', async () => {
    const c = await open('calc');
    const messageId = 'urn:uuid:0b5e6a43-0000-4000-8000-000000000001';
    c.send(requestEnvelope({ action: ACTION('Notify'), to: `${base}/calc`, body: `<Notify xmlns="${NS}"/>`, messageId }));
    const reply = await timeout(c.request(ACTION('Add'), `<Add xmlns="${NS}"><a>1</a><b>2</b></Add>`), NO_HANG_MS, 'Add');
    expect(reply).toMatch(/<AddResult>3</);
    expect(c.unsolicited).toEqual([]);
  });

  it('a one-way call (no MessageID) answered 202 is still acked with nothing', async () => {
    const c = await open('calc');
    c.notify(ACTION('Notify'), `<Notify xmlns="${NS}"/>`);
    // The session still works, and the one-way call sent nothing back.
    const reply = await timeout(c.request(ACTION('Add'), `<Add xmlns="${NS}"><a>1</a><b>2</b></Add>`), NO_HANG_MS, 'Add');
    expect(reply).toMatch(/<AddResult>3</);
    expect(c.unsolicited).toEqual([]);
  });

  it('net.tcp calls are logged per call and counted per action, NO_LISTENER faults included', async () => {
    const c = await open('calc');
    await timeout(c.request(ACTION('Add'), `<Add xmlns="${NS}"><a>1</a><b>2</b></Add>`), NO_HANG_MS, 'Add');
    const off = await open('offline');
    const reply = await timeout(off.request(ACTION('Add'), `<Add xmlns="${NS}"/>`), NO_HANG_MS, 'Add offline');
    expect(parseFault(reply)!.subcodes[0]?.localName).toBe('RELAY_ERR_NO_LISTENER');
    const metrics = await relay.metrics.registry.metrics();
    expect(metrics).toMatch(new RegExp(`relaybridge_http_requests_total\\{path="calc",operation="${ACTION('Add').replace(/[./]/g, '\\$&')}",status="200"\\} [1-9]`));
    expect(metrics).toMatch(new RegExp(`relaybridge_http_requests_total\\{path="offline",operation="${ACTION('Add').replace(/[./]/g, '\\$&')}",status="500"\\} 1`));
    expect(metrics).not.toMatch(/operation="net\.tcp"/);
    const calls = relayLog.filter((l) => l.msg === 'access' && l.endpoint === 'net.tcp');
    expect(calls).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: 'info', path: 'calc', operation: ACTION('Add'), status: 200 }),
        expect.objectContaining({ level: 'info', path: 'offline', operation: ACTION('Add'), status: 500 }),
      ]),
    );
  });
});
