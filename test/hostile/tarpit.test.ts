/**
 * Refused callers that have not authorized are answered at once, but their connection is closed
 * only after limits.tarpitMs (unless they hang up): a loop that reconnects when the relay closes
 * cannot make the relay accept and refuse thousands of connections a second. Measured in
 * `npm run bench:hostile`; here, the behaviour on real sockets.
 */
import net from 'node:net';
import type { RelayServer } from '../../src/relay/relay-server';
import { Harness, waitFor } from '../helpers/harness';

const TARPIT_MS = 1500;

/** Sends `bytes` on a new connection; resolves with what came back first and when the relay closed. */
function raw(relay: RelayServer, bytes: string): Promise<{ answer: string; answeredAt: number; closedAt: Promise<number> }> {
  const url = new URL(relay.url);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => socket.write(bytes));
    socket.on('error', reject);
    const closedAt = new Promise<number>((r) => socket.once('close', () => r(Date.now() - started)));
    socket.once('data', (c: Buffer) => resolve({ answer: c.toString('latin1'), answeredAt: Date.now() - started, closedAt }));
  });
}

describe('the tarpit for refused unauthenticated callers', () => {
  const h = new Harness();
  let relay: RelayServer;
  afterAll(() => h.close());
  beforeAll(async () => {
    relay = await h.relay({
      entities: [{ path: 'guarded', requiresClientAuthorization: true }],
      limits: { tarpitMs: TARPIT_MS, maxUnauthenticated: 1 },
    });
  });

  it('a tokenless WebSocket upgrade gets 401 at once; the relay closes the connection only after tarpitMs', async () => {
    const r = await raw(
      relay,
      `GET /$hc/guarded?sb-hc-action=listen HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    expect(r.answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(r.answer).toMatch(/Connection: close/);
    expect(r.answeredAt).toBeLessThan(TARPIT_MS);
    expect(relay.guard.tarpit.size).toBeGreaterThanOrEqual(1);
    expect(await r.closedAt).toBeGreaterThanOrEqual(TARPIT_MS - 100);
  });

  it('a SOAP caller over the unauthenticated cap gets 429 at once, its connection held the same way', async () => {
    const soapHead = (length: number) =>
      `POST /guarded HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml; charset=utf-8\r\nSOAPAction: "urn:x"\r\nContent-Length: ${length}\r\n\r\n` +
      '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>';
    // The only unauthenticated slot, held by a body that never finishes.
    const holder = net.connect(Number(new URL(relay.url).port), '127.0.0.1', () => holder.write(soapHead(100_000)));
    holder.on('error', () => undefined);
    h.defer(() => void holder.destroy());
    await waitFor(() => relay.guard.preAuthSlots.inUse === 1, 5000, 'the slot to be taken');
    const r = await raw(relay, soapHead(100_000));
    expect(r.answer).toMatch(/^HTTP\/1\.1 429 /);
    expect(r.answer).toMatch(/Retry-After: 1/);
    expect(r.answer).toContain('RELAY_ERR_UNAUTHENTICATED_LIMIT');
    expect(await r.closedAt).toBeGreaterThanOrEqual(TARPIT_MS - 100);
    holder.destroy();
  });

  it('a client that reads its refusal and hangs up frees its socket at once', async () => {
    // The sockets of the tests above are let go after tarpitMs: start from none held.
    await waitFor(() => relay.guard.tarpit.size === 0, TARPIT_MS * 3, 'an empty tarpit');
    const before = 0;
    const url = new URL(relay.url);
    const socket = net.connect(Number(url.port), url.hostname, () =>
      socket.write(`GET /$hc/guarded?sb-hc-action=listen HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`),
    );
    await new Promise<void>((r) => socket.once('data', () => r()));
    await waitFor(() => relay.guard.tarpit.size === before + 1, 2000, 'held');
    socket.end();
    await waitFor(() => relay.guard.tarpit.size === before, 2000, 'released on hang-up');
  });
});
