/**
 * Router (src/relay/routing/router.ts): pick, failover, timeouts, no listener, pinning, the
 * control channel's response hook and the per-call metrics, over fake control channels.
 */
import { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { noopLogger } from '../../../../src/core/logger';
import { RelayMetrics } from '../../../../src/relay/metrics';
import type { RelayedRequest } from '../../../../src/relay/routing/pending-request';
import { nodeTag, Router } from '../../../../src/relay/routing/router';
import { MemoryStore } from '../../../../src/store/memory-store';
import { FakeChannel, ManualClock, RecordingHandler } from './fakes';

const LIMITS = {
  requestTimeoutMs: 60_000,
  bodyIdleTimeoutMs: 30_000,
  maxHeaderBytes: 32 * 1024,
  maxPendingRequestsPerListener: 2,
  rendezvousTimeoutMs: 30_000,
  maxFramePayloadBytes: 1024 * 1024,
};

function setup(random: () => number = () => 0, nodeId?: string) {
  const clock = new ManualClock();
  const metrics = new RelayMetrics();
  let n = 0;
  const router = new Router({
    limits: LIMITS,
    store: new MemoryStore({ clock }),
    metrics,
    clock,
    random,
    log: noopLogger,
    newId: () => `id-${++n}`,
    newSecret: () => `s3cr3t${n}`,
    rendezvousBase: (host) => `ws://${host ?? 'localhost'}`,
    describe: (message) => message,
    nodeId,
  });
  return { router, clock, metrics };
}

function request(over: Partial<RelayedRequest> = {}): RelayedRequest {
  return {
    path: 'orders',
    method: 'POST',
    target: '/orders/x?a=1',
    headers: { 'Content-Type': 'application/json' },
    body: Buffer.from('{"n":1}'),
    viaHost: 'relay.test',
    operation: 'POST',
    ...over,
  };
}

async function countOf(metrics: RelayMetrics, status: string): Promise<number> {
  const got = await metrics.httpRequests.get();
  return got.values.filter((v) => v.labels.status === status).reduce((a, v) => a + v.value, 0);
}

describe('Router', () => {
  it('picks a listener, sends a small body inline, and relays its response to the handler', async () => {
    const { router, metrics } = setup();
    const a = new FakeChannel('A', 'orders');
    router.addListener(a);
    const h = new RecordingHandler();
    const call = router.request(request(), h);
    expect(a.sent).toHaveLength(1);
    const json = a.sent[0]!.json as { request: Record<string, unknown> };
    expect(json.request).toMatchObject({ id: call.id, method: 'POST', requestTarget: '/orders/x?a=1', body: true });
    expect(String(json.request.address)).toBe(`ws://relay.test/$hc/orders?sb-hc-action=request&sb-hc-id=${call.id}_s3cr3t1`);
    expect(a.sent[0]!.body!.toString()).toBe('{"n":1}');
    expect(a.pending.has(call.id)).toBe(true);

    router.onControlResponse(a, { type: 'response', requestId: call.id, statusCode: 200, responseHeaders: { 'Content-Type': 'text/plain' }, body: true }, Buffer.from('ok'));
    expect(h.types).toEqual(['start', 'data', 'end']);
    expect(h.events[0]).toMatchObject({ status: 200, reason: 'OK', streamed: false, headers: { 'Content-Type': 'text/plain', Via: '1.1 relay.test', 'Content-Length': '2' } });
    expect(a.pending.size).toBe(0);
    expect(router.pendingRequests.size).toBe(0);
    expect(await countOf(metrics, '200')).toBe(1);
  });

  it('fails over to another listener when the picked channel refuses the send', () => {
    const { router } = setup(() => 0);
    const a = new FakeChannel('A', 'orders');
    const b = new FakeChannel('B', 'orders');
    a.accepting = false; // healthy when picked, closed when written to
    router.addListener(a);
    router.addListener(b);
    const h = new RecordingHandler();
    router.request(request(), h);
    expect(a.sent).toHaveLength(0);
    expect(b.sent).toHaveLength(1);
    expect(h.events).toEqual([]);
  });

  it('fails the call with RELAY_ERR_LISTENER_GONE when the listener drops after taking it', async () => {
    const { router, metrics } = setup();
    const a = new FakeChannel('A', 'orders');
    router.addListener(a);
    const h = new RecordingHandler();
    h.errorStatus = 502;
    router.request(request(), h);
    router.onListenerClosed(a);
    expect(h.events).toEqual([{ type: 'error', code: 'RELAY_ERR_LISTENER_GONE', started: false }]);
    expect(router.registry.count('orders')).toBe(0);
    expect(router.pendingRequests.size).toBe(0);
    expect(await countOf(metrics, '502')).toBe(1);
  });

  it('times out a listener that never answers (RELAY_ERR_LISTENER_TIMEOUT) and ignores its late answer', () => {
    const { router, clock } = setup();
    const a = new FakeChannel('A', 'orders');
    router.addListener(a);
    const h = new RecordingHandler();
    const call = router.request(request(), h);
    expect(clock.fireNext()).toBe(LIMITS.requestTimeoutMs);
    expect(h.events).toEqual([{ type: 'error', code: 'RELAY_ERR_LISTENER_TIMEOUT', started: false }]);
    router.onControlResponse(a, { type: 'response', requestId: call.id, statusCode: 200, responseHeaders: {}, body: false }, undefined);
    expect(h.events).toHaveLength(1);
    expect(a.pending.size).toBe(0);
  });

  it('draining: its own listeners take no new call, another node’s still do', () => {
    const { router } = setup();
    const own = new FakeChannel('A', 'orders');
    const remote = Object.assign(new FakeChannel('B', 'orders'), { remote: true });
    router.addListener(own);
    router.addRemoteListener(remote);
    router.drain();
    expect(router.draining).toBe(true);
    // (at most 2 in flight per listener in this setup)
    for (let i = 0; i < 2; i++) router.request(request(), new RecordingHandler());
    expect(own.sent).toHaveLength(0);
    expect(remote.sent).toHaveLength(2);
    router.removeRemoteListener(remote);
    const h = new RecordingHandler();
    router.request(request(), h);
    expect(h.errors[0]!.code).toBe('RELAY_ERR_NO_LISTENER');
  });

  it('ids name the node that minted them; peerFor finds another node’s rendezvous, never its own', () => {
    const { router } = setup(() => 0, 'node-a');
    const a = new FakeChannel('A', 'orders');
    router.addListener(a);
    const call = router.request(request(), new RecordingHandler());
    expect(call.id.startsWith(`${nodeTag('node-a')}.`)).toBe(true);
    router.addPeer('node-b', 'http://10.0.0.2:9443');
    const theirs = `${nodeTag('node-b')}.8f1e_0123abcd`;
    expect(router.peerFor(theirs)).toBe('http://10.0.0.2:9443');
    expect(router.peerFor(`${call.id}_secret`)).toBeUndefined();
    expect(router.peerFor('no-tag_0123')).toBeUndefined();
    expect(router.peerFor(`${nodeTag('node-z')}.x_1`)).toBeUndefined();
    router.removePeer('node-b');
    expect(router.peerFor(theirs)).toBeUndefined();
    // Tags are URL-safe and never hold the `_` that separates a rendezvous id's secret, nor a `.`.
    expect(nodeTag('nœud_ü/?~.')).toMatch(/^[A-Za-z0-9~-]+$/);
  });

  it('answers RELAY_ERR_NO_LISTENER when none is connected or none is healthy', () => {
    const { router } = setup();
    const h1 = new RecordingHandler();
    router.request(request(), h1);
    expect(h1.events).toEqual([{ type: 'error', code: 'RELAY_ERR_NO_LISTENER', started: false }]);
    const a = new FakeChannel('A', 'orders');
    a.healthy = false;
    router.addListener(a);
    const h2 = new RecordingHandler();
    router.request(request(), h2);
    expect(h2.errors[0]!.code).toBe('RELAY_ERR_NO_LISTENER');
    expect(a.sent).toHaveLength(0);
  });

  it('honours AllowedListeners and DisallowedListeners, and says so when no listener qualifies', () => {
    const { router } = setup(() => 0);
    const a = new FakeChannel('A', 'orders');
    const b = new FakeChannel('B_G12', 'orders'); // gateway suffixes are ignored when pinning
    router.addListener(a);
    router.addListener(b);
    router.request(request({ allowedListeners: ['b'] }), new RecordingHandler());
    expect([a.sent.length, b.sent.length]).toEqual([0, 1]);
    router.request(request({ disallowedListeners: ['A'] }), new RecordingHandler());
    expect([a.sent.length, b.sent.length]).toEqual([0, 2]);
    const h = new RecordingHandler();
    router.request(request({ allowedListeners: ['C'] }), h);
    expect(h.errors[0]!.code).toBe('RELAY_ERR_LISTENER_PINNING');
  });

  it('refuses a listener with too many requests in flight (RELAY_ERR_TOO_BUSY)', () => {
    const { router } = setup();
    const a = new FakeChannel('A', 'orders');
    router.addListener(a);
    router.request(request(), new RecordingHandler());
    router.request(request(), new RecordingHandler());
    const h = new RecordingHandler();
    router.request(request(), h);
    expect(h.errors[0]!.code).toBe('RELAY_ERR_TOO_BUSY');
    expect(a.sent).toHaveLength(2);
  });

  it('counts a response only from the channel the request was sent on', () => {
    const { router } = setup(() => 0);
    const a = new FakeChannel('A', 'orders');
    const other = new FakeChannel('X', 'billing');
    router.addListener(a);
    router.addListener(other);
    const h = new RecordingHandler();
    const call = router.request(request(), h);
    router.onControlResponse(other, { type: 'response', requestId: call.id, statusCode: 200, responseHeaders: {}, body: false }, undefined);
    expect(h.events).toEqual([]);
    router.onControlResponse(a, { type: 'response', requestId: call.id, statusCode: 204, responseHeaders: {}, body: false }, undefined);
    expect(h.types).toEqual(['start', 'end']);
  });

  it('sends the address-only form when the body is larger than the channel takes, or streamed', () => {
    const { router } = setup();
    const a = new FakeChannel('A', 'orders', 16);
    router.addListener(a);
    router.request(request({ body: Buffer.alloc(17) }), new RecordingHandler());
    expect(a.sent[0]!.json).toEqual({ request: { address: expect.stringContaining('sb-hc-action=request'), id: 'id-1' } });
    expect(a.sent[0]!.body).toBeUndefined();
  });

  it('refuses headers a control message cannot carry before any listener sees them', () => {
    const { router } = setup();
    const a = new FakeChannel('A', 'orders');
    router.addListener(a);
    const h = new RecordingHandler();
    router.request(request({ headers: { 'X-Big': 'x'.repeat(LIMITS.maxHeaderBytes + 1) } }), h);
    expect(h.errors[0]!.code).toBe('RELAY_ERR_PROTOCOL_HEADERS_TOO_LARGE');
    expect(a.sent).toHaveLength(0);
  });

  it('cancel() (the caller went away) ends the call and frees the listener slot', () => {
    const { router } = setup();
    const a = new FakeChannel('A', 'orders');
    router.addListener(a);
    const h = new RecordingHandler();
    const call = router.request(request(), h);
    call.cancel();
    expect(h.errors[0]!.code).toBe('RELAY_ERR_LISTENER_GONE');
    expect(a.pending.size).toBe(0);
    expect(router.pendingRequests.size).toBe(0);
  });

  describe('accept (WebSocket senders)', () => {
    const socket = () => new Duplex({ read() {}, write(_c, _e, cb) { cb(); } });
    const accept = { path: 'orders', rest: '/orders', appQuery: 'x=1', connectHeaders: { Host: 'relay.test' }, remoteEndpoint: { address: '10.0.0.1', port: 5 }, senderKey: 'dGhlIHNhbXBsZSBub25jZQ==', senderProtocols: [] };

    it('sends an accept through the same pick + failover loop', () => {
      const { router } = setup(() => 0);
      const a = new FakeChannel('A', 'orders');
      const b = new FakeChannel('B', 'orders');
      a.accepting = false;
      router.addListener(a);
      router.addListener(b);
      const pending = router.accept({} as IncomingMessage, socket(), Buffer.alloc(0), { ...accept, id: 'want' });
      // The sender's sb-hc-id is the tracing id the listener sees; the address is the relay's own capability.
      expect(pending.id).toBe('id-1');
      const json = b.sent[0]!.json as { accept: { address: string; id: string } };
      expect(json.accept.id).toBe('want');
      expect(json.accept.address).toBe('ws://relay.test/$hc/orders?x=1&sb-hc-action=accept&sb-hc-id=id-1_s3cr3t1');
      expect(router.rendezvousAccept('id-1_s3cr3t1')).toBe(pending);
    });

    it('finds a rendezvous only by its whole capability: the sender’s id, the handle or a wrong secret find nothing', () => {
      const { router } = setup(() => 0);
      router.addListener(new FakeChannel('A', 'orders'));
      const pending = router.accept({} as IncomingMessage, socket(), Buffer.alloc(0), { ...accept, id: 'chosen-by-sender' });
      for (const guess of ['chosen-by-sender', 'id-1', 'id-1_', 'id-1_s3cr3t2', 'id-1_s3cr3t1x', '_s3cr3t1', 'chosen-by-sender_s3cr3t1']) {
        expect(router.rendezvousAccept(guess)).toBeUndefined();
      }
      expect(router.rendezvousAccept('id-1_s3cr3t1')).toBe(pending);
      pending.cancel();
      expect(router.rendezvousAccept('id-1_s3cr3t1')).toBeUndefined();
    });

    it('a request rendezvous needs the secret sent on the control channel, not just the request id', () => {
      const { router } = setup(() => 0);
      const a = new FakeChannel('A', 'orders', 0); // no inline body: address-only, the body goes over the rendezvous
      router.addListener(a);
      const handler = new RecordingHandler();
      const call = router.request(request(), handler);
      const json = a.sent[0]!.json as { request: { address: string; id: string } };
      expect(json.request.id).toBe(call.id);
      const sbHcId = new URL(json.request.address).searchParams.get('sb-hc-id')!;
      expect(sbHcId).not.toBe(call.id);
      expect(router.rendezvousRequest(call.id)).toBeUndefined();
      expect(router.rendezvousRequest(sbHcId)).toBe(router.pendingRequests.get(call.id));
      call.cancel();
      expect(router.rendezvousRequest(sbHcId)).toBeUndefined();
    });

    it('throws EndpointNotFound (404) with no listener, and keeps no pending accept', () => {
      const { router } = setup();
      expect(() => router.accept({} as IncomingMessage, socket(), Buffer.alloc(0), accept)).toThrow(expect.objectContaining({ code: 'RELAY_ERR_ENTITY_NOT_FOUND', httpStatus: 404 }));
      expect(router.pendingAccepts.size).toBe(0);
    });

    it('times out an accept nobody answers, after rendezvousTimeoutMs', () => {
      const { router, clock } = setup();
      router.addListener(new FakeChannel('A', 'orders'));
      router.accept({} as IncomingMessage, socket(), Buffer.alloc(0), accept);
      expect(router.pendingAccepts.size).toBe(1);
      expect(clock.fireNext()).toBe(LIMITS.rendezvousTimeoutMs);
      expect(router.pendingAccepts.size).toBe(0);
    });
  });

  describe('session carriers (net.tcp sessions)', () => {
    const carrierRequest = { path: 'orders', kind: 'net.tcp', rest: '/orders', connectHeaders: { 'x-relaybridge-session': 'net.tcp' }, maxMessageBytes: 1 << 20 };

    it('are asked only of listeners that offered to carry sessions; none: undefined (message by message)', () => {
      const { router } = setup(() => 0);
      const plain = new FakeChannel('A', 'orders');
      router.addListener(plain);
      expect(router.openCarrier(carrierRequest)).toBeUndefined();
      expect(router.pendingAccepts.size).toBe(0);
      const carrying = new FakeChannel('B', 'orders');
      carrying.sessionKinds = ['net.tcp'];
      router.addListener(carrying);
      const pending = router.openCarrier(carrierRequest)!;
      expect(pending).toBeDefined();
      expect(plain.sent).toHaveLength(0);
      const accept = (carrying.sent[0]!.json as { accept: { address: string; id: string; connectHeaders: Record<string, string> } }).accept;
      expect(accept.connectHeaders['x-relaybridge-session']).toBe('net.tcp');
      const sbHcId = new URL(accept.address).searchParams.get('sb-hc-id')!;
      expect(router.rendezvousAccept(sbHcId)).toBe(pending);
    });

    it('fail over to the next carrying listener when the picked one refuses the send, and time out like an accept', async () => {
      const { router, clock } = setup(() => 0);
      const dead = new FakeChannel('A', 'orders');
      dead.sessionKinds = ['net.tcp'];
      dead.accepting = false;
      const alive = new FakeChannel('B', 'orders');
      alive.sessionKinds = ['net.tcp'];
      router.addListener(dead);
      router.addListener(alive);
      const pending = router.openCarrier(carrierRequest)!;
      expect(alive.sent).toHaveLength(1);
      expect(clock.fireNext()).toBe(LIMITS.rendezvousTimeoutMs);
      await expect(pending.carrier).rejects.toMatchObject({ code: 'RELAY_ERR_RENDEZVOUS_TIMEOUT' });
      expect(router.pendingAccepts.size).toBe(0);
    });
  });
});
