/**
 * The control-body extension (protocol/hyco/control-body.ts): a relaybridge agent and relay agree
 * on bodies larger than 64 KiB on the control channel, so no rendezvous socket is opened per call;
 * when either side does not offer, the protocol's 64 KiB threshold and rendezvous apply.
 */
import { createHash } from 'node:crypto';
import { Harness, request, token } from '../helpers/harness';
import type { RelayServer } from '../../src/relay/relay-server';
import type { RelayOptionsInput } from '../../src/relay/options';
import type { AgentOptionsInput } from '../../src/agent/options';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function rendezvousCount(relay: RelayServer): Promise<number> {
  const metric = await relay.metrics.rendezvous.get();
  return metric.values.reduce((n, v) => n + v.value, 0);
}

describe('control-channel bodies over 64 KiB between relaybridge ends', () => {
  const h = new Harness();
  afterEach(() => h.close());

  /** Relay + agent in front of a service that answers `n` bytes and the SHA-256 of what it got. */
  async function setUp(relayOptions: Partial<RelayOptionsInput>, agentOptions: Partial<AgentOptionsInput>) {
    const relay = await h.relay({ entities: [{ path: 'big', requiresClientAuthorization: true }], ...relayOptions });
    const svc = await h.httpService((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('n'));
        res.setHeader('Content-Type', 'application/octet-stream');
        res.setHeader('X-Request-Sha', sha(Buffer.concat(chunks)));
        res.end(Buffer.alloc(n, 0x5a));
      });
    });
    const agent = await h.agent(relay, [{ path: 'big', target: { type: 'http', url: svc.url } }], agentOptions);
    await agent.whenReady();
    const call = async (requestBytes: number, responseBytes: number) => {
      const body = Buffer.alloc(requestBytes, 0x41);
      const res = await request(`${relay.url}/big?n=${responseBytes}`, {
        method: 'POST',
        headers: { ServiceBusAuthorization: token(relay, 'big'), 'Content-Type': 'application/octet-stream' },
        body,
      });
      expect(res.status).toBe(200);
      expect(res.headers['x-request-sha']).toBe(sha(body));
      expect(res.body.length).toBe(responseBytes);
      expect(res.body.every((b) => b === 0x5a)).toBe(true);
    };
    return { relay, call };
  }

  it('sends 300 KiB requests and responses on the control channel when both ends offer', async () => {
    const { relay, call } = await setUp({}, {});
    await call(300 * 1024, 300 * 1024);
    await call(1024, 200 * 1024);
    expect(await rendezvousCount(relay)).toBe(0);
  });

  it('uses rendezvous above the agreed size (the smaller of the two offers)', async () => {
    const { relay, call } = await setUp({ limits: { agentControlBodyBytes: 128 * 1024 } } as Partial<RelayOptionsInput>, {});
    await call(100 * 1024, 100 * 1024);
    expect(await rendezvousCount(relay)).toBe(0);
    await call(200 * 1024, 1024); // request over the limit: address-only form + rendezvous
    expect(await rendezvousCount(relay)).toBe(1);
    await call(1024, 200 * 1024); // response over the limit: the agent opens a rendezvous
    expect(await rendezvousCount(relay)).toBe(2);
  });

  it('keeps the protocol threshold (64 KiB) when the agent does not offer', async () => {
    const { relay, call } = await setUp({}, { limits: { offerControlBodyBytes: 0 } });
    await call(64 * 1024, 64 * 1024);
    expect(await rendezvousCount(relay)).toBe(0);
    await call(64 * 1024 + 1, 1024);
    await call(1024, 64 * 1024 + 1);
    expect(await rendezvousCount(relay)).toBe(2);
  });

  it('keeps the protocol threshold when the relay turns the extension off', async () => {
    const { relay, call } = await setUp({ limits: { agentControlBodyBytes: 0 } } as Partial<RelayOptionsInput>, {});
    await call(100 * 1024, 100 * 1024); // request and response share one rendezvous socket
    expect(await rendezvousCount(relay)).toBe(1);
    await call(1024, 100 * 1024);
    expect(await rendezvousCount(relay)).toBe(2);
  });
});
