/**
 * The agent's `nettcp` proxy against a net.tcp service made from our own codecs (ServerDecoder,
 * encoders, session dictionaries), called through the relay with SOAP 1.2 and SOAP 1.1 POSTs:
 * To rewriting, RelatesTo correlation and its in-order fallbacks, one-way, pooling (`shareSessions`,
 * for PerCall or Single services), failures. Sessions (one service session per client) are in
 * net-tcp-sessions.test.ts.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { SessionReader, SessionWriter } from '../../src/protocol/nbfx';
import { binaryToXml, xmlToBinary } from '../../src/protocol/soap-binary';
import { ServerDecoder, encodeEnd, encodePreambleAck, encodeSizedEnvelope } from '../../src/protocol/nmf';
import { scanEnvelope } from '../../src/protocol/soap/envelope';
import { parseFault } from '../../src/protocol/soap/fault';
import type { RelayServer } from '../../src/relay/relay-server';
import { freePort } from '../helpers/mono';
import { Harness, request } from '../helpers/harness';

const NS = 'http://example.org/calc';
const SOAP12_CT = (op: string) => `application/soap+xml; charset=utf-8; action="${NS}/ICalculator/${op}"`;

interface Seen {
  to?: string;
  action?: string;
  messageId?: string;
}

/** What the fake service answers: reply XML, or undefined for none; a delay in ms. */
type Handler = (seen: Seen, xml: string) => { xml?: string; delayMs?: number };

function reply(seen: Seen, body: string, relatesTo = true): string {
  const rel = relatesTo ? `<a:RelatesTo>${seen.messageId}</a:RelatesTo>` : '';
  return `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="1">${seen.action}Response</a:Action>${rel}</s:Header><s:Body>${body}</s:Body></s:Envelope>`;
}

async function fakeNetTcpService(h: Harness, handler: Handler): Promise<{ url: string; seen: Seen[]; sessions: () => number }> {
  const seen: Seen[] = [];
  let sessions = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const decoder = new ServerDecoder();
    let reader = new SessionReader();
    let writer = new SessionWriter();
    socket.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        if (f.type === 'preambleEnd') {
          sessions++;
          reader = new SessionReader();
          writer = new SessionWriter();
          socket.write(encodePreambleAck());
        } else if (f.type === 'envelope') {
          const xml = binaryToXml(f.payload, { session: reader });
          const a = scanEnvelope(xml).addressing;
          const s: Seen = { to: a?.to, action: a?.action, messageId: a?.messageId };
          seen.push(s);
          const answer = handler(s, xml);
          if (answer.xml === undefined) continue;
          const send = () => {
            const parts = encodeSizedEnvelope(xmlToBinary(answer.xml!, { session: writer }));
            socket.write(Buffer.concat(parts));
          };
          if (answer.delayMs) setTimeout(send, answer.delayMs);
          else send();
        } else if (f.type === 'end') socket.write(encodeEnd());
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  h.defer(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return { url: `net.tcp://127.0.0.1:${(server.address() as AddressInfo).port}/calc`, seen, sessions: () => sessions };
}

function soap12(op: string, body: string, messageId?: string): string {
  const id = messageId ? `<a:MessageID>${messageId}</a:MessageID><a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>` : '';
  return `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="1">${NS}/ICalculator/${op}</a:Action>${id}<a:To s:mustUnderstand="1">http://relay.example/calc</a:To></s:Header><s:Body>${body}</s:Body></s:Envelope>`;
}

describe('agent nettcp proxy (fake net.tcp service from our codecs)', () => {
  const h = new Harness();
  let relay: RelayServer;
  let service: Awaited<ReturnType<typeof fakeNetTcpService>>;

  beforeAll(async () => {
    relay = await h.relay({
      entities: [
        { path: 'calc', requiresClientAuthorization: false },
        { path: 'down', requiresClientAuthorization: false },
        { path: 'single', requiresClientAuthorization: false },
      ],
    });
    service = await fakeNetTcpService(h, (seen, xml) => {
      const op = seen.action?.split('/').pop();
      if (op === 'Add') {
        const a = Number(/<a>(\d+)<\/a>/.exec(xml)?.[1]);
        const b = Number(/<b>(\d+)<\/b>/.exec(xml)?.[1]);
        return { xml: reply(seen, `<AddResponse xmlns="${NS}"><AddResult>${a + b}</AddResult></AddResponse>`) };
      }
      if (op === 'Slow') return { xml: reply(seen, `<SlowResponse xmlns="${NS}"/>`), delayMs: 200 };
      if (op === 'Divide') {
        // Like Mono's service: a fault without RelatesTo.
        return { xml: reply(seen, '<s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code><s:Reason><s:Text xml:lang="en-US">Cannot divide by zero</s:Text></s:Reason></s:Fault>', false) };
      }
      return {}; // Notify: one-way, no reply
    });
    const downPort = await freePort();
    const agent = await h.agent(relay, [
      { path: 'calc', target: { type: 'nettcp', url: service.url, maxSessions: 2, shareSessions: true, oneWayActions: [`${NS}/ICalculator/Notify11`], timeoutMs: 5000 } },
      { path: 'single', target: { type: 'nettcp', url: service.url, maxSessions: 1, shareSessions: true, timeoutMs: 5000 } },
      { path: 'down', target: { type: 'nettcp', url: `net.tcp://127.0.0.1:${downPort}/calc`, timeoutMs: 2000 } },
    ]);
    await agent.whenReady();
  });
  afterAll(() => h.close());

  it('SOAP 1.2 request/reply: the service sees its own address as To', async () => {
    const res = await request(`${relay.url}/calc`, {
      method: 'POST',
      headers: { 'Content-Type': SOAP12_CT('Add') },
      body: soap12('Add', `<Add xmlns="${NS}"><a>2</a><b>3</b></Add>`, 'urn:uuid:00000000-0000-0000-0000-000000000001'),
    });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toContain('<AddResult>5</AddResult>');
    expect(service.seen.at(-1)?.to).toBe(service.url);
  });

  it('a fault without RelatesTo goes to the oldest waiting call (Mono)', async () => {
    const res = await request(`${relay.url}/calc`, {
      method: 'POST',
      headers: { 'Content-Type': SOAP12_CT('Divide') },
      body: soap12('Divide', `<Divide xmlns="${NS}"><a>1</a><b>0</b></Divide>`, 'urn:uuid:00000000-0000-0000-0000-000000000002'),
    });
    expect(res.status).toBe(500);
    expect(parseFault(res.body)?.reason).toBe('Cannot divide by zero');
  });

  it('one-way without MessageID: 202 once sent', async () => {
    const res = await request(`${relay.url}/calc`, { method: 'POST', headers: { 'Content-Type': SOAP12_CT('Notify') }, body: soap12('Notify', `<Notify xmlns="${NS}"/>`) });
    expect(res.status).toBe(202);
  });

  it('one-way with MessageID (Mono): settled by the reply to a later call on the session, then learned', async () => {
    // One session: the later call follows the one-way one on it.
    const oneWay = request(`${relay.url}/single`, {
      method: 'POST',
      headers: { 'Content-Type': SOAP12_CT('Notify') },
      body: soap12('Notify', `<Notify xmlns="${NS}"/>`, 'urn:uuid:00000000-0000-0000-0000-000000000003'),
    });
    await new Promise((r) => setTimeout(r, 50));
    const add = request(`${relay.url}/single`, {
      method: 'POST',
      headers: { 'Content-Type': SOAP12_CT('Add') },
      body: soap12('Add', `<Add xmlns="${NS}"><a>1</a><b>1</b></Add>`, 'urn:uuid:00000000-0000-0000-0000-000000000004'),
    });
    const [r1, r2] = await Promise.all([oneWay, add]);
    expect(r2.body.toString()).toContain('<AddResult>2</AddResult>');
    expect(r1.status).toBe(202);
    // Now known to be one-way: answered at once, even with a MessageID.
    const again = await request(`${relay.url}/single`, {
      method: 'POST',
      headers: { 'Content-Type': SOAP12_CT('Notify') },
      body: soap12('Notify', `<Notify xmlns="${NS}"/>`, 'urn:uuid:00000000-0000-0000-0000-000000000006'),
    });
    expect(again.status).toBe(202);
  });

  it('SOAP 1.1 callers are translated (binding bridging), one-way by oneWayActions', async () => {
    const env = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Add xmlns="${NS}"><a>20</a><b>22</b></Add></s:Body></s:Envelope>`;
    const res = await request(`${relay.url}/calc`, { method: 'POST', headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${NS}/ICalculator/Add"` }, body: env });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/xml');
    expect(res.body.toString()).toContain('<AddResult>42</AddResult>');
    const ow = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Notify11 xmlns="${NS}"/></s:Body></s:Envelope>`;
    const res2 = await request(`${relay.url}/calc`, { method: 'POST', headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${NS}/ICalculator/Notify11"` }, body: ow });
    expect(res2.status).toBe(202);
  });

  it('pools sessions: concurrent slow calls open a second session, never more than maxSessions', async () => {
    const before = service.sessions();
    const calls = Array.from({ length: 4 }, (_, i) =>
      request(`${relay.url}/calc`, {
        method: 'POST',
        headers: { 'Content-Type': SOAP12_CT('Slow') },
        body: soap12('Slow', `<Slow xmlns="${NS}"/>`, `urn:uuid:00000000-0000-0000-0001-00000000000${i}`),
      }),
    );
    const results = await Promise.all(calls);
    for (const r of results) expect(r.status).toBe(200);
    // The 'calc' pool holds at most maxSessions (2) sessions, whatever it had before.
    expect(service.sessions() - before).toBeLessThanOrEqual(2);
  });

  it('service down: a SOAP fault to the caller, not a hang', async () => {
    const res = await request(`${relay.url}/down`, {
      method: 'POST',
      headers: { 'Content-Type': SOAP12_CT('Add') },
      body: soap12('Add', `<Add xmlns="${NS}"><a>1</a><b>1</b></Add>`, 'urn:uuid:00000000-0000-0000-0000-000000000005'),
    });
    expect(res.status).toBe(500);
    const fault = parseFault(res.body);
    expect(fault?.subcodes[0]?.localName).toBe('RELAY_ERR_TARGET_UNREACHABLE');
  });
});
