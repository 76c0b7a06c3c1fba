/**
 * PendingRequest (src/relay/routing/pending-request.ts) over a fake control channel: what it
 * sends, how it drives the ResponseHandler, and the checks on the listener's answer.
 */
import { PassThrough } from 'node:stream';
import { QuotaExceededError } from '../../../../src/core/errors';
import { noopLogger } from '../../../../src/core/logger';
import { PendingRequest, type RelayedRequest } from '../../../../src/relay/routing/pending-request';
import type { ResponseCommand } from '../../../../src/protocol/hyco';
import { FakeChannel, ManualClock, RecordingHandler } from './fakes';

function make(over: Partial<RelayedRequest> = {}, handler = new RecordingHandler()) {
  const clock = new ManualClock();
  const done: number[] = [];
  const request: RelayedRequest = {
    path: 'orders',
    method: 'POST',
    target: '/orders',
    headers: { 'Content-Type': 'application/json' },
    body: Buffer.from('{}'),
    viaHost: 'relay.test',
    operation: 'POST',
    ...over,
  };
  const p = new PendingRequest('r1', request, handler, {
    requestTimeoutMs: 1000,
    bodyIdleTimeoutMs: 500,
    clock,
    logger: noopLogger,
    onDone: (_p, status) => done.push(status),
  });
  return { p, handler, clock, done, channel: new FakeChannel('A', 'orders') };
}

const response = (over: Partial<ResponseCommand> = {}): ResponseCommand => ({ type: 'response', requestId: 'r1', statusCode: 200, responseHeaders: {}, body: false, ...over });

describe('PendingRequest', () => {
  it('sends inline with its body, binds to the channel and finishes on the answer', () => {
    const { p, handler, channel, done, clock } = make();
    expect(p.send(channel, 'ws://relay.test/$hc/orders?sb-hc-action=request&sb-hc-id=r1', true)).toBe(true);
    expect(p.channel).toBe(channel);
    expect(p.requestDelivered).toBe(true);
    expect(channel.pending.has('r1')).toBe(true);
    expect(channel.sent[0]!.json).toMatchObject({ request: { id: 'r1', method: 'POST', requestTarget: '/orders', body: true, requestHeaders: { 'Content-Type': 'application/json' } } });
    p.onControlResponse(response({ statusCode: 201, statusDescription: 'Made', responseHeaders: { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' }, body: true }), Buffer.from('hi'));
    expect(handler.events).toEqual([
      { type: 'start', status: 201, reason: 'Made', streamed: false, headers: { 'Content-Type': 'text/plain', Via: '1.1 relay.test', 'Content-Length': '2' } },
      { type: 'data', chunk: 'hi' },
      { type: 'end' },
    ]);
    expect(channel.pending.size).toBe(0);
    expect(done).toEqual([201]);
    expect(clock.timers.size).toBe(0); // the response timer is gone
  });

  it('a channel that refuses leaves the request unbound (the router tries another)', () => {
    const { p, channel } = make();
    channel.accepting = false;
    expect(p.send(channel, 'ws://x', true)).toBe(false);
    expect(p.channel).toBeUndefined();
    expect(channel.pending.size).toBe(0);
  });

  it('HEAD: no body and no Content-Length reach the handler', () => {
    const { p, handler, channel } = make({ method: 'HEAD', body: Buffer.alloc(0) });
    p.send(channel, 'ws://x', true);
    expect(channel.sent[0]!.body).toBeUndefined();
    p.onControlResponse(response({ responseHeaders: { 'Content-Type': 'text/plain' }, body: true }), Buffer.from('ignored'));
    expect(handler.types).toEqual(['start', 'end']);
    expect(handler.events[0]).toMatchObject({ headers: { 'Content-Type': 'text/plain', Via: '1.1 relay.test' } });
    expect((handler.events[0] as { headers: Record<string, string> }).headers['Content-Length']).toBeUndefined();
  });

  it('refuses a status that is not final (101) with RELAY_ERR_LISTENER_BAD_STATUS', () => {
    const { p, handler, channel, done } = make();
    p.send(channel, 'ws://x', true);
    p.onControlResponse(response({ statusCode: 101 }), undefined);
    expect(handler.events).toEqual([{ type: 'error', code: 'RELAY_ERR_LISTENER_BAD_STATUS', started: false }]);
    expect(done).toEqual([500]); // the status the handler wrote
  });

  it('turns a non-SOAP answer to a SOAP call into RELAY_ERR_TARGET_BAD_RESPONSE', () => {
    const { p, handler, channel } = make({ headers: { 'Content-Type': 'application/soap+xml; charset=utf-8' } });
    p.send(channel, 'ws://x', true);
    p.onControlResponse(response({ statusCode: 415, responseHeaders: { 'Content-Type': 'text/html' }, body: true }), Buffer.from('<html/>'));
    expect(handler.events).toEqual([{ type: 'error', code: 'RELAY_ERR_TARGET_BAD_RESPONSE', started: false }]);
    // Named by the call's id (the caller's correlation id, which the agent logs under too).
    expect((handler.errors[0] as { correlationId?: string }).correlationId).toBe(p.id);
  });

  it('a SOAP call may get an empty 202 (one-way) or a SOAP body', () => {
    const one = make({ headers: { 'Content-Type': 'text/xml', SOAPAction: '"urn:x"' } });
    one.p.send(one.channel, 'ws://x', true);
    one.p.onControlResponse(response({ statusCode: 202 }), undefined);
    expect(one.handler.types).toEqual(['start', 'end']);
    const two = make({ headers: { 'Content-Type': 'text/xml', SOAPAction: '"urn:x"' } });
    two.p.send(two.channel, 'ws://x', true);
    two.p.onControlResponse(response({ statusCode: 500, responseHeaders: { 'Content-Type': 'text/xml' }, body: true }), Buffer.from('<s:Envelope/>'));
    expect(two.handler.types).toEqual(['start', 'data', 'end']);
  });

  it('a handler that throws in onData (a size limit) fails the call after the start', () => {
    const handler = new RecordingHandler();
    handler.onData = () => {
      throw new QuotaExceededError('RELAY_ERR_BODY_TOO_LARGE', 'too big');
    };
    const { p, channel, done } = make({}, handler);
    p.send(channel, 'ws://x', true);
    p.onControlResponse(response({ responseHeaders: { 'Content-Type': 'text/plain' }, body: true }), Buffer.from('abc'));
    expect(handler.types).toEqual(['start', 'error']);
    expect(handler.events[1]).toEqual({ type: 'error', code: 'RELAY_ERR_BODY_TOO_LARGE', started: true });
    expect(done).toEqual([413]);
  });

  it('times out after requestTimeoutMs with RELAY_ERR_LISTENER_TIMEOUT, once', () => {
    const { p, handler, channel, clock, done } = make();
    p.send(channel, 'ws://x', true);
    expect(clock.fireNext()).toBe(1000);
    p.onControlResponse(response(), undefined);
    p.cancel();
    expect(handler.events).toEqual([{ type: 'error', code: 'RELAY_ERR_LISTENER_TIMEOUT', started: false }]);
    expect(done).toHaveLength(1);
    expect(channel.pending.size).toBe(0);
  });

  it('a streamed body goes address-only, and is resumed (drained) when the call fails', () => {
    const body = new PassThrough();
    body.pause();
    const { p, channel } = make({ body });
    expect(p.send(channel, 'ws://relay.test/$hc/orders?sb-hc-action=request&sb-hc-id=r1', true)).toBe(true);
    expect(channel.sent[0]!.json).toEqual({ request: { address: 'ws://relay.test/$hc/orders?sb-hc-action=request&sb-hc-id=r1', id: 'r1' } });
    expect(p.requestDelivered).toBe(false);
    expect(body.isPaused()).toBe(true);
    p.fail(new QuotaExceededError('RELAY_ERR_TOO_BUSY', 'x'));
    expect(body.isPaused()).toBe(false);
  });
});
