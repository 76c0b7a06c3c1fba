/**
 * net.tcp through the relay: our own net.tcp client (codecs from src/protocol) -> relay net.tcp
 * endpoint -> agent (http proxy) -> a Node SOAP 1.2 HTTP service, over real sockets on loopback.
 */
import http from 'node:http';
import net from 'node:net';
import { KnownEncoding, FaultString, Mode, encodePreamble } from '../../src/protocol/nmf';
import { scanEnvelope } from '../../src/protocol/soap/envelope';
import { parseFault } from '../../src/protocol/soap/fault';
import type { RelayServer } from '../../src/relay/relay-server';
import { generateSelfSigned } from '../../src/cli/tls';
import { createRelayServer } from '../../src/relay/relay-server';
import { netTcpMetadataTransform } from '../../src/relay/endpoints/net-tcp/net-tcp-endpoint';
import { memoryLogger, type LogLine } from './faults-support';
import { Harness, token, waitFor } from '../helpers/harness';
import { NetTcpClient, NmfFaultError, requestEnvelope } from '../helpers/net-tcp-client';

const NS = 'http://example.org/calc';
const ACTION = (op: string): string => `${NS}/ICalculator/${op}`;

function textOf(xml: string, name: string): string | undefined {
  const m = new RegExp(`<(?:\\w+:)?${name}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:\\w+:)?${name}>`).exec(xml);
  return m ? m[1] : undefined;
}

function unescape(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

/** A SOAP 1.2 service over HTTP written by hand: Add, Echo, Delay, Notify (one-way), Fail, Bare. */
function soap12Service(seen: { notified: string[]; requests: Array<{ to?: string; url?: string }> }): http.RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      const env = scanEnvelope(body);
      const a = env.addressing;
      seen.requests.push({ to: a?.to, url: req.url });
      const op = (a?.action ?? '').split('/').pop() ?? '';
      const text = body.toString('utf8');
      const reply = (status: number, content: string, withAddressing = true): void => {
        const headers = withAddressing
          ? `<s:Header><a:Action s:mustUnderstand="1">${a?.action}Response</a:Action><a:RelatesTo>${a?.messageId}</a:RelatesTo></s:Header>`
          : '';
        res.writeHead(status, { 'Content-Type': 'application/soap+xml; charset=utf-8' });
        res.end(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing">${headers}<s:Body>${content}</s:Body></s:Envelope>`);
      };
      switch (op) {
        case 'Add': {
          const sum = Number(textOf(text, 'a')) + Number(textOf(text, 'b'));
          return reply(200, `<AddResponse xmlns="${NS}"><AddResult>${sum}</AddResult></AddResponse>`);
        }
        case 'Echo':
          return reply(200, `<EchoResponse xmlns="${NS}"><EchoResult>echo:${textOf(text, 'text') ?? ''}</EchoResult></EchoResponse>`);
        case 'Delay': {
          const ms = Number(textOf(text, 'ms'));
          setTimeout(() => reply(200, `<DelayResponse xmlns="${NS}"><DelayResult>${ms}</DelayResult></DelayResponse>`), ms);
          return;
        }
        case 'Bare':
          return reply(200, `<BareResponse xmlns="${NS}"><BareResult>ok</BareResult></BareResponse>`, false);
        case 'Notify':
          seen.notified.push(unescape(textOf(text, 'msg') ?? ''));
          res.writeHead(202).end();
          return;
        case 'Fail':
          return reply(
            500,
            '<s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code><s:Reason><s:Text xml:lang="en-US">Fail: boom</s:Text></s:Reason></s:Fault>',
          );
        default:
          res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no such operation');
      }
    });
  };
}

describe('net.tcp endpoint through relay and agent', () => {
  const h = new Harness();
  let relay: RelayServer;
  let port: number;
  let base: string;
  const seen = { notified: [] as string[], requests: [] as Array<{ to?: string; url?: string }> };
  const clients: NetTcpClient[] = [];

  async function client(): Promise<NetTcpClient> {
    const c = await NetTcpClient.connect({ port });
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    relay = await h.relay({
      netTcp: { port: 0, host: '127.0.0.1', maxMessageBytes: 1024 * 1024 },
      entities: [
        { path: 'calc', requiresClientAuthorization: false },
        { path: 'secure', requiresClientAuthorization: true },
        { path: 'offline', requiresClientAuthorization: false },
      ],
    });
    port = relay.netTcp!.port;
    base = relay.netTcp!.url;
    const svc = await h.httpService(soap12Service(seen));
    const agent = await h.agent(relay, [
      { path: 'calc', target: { type: 'http', url: `${svc.url}/svc`, soapVersion: '1.2' } },
      { path: 'secure', target: { type: 'http', url: `${svc.url}/svc`, soapVersion: '1.2' } },
    ]);
    await agent.whenReady();
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });

  afterAll(() => h.close());

  it('exposes its URL on the relay', () => {
    expect(base).toBe(`net.tcp://127.0.0.1:${port}`);
  });

  it('request/reply: binary request -> SOAP 1.2 POST -> binary reply with RelatesTo', async () => {
    const c = await client();
    await c.open(`${base}/calc`);
    const reply = await c.request(ACTION('Add'), `<Add xmlns="${NS}"><a>2</a><b>3</b></Add>`);
    expect(textOf(reply, 'AddResult')).toBe('5');
    const second = await c.request(ACTION('Add'), `<Add xmlns="${NS}"><a>40</a><b>2</b></Add>`);
    expect(textOf(second, 'AddResult')).toBe('42');
    const last = seen.requests[seen.requests.length - 1]!;
    expect(last.url).toBe('/svc');
    await c.end();
  });

  it('routes a Via suffix to the service path', async () => {
    const c = await client();
    await c.open(`${base}/calc/v2/extra`);
    await c.request(ACTION('Add'), `<Add xmlns="${NS}"><a>1</a><b>1</b></Add>`);
    expect(seen.requests[seen.requests.length - 1]!.url).toBe('/svc/v2/extra');
  });

  it('strings over 64 KB both ways (rendezvous body path)', async () => {
    const c = await client();
    await c.open(`${base}/calc`);
    const big = 'h\u00e9llo <&> \u4e16\u754c '.repeat(8000); // ~104 KB UTF-8
    const reply = await c.request(ACTION('Echo'), `<Echo xmlns="${NS}"><text>${big.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</text></Echo>`);
    expect(unescape(textOf(reply, 'EchoResult')!)).toBe(`echo:${big}`);
  });

  it('several outstanding calls on one session, answered in completion order', async () => {
    const c = await client();
    await c.open(`${base}/calc`);
    const order: number[] = [];
    const calls = [300, 10, 150].map((ms) =>
      c.request(ACTION('Delay'), `<Delay xmlns="${NS}"><ms>${ms}</ms></Delay>`).then((xml) => {
        order.push(Number(textOf(xml, 'DelayResult')));
      }),
    );
    await Promise.all(calls);
    expect(order).toEqual([10, 150, 300]);
  });

  it('one-way: forwarded, nothing sent back', async () => {
    const c = await client();
    await c.open(`${base}/calc`);
    const msg = `ping-${Date.now()}`;
    c.notify(ACTION('Notify'), `<Notify xmlns="${NS}"><msg>${msg}</msg></Notify>`);
    await waitFor(() => seen.notified.includes(msg), 5000, 'the one-way message');
    // A later call still works and nothing unsolicited arrived.
    await c.request(ACTION('Add'), `<Add xmlns="${NS}"><a>1</a><b>2</b></Add>`);
    expect(c.unsolicited).toEqual([]);
  });

  it('pooling: End, then a new preamble (fresh session dictionaries) on the same socket', async () => {
    const c = await client();
    await c.open(`${base}/calc`);
    expect(textOf(await c.request(ACTION('Add'), `<Add xmlns="${NS}"><a>1</a><b>2</b></Add>`), 'AddResult')).toBe('3');
    await c.end();
    await c.open(`${base}/calc`);
    expect(textOf(await c.request(ACTION('Add'), `<Add xmlns="${NS}"><a>3</a><b>4</b></Add>`), 'AddResult')).toBe('7');
    await c.end();
    expect(c.closed).toBe(false);
  });

  it('streamed transfer mode (singleton-unsized, msbin1): one request per preamble in chunks, reply, End; pooled', async () => {
    const c = await NetTcpClient.connect({ port, mode: Mode.SingletonUnsized });
    clients.push(c);
    const big = 'x'.repeat(100_000);
    for (const [a, b] of [[2, 3], [20, 22]] as const) {
      await c.open(`${base}/calc`, { mode: Mode.SingletonUnsized, encoding: KnownEncoding.Soap12Binary });
      const id = `urn:uuid:${a}0000000-0000-0000-0000-000000000000`;
      const reply = await c.streamed(requestEnvelope({ action: ACTION('Add'), to: `${base}/calc`, body: `<Add xmlns="${NS}"><a>${a}</a><b>${b}</b></Add>`, messageId: id }));
      expect(textOf(reply!, 'AddResult')).toBe(String(a + b));
    }
    await c.open(`${base}/calc`, { mode: Mode.SingletonUnsized, encoding: KnownEncoding.Soap12Binary });
    const echo = await c.streamed(requestEnvelope({ action: ACTION('Echo'), to: `${base}/calc`, body: `<Echo xmlns="${NS}"><text>${big}</text></Echo>`, messageId: 'urn:uuid:99999999-0000-0000-0000-000000000000' }));
    expect(textOf(echo!, 'EchoResult')).toBe(`echo:${big}`);
    // One-way: no reply, just End.
    await c.open(`${base}/calc`, { mode: Mode.SingletonUnsized, encoding: KnownEncoding.Soap12Binary });
    const msg = `streamed-${Date.now()}`;
    expect(await c.streamed(requestEnvelope({ action: ACTION('Notify'), to: `${base}/calc`, body: `<Notify xmlns="${NS}"><msg>${msg}</msg></Notify>` }))).toBeUndefined();
    await waitFor(() => seen.notified.includes(msg), 5000, 'the streamed one-way message');
  });

  it('service faults come back as SOAP 1.2 faults', async () => {
    const c = await client();
    await c.open(`${base}/calc`);
    const reply = await c.request(ACTION('Fail'), `<Fail xmlns="${NS}"><msg>boom</msg></Fail>`);
    expect(parseFault(reply)).toMatchObject({ code: { localName: 'Sender' }, reason: 'Fail: boom' });
  });

  it('adds RelatesTo and Action when the service reply has no addressing', async () => {
    const c = await client();
    await c.open(`${base}/calc`);
    const reply = await c.request(ACTION('Bare'), `<Bare xmlns="${NS}"/>`);
    expect(scanEnvelope(reply).addressing?.action).toBe(`${ACTION('Bare')}Response`);
    expect(textOf(reply, 'BareResult')).toBe('ok');
  });

  it('a non-SOAP answer from the service becomes a Receiver fault', async () => {
    const c = await client();
    await c.open(`${base}/calc`);
    const reply = await c.request(ACTION('Nope'), `<Nope xmlns="${NS}"/>`);
    const fault = parseFault(reply);
    expect(fault?.code.localName).toBe('Receiver');
    expect(fault?.reason).toContain('HTTP 404');
  });

  it('no listener online: a SOAP fault, not a hang', async () => {
    const c = await client();
    await c.open(`${base}/offline`);
    const reply = await c.request(ACTION('Add'), `<Add xmlns="${NS}"><a>1</a><b>2</b></Add>`);
    const fault = parseFault(reply);
    expect(fault?.code.localName).toBe('Receiver');
    expect(fault?.subcodes[0]?.localName).toBe('RELAY_ERR_NO_LISTENER');
  });

  describe('authorization', () => {
    it('a secured path refuses a message without a token (SOAP fault), accepts a RelayAccessToken header, then the session', async () => {
      const c = await client();
      await c.open(`${base}/secure`);
      const refused = parseFault(await c.request(ACTION('Add'), `<Add xmlns="${NS}"><a>1</a><b>2</b></Add>`));
      expect(refused?.code.localName).toBe('Sender');
      expect(refused?.subcodes[0]?.localName).toBe('RELAY_ERR_SAS_MISSING');
      const t = token(relay, 'secure');
      const ok = await c.request(ACTION('Add'), `<Add xmlns="${NS}"><a>1</a><b>2</b></Add>`, { token: t });
      expect(textOf(ok, 'AddResult')).toBe('3');
      // The token never reaches the service.
      expect(seen.requests.length).toBeGreaterThan(0);
      // Later messages on the same session ride on the token.
      expect(textOf(await c.request(ACTION('Add'), `<Add xmlns="${NS}"><a>2</a><b>2</b></Add>`), 'AddResult')).toBe('4');
    });

    it('a bad token in the header is refused with a fault', async () => {
      const c = await client();
      await c.open(`${base}/secure`);
      const bad = token(relay, 'secure').replace(/sig=[^&]+/, 'sig=AAAA');
      const refused = parseFault(await c.request(ACTION('Add'), `<Add xmlns="${NS}"><a>1</a><b>2</b></Add>`, { token: bad }));
      expect(refused?.subcodes[0]?.localName).toBe('RELAY_ERR_SAS_BAD_SIGNATURE');
    });

    it('a token in the Via query is checked before the Ack', async () => {
      const good = await client();
      await good.open(`${base}/secure?sb-hc-token=${encodeURIComponent(token(relay, 'secure'))}`);
      expect(textOf(await good.request(ACTION('Add'), `<Add xmlns="${NS}"><a>5</a><b>5</b></Add>`, { to: `${base}/secure` }), 'AddResult')).toBe('10');
      const bad = await client();
      await expect(bad.open(`${base}/secure?sb-hc-token=SharedAccessSignature%20sr%3Dx%26sig%3Dy%26se%3D1%26skn%3Dz`)).rejects.toMatchObject({
        fault: FaultString.EndpointAccessDenied,
      });
    });
  });

  describe('framing faults before the Ack', () => {
    it('unknown Via: EndpointNotFound, then close', async () => {
      const c = await client();
      await expect(c.open(`${base}/nothing-here`)).rejects.toMatchObject({ fault: FaultString.EndpointNotFound });
      await c.waitClosed();
    });

    it('text encoding: ContentTypeInvalid', async () => {
      const c = await client();
      await expect(c.open(`${base}/calc`, { encoding: KnownEncoding.Soap12Utf8 })).rejects.toMatchObject({ fault: FaultString.ContentTypeInvalid });
    });

    it('extensible encoding (gzip binary): ContentTypeInvalid', async () => {
      const c = await client();
      await expect(c.open(`${base}/calc`, { encoding: 'application/soap+msbinsession1+gzip' })).rejects.toMatchObject({
        fault: FaultString.ContentTypeInvalid,
      });
    });

    it('simplex mode (MSMQ shape): UnsupportedMode', async () => {
      const c = await client();
      await expect(c.open(`${base}/calc`, { mode: Mode.Simplex })).rejects.toMatchObject({ fault: FaultString.UnsupportedMode });
    });

    it('streamed mode with the session encoding: ContentTypeInvalid', async () => {
      const c = await client();
      await expect(c.open(`${base}/calc`, { mode: Mode.SingletonUnsized })).rejects.toMatchObject({ fault: FaultString.ContentTypeInvalid });
    });

    it('Windows security (application/negotiate upgrade): UpgradeInvalid', async () => {
      const c = await client();
      c.write(encodePreamble({ mode: Mode.Duplex, via: `${base}/calc`, encoding: KnownEncoding.Soap12BinarySession, upgrade: 'application/negotiate' }));
      // The first SPNEGO token may follow in the same segment.
      c.write(Buffer.from([0x16, 0x01, 0x00, 0x00, 0x02, 0x60, 0x00]));
      expect(await c.nextFault()).toBe(FaultString.UpgradeInvalid);
      await c.waitClosed();
    });

    it('TLS upgrade without a relay certificate: UpgradeInvalid', async () => {
      const c = await client();
      await expect(c.open(`${base}/calc`, { upgrade: 'application/ssl-tls' })).rejects.toBeInstanceOf(NmfFaultError);
    });

    it('oversize envelope: MaxMessageSizeExceededFault, only that connection closes', async () => {
      const c = await client();
      await c.open(`${base}/calc`);
      const other = await client();
      await other.open(`${base}/calc`);
      c.write(Buffer.from([0x06, 0x80, 0x80, 0x80, 0x01])); // 2 MiB > 1 MiB limit
      expect(await c.nextFault()).toBe(FaultString.MaxMessageSizeExceededFault);
      await c.waitClosed();
      expect(textOf(await other.request(ACTION('Add'), `<Add xmlns="${NS}"><a>1</a><b>1</b></Add>`), 'AddResult')).toBe('2');
    });

    it('malformed binary envelope: fault record, that connection only', async () => {
      const c = await client();
      await c.open(`${base}/calc`);
      c.write(Buffer.from([0x06, 0x03, 0x00, 0xff, 0xff])); // table 0, then an invalid NBFX record
      expect(await c.nextFault()).toBe(FaultString.InvalidRecordSequence);
      await c.waitClosed();
    });

    it('garbage instead of a preamble: fault, close', async () => {
      const c = await client();
      c.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
      expect(await c.nextFault()).toBe(FaultString.InvalidRecordSequence);
      await c.waitClosed();
    });
  });

  it('a one-way request envelope built without MessageID keeps the session usable', () => {
    expect(requestEnvelope({ action: 'x', to: 'y', body: '' })).not.toContain('MessageID');
  });
});

describe('net.tcp endpoint limits', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('connection cap: ServerTooBusy; preamble timeout closes a silent connection', async () => {
    const relay = await h.relay({
      netTcp: { port: 0, host: '127.0.0.1', maxConnections: 1, preambleTimeoutMs: 300 },
      entities: [{ path: 'calc', requiresClientAuthorization: false }],
    });
    const port = relay.netTcp!.port;
    const first = await NetTcpClient.connect({ port });
    const second = await NetTcpClient.connect({ port });
    try {
      await expect(second.open(`${relay.netTcp!.url}/calc`)).rejects.toMatchObject({ fault: FaultString.ServerTooBusy });
      // The first connection never sends a preamble: it is dropped after preambleTimeoutMs.
      await first.waitClosed(3000);
    } finally {
      first.destroy();
      second.destroy();
    }
  });
});

describe('net.tcp endpoint idle timeout', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('closes an idle session with End after idleTimeoutMs', async () => {
    const relay = await h.relay({
      netTcp: { port: 0, host: '127.0.0.1', idleTimeoutMs: 300 },
      entities: [{ path: 'calc', requiresClientAuthorization: false }],
    });
    const c = await NetTcpClient.connect({ port: relay.netTcp!.port });
    try {
      await c.open(`${relay.netTcp!.url}/calc`);
      await c.waitClosed(3000);
    } finally {
      c.destroy();
    }
  });
});

describe('net.tcp endpoint with TLS (application/ssl-tls upgrade)', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('upgrades to TLS with the relay certificate, then relays calls inside it', async () => {
    const { cert, key } = await generateSelfSigned(['localhost', '127.0.0.1']);
    const relay = await h.relay({
      tls: { cert, key },
      netTcp: { port: 0, host: '127.0.0.1' },
      entities: [{ path: 'calc', requiresClientAuthorization: false }],
    });
    const seen = { notified: [] as string[], requests: [] as Array<{ to?: string; url?: string }> };
    const svc = await h.httpService(soap12Service(seen));
    const agent = await h.agent(relay, [{ path: 'calc', target: { type: 'http', url: svc.url, soapVersion: '1.2' } }], { tls: { ca: cert, rejectUnauthorized: true } });
    await agent.whenReady();
    const c = await NetTcpClient.connect({ port: relay.netTcp!.port });
    try {
      await c.open(`${relay.netTcp!.url}/calc`, { tls: { ca: cert, servername: 'localhost' } });
      expect(textOf(await c.request(ACTION('Add'), `<Add xmlns="${NS}"><a>20</a><b>22</b></Add>`), 'AddResult')).toBe('42');
      await c.end();
    } finally {
      c.destroy();
    }
  });

  describe('TLS required (netTcp.requireTls, on by default with a certificate)', () => {
    let relay: RelayServer;
    let cert: string;
    const lines: LogLine[] = [];
    const seen = { notified: [] as string[], requests: [] as Array<{ to?: string; url?: string }> };

    beforeAll(async () => {
      const pair = await generateSelfSigned(['localhost', '127.0.0.1']);
      cert = pair.cert;
      relay = await h.relay({
        tls: pair,
        logger: memoryLogger(lines),
        netTcp: { port: 0, host: '127.0.0.1' },
        entities: [{ path: 'calc', requiresClientAuthorization: false }],
      });
      const svc = await h.httpService(soap12Service(seen));
      const agent = await h.agent(relay, [{ path: 'calc', target: { type: 'http', url: svc.url, soapVersion: '1.2' } }], { tls: { ca: cert, rejectUnauthorized: true } });
      await agent.whenReady();
    });

    it('a session without the upgrade gets the NMF fault UpgradeInvalid before any message reaches the service', async () => {
      const before = seen.requests.length;
      const c = await NetTcpClient.connect({ port: relay.netTcp!.port });
      h.defer(() => c.destroy());
      await expect(c.open(`${relay.netTcp!.url}/calc`)).rejects.toMatchObject({ fault: FaultString.UpgradeInvalid });
      await c.waitClosed();
      expect(seen.requests.length).toBe(before);
      expect(lines.some((l) => l.level === 'info' && /without TLS \(netTcp.requireTls\)/.test(String(l.msg)))).toBe(true);
    });

    it('a failed TLS handshake is logged at warn with the client address, once per address per interval', async () => {
      for (let i = 0; i < 3; i++) {
        // The upgrade is asked for, then what follows is not a TLS ClientHello (a scanner, a broken client).
        const socket = net.connect(relay.netTcp!.port, '127.0.0.1');
        h.defer(() => void socket.destroy());
        socket.on('error', () => undefined);
        const upgraded = new Promise<void>((resolve) => socket.once('data', () => resolve()));
        socket.write(encodePreamble({ mode: Mode.Duplex, via: `${relay.netTcp!.url}/calc`, encoding: KnownEncoding.Soap12BinarySession, upgrade: 'application/ssl-tls' }));
        await upgraded;
        const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
        socket.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
        await closed;
      }
      await waitFor(() => lines.some((l) => l.level === 'warn' && l.msg === 'net.tcp TLS handshake failed'), 5000, 'the warning');
      const warned = lines.filter((l) => l.level === 'warn' && l.msg === 'net.tcp TLS handshake failed');
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatchObject({ remote: '127.0.0.1' });
    });

    it('the WSDL the relay serves advertises Transport security (msf:SslTransportSecurity) for the net.tcp port', async () => {
      const doc = relay.netTcp && netTcpMetadataTransform(relay.netTcp);
      const wsdl = `<wsdl:definitions targetNamespace="urn:c" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:tns="urn:c"><wsdl:portType name="I"/><wsdl:binding name="b" type="tns:I"><soap:binding transport="http://schemas.xmlsoap.org/soap/http"/></wsdl:binding><wsdl:service name="S"><wsdl:port name="p" binding="tns:b"><soap:address location="http://x/"/></wsdl:port></wsdl:service></wsdl:definitions>`;
      const out = doc!(Buffer.from(wsdl), { entityPath: 'calc', suffix: '', query: { name: 'wsdl', value: '' } }).toString();
      expect(out).toContain('SslTransportSecurity');
      expect(out).toContain('http://schemas.microsoft.com/ws/2006/05/framing/policy');
      expect(out).toContain(`location="${relay.netTcp!.url}/calc"`);
    });

    it('requireTls: false takes plain sessions again (and the WSDL says None)', async () => {
      const pair = await generateSelfSigned(['localhost']);
      const open = await h.relay({ tls: pair, netTcp: { port: 0, host: '127.0.0.1', requireTls: false }, entities: [{ path: 'calc', requiresClientAuthorization: false }] });
      const c = await NetTcpClient.connect({ port: open.netTcp!.port });
      h.defer(() => c.destroy());
      await c.open(`${open.netTcp!.url}/calc`);
      expect(open.netTcp!.requiresTls).toBe(false);
    });

    it('requireTls: true without a certificate is a configuration error naming the option', () => {
      expect(() => createRelayServer({ netTcp: { port: 0, requireTls: true } })).toThrow(/netTcp\.requireTls/);
    });
  });
});
