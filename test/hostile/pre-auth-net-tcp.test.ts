/**
 * net.tcp connections to a path that requires a token cost little until their first message is
 * authorized: a parked partial envelope is closed at netTcp.channelInitializationTimeoutMs, at
 * most netTcp.preAuthMaxMessageBytes may arrive before authorization (unless the envelope's head,
 * within that allowance, carries a token that authorizes it), and connections that have
 * not authenticated are capped per address (ServerTooBusy), while a caller that authenticates in
 * its Via still gets through. Real relay + agent; the hostile side writes raw NMF records.
 */
import http from 'node:http';
import { FaultString } from '../../src/protocol/nmf';
import type { RelayServer } from '../../src/relay/relay-server';
import { Harness, token, waitFor } from '../helpers/harness';
import { NetTcpClient, NmfFaultError, requestEnvelope } from '../helpers/net-tcp-client';

const NS = 'http://example.org/calc';
const ACTION = `${NS}/ICalculator/Echo`;

/** A SOAP 1.2 echo service: answers every POST with RelatesTo = the request's MessageID. */
const echo12: http.RequestListener = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    const id = /<(?:\w+:)?MessageID[^>]*>([^<]*)</.exec(text)?.[1] ?? '';
    res.writeHead(200, { 'Content-Type': 'application/soap+xml; charset=utf-8' });
    res.end(
      `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>` +
        `<a:Action s:mustUnderstand="1">${ACTION}Response</a:Action><a:RelatesTo>${id}</a:RelatesTo></s:Header>` +
        `<s:Body><EchoResponse xmlns="${NS}"><EchoResult>${text.length}</EchoResult></EchoResponse></s:Body></s:Envelope>`,
    );
  });
};

/** A Sized Envelope record header (0x06 + multi-byte int31 size) for `size` bytes of payload. */
function sizedEnvelopeHeader(size: number): Buffer {
  const bytes = [0x06];
  let n = size;
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    bytes.push(b);
  } while (n);
  return Buffer.from(bytes);
}

/** A request whose RelayAccessToken header follows a padding header of `padding` bytes. */
function requestEnvelopeWithPadding(relay: RelayServer, to: string, messageId: string, padding: number): string {
  const xml = requestEnvelope({ action: ACTION, to, messageId, body: `<Echo xmlns="${NS}"><text>${'c'.repeat(100 * 1024)}</text></Echo>`, token: token(relay, 'secure') });
  return xml.replace('<s:Header>', `<s:Header><Padding xmlns="urn:test">${'p'.repeat(padding)}</Padding>`);
}

describe('net.tcp before the first authorized message', () => {
  const h = new Harness();
  let relay: RelayServer;
  let base: string;
  const clients: NetTcpClient[] = [];

  const client = async (): Promise<NetTcpClient> => {
    const c = await NetTcpClient.connect({ port: relay.netTcp!.port });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    relay = await h.relay({
      netTcp: { port: 0, host: '127.0.0.1', channelInitializationTimeoutMs: 1500, preAuthMaxMessageBytes: 16 * 1024, maxMessageBytes: 1024 * 1024 },
      entities: [{ path: 'secure', requiresClientAuthorization: true }],
      limits: { maxUnauthenticatedPerAddress: 2 },
    });
    base = relay.netTcp!.url;
    const svc = await h.httpService(echo12);
    const agent = await h.agent(relay, [{ path: 'secure', target: { type: 'http', url: `${svc.url}/svc`, soapVersion: '1.2' } }]);
    await agent.whenReady();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await waitFor(() => relay.guard.preAuthSlots.inUse === 0, 10_000, 'slots released');
  });
  afterAll(() => h.close());

  it('closes a connection that parks a partial envelope without a token at the deadline', async () => {
    const c = await client();
    await c.open(`${base}/secure`); // acked: the token may still come in the first message
    c.write(Buffer.concat([sizedEnvelopeHeader(12_000), Buffer.alloc(1000, 0x41)]));
    // Closed by the relay at channelInitializationTimeoutMs, not held for the 10-minute idle timeout.
    await c.waitClosed(30_000);
  }, 40_000);

  it('keeps a connection whose first message authorized past the deadline', async () => {
    const c = await client();
    await c.open(`${base}/secure`);
    const first = await c.request(ACTION, `<Echo xmlns="${NS}"><text>a</text></Echo>`, { token: token(relay, 'secure') });
    expect(first).toMatch(/EchoResult>\d+</);
    expect(relay.guard.preAuthSlots.inUse).toBe(0); // authenticated: the slot went back
    await new Promise((r) => setTimeout(r, 2500)); // beyond the 1.5 s deadline
    expect(c.closed).toBe(false);
    // The session's token is remembered; a message larger than the pre-auth limit passes now.
    const big = await c.request(ACTION, `<Echo xmlns="${NS}"><text>${'b'.repeat(100 * 1024)}</text></Echo>`);
    expect(big).toMatch(/EchoResult>\d+</);
  }, 30_000);

  it('refuses more than preAuthMaxMessageBytes before authorization (MaxMessageSizeExceededFault) and closes', async () => {
    const c = await client();
    await c.open(`${base}/secure`);
    const fault = c.nextFault(10_000);
    c.write(Buffer.concat([sizedEnvelopeHeader(500_000), Buffer.alloc(20 * 1024, 0x41)]));
    expect(await fault).toBe(FaultString.MaxMessageSizeExceededFault);
    await c.waitClosed(10_000);
  }, 30_000);

  it('serves a first message larger than the allowance when a token in its head authorizes it (as directly)', async () => {
    const c = await client();
    await c.open(`${base}/secure`);
    const big = await c.request(ACTION, `<Echo xmlns="${NS}"><text>${'b'.repeat(100 * 1024)}</text></Echo>`, { token: token(relay, 'secure') });
    expect(big).toMatch(/EchoResult>\d+</);
    expect(relay.guard.preAuthSlots.inUse).toBe(0);
  }, 30_000);

  it('refuses a large first message whose token does not authorize, or comes after the allowance', async () => {
    const bad = await client();
    await bad.open(`${base}/secure`);
    const fault = bad.nextFault(10_000);
    void bad.request(ACTION, `<Echo xmlns="${NS}"><text>${'b'.repeat(100 * 1024)}</text></Echo>`, { token: token(relay, 'other') }).catch(() => undefined);
    expect(await fault).toBe(FaultString.MaxMessageSizeExceededFault);
    await bad.waitClosed(10_000);

    // A 20 KiB header before the token: the head is not read within the 16 KiB allowance.
    const late = await client();
    await late.open(`${base}/secure`);
    const lateFault = late.nextFault(10_000);
    const id = 'urn:uuid:late-token';
    const xml = requestEnvelopeWithPadding(relay, `${base}/secure`, id, 20 * 1024);
    void late.call(xml, id).catch(() => undefined);
    expect(await lateFault).toBe(FaultString.MaxMessageSizeExceededFault);
    await late.waitClosed(10_000);
  }, 30_000);

  it('caps unauthenticated connections per address, while a Via-token caller gets through', async () => {
    const a = await client();
    const b = await client();
    await a.open(`${base}/secure`);
    await b.open(`${base}/secure`);
    await waitFor(() => relay.guard.preAuthSlots.heldBy('127.0.0.1') === 2, 10_000, '2 unauthenticated');
    const third = await client();
    await expect(third.open(`${base}/secure`)).rejects.toEqual(new NmfFaultError(FaultString.ServerTooBusy));
    // Authenticated by its preamble: not refused although its address is over the cap.
    const ok = await client();
    await ok.open(`${base}/secure?sb-hc-token=${encodeURIComponent(token(relay, 'secure'))}`);
    expect(await ok.request(ACTION, `<Echo xmlns="${NS}"><text>x</text></Echo>`)).toMatch(/EchoResult>\d+</);
    // Once one of the parked ones goes, a new unauthenticated connection is let in again.
    a.destroy();
    await waitFor(() => relay.guard.preAuthSlots.heldBy('127.0.0.1') === 1, 10_000, 'slot back');
    const again = await client();
    await again.open(`${base}/secure`);
  }, 30_000);
});
