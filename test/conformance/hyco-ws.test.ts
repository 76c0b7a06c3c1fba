/**
 * Conformance with Microsoft's hyco-ws (npm 1.0.5, ws 1.1.x inside): as a WebSocket listener
 * called by plain WebSocket senders, and as a sender (`relayedConnect`) against a path served
 * by our agent. URLs are built by hand (its helpers force wss://…:443).
 */
import WebSocket from 'ws';
import { Harness, ROOT_KEY, ROOT_KEY_NAME, waitFor } from '../helpers/harness';
import type { RelayServer } from '../../src/relay/relay-server';

const hycoWs = require('hyco-ws');

interface LegacyWs {
  on(e: string, f: (...a: never[]) => void): void;
  once(e: string, f: (...a: never[]) => void): void;
  send(data: unknown, opts?: unknown): void;
  close(code?: number, reason?: string): void;
  readyState: number;
  protocol?: string;
}

describe('hyco-ws listener, plain WebSocket senders', () => {
  const h = new Harness();
  let relay: RelayServer;
  let base: string;
  const accepted: LegacyWs[] = [];
  let lastProtocol: string | undefined;

  beforeAll(async () => {
    relay = await h.relay({ entities: [{ path: 'wsecho' }] });
    base = relay.url.replace('http', 'ws');
    const listenUri = `${base}/$hc/wsecho?sb-hc-action=listen`;
    const server = hycoWs.createRelayedServer(
      { server: listenUri, token: () => hycoWs.createRelayToken(listenUri, ROOT_KEY_NAME, ROOT_KEY) },
      (ws: LegacyWs) => {
        accepted.push(ws);
        // hyco-ws emits 'connection' before the rendezvous is open; the protocol is known on open.
        ws.on('open', (() => (lastProtocol = ws.protocol)) as never);
        ws.on('message', ((data: unknown, flags: { binary?: boolean }) => {
          if (typeof data === 'string' && data.startsWith('close:')) {
            const [, code, reason] = data.split(':');
            ws.close(Number(code), reason);
            return;
          }
          ws.send(data, { binary: !!flags?.binary });
        }) as never);
        ws.on('error', (() => undefined) as never);
      },
    );
    server.on('error', () => undefined);
    h.defer(() => server.close());
    await waitFor(() => relay.router.registry.count('wsecho') === 1, 10_000, 'the hyco-ws listener');
  });
  afterAll(() => h.close());

  const connect = (suffix = '', protocols?: string[]) => {
    const ws = new WebSocket(`${base}/$hc/wsecho${suffix}${suffix.includes('?') ? '&' : '?'}sb-hc-action=connect`, protocols, {
      headers: { ServiceBusAuthorization: hycoWs.createRelayToken(`${relay.url}/wsecho`, ROOT_KEY_NAME, ROOT_KEY), 'X-Foo': 'bar' },
    });
    return new Promise<WebSocket>((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  };
  /** Records the accept commands the relay sends to the listener's control channel. */
  const spyOnAccepts = () => {
    const seenAccepts: string[] = [];
    const channel = relay.router.registry.list('wsecho')[0]!;
    const original = channel.sendJson.bind(channel);
    channel.sendJson = (json: string) => {
      seenAccepts.push(json);
      return original(json);
    };
    return { seenAccepts, restore: () => (channel.sendJson = original) };
  };
  const roundTrip = (ws: WebSocket, data: Buffer | string) =>
    new Promise<{ data: Buffer; isBinary: boolean }>((resolve) => {
      ws.once('message', (d: Buffer, isBinary: boolean) => resolve({ data: d, isBinary }));
      ws.send(data);
    });

  it('echoes text, binary, empty, 64 KiB and 1 MiB messages with opcodes kept', async () => {
    const ws = await connect();
    // hyco-ws emits 'connection' before its rendezvous socket is open; give it a moment.
    await waitFor(() => accepted.at(-1)?.readyState === 1, 5000, 'the listener side to open');
    const text = await roundTrip(ws, 'hello');
    expect(text.isBinary).toBe(false);
    expect(text.data.toString()).toBe('hello');
    for (const n of [0, 1, 65_536, 1024 * 1024]) {
      const payload = Buffer.alloc(n);
      for (let i = 0; i < n; i++) payload[i] = (i * 7) % 256;
      const got = await roundTrip(ws, payload);
      expect(got.isBinary).toBe(true);
      expect(Buffer.compare(got.data, payload)).toBe(0);
    }
    ws.close();
  });

  it('carries a fragmented message and reassembles it at the listener', async () => {
    const ws = await connect();
    await waitFor(() => accepted.at(-1)?.readyState === 1, 5000, 'the listener side to open');
    const got = new Promise<Buffer>((resolve) => ws.once('message', (d: Buffer) => resolve(d)));
    ws.send(Buffer.from('frag-one-'), { fin: false, binary: true });
    ws.send(Buffer.from('frag-two'), { fin: true, binary: true });
    expect((await got).toString()).toBe('frag-one-frag-two');
    ws.close();
  });

  it('negotiates the first offered subprotocol end to end', async () => {
    const ws = await connect('', ['soap', 'json']);
    expect(ws.protocol).toBe('soap');
    await waitFor(() => lastProtocol === 'soap', 5000, 'the listener to see the protocol');
    ws.close();
  });

  it('propagates close codes and reasons both ways', async () => {
    const ws = await connect();
    await waitFor(() => accepted.at(-1)?.readyState === 1, 5000, 'the listener side to open');
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
    ws.send('close:4001:bye');
    expect(await closed).toEqual({ code: 4001, reason: 'bye' });

    const ws2 = await connect();
    await waitFor(() => accepted.at(-1)?.readyState === 1, 5000, 'the listener side to open');
    const listenerSide = accepted.at(-1)!;
    const seenByListener = new Promise<number>((resolve) => listenerSide.once('close', ((code: number) => resolve(code)) as never));
    ws2.close(4002, 'sender bye');
    expect(await seenByListener).toBe(4002);
  });

  it('keeps the path suffix and query, and drops sb-hc-* and credentials from the accept', async () => {
    const { seenAccepts, restore } = spyOnAccepts();
    try {
      const ws = await connect('/sub?x=1&sb-hc-id=abc');
      const accept = JSON.parse(seenAccepts[0]!).accept;
      // The sender's sb-hc-id is the accept's tracing id; the address is the relay's own capability (handle_secret).
      expect(accept.address).toMatch(/\/\$hc\/wsecho\/sub\?x=1&sb-hc-action=accept&sb-hc-id=[0-9a-f-]{36}_[0-9a-f]{32}$/);
      expect(accept.id).toBe('abc');
      expect(accept.connectHeaders['X-Foo']).toBe('bar');
      expect(accept.connectHeaders['Sec-WebSocket-Key']).toBeDefined();
      expect(Object.keys(accept.connectHeaders).map((k) => k.toLowerCase())).not.toContain('servicebusauthorization');
      ws.close();
    } finally {
      restore();
    }
  });

  it('refuses reuse of an accept address', async () => {
    const { seenAccepts, restore } = spyOnAccepts();
    const ws = await connect();
    restore();
    const address = JSON.parse(seenAccepts[0]!).accept.address as string;
    const status = await new Promise<number>((resolve) => {
      const again = new WebSocket(address);
      again.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      again.on('open', () => resolve(101));
      again.on('error', () => undefined);
    });
    expect(status).toBe(404);
    ws.close();
  });
});

describe('hyco-ws relayedConnect as a sender against our agent', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('reaches a private TCP echo and a private WebSocket echo through relay and agent', async () => {
    const relay = await h.relay({ entities: [{ path: 'tcp' }, { path: 'wsback' }] });
    const echoPort = await h.tcpEcho();
    const wss = new WebSocket.Server({ port: 0, host: '127.0.0.1' });
    wss.on('connection', (s) => s.on('message', (d, isBinary) => s.send(d, { binary: isBinary })));
    h.defer(() => new Promise<void>((r) => wss.close(() => r())));
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const wsPort = (wss.address() as { port: number }).port;
    const agent = await h.agent(relay, [
      { path: 'tcp', target: { type: 'tcp', host: '127.0.0.1', port: echoPort } },
      { path: 'wsback', target: { type: 'ws', url: `ws://127.0.0.1:${wsPort}` } },
    ]);
    await agent.whenReady();
    for (const path of ['tcp', 'wsback']) {
      const address = `${relay.url.replace('http', 'ws')}/$hc/${path}?sb-hc-action=connect`;
      const client: LegacyWs = hycoWs.relayedConnect(address, hycoWs.createRelayToken(address, ROOT_KEY_NAME, ROOT_KEY));
      await new Promise<void>((resolve, reject) => {
        client.once('open', (() => resolve()) as never);
        client.once('error', ((e: Error) => reject(e)) as never);
      });
      const reply = await new Promise<string>((resolve) => {
        client.once('message', ((d: unknown) => resolve(Buffer.from(d as Buffer).toString())) as never);
        client.send(`ping via ${path}`);
      });
      expect(reply).toBe(`ping via ${path}`);
      client.close();
    }
  });
});
