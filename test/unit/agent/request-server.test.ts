/**
 * RequestServer (agent/serving): a relayed request's answer goes inline on the control
 * connection when it fits, and a local body that breaks off never goes out as a complete
 * response. Over a fake control link, a fake service proxy and a dialer that cannot reach the
 * relay (rendezvous answers run against real sockets in the integration suites).
 */
import { Readable } from 'node:stream';
import { systemClock } from '../../../src/core/clock';
import { RelayError } from '../../../src/core/errors';
import { noopLogger } from '../../../src/core/logger';
import { ONE_WAY_ACK_HEADER, type RequestCommand } from '../../../src/protocol/hyco';
import type { LocalRequest, LocalResponse } from '../../../src/agent/proxies/http-proxy';
import type { RendezvousDialer } from '../../../src/agent/rendezvous/rendezvous-client';
import { RequestServer, type ControlLink } from '../../../src/agent/serving/request-server';

class Link implements ControlLink {
  open = true;
  readonly sent: Array<{ head: { requestId: string; statusCode: number; responseHeaders?: Record<string, string>; body: boolean }; body: Buffer }> = [];
  constructor(readonly controlBodyLimit = 1024) {}
  sendResponse(head: { requestId: string; statusCode: number; responseHeaders?: Record<string, string>; body: boolean }, body: Buffer): void {
    this.sent.push({ head, body });
  }
}

const unreachable = { open: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })) } as unknown as RendezvousDialer;

function server(answer: (req: LocalRequest) => Promise<LocalResponse>, calls: number[] = []) {
  return new RequestServer({ path: 'p', http: { call: answer, close: () => undefined }, dialer: unreachable, clock: systemClock, logger: noopLogger, onCall: (status) => calls.push(status) });
}

const request: RequestCommand = { type: 'request', id: 'r1', address: 'wss://relay.test/$hc/p?sb-hc-action=request&sb-hc-id=x', requestTarget: '/p/x', method: 'POST', requestHeaders: { 'Content-Type': 'text/plain' }, body: true };

describe('RequestServer', () => {
  it('answers inline with the whole body, and hands the service the request as the relay sent it', async () => {
    const link = new Link();
    let seen: LocalRequest | undefined;
    const calls: number[] = [];
    await server(async (req) => {
      seen = req;
      return { statusCode: 200, statusMessage: 'OK', headers: { 'content-type': 'text/plain' }, body: Readable.from([Buffer.from('he'), Buffer.from('llo')]) };
    }, calls).handle(link, request, Buffer.from('ping'));
    expect(seen).toMatchObject({ id: 'r1', method: 'POST', requestTarget: '/p/x', headers: { 'Content-Type': 'text/plain' } });
    expect(link.sent).toHaveLength(1);
    expect(link.sent[0]!.head).toMatchObject({ requestId: 'r1', statusCode: 200, body: true });
    expect(link.sent[0]!.body.toString()).toBe('hello');
    expect(calls).toEqual([200]);
  });

  it('marks an empty 2xx as the one-way acknowledgement', async () => {
    const link = new Link();
    await server(async () => ({ statusCode: 202, statusMessage: 'Accepted', headers: {}, body: Buffer.alloc(0) })).handle(link, request, undefined);
    expect(link.sent[0]!.head).toMatchObject({ statusCode: 202, body: false });
    expect(link.sent[0]!.head.responseHeaders?.[ONE_WAY_ACK_HEADER]).toBeDefined();
  });

  it('a local body that breaks off is a 502, never a truncated success', async () => {
    const link = new Link();
    const broken = new Readable({
      read() {
        this.push(Buffer.from('par'));
        this.destroy(new Error('socket hang up'));
      },
    });
    await server(async () => ({ statusCode: 200, statusMessage: 'OK', headers: {}, body: broken })).handle(link, request, undefined);
    expect(link.sent).toHaveLength(1);
    expect(link.sent[0]!.head.statusCode).toBe(502);
    expect(link.sent[0]!.head.responseHeaders?.['x-relaybridge-error']).toBe('RELAY_ERR_TARGET_BAD_RESPONSE');
  });

  it('a body over the control limit with no rendezvous to send it on: 502 on the control connection at once', async () => {
    const link = new Link(16);
    await server(async () => ({ statusCode: 200, statusMessage: 'OK', headers: {}, body: Buffer.alloc(100, 0x61) })).handle(link, request, undefined);
    expect(link.sent).toHaveLength(1);
    expect(link.sent[0]!.head.statusCode).toBe(502);
    expect(link.sent[0]!.head.responseHeaders?.['x-relaybridge-error']).toBe('RELAY_ERR_RENDEZVOUS_UNREACHABLE');
    // The error's own JSON does not fit a 16-byte limit either: the status and the code header say it.
    expect(link.sent[0]!.body.length).toBe(0);
    const roomy = new Link(256);
    await server(async () => ({ statusCode: 200, statusMessage: 'OK', headers: {}, body: Buffer.alloc(1000, 0x61) })).handle(roomy, request, undefined);
    expect(roomy.sent[0]!.head.statusCode).toBe(502);
    expect(roomy.sent[0]!.body.toString()).toContain('relay.test'); // host:port only: the rendezvous id is a capability
    expect(roomy.sent[0]!.body.toString()).not.toContain('sb-hc-id');
  });

  it('a service that fails answers with its error status and stable code; a closed link gets nothing', async () => {
    const link = new Link();
    const calls: number[] = [];
    await server(async () => {
      throw new RelayError('RELAY_ERR_TIMEOUT', 'the service did not answer');
    }, calls).handle(link, request, undefined);
    expect(link.sent[0]!.head.statusCode).toBe(504);
    expect(link.sent[0]!.head.responseHeaders?.['x-relaybridge-error']).toBe('RELAY_ERR_TIMEOUT');
    expect(calls).toEqual([504]);
    const closed = new Link();
    closed.open = false;
    await server(async () => ({ statusCode: 200, statusMessage: 'OK', headers: {}, body: Buffer.from('x') })).handle(closed, request, undefined);
    expect(closed.sent).toHaveLength(0);
  });
});
