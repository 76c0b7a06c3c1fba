/**
 * A rendezvous the agent cannot reach (the relay's publicUrl names a closed port): the caller
 * gets 502 RELAY_ERR_RENDEZVOUS_UNREACHABLE naming the rendezvous host:port at once, instead of
 * the relay's request timeout, and the agent's control channel stays up. Both directions: a
 * response too big for the control channel (the agent opens a response rendezvous) and a request
 * body over 64 KiB (address-only request, fetched over rendezvous).
 */
import type { Agent } from '../../src/agent/agent';
import type { RelayServer } from '../../src/relay/relay-server';
import { rendezvousHostPort } from '../../src/agent/rendezvous/rendezvous-client';
import { Harness, request } from '../helpers/harness';
import { freePort } from '../helpers/processes';

jest.setTimeout(60_000);

describe('a rendezvous the agent cannot reach', () => {
  const h = new Harness();
  let relay: RelayServer;
  let agent: Agent;
  let closedPort: number;
  const transitions: string[] = [];

  beforeAll(async () => {
    closedPort = await freePort();
    const svc = await h.httpService((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('size') ?? '2');
        res.setHeader('Content-Type', req.headers['content-type']?.includes('xml') ? 'text/xml; charset=utf-8' : 'application/octet-stream');
        res.end(Buffer.alloc(size, 'a'));
      });
    });
    relay = await h.relay({
      publicUrl: `http://127.0.0.1:${closedPort}`,
      // Long enough that a timeout could never pass for the answer below.
      limits: { requestTimeoutMs: 45_000 },
      entities: [{ path: 'svc', requiresClientAuthorization: false }],
    });
    // The Hybrid Connections threshold (64 KiB), not the larger control-channel bodies our relay accepts.
    agent = await h.agent(relay, [{ path: 'svc', target: { type: 'http', url: svc.url } }], { limits: { offerControlBodyBytes: 0 } });
    await agent.whenReady();
    agent.on('state', (e) => transitions.push(`${e.from}->${e.to}`));
  });
  afterAll(() => h.close());

  const expectUnreachable = (res: { status: number; body: Buffer }) => {
    expect(res.status).toBe(502);
    const text = res.body.toString('utf8');
    expect(text).toContain('RELAY_ERR_RENDEZVOUS_UNREACHABLE');
    expect(text).toContain(`127.0.0.1:${closedPort}`);
    // The rendezvous id is a capability: never in the message.
    expect(text).not.toMatch(/sb-hc-id|sb-hc-action|\$hc/);
  };

  it('answers 502 naming host:port when the response rendezvous fails (response over 64 KiB)', async () => {
    expectUnreachable(await request(`${relay.url}/svc/big?size=${300 * 1024}`));
  });

  it('answers 502 naming host:port when the request rendezvous fails (request body over 64 KiB)', async () => {
    expectUnreachable(await request(`${relay.url}/svc/upload`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: Buffer.alloc(200 * 1024, 'b') }));
  });

  it('answers a SOAP caller with a fault that names the rendezvous host:port', async () => {
    const envelope = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Echo xmlns="urn:t"><v>${'x'.repeat(100 * 1024)}</v></Echo></s:Body></s:Envelope>`;
    const res = await request(`${relay.url}/svc`, { method: 'POST', headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '"urn:t/Echo"' }, body: envelope });
    expect(res.status).toBe(500);
    const text = res.body.toString('utf8');
    expect(text).toContain('Fault');
    expect(text).toContain(`127.0.0.1:${closedPort}`);
    expect(text).not.toMatch(/sb-hc-id/);
  });

  it('keeps the control channel up: small calls still answer and the channel never left READY', async () => {
    const res = await request(`${relay.url}/svc/small?size=5`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('aaaaa');
    expect(agent.channels.every((c) => c.state === 'READY')).toBe(true);
    expect(transitions).toEqual([]);
  });
});

describe('rendezvousHostPort', () => {
  it('gives host:port, with the default port of the scheme', () => {
    expect(rendezvousHostPort('wss://relay.example.com/$hc/a?sb-hc-action=request&sb-hc-id=x')).toBe('relay.example.com:443');
    expect(rendezvousHostPort('ws://relay.example.com/$hc/a')).toBe('relay.example.com:80');
    expect(rendezvousHostPort('ws://[::1]:9443/$hc/a')).toBe('[::1]:9443');
    expect(rendezvousHostPort('not a url')).toBe('an invalid address');
  });
});
