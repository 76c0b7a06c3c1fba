/**
 * Spoofed responses and rendezvous: a listener authorized on path `a` that learned the id of a
 * call routed to path `ab` must not be able to answer it, nor to take its rendezvous.
 * Hand-written `ws` listeners on both paths; the one on `ab` forwards every id it sees to the rogue.
 */
import WebSocket from 'ws';
import { Harness, request, token } from '../helpers/harness';
import type { RelayServer } from '../../src/relay/relay-server';

interface RawListener {
  ws: WebSocket;
  messages: Array<Record<string, Record<string, unknown>>>;
  next(kind: string): Promise<Record<string, unknown>>;
}

async function rawListener(relay: RelayServer, path: string): Promise<RawListener> {
  const wsUrl = relay.url.replace(/^http/, 'ws');
  const ws = new WebSocket(`${wsUrl}/$hc/${path}?sb-hc-action=listen&sb-hc-token=${encodeURIComponent(token(relay, path))}`);
  const messages: RawListener['messages'] = [];
  const waiters: Array<{ kind: string; resolve: (v: Record<string, unknown>) => void }> = [];
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const msg = JSON.parse(data.toString()) as Record<string, Record<string, unknown>>;
    const w = waiters.find((x) => msg[x.kind]);
    if (!w) return void messages.push(msg);
    waiters.splice(waiters.indexOf(w), 1);
    w.resolve(msg[w.kind]!);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    messages,
    next: (kind) =>
      new Promise((resolve) => {
        const seen = messages.find((m) => m[kind]);
        if (seen) {
          messages.splice(messages.indexOf(seen), 1);
          return resolve(seen[kind]!);
        }
        waiters.push({ kind, resolve });
      }),
  };
}

/** Resolves once the relay has read everything sent before on this socket (a ping round trip). */
const flushed = (ws: WebSocket): Promise<void> =>
  new Promise((resolve) => {
    ws.once('pong', () => resolve());
    ws.ping();
  });

function sendResponse(ws: WebSocket, requestId: string, status: number, body: string): void {
  ws.send(JSON.stringify({ response: { requestId, statusCode: status, responseHeaders: { 'X-From': body }, body: true } }));
  ws.send(Buffer.from(body), { binary: true });
}

/** Opens a rendezvous upgrade and resolves with the HTTP status the relay answered. */
function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', () => undefined);
  });
}

describe('responses and rendezvous are bound to the channel the call was sent on', () => {
  const h = new Harness();
  let relay: RelayServer;
  let rogue: RawListener;
  let genuine: RawListener;

  beforeAll(async () => {
    relay = await h.relay({
      entities: [
        { path: 'a', requiresClientAuthorization: false },
        { path: 'ab', requiresClientAuthorization: false },
      ],
      limits: { requestTimeoutMs: 3000 },
    });
    rogue = await rawListener(relay, 'a');
    genuine = await rawListener(relay, 'ab');
    h.defer(() => {
      rogue.ws.terminate();
      genuine.ws.terminate();
    });
  });
  afterAll(() => h.close());

  it('ignores a response from the listener of another path; the caller gets the genuine answer', async () => {
    const call = request(`${relay.url}/ab/x`);
    const req = await genuine.next('request');
    const id = String(req.id);
    // The id leaks to the rogue on `a`, which answers first.
    sendResponse(rogue.ws, id, 200, 'rogue');
    await flushed(rogue.ws);
    expect(rogue.ws.readyState).toBe(WebSocket.OPEN); // ignored, not a protocol error
    sendResponse(genuine.ws, id, 201, 'genuine');
    const res = await call;
    expect(res.status).toBe(201);
    expect(res.body.toString()).toBe('genuine');
    expect(res.headers['x-from']).toBe('genuine');
  });

  it('a spoofed response alone never answers the call: the caller gets the timeout', async () => {
    const call = request(`${relay.url}/ab/slow`);
    const req = await genuine.next('request');
    sendResponse(rogue.ws, String(req.id), 200, 'rogue');
    const res = await call;
    expect(res.status).toBe(504);
    expect(res.body.toString()).not.toContain('rogue');
  });

  it('refuses a request rendezvous for another path; the address it was given still works', async () => {
    // A body over the control-channel threshold: the listener gets the address-only form.
    const call = request(`${relay.url}/ab/big`, { method: 'POST', body: Buffer.alloc(200 * 1024, 1) });
    const req = await genuine.next('request');
    const id = String(req.id);
    const address = String(req.address);
    expect(address).toContain('/$hc/ab?');
    const wsUrl = relay.url.replace(/^http/, 'ws');
    expect(await upgradeStatus(`${wsUrl}/$hc/a?sb-hc-action=request&sb-hc-id=${encodeURIComponent(id)}`)).toBe(404);
    // The genuine listener's rendezvous is unaffected.
    const rv = new WebSocket(address);
    const got = await new Promise<Record<string, unknown>>((resolve, reject) => {
      rv.once('message', (data) => resolve(JSON.parse(data.toString()).request as Record<string, unknown>));
      rv.once('error', reject);
    });
    expect(got.id).toBe(id);
    rv.send(JSON.stringify({ response: { requestId: id, statusCode: 200, responseHeaders: {}, body: false } }));
    const res = await call;
    expect(res.status).toBe(200);
    rv.terminate();
  });

  it('refuses an accept rendezvous for another path', async () => {
    const wsUrl = relay.url.replace(/^http/, 'ws');
    const sender = new WebSocket(`${wsUrl}/$hc/ab?sb-hc-action=connect`);
    sender.on('error', () => undefined);
    const accept = await genuine.next('accept');
    const id = String(accept.id);
    expect(await upgradeStatus(`${wsUrl}/$hc/a?sb-hc-action=accept&sb-hc-id=${encodeURIComponent(id)}`)).toBe(404);
    // Not consumed by the refused attempt: the genuine listener still accepts.
    expect(await upgradeStatus(String(accept.address))).toBe(101);
    await new Promise<void>((resolve) => {
      if (sender.readyState === WebSocket.OPEN) return resolve();
      sender.once('open', () => resolve());
    });
    sender.terminate();
  });
});
