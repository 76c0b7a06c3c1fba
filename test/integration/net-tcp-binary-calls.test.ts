/**
 * net.tcp calls the relay relays one request per envelope (a streamed session: duplex sessions
 * ride a session carrier) to a relaybridge agent's `nettcp` path travel as binary XML
 * (application/soap+msbin1, protocol/hyco/binary-soap.ts) both ways: never printed as text.
 * Our net.tcp client → relay → agent → a net.tcp service from our codecs, real sockets; the
 * content types on the control channel and rendezvous are read at the relay, and every result is
 * compared with the same call over text (carrier: 'text') and straight to the service.
 */
import { KnownEncoding, Mode } from '../../src/protocol/nmf';
import { parseFault } from '../../src/protocol/soap/fault';
import type { RelayServer } from '../../src/relay/relay-server';
import { BufferingHandler } from '../../src/relay/routing/response-handler';
import { Harness } from '../helpers/harness';
import { NetTcpClient, requestEnvelope } from '../helpers/net-tcp-client';
import { sessionAction, sessionService, SESSION_NS, textOf } from '../helpers/net-tcp-service';
import { freePort } from '../helpers/processes';

describe('net.tcp calls relayed per envelope to a nettcp target: binary XML between relay and agent', () => {
  const h = new Harness();
  let relay: RelayServer;
  let service: { url: string };
  const clients: NetTcpClient[] = [];
  /** Content types of what the relay sent to listeners and what came back, per path. */
  const sent = new Map<string, string[]>();
  const answered = new Map<string, string[]>();
  const note = (m: Map<string, string[]>, path: string, ct: string | undefined) => m.set(path, [...(m.get(path) ?? []), ct ?? '']);

  beforeAll(async () => {
    service = await sessionService(h);
    const closed = await freePort();
    // agentControlBodyBytes 0: bodies over 64 KiB go by rendezvous, so both ways are exercised.
    relay = await h.relay({
      netTcp: { port: 0, host: '127.0.0.1' },
      limits: { agentControlBodyBytes: 0 },
      entities: ['streamed', 'streamed-text', 'shared', 'down'].map((path) => ({ path, requiresClientAuthorization: false })),
    });
    const agent = await h.agent(relay, [
      { path: 'streamed', target: { type: 'nettcp', url: service.url } },
      { path: 'streamed-text', target: { type: 'nettcp', url: service.url, carrier: 'text' } },
      { path: 'shared', target: { type: 'nettcp', url: service.url, shareSessions: true } },
      { path: 'down', target: { type: 'nettcp', url: `net.tcp://127.0.0.1:${closed}/gone`, timeoutMs: 3000 } },
    ]);
    await agent.whenReady();
    // What goes to the listeners (control channel: the request's headers; rendezvous: its address
    // form, whose full request follows on the socket) and what their answers say.
    for (const path of ['streamed', 'streamed-text', 'shared', 'down']) {
      const channel = relay.router.registry.list(path)[0]!;
      const original = channel.sendRequest.bind(channel);
      channel.sendRequest = (json, body, id) => {
        note(sent, path, (JSON.parse(json) as { request: { requestHeaders?: Record<string, string> } }).request.requestHeaders?.['Content-Type']);
        return original(json, body, id);
      };
    }
    const onResponse = relay.router.onControlResponse.bind(relay.router);
    relay.router.onControlResponse = (channel, response, body) => {
      note(answered, channel.path, response.responseHeaders['content-type'] ?? response.responseHeaders['Content-Type']);
      onResponse(channel, response, body);
    };
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });
  afterAll(() => h.close());

  const echo = (text: string, messageId: string) => ({ action: sessionAction('Echo'), body: `<Echo xmlns="${SESSION_NS}"><text>${text}</text></Echo>`, messageId });

  /** One streamed (singleton-unsized, msbin1) call through the relay: the reply's text. */
  async function streamedCall(path: string, text: string): Promise<string | undefined> {
    const c = await NetTcpClient.connect({ port: relay.netTcp!.port, mode: Mode.SingletonUnsized });
    clients.push(c);
    const via = `${relay.netTcp!.url}/${path}`;
    await c.open(via, { mode: Mode.SingletonUnsized, encoding: KnownEncoding.Soap12Binary });
    return c.streamed(requestEnvelope({ ...echo(text, `urn:uuid:${Date.now()}-${Math.random()}`), to: via }));
  }

  /** The same Echo on a duplex session straight to the service. */
  async function directEcho(text: string): Promise<string> {
    const c = await NetTcpClient.connect({ port: Number(new URL(service.url.replace(/^net\.tcp/, 'http')).port) });
    clients.push(c);
    await c.open(service.url);
    return textOf(await c.request(sessionAction('Echo'), echo(text, 'x').body), 'EchoResult');
  }

  it('the agent offers binary SOAP on a nettcp path, not with the text carrier', () => {
    expect(relay.router.registry.list('streamed')[0]!.soapBinary).toBe(true);
    expect(relay.router.registry.list('shared')[0]!.soapBinary).toBe(true);
    expect(relay.router.registry.list('streamed-text')[0]!.soapBinary).toBe(false);
  });

  it('a streamed call goes and comes back as binary; the result is the text path’s and the direct one’s', async () => {
    const direct = await directEcho('hello binary');
    sent.clear();
    answered.clear();
    const binary = await streamedCall('streamed', 'hello binary');
    const text = await streamedCall('streamed-text', 'hello binary');
    expect(textOf(binary!, 'EchoResult')).toBe(direct);
    expect(textOf(text!, 'EchoResult')).toBe(direct);
    expect(sent.get('streamed')).toEqual(['application/soap+msbin1']);
    expect(answered.get('streamed')).toEqual(['application/soap+msbin1']);
    expect(sent.get('streamed-text')?.[0]).toMatch(/^application\/soap\+xml/);
    expect(answered.get('streamed-text')?.[0]).toMatch(/^application\/soap\+xml/);
  });

  it('a body over the control channel’s limit goes by rendezvous, still binary, and arrives whole', async () => {
    const big = 'b'.repeat(100_000);
    sent.clear();
    const reply = await streamedCall('streamed', big);
    expect(textOf(reply!, 'EchoResult')).toBe(big);
    // The address-only request went on the control channel; no text request was sent anywhere.
    expect(sent.get('streamed') ?? []).toEqual([]);
  });

  it('streamed calls to a path whose agent pools service sessions (shareSessions): binary, same results as direct', async () => {
    const direct = await directEcho('shared one');
    sent.clear();
    answered.clear();
    for (let i = 0; i < 3; i++) expect(textOf((await streamedCall('shared', 'shared one'))!, 'EchoResult')).toBe(direct);
    expect(sent.get('shared')).toEqual(['application/soap+msbin1', 'application/soap+msbin1', 'application/soap+msbin1']);
    expect(answered.get('shared')).toEqual(['application/soap+msbin1', 'application/soap+msbin1', 'application/soap+msbin1']);
  });

  it('the agent’s own failure (service unreachable) comes back as a SOAP 1.2 fault in text, and the client gets it as a fault', async () => {
    sent.clear();
    answered.clear();
    const reply = await streamedCall('down', 'anyone');
    expect(sent.get('down')).toEqual(['application/soap+msbin1']);
    expect(answered.get('down')?.[0]).toMatch(/^application\/soap\+xml/);
    const fault = parseFault(reply!);
    expect(fault?.code.localName).toBe('Receiver');
    expect(fault?.subcodes[0]?.localName).toBe('RELAY_ERR_TARGET_UNREACHABLE');
  });

  it('a malformed binary body to the agent fails that call only: a SOAP 1.2 fault, and the next call works', async () => {
    // The relay only sends what it decoded, so a broken body is put on the path's channel by hand,
    // as a listener-facing request through the router.
    const handler = new BufferingHandler({ errorStatus: 500 });
    relay.router.request(
      { path: 'streamed', method: 'POST', target: '/streamed', headers: { 'Content-Type': 'application/soap+msbin1' }, body: Buffer.from([0x56, 0x02, 0xff, 0xff]), viaHost: 'relaybridge', operation: 'POST' },
      handler,
    );
    const res = await handler.response;
    expect(res.statusCode).toBe(500);
    expect(res.headers['content-type']).toMatch(/^application\/soap\+xml/);
    expect(parseFault(res.body.toString())?.subcodes[0]?.localName).toBe('RELAY_ERR_PROTOCOL_INVALID_MESSAGE');
    const after = await streamedCall('streamed', 'still fine');
    expect(textOf(after!, 'EchoResult')).toBe('still fine');
  });
});
