/**
 * A rendezvous address is a capability the relay mints, never one a caller picks. A WebSocket
 * sender's `sb-hc-id` is a tracing id: a party with no token that opens the accept address with
 * that id before the listener does gets 404 and nothing of the sender's stream. A request's id
 * (which a listener may log, and which comes back as `requestId`) is not enough to take the
 * request's body over its rendezvous. Real sockets; a hand-written listener that shows what it
 * was sent.
 */
import WebSocket from 'ws';
import { Harness, request, token, waitFor } from '../helpers/harness';
import type { RelayServer } from '../../src/relay/relay-server';

interface Listener {
  ws: WebSocket;
  commands: Array<{ accept?: { address: string; id: string }; request?: { address: string; id: string; method?: string } }>;
}

async function listener(h: Harness, relay: RelayServer, path: string): Promise<Listener> {
  const ws = new WebSocket(`${relay.url.replace('http', 'ws')}/$hc/${path}?sb-hc-action=listen`, { headers: { ServiceBusAuthorization: token(relay, path) } });
  h.defer(() => ws.terminate());
  const l: Listener = { ws, commands: [] };
  ws.on('message', (data: Buffer, isBinary) => {
    if (!isBinary) l.commands.push(JSON.parse(data.toString()) as Listener['commands'][number]);
  });
  await new Promise<void>((r) => ws.once('open', () => r()));
  return l;
}

/**
 * Opens a WebSocket with no token; resolves with the upgrade status and, on 101, the socket.
 * `onMessage` is attached before the upgrade, so nothing sent right after the 101 is missed.
 */
function open(url: string, headers: Record<string, string> = {}, onMessage?: (data: Buffer, isBinary: boolean, ws: WebSocket) => void): Promise<{ status: number; ws?: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    if (onMessage) ws.on('message', (data: Buffer, isBinary: boolean) => onMessage(data, isBinary, ws));
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.on('open', () => resolve({ status: 101, ws }));
    ws.on('error', () => undefined);
  });
}

describe('rendezvous addresses are capabilities the relay mints', () => {
  const h = new Harness();
  let relay: RelayServer;
  afterAll(() => h.close());
  beforeAll(async () => {
    // One path per test: a listener left from one test must not be picked for the other's call.
    relay = await h.relay({ entities: ['cap', 'cap2'].map((path) => ({ path, requiresClientAuthorization: true })) });
  });

  it("a sender's sb-hc-id is only the accept's tracing id: opening it first gets 404, and the sender's stream goes to the real listener", async () => {
    const l = await listener(h, relay, 'cap');
    const base = relay.url.replace('http', 'ws');
    const senderP = open(`${base}/$hc/cap?sb-hc-action=connect&sb-hc-id=known-to-everyone`, { ServiceBusAuthorization: token(relay, 'cap') });
    await waitFor(() => l.commands.some((c) => c.accept), 5000, 'the accept');
    const accept = l.commands.find((c) => c.accept)!.accept!;
    expect(accept.id).toBe('known-to-everyone');
    const capability = new URL(accept.address).searchParams.get('sb-hc-id')!;
    expect(capability).not.toContain('known-to-everyone');
    expect(capability).toMatch(/_[0-9a-f]{32}$/); // 128 random bits

    // The attacker, with no token, tries the id it knows, and the handle without its secret.
    const handle = capability.slice(0, capability.lastIndexOf('_'));
    for (const guess of ['known-to-everyone', handle, `${handle}_${'0'.repeat(32)}`]) {
      expect((await open(`${base}/$hc/cap?sb-hc-action=accept&sb-hc-id=${encodeURIComponent(guess)}`)).status).toBe(404);
    }

    const listenerSide = await open(accept.address);
    expect(listenerSide.status).toBe(101);
    const sender = await senderP;
    expect(sender.status).toBe(101);
    const got = new Promise<string>((r) => listenerSide.ws!.once('message', (d: Buffer) => r(d.toString())));
    sender.ws!.send('for the listener only');
    expect(await got).toBe('for the listener only');
    sender.ws!.close();
    listenerSide.ws!.close();
  });

  it("a request's id alone does not open its rendezvous: the body goes only to the address sent on the control channel", async () => {
    const l = await listener(h, relay, 'cap2');
    const body = Buffer.alloc(200 * 1024, 0x61); // over 64 KiB: an address-only request, the body over the rendezvous
    const callP = request(`${relay.url}/cap2/x`, { method: 'POST', body, headers: { ServiceBusAuthorization: token(relay, 'cap2') } });
    await waitFor(() => l.commands.some((c) => c.request), 5000, 'the request');
    const cmd = l.commands.find((c) => c.request)!.request!;
    expect(cmd.method).toBeUndefined();
    const base = relay.url.replace('http', 'ws');
    expect((await open(`${base}/$hc/cap2?sb-hc-action=request&sb-hc-id=${encodeURIComponent(cmd.id)}`)).status).toBe(404);

    // The listener itself gets the request and answers it.
    let received = 0;
    const rv = await open(cmd.address, {}, (data, isBinary, rvWs) => {
      if (isBinary) received += data.length;
      if (received === body.length) {
        rvWs.send(JSON.stringify({ response: { requestId: cmd.id, statusCode: 200, responseHeaders: {}, body: true } }));
        rvWs.send(Buffer.from('got it'), { binary: true });
      }
    });
    expect(rv.status).toBe(101);
    const res = await callP;
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('got it');
    rv.ws!.close();
  });
});
