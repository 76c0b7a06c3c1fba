/**
 * WebSocket senders against a hand-built raw listener (hyco-ws cannot reject: its reject path
 * crashes, hybrid-connections.md §7.4): rejects, rendezvous timeouts, single-use addresses,
 * and a spy that checks every control frame the relay sends is JSON with a known command.
 */
import WebSocket from 'ws';
import { Harness, token, waitFor } from '../helpers/harness';
import type { RelayServer } from '../../src/relay/relay-server';

interface RawListener {
  ws: WebSocket;
  accepts: Array<{ address: string; id: string; connectHeaders: Record<string, string> }>;
  frames: Array<{ binary: boolean; text: string }>;
}

async function rawListener(h: Harness, relay: RelayServer, path: string): Promise<RawListener> {
  const ws = new WebSocket(`${relay.url.replace('http', 'ws')}/$hc/${path}?sb-hc-action=listen`, {
    headers: { ServiceBusAuthorization: token(relay, path) },
  });
  h.defer(() => ws.terminate());
  const l: RawListener = { ws, accepts: [], frames: [] };
  ws.on('message', (data: Buffer, isBinary) => {
    l.frames.push({ binary: isBinary, text: data.toString() });
    if (!isBinary) {
      const msg = JSON.parse(data.toString());
      if (msg.accept) l.accepts.push(msg.accept);
    }
  });
  await new Promise<void>((r) => ws.once('open', () => r()));
  return l;
}

function senderStatus(url: string, headers: Record<string, string>): Promise<{ status: number; message: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0, message: res.statusMessage ?? '' }));
    ws.on('open', () => {
      resolve({ status: 101, message: '' });
      ws.close();
    });
    ws.on('error', () => undefined);
  });
}

function upgradeStatus(address: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(address);
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => resolve(101));
    ws.on('error', () => undefined);
  });
}

describe('WebSocket senders and a raw listener', () => {
  const h = new Harness();
  let relay: RelayServer;
  afterAll(() => h.close());
  beforeAll(async () => {
    relay = await h.relay({ entities: [{ path: 'raw' }], limits: { rendezvousTimeoutMs: 400 } });
  });

  const connectUrl = () => `${relay.url.replace('http', 'ws')}/$hc/raw?sb-hc-action=connect`;

  it('passes a listener reject (prefixed form) to the sender verbatim, and answers the listener 410', async () => {
    const l = await rawListener(h, relay, 'raw');
    const pending = senderStatus(connectUrl(), { ServiceBusAuthorization: token(relay, 'raw') });
    await waitFor(() => l.accepts.length === 1, 5000, 'the accept');
    const listenerSide = await upgradeStatus(`${l.accepts[0]!.address}&sb-hc-statusCode=401&sb-hc-statusDescription=Nope`);
    expect(listenerSide).toBe(410);
    expect(await pending).toEqual({ status: 401, message: 'Nope' });
    l.ws.terminate();
    await waitFor(() => relay.router.registry.count('raw') === 0, 5000, 'the listener to go');
  });

  it('recognises the un-prefixed reject the Node packages write, only after sb-hc-id', async () => {
    const l = await rawListener(h, relay, 'raw');
    const pending = senderStatus(connectUrl(), { ServiceBusAuthorization: token(relay, 'raw') });
    await waitFor(() => l.accepts.length === 1, 5000, 'the accept');
    expect(await upgradeStatus(`${l.accepts[0]!.address}&statusCode=403&statusDescription=Rejected%20by%20user%20code`)).toBe(410);
    expect(await pending).toEqual({ status: 403, message: 'Rejected by user code' });
    l.ws.terminate();
    await waitFor(() => relay.router.registry.count('raw') === 0, 5000, 'the listener to go');
  });

  it('does not let a sender query fake a reject', async () => {
    const l = await rawListener(h, relay, 'raw');
    const ws = new WebSocket(`${relay.url.replace('http', 'ws')}/$hc/raw?statusCode=500&sb-hc-action=connect`, { headers: { ServiceBusAuthorization: token(relay, 'raw') } });
    ws.on('error', () => undefined);
    await waitFor(() => l.accepts.length === 1, 5000, 'the accept');
    const opened = new Promise<void>((r) => ws.once('open', () => r()));
    const listenerLeg = new WebSocket(l.accepts[0]!.address);
    await opened;
    listenerLeg.close();
    ws.close();
    l.ws.terminate();
    await waitFor(() => relay.router.registry.count('raw') === 0, 5000, 'the listener to go');
  });

  it('answers 504 when the listener never comes to the rendezvous, and the address is then dead', async () => {
    const l = await rawListener(h, relay, 'raw');
    const result = await senderStatus(connectUrl(), { ServiceBusAuthorization: token(relay, 'raw') });
    expect(result.status).toBe(504);
    expect(await upgradeStatus(l.accepts[0]!.address)).toBe(404);
    l.ws.terminate();
    await waitFor(() => relay.router.registry.count('raw') === 0, 5000, 'the listener to go');
  });

  it('answers 404 (Endpoint does not exist) to a WebSocket sender when no listener is online', async () => {
    const result = await senderStatus(connectUrl(), { ServiceBusAuthorization: token(relay, 'raw') });
    expect(result.status).toBe(404);
  });

  it('only ever sends JSON text with a known command on a control channel', async () => {
    const l = await rawListener(h, relay, 'raw');
    const svcCalls = [1, 2, 3].map(() => senderStatus(connectUrl(), { ServiceBusAuthorization: token(relay, 'raw') }));
    await waitFor(() => l.accepts.length === 3, 5000, 'three accepts');
    for (const f of l.frames) {
      expect(f.binary).toBe(false);
      const keys = Object.keys(JSON.parse(f.text));
      expect(keys).toHaveLength(1);
      expect(['accept', 'request']).toContain(keys[0]);
    }
    await Promise.all(svcCalls);
  });
});
