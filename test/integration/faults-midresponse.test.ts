/**
 * Issue item 6: a local service that dies mid-response must never reach the caller as a clean,
 * complete-looking response. Small bodies travel on the control channel (the agent answers 502
 * instead), large ones stream over rendezvous (the agent closes it with an error code and the
 * relay cuts the caller's response: a reset or an unterminated chunked body).
 */
import http from 'node:http';
import WebSocket from 'ws';
import type { RelayServer } from '../../src/relay/relay-server';
import { Harness, token } from '../helpers/harness';

interface Outcome {
  status: number;
  /** The response ended normally (what a caller takes for a complete body). */
  completed: boolean;
  bytes: number;
}

function get(url: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, completed: res.complete, bytes }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, completed: false, bytes }));
      res.on('aborted', () => resolve({ status: res.statusCode ?? 0, completed: false, bytes }));
    });
    req.on('error', () => resolve({ status: 0, completed: false, bytes: 0 }));
  });
}

/** Writes half of `size` bytes (Content-Length or chunked), then destroys its socket. */
const dying: http.RequestListener = (req, res) => {
  const [, kind, sizeText] = /^\/svc\/(cl|chunked)\/(\d+)/.exec(req.url ?? '') ?? [];
  const size = Number(sizeText);
  if (kind === 'cl') res.setHeader('Content-Length', String(size));
  res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
  res.write(Buffer.alloc(size / 2, 0x61), () => setTimeout(() => res.socket?.destroy(), 20));
};

describe('a local service dies mid-response', () => {
  const h = new Harness();
  let relay: RelayServer;

  beforeAll(async () => {
    relay = await h.relay({ entities: [{ path: 'svc', requiresClientAuthorization: false }] });
    const svc = await h.httpService(dying);
    const agent = await h.agent(relay, [{ path: 'svc', target: { type: 'http', url: `${svc.url}/svc` } }]);
    await agent.whenReady();
  });
  afterAll(() => h.close());

  it.each([
    ['Content-Length, body on the control channel', 'cl/2000'],
    ['chunked, body on the control channel', 'chunked/2000'],
  ])('%s: the caller gets an error status, never the truncated 200', async (_name, target) => {
    const out = await get(`${relay.url}/svc/${target}`);
    expect(out.status).toBe(502);
  });

  it.each([
    ['Content-Length, body over rendezvous', 'cl/4194304'],
    ['chunked, body over rendezvous', 'chunked/4194304'],
  ])('%s: the caller\'s response is cut, never completed', async (_name, target) => {
    const out = await get(`${relay.url}/svc/${target}`);
    expect(out.completed).toBe(false);
    expect(out.bytes).toBeLessThan(4194304);
  });

  it.each([
    ['shorter', 50],
    ['longer', 150],
  ])('a listener that is not ours streams a body %s than its Content-Length: the caller’s response is cut, never completed', async (_name, sent) => {
    const path = `raw${sent}`;
    const r = await h.relay({ entities: [{ path, requiresClientAuthorization: false }] });
    const ws = new WebSocket(`${r.url.replace('http', 'ws')}/$hc/${path}?sb-hc-action=listen`, { headers: { ServiceBusAuthorization: token(r, path) } });
    h.defer(() => ws.terminate());
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const req = (JSON.parse(data.toString()) as { request?: { id: string; address: string } }).request;
      if (!req) return;
      // The response over the request's rendezvous (as hyco-https does for large answers).
      const rv = new WebSocket(req.address);
      h.defer(() => rv.terminate());
      rv.once('open', () => {
        rv.send(JSON.stringify({ response: { requestId: req.id, statusCode: 200, responseHeaders: { 'Content-Length': '100' }, body: true } }));
        rv.send(Buffer.alloc(sent, 0x62), { binary: true });
      });
    });
    const out = await get(`${r.url}/${path}/x`);
    expect(out.completed).toBe(false);
    expect(out.bytes).toBeLessThanOrEqual(100);
  });
});
