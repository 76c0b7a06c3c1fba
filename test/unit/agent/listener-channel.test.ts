/**
 * The listener channel's reconnect state machine, with a manual clock (backoff delays fire only
 * when the test says so) and real sockets on 127.0.0.1: a relay stand-in that refuses the
 * credential (401 with Azure's JSON error), a closed port (ECONNREFUSED), and a stand-in relay
 * that sends hostile control messages. Retries never stop; a 401 uses the long cap and logs at
 * error with the relay's reason; a network failure uses the normal cap and logs at warn with its
 * cause; a malformed-but-identifiable request is answered and the channel stays up.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { Backoff } from '../../../src/core/backoff';
import type { Clock, TimerHandle } from '../../../src/core/clock';
import type { Logger } from '../../../src/core/logger';
import { ListenerChannel, type ChannelState, type StateDetail } from '../../../src/agent/control/listener-channel';
import { RendezvousDialer } from '../../../src/agent/rendezvous/rendezvous-client';
import { AcceptServer } from '../../../src/agent/serving/accept-server';
import { RequestServer } from '../../../src/agent/serving/request-server';
import type { ServiceProxy } from '../../../src/agent/proxies/service-proxy';
import { PassThrough } from 'node:stream';

/** Timers fire only on fire(); now() moves with them. */
class ManualClock implements Clock {
  #now = 1_700_000_000_000;
  #seq = 0;
  readonly timers = new Map<number, { at: number; fn: () => void; every?: number }>();
  now = (): number => this.#now;
  setTimeout = (fn: () => void, ms: number): TimerHandle => this.#add(fn, ms);
  setInterval = (fn: () => void, ms: number): TimerHandle => this.#add(fn, ms, ms);
  clearTimeout = (h: TimerHandle | undefined): void => void (h && this.timers.delete((h as { id: number }).id));
  clearInterval = (h: TimerHandle | undefined): void => this.clearTimeout(h);
  #add(fn: () => void, ms: number, every?: number): TimerHandle {
    const id = ++this.#seq;
    this.timers.set(id, { at: this.#now + ms, fn, every });
    return { id } as TimerHandle;
  }
  /** Runs the earliest one-shot timer (a backoff), moving time to it. */
  fireNext(): number {
    const [id, t] = [...this.timers].filter(([, t]) => t.every === undefined).sort((a, b) => a[1].at - b[1].at)[0] ?? [];
    if (id === undefined || !t) throw new Error('no timer pending');
    this.timers.delete(id);
    const waited = t.at - this.#now;
    this.#now = Math.max(this.#now, t.at);
    t.fn();
    return waited;
  }
}

interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

function captureLogger(lines: LogLine[]): Logger {
  const make = (): Logger => {
    const at =
      (level: LogLine['level']) =>
      (obj: unknown, msg?: string): void => {
        if (typeof obj === 'string') lines.push({ level, obj: {}, msg: obj });
        else lines.push({ level, obj: obj as Record<string, unknown>, msg: msg ?? '' });
      };
    return { trace: () => undefined, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), fatal: at('error'), child: () => make(), level: 'debug' } as unknown as Logger;
  };
  return make();
}

function waitFor(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = (): void => {
      if (cond()) return resolve();
      if (Date.now() - start > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

function channel(url: string, clock: ManualClock, lines: LogLine[], extra: Partial<ConstructorParameters<typeof ListenerChannel>[0]> & { http?: ServiceProxy } = {}): ListenerChannel {
  const { http, ...rest } = extra;
  const logger = captureLogger(lines);
  const dialer = new RendezvousDialer({ rejectUnauthorized: true, timeoutMs: 20_000, maxFramePayloadBytes: 1024 * 1024 });
  return new ListenerChannel({
    relayWsBase: url,
    path: 'p',
    listenerId: 'L1',
    tokenProvider: async () => 'SharedAccessSignature sr=x&sig=y&se=1&skn=k',
    tokenTtlSeconds: 3600,
    renewBeforeSeconds: 300,
    heartbeatIntervalMs: 30_000,
    backoff: new Backoff({ initialMs: 100, multiplier: 2, maxMs: 1000, jitter: 0, random: () => 0.5 }),
    authMaxMs: 60_000,
    maxControlMessageBytes: 1024 * 1024,
    controlBodyThresholdBytes: 64 * 1024,
    offerControlBodyBytes: 0,
    rejectUnauthorized: true,
    serving: {
      requests: new RequestServer({ path: 'p', http, dialer, clock: rest.clock ?? clock, logger }),
      accepts: new AcceptServer({ path: 'p', dialer, logger }),
      dialer,
      offersSessions: false,
    },
    clock,
    logger,
    ...rest,
  });
}

/** Collects BACKOFF transitions. */
function backoffs(ch: ListenerChannel): StateDetail[] {
  const out: StateDetail[] = [];
  ch.on('state', (_from: ChannelState, to: ChannelState, detail: StateDetail) => {
    if (to === 'BACKOFF') out.push(detail);
  });
  return out;
}

function closeWss(wss: WebSocketServer): Promise<void> {
  for (const c of wss.clients) c.terminate();
  return new Promise<void>((r) => wss.close(() => r()));
}

async function listen(server: http.Server | net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

describe('ListenerChannel reconnects forever', () => {
  const stops: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    while (stops.length) await stops.pop()!();
  });

  it('401: keeps retrying past the normal cap, up to authMaxMs, logging the relay reason at error', async () => {
    let handshakes = 0;
    const server = http.createServer((_req, res) => res.writeHead(404).end());
    server.on('upgrade', (_req, socket) => {
      handshakes++;
      const body = JSON.stringify({ error: { code: 'Unauthorized', message: 'The token signature is not valid (key root).' } });
      socket.end(`HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    });
    const port = await listen(server);
    stops.push(() => new Promise<void>((r) => server.close(() => r())));
    const clock = new ManualClock();
    const lines: LogLine[] = [];
    const ch = channel(`ws://127.0.0.1:${port}`, clock, lines);
    const seen = backoffs(ch);
    stops.push(() => ch.stop());
    ch.start();
    const delays: number[] = [];
    for (let i = 1; i <= 12; i++) {
      await waitFor(() => seen.length === i, `backoff ${i}`);
      expect(ch.state).toBe('BACKOFF');
      delays.push(seen[i - 1]!.delayMs!);
      expect(seen[i - 1]).toMatchObject({ kind: 'auth', attempt: i });
      clock.fireNext();
    }
    // 100·2^n capped at authMaxMs (60 s), not at maxMs (1 s).
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 51_200, 60_000, 60_000]);
    expect(handshakes).toBeGreaterThanOrEqual(12);
    const errors = lines.filter((l) => l.msg === 'reconnecting after backoff');
    expect(errors.every((l) => l.level === 'error')).toBe(true);
    expect(errors[0]!.obj).toMatchObject({ kind: 'auth', status: 401, reason: 'The token signature is not valid (key root).', attempt: 1, delayMs: 100 });
    expect(ch.status()).toMatchObject({ state: expect.stringMatching(/BACKOFF|CONNECTING/), lastError: { kind: 'auth', status: 401 } });
  });

  it('403 is treated like 401 (long cap)', async () => {
    const server = http.createServer();
    server.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 21\r\nConnection: close\r\n\r\nListen right required'));
    const port = await listen(server);
    stops.push(() => new Promise<void>((r) => server.close(() => r())));
    const clock = new ManualClock();
    const lines: LogLine[] = [];
    const ch = channel(`ws://127.0.0.1:${port}`, clock, lines);
    const seen = backoffs(ch);
    stops.push(() => ch.stop());
    ch.start();
    await waitFor(() => seen.length === 1, 'first backoff');
    expect(seen[0]).toMatchObject({ kind: 'auth', reason: 'Listen right required' });
    expect(lines.find((l) => l.msg === 'reconnecting after backoff')).toMatchObject({ level: 'error', obj: { status: 403 } });
  });

  it('connection refused: normal cap, warn with ECONNREFUSED, and it never stops', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = net.createServer();
    const port = await listen(probe);
    await new Promise<void>((r) => probe.close(() => r()));
    const clock = new ManualClock();
    const lines: LogLine[] = [];
    const ch = channel(`ws://127.0.0.1:${port}`, clock, lines);
    const seen = backoffs(ch);
    stops.push(() => ch.stop());
    ch.start();
    for (let i = 1; i <= 15; i++) {
      await waitFor(() => seen.length === i, `backoff ${i}`);
      clock.fireNext();
    }
    expect(seen.map((d) => d.delayMs)).toEqual([100, 200, 400, 800, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]);
    const logged = lines.filter((l) => l.msg === 'reconnecting after backoff');
    expect(logged).toHaveLength(15);
    expect(logged.every((l) => l.level === 'warn' && l.obj.cause === 'ECONNREFUSED' && l.obj.kind === 'network')).toBe(true);
  });

  it('a relay that comes back: READY resets the backoff; a lost channel retries at warn', async () => {
    const probe = net.createServer();
    const port = await listen(probe);
    await new Promise<void>((r) => probe.close(() => r()));
    const clock = new ManualClock();
    const lines: LogLine[] = [];
    const ch = channel(`ws://127.0.0.1:${port}`, clock, lines);
    const seen = backoffs(ch);
    stops.push(() => ch.stop());
    ch.start();
    for (let i = 1; i <= 3; i++) {
      await waitFor(() => seen.length === i, `backoff ${i}`);
      if (i < 3) clock.fireNext();
    }
    // The relay is up now, on the same port.
    const wss = new WebSocketServer({ host: '127.0.0.1', port });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    stops.push(() => closeWss(wss));
    const sockets: ServerSocket[] = [];
    wss.on('connection', (s) => sockets.push(s));
    clock.fireNext();
    await waitFor(() => ch.state === 'READY', 'READY');
    expect(ch.status().attempt).toBe(0);
    sockets[0]!.close(1001, 'Relay shutting down');
    await waitFor(() => seen.length === 4, 'backoff after loss');
    expect(seen[3]).toMatchObject({ kind: 'lost', attempt: 1, delayMs: 100 });
    expect(lines.filter((l) => l.msg === 'reconnecting after backoff').at(-1)).toMatchObject({ level: 'warn', obj: { closeCode: 1001 } });
    clock.fireNext();
    await waitFor(() => ch.state === 'READY' && sockets.length === 2, 'READY again');
  });
});

describe('ListenerChannel: one bad control message costs only its request', () => {
  it('answers a request with 300 headers 431, drops a non-JSON frame, and keeps serving on the same channel', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const port = (wss.address() as AddressInfo).port;
    const connections: ServerSocket[] = [];
    const received: Array<{ text?: unknown; binary?: string }> = [];
    wss.on('connection', (s) => {
      connections.push(s);
      s.on('message', (d, isBinary) => received.push(isBinary ? { binary: d.toString() } : { text: JSON.parse(d.toString()) }));
    });
    const proxy: ServiceProxy = {
      call: async (req: { requestTarget: string }) => {
        if (req.requestTarget === '/p/throws') throw new Error('proxy blew up');
        const body = new PassThrough();
        body.end(`ok ${req.requestTarget}`);
        return { statusCode: 200, statusMessage: 'OK', headers: { 'content-type': 'text/plain' }, body };
      },
      close: async () => undefined,
    } as unknown as ServiceProxy;
    const clock = new ManualClock();
    const lines: LogLine[] = [];
    const ch = channel(`ws://127.0.0.1:${port}`, clock, lines, { http: proxy });
    const states: string[] = [];
    ch.on('state', (_f: ChannelState, to: ChannelState) => states.push(to));
    ch.start();
    try {
      await waitFor(() => ch.state === 'READY' && connections.length === 1, 'READY');
      const relay = connections[0]!;
      const headers = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`X-Flood-${i}`, 'v']));
      relay.send(JSON.stringify({ request: { address: 'ws://127.0.0.1:1/x', id: 'bad-1', requestTarget: '/p', method: 'POST', requestHeaders: headers, body: true } }));
      relay.send(Buffer.from('the flood request body'), { binary: true });
      relay.send('this is not json');
      relay.send('[1,2,3]');
      relay.send(JSON.stringify({ request: { address: 'ws://127.0.0.1:1/x', id: 'good-1', requestTarget: '/p/fine', method: 'GET', requestHeaders: {}, body: false } }));
      relay.send(JSON.stringify({ request: { address: 'ws://127.0.0.1:1/x', id: 'throw-1', requestTarget: '/p/throws', method: 'GET', requestHeaders: {}, body: false } }));
      await waitFor(() => received.filter((r) => r.text).length === 3, 'three responses');
      const responses = received.filter((r) => r.text).map((r) => (r.text as { response: { requestId: string; statusCode: number; responseHeaders: Record<string, string> } }).response);
      const byId = Object.fromEntries(responses.map((r) => [r.requestId, r]));
      expect(byId['bad-1']).toMatchObject({ statusCode: 431, responseHeaders: { 'x-relaybridge-error': 'RELAY_ERR_PROTOCOL_HEADERS_TOO_LARGE' } });
      expect(byId['good-1']).toMatchObject({ statusCode: 200 });
      expect(byId['throw-1']).toMatchObject({ statusCode: 500, responseHeaders: { 'x-relaybridge-error': 'RELAY_ERR_INTERNAL' } });
      // The flood request's body was skipped, not taken for good-1's.
      expect(received.filter((r) => r.binary).map((r) => r.binary)).toEqual(expect.arrayContaining(['ok /p/fine']));
      expect(relay.readyState).toBe(relay.OPEN);
      expect(states).toEqual(['CONNECTING', 'READY']);
      expect(lines.some((l) => l.msg === 'dropped an invalid message from the relay')).toBe(true);
    } finally {
      await ch.stop();
      await closeWss(wss);
    }
  });

  it('a rendezvous request whose text is invalid is answered on that rendezvous (431); the channel stays', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const port = (wss.address() as AddressInfo).port;
    let control: ServerSocket | undefined;
    const onRendezvous: Array<{ text?: unknown; binary?: string }> = [];
    let rendezvousClosed = false;
    wss.on('connection', (s, req) => {
      if (req.url?.startsWith('/$hc/')) return void (control = s);
      // The rendezvous: send the request (300 headers), collect the answer.
      const headers = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`X-Flood-${i}`, 'v']));
      s.send(JSON.stringify({ request: { address: `ws://127.0.0.1:${port}/rv`, id: 'rv-1', requestTarget: '/p', method: 'GET', requestHeaders: headers, body: false } }));
      s.on('message', (d, isBinary) => onRendezvous.push(isBinary ? { binary: d.toString() } : { text: JSON.parse(d.toString()) }));
      s.on('close', () => (rendezvousClosed = true));
    });
    const proxy = { call: async () => ({ statusCode: 200, statusMessage: 'OK', headers: {}, body: new PassThrough().end('x') }), close: async () => undefined } as unknown as ServiceProxy;
    const states: string[] = [];
    const ch = channel(`ws://127.0.0.1:${port}`, new ManualClock(), [], { http: proxy });
    ch.on('state', (_f: ChannelState, to: ChannelState) => states.push(to));
    ch.start();
    try {
      await waitFor(() => ch.state === 'READY' && control !== undefined, 'READY');
      control!.send(JSON.stringify({ request: { address: `ws://127.0.0.1:${port}/rv`, id: 'rv-1' } }));
      await waitFor(() => rendezvousClosed, 'rendezvous answered and closed');
      const head = onRendezvous.find((m) => m.text)?.text as { response: { requestId: string; statusCode: number } };
      expect(head.response).toMatchObject({ requestId: 'rv-1', statusCode: 431 });
      expect(onRendezvous.some((m) => m.binary?.includes('RELAY_ERR_PROTOCOL_HEADERS_TOO_LARGE'))).toBe(true);
      expect(control!.readyState).toBe(control!.OPEN);
      expect(states).toEqual(['CONNECTING', 'READY']);
    } finally {
      await ch.stop();
      await closeWss(wss);
    }
  });

  it('stop(): waits for a call in flight, answers new requests 503, then closes with 1000', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const port = (wss.address() as AddressInfo).port;
    let relay: ServerSocket | undefined;
    const responses: Array<{ requestId: string; statusCode: number }> = [];
    let closeCode: number | undefined;
    wss.on('connection', (s) => {
      relay = s;
      s.on('message', (d, isBinary) => {
        if (!isBinary) responses.push((JSON.parse(d.toString()) as { response: { requestId: string; statusCode: number } }).response);
      });
      s.on('close', (code) => (closeCode = code));
    });
    let finish: (() => void) | undefined;
    const proxy = {
      call: () =>
        new Promise((resolve) => {
          finish = () => {
            const body = new PassThrough();
            body.end('slow done');
            resolve({ statusCode: 200, statusMessage: 'OK', headers: {}, body });
          };
        }),
      close: async () => undefined,
    } as unknown as ServiceProxy;
    const ch = channel(`ws://127.0.0.1:${port}`, new ManualClock(), [], { http: proxy, clock: (await import('../../../src/core/clock')).systemClock });
    ch.start();
    try {
      await waitFor(() => ch.state === 'READY' && relay !== undefined, 'READY');
      relay!.send(JSON.stringify({ request: { address: 'ws://127.0.0.1:1/x', id: 'slow', requestTarget: '/p', method: 'GET', requestHeaders: {}, body: false } }));
      await waitFor(() => finish !== undefined, 'call started');
      const stopped = ch.stop(10_000);
      relay!.send(JSON.stringify({ request: { address: 'ws://127.0.0.1:1/x', id: 'late', requestTarget: '/p', method: 'GET', requestHeaders: {}, body: false } }));
      await waitFor(() => responses.some((r) => r.requestId === 'late'), 'late answered');
      expect(responses.find((r) => r.requestId === 'late')!.statusCode).toBe(503);
      expect(closeCode).toBeUndefined();
      finish!();
      await stopped;
      await waitFor(() => closeCode !== undefined, 'closed');
      expect(responses.find((r) => r.requestId === 'slow')!.statusCode).toBe(200);
      expect(closeCode).toBe(1000);
    } finally {
      await ch.stop();
      await closeWss(wss);
    }
  });
});
