/**
 * One listener control channel from the agent to the relay, with an explicit state machine:
 *
 *   IDLE → CONNECTING → READY → (BACKOFF → CONNECTING)* → CLOSED
 *
 * Capped exponential backoff with jitter (reset on READY), a ping heartbeat that terminates
 * a silent connection, and token renewal (`renewToken`) before expiry. Each `request` is
 * answered through the service proxy; each `accept` is piped to the stream target.
 */
import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import { PassThrough, type Duplex, type Readable } from 'node:stream';
import WebSocket from 'ws';
import { Backoff } from '../../core/backoff';
import type { Clock, TimerHandle } from '../../core/clock';
import { RelayError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import {
  CONTROL_BODY_HEADER,
  parseControlBodyOffer,
  parseServiceMessage,
  serializeRenewToken,
  serializeResponse,
  type AcceptCommand,
  type RequestCommand,
} from '../../protocol/hyco';
import type { TokenProvider } from '../../auth/token-provider';
import type { WsEndpoint } from '../../transport/ws-endpoint';
import { openRendezvous, rejectRendezvous } from '../rendezvous/rendezvous-client';
import type { LocalResponse } from '../proxies/http-proxy';
import type { ServiceProxy } from '../proxies/service-proxy';
import type { StreamTarget } from '../proxies/stream-proxy';

export const ChannelState = {
  Idle: 'IDLE',
  Connecting: 'CONNECTING',
  Ready: 'READY',
  Backoff: 'BACKOFF',
  Closed: 'CLOSED',
} as const;
export type ChannelState = (typeof ChannelState)[keyof typeof ChannelState];

/** Allowed transitions; anything else is a bug and throws. */
const TRANSITIONS: Record<ChannelState, readonly ChannelState[]> = {
  IDLE: ['CONNECTING', 'CLOSED'],
  CONNECTING: ['READY', 'BACKOFF', 'CLOSED'],
  READY: ['BACKOFF', 'CLOSED'],
  BACKOFF: ['CONNECTING', 'CLOSED'],
  CLOSED: [],
};

export interface ListenerChannelOptions {
  relayWsBase: string;
  path: string;
  listenerId: string;
  tokenProvider: TokenProvider;
  tokenTtlSeconds: number;
  renewBeforeSeconds: number;
  heartbeatIntervalMs: number;
  backoff: Backoff;
  maxControlMessageBytes: number;
  controlBodyThresholdBytes: number;
  /** Larger control-channel bodies offered to a relaybridge relay (0: no offer). */
  offerControlBodyBytes: number;
  maxFramePayloadBytes: number;
  ca?: string;
  rejectUnauthorized: boolean;
  /** The service proxy for relayed HTTP requests (http, module or ipc target). */
  http?: ServiceProxy;
  stream?: StreamTarget;
  clock: Clock;
  logger: Logger;
}

export interface ListenerChannelEvents {
  state: [from: ChannelState, to: ChannelState, detail: { reason?: string; delayMs?: number }];
}

export class ListenerChannel extends EventEmitter<ListenerChannelEvents> {
  readonly path: string;
  readonly listenerId: string;
  readonly #o: ListenerChannelOptions;
  readonly #log: Logger;
  #state: ChannelState = ChannelState.Idle;
  #ws: WebSocket | undefined;
  /** Per control-channel connection: its socket and the body size agreed with the relay. */
  readonly #wsLinks = new WeakMap<WebSocket, { socket: Duplex; controlBodyLimit: number }>();
  #timer: TimerHandle | undefined;
  #heartbeat: TimerHandle | undefined;
  #renewal: TimerHandle | undefined;
  #awaitingPong = false;
  #pendingBody: RequestCommand | undefined;
  #active = new Set<{ destroy(): void }>();

  constructor(options: ListenerChannelOptions) {
    super();
    this.#o = options;
    this.path = options.path;
    this.listenerId = options.listenerId;
    this.#log = options.logger;
  }

  get state(): ChannelState {
    return this.#state;
  }

  start(): void {
    if (this.#state === ChannelState.Idle) this.#connect();
  }

  stop(): void {
    if (this.#state === ChannelState.Closed) return;
    this.#transition(ChannelState.Closed, { reason: 'stopped' });
    this.#clearTimers();
    this.#o.clock.clearTimeout(this.#timer);
    this.#ws?.close(1000, 'agent stopping');
    const ws = this.#ws;
    if (ws) this.#o.clock.setTimeout(() => ws.terminate(), 1000);
    for (const a of this.#active) a.destroy();
  }

  #transition(to: ChannelState, detail: { reason?: string; delayMs?: number } = {}): void {
    const from = this.#state;
    if (!TRANSITIONS[from].includes(to)) throw new Error(`listener channel: illegal transition ${from} → ${to}`);
    this.#state = to;
    this.#log.debug({ from, to, ...detail }, 'state');
    this.emit('state', from, to, detail);
  }

  async #connect(): Promise<void> {
    this.#transition(ChannelState.Connecting);
    const o = this.#o;
    const audience = `${o.relayWsBase.replace(/^ws/i, 'http')}/${o.path}`;
    let token: string;
    try {
      token = await o.tokenProvider(audience, o.tokenTtlSeconds);
    } catch (err) {
      return this.#retry(`token provider failed: ${(err as Error).message}`);
    }
    if (this.#state !== ChannelState.Connecting) return;
    const url = `${o.relayWsBase}/$hc/${o.path.split('/').map(encodeURIComponent).join('/')}?sb-hc-action=listen&sb-hc-id=${encodeURIComponent(this.listenerId)}`;
    const headers: Record<string, string> = { ServiceBusAuthorization: token };
    if (o.offerControlBodyBytes > 0) headers[CONTROL_BODY_HEADER] = String(o.offerControlBodyBytes);
    const ws = new WebSocket(url, {
      headers,
      perMessageDeflate: false,
      maxPayload: o.maxControlMessageBytes,
      handshakeTimeout: 30_000,
      ca: o.ca,
      rejectUnauthorized: o.rejectUnauthorized,
    });
    this.#ws = ws;
    ws.once('upgrade', (res) => {
      // The socket under `ws`, corked around a response and its body so both go in one write.
      const accepted = parseControlBodyOffer(res.headers[CONTROL_BODY_HEADER]);
      this.#wsLinks.set(ws, {
        socket: res.socket,
        controlBodyLimit: accepted !== undefined && o.offerControlBodyBytes > 0 ? Math.min(accepted, o.offerControlBodyBytes) : o.controlBodyThresholdBytes,
      });
    });
    ws.on('open', () => this.#onOpen(ws));
    ws.on('unexpected-response', (_req, res) => {
      const reason = `relay refused the listener: ${res.statusCode} ${res.statusMessage ?? ''}`.trim();
      // 401/403/404 are configuration problems an operator must see; keep retrying with backoff.
      this.#log.warn({ status: res.statusCode }, reason);
      res.resume();
      ws.terminate();
      this.#retry(reason);
    });
    ws.on('message', (data, isBinary) => this.#onMessage(ws, data as Buffer, isBinary));
    ws.on('pong', () => (this.#awaitingPong = false));
    ws.on('close', (code, reason) => {
      if (ws !== this.#ws) return;
      this.#clearTimers();
      this.#retry(`control channel closed: ${code} ${reason.toString()}`.trim());
    });
    ws.on('error', (err) => {
      this.#log.debug({ err: err.message }, 'control channel error');
      if (ws.readyState !== ws.OPEN) this.#retry(err.message);
    });
  }

  #onOpen(ws: WebSocket): void {
    if (this.#state !== ChannelState.Connecting || ws !== this.#ws) return;
    this.#o.backoff.reset();
    this.#transition(ChannelState.Ready);
    this.#log.info({ path: this.path }, 'listening on the relay');
    this.#awaitingPong = false;
    this.#heartbeat = this.#o.clock.setInterval(() => {
      if (this.#awaitingPong) {
        this.#log.info('relay missed a heartbeat; reconnecting');
        ws.terminate();
        return;
      }
      this.#awaitingPong = true;
      ws.ping();
    }, this.#o.heartbeatIntervalMs);
    this.#scheduleRenewal(ws);
  }

  #scheduleRenewal(ws: WebSocket): void {
    const o = this.#o;
    const ms = (o.tokenTtlSeconds - o.renewBeforeSeconds) * 1000;
    this.#renewal = o.clock.setTimeout(async () => {
      try {
        const token = await o.tokenProvider(`${o.relayWsBase.replace(/^ws/i, 'http')}/${o.path}`, o.tokenTtlSeconds);
        if (ws.readyState === ws.OPEN) ws.send(serializeRenewToken(token));
        this.#log.debug('token renewed');
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'token renewal failed');
      }
      if (ws === this.#ws && ws.readyState === ws.OPEN) this.#scheduleRenewal(ws);
    }, ms);
  }

  #retry(reason: string): void {
    if (this.#state === ChannelState.Closed || this.#state === ChannelState.Backoff) return;
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws && ws.readyState === ws.OPEN) ws.terminate();
    this.#clearTimers();
    this.#pendingBody = undefined;
    const delayMs = this.#o.backoff.next();
    this.#transition(ChannelState.Backoff, { reason, delayMs });
    this.#log.info({ reason, delayMs }, 'reconnecting after backoff');
    this.#timer = this.#o.clock.setTimeout(() => {
      if (this.#state === ChannelState.Backoff) void this.#connect();
    }, delayMs);
  }

  #clearTimers(): void {
    this.#o.clock.clearInterval(this.#heartbeat);
    this.#o.clock.clearTimeout(this.#renewal);
    this.#heartbeat = undefined;
    this.#renewal = undefined;
  }

  #onMessage(ws: WebSocket, data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      const req = this.#pendingBody;
      this.#pendingBody = undefined;
      if (req) this.#handleRequest(ws, req, data);
      return;
    }
    let msg;
    try {
      msg = parseServiceMessage(data.toString('utf8'));
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'invalid message from the relay; reconnecting');
      ws.close(1008, 'invalid message');
      return;
    }
    if (msg.type === 'accept') void this.#handleAccept(msg);
    else if (msg.type === 'request') {
      if (msg.method === undefined) void this.#handleRendezvousRequest(msg);
      else if (msg.body) this.#pendingBody = msg;
      else this.#handleRequest(ws, msg, undefined);
    } else this.#log.debug({ command: msg.name }, 'ignoring unknown relay command');
  }

  /** A request that arrived on the control channel (body ≤ 64 KiB, already here). */
  #handleRequest(ws: WebSocket, req: RequestCommand, body: Buffer | undefined): void {
    void this.#callLocal(req, body).then(
      (res) => this.#respond(ws, req, res),
      (err: unknown) => this.#respond(ws, req, errorResponse(err)),
    );
  }

  async #callLocal(req: RequestCommand, body: Readable | Buffer | undefined): Promise<LocalResponse> {
    const proxy = this.#o.http;
    if (!proxy) throw new RelayError('RELAY_ERR_TARGET_UNREACHABLE', `path '${this.path}' has no HTTP target`);
    return proxy.call({
      method: req.method ?? 'GET',
      requestTarget: req.requestTarget ?? `/${this.path}`,
      headers: req.requestHeaders ?? {},
      body,
      remoteAddress: req.remoteEndpoint?.address,
    });
  }

  /**
   * Sends the response: on the control channel when the whole body fits under the threshold,
   * otherwise JSON plus a streamed body over a rendezvous socket to request.address (as .NET
   * and hyco-https do).
   */
  async #respond(ws: WebSocket, req: RequestCommand, res: LocalResponse): Promise<void> {
    const link = this.#wsLinks.get(ws);
    const threshold = link?.controlBodyLimit ?? this.#o.controlBodyThresholdBytes;
    const head = { requestId: req.id, statusCode: res.statusCode, statusDescription: res.statusMessage || undefined, responseHeaders: res.headers };
    const buffered: Buffer[] = [];
    let size = 0;
    const body = res.body;
    const overflow = await new Promise<boolean>((resolve) => {
      const onData = (c: Buffer) => {
        buffered.push(c);
        size += c.length;
        if (size > threshold) {
          body.pause();
          body.off('data', onData);
          body.off('end', onEnd);
          resolve(true);
        }
      };
      const onEnd = () => resolve(false);
      body.on('data', onData);
      body.once('end', onEnd);
      body.once('error', () => resolve(false));
    });
    if (!overflow) {
      if (ws.readyState !== ws.OPEN) return;
      const whole = Buffer.concat(buffered, size);
      const socket = link?.socket;
      socket?.cork();
      ws.send(serializeResponse({ requestId: head.requestId, statusCode: head.statusCode, statusDescription: head.statusDescription, responseHeaders: head.responseHeaders, body: whole.length > 0 }));
      if (whole.length > 0) ws.send(whole, { binary: true });
      socket?.uncork();
      return;
    }
    let ep: WsEndpoint;
    try {
      ep = await this.#rendezvous(req.address, 'messages');
    } catch (err) {
      this.#log.info({ err: (err as Error).message }, 'could not open a response rendezvous');
      body.destroy();
      return;
    }
    this.#streamResponse(ep, head, buffered, body);
  }

  #streamResponse(ep: WsEndpoint, head: Omit<Parameters<typeof serializeResponse>[0], 'body'>, first: Buffer[], body: Readable): void {
    ep.sendText(serializeResponse({ ...head, body: true }));
    for (const c of first) ep.writeBinaryFragment(c);
    body.on('data', (c: Buffer) => {
      if (!ep.writeBinaryFragment(c)) {
        body.pause();
        ep.once('drain', () => body.resume());
      }
    });
    body.on('end', () => {
      ep.endBinaryMessage();
      ep.close(1000, 'response complete');
    });
    body.on('error', () => ep.close(1011, 'local response failed'));
    ep.on('closed', () => body.destroy());
    ep.start();
    body.resume();
  }

  /** Address-only request: fetch it over rendezvous, stream the body in and the response out. */
  async #handleRendezvousRequest(cmd: RequestCommand): Promise<void> {
    let ep: WsEndpoint;
    try {
      ep = await this.#rendezvous(cmd.address, 'messages');
    } catch (err) {
      this.#log.info({ err: (err as Error).message }, 'could not open a request rendezvous');
      return;
    }
    const bodyStream = new PassThrough();
    let started = false;
    ep.on('text', (text) => {
      if (started) return;
      started = true;
      let req: RequestCommand;
      try {
        const msg = parseServiceMessage(text);
        if (msg.type !== 'request') throw new Error(`expected a request, got ${msg.type}`);
        req = msg;
      } catch (err) {
        this.#log.info({ err: (err as Error).message }, 'invalid request on rendezvous');
        ep.close(1008, 'invalid request');
        return;
      }
      const head = { requestId: req.id, statusCode: 0, responseHeaders: {} as Record<string, string> };
      if (!req.body) bodyStream.end();
      this.#callLocal(req, req.body ? bodyStream : undefined).then(
        (res) =>
          this.#streamResponse(
            ep,
            { ...head, statusCode: res.statusCode, statusDescription: res.statusMessage || undefined, responseHeaders: res.headers },
            [],
            res.body,
          ),
        (err: unknown) => {
          const r = errorResponse(err);
          this.#streamResponse(ep, { ...head, statusCode: r.statusCode, statusDescription: r.statusMessage, responseHeaders: r.headers }, [], r.body);
        },
      );
    });
    ep.on('binaryData', (d) => {
      if (!bodyStream.write(Buffer.from(d))) {
        ep.pause();
        bodyStream.once('drain', () => ep.resume());
      }
    });
    ep.on('binaryEnd', () => bodyStream.end());
    ep.on('closed', () => {
      if (!bodyStream.writableEnded) bodyStream.destroy();
    });
    ep.start();
  }

  async #handleAccept(cmd: AcceptCommand): Promise<void> {
    const target = this.#o.stream;
    const offered = headerOf(cmd.connectHeaders, 'sec-websocket-protocol');
    const protocol = offered?.split(',')[0]?.trim() || undefined;
    const common = { ca: this.#o.ca, rejectUnauthorized: this.#o.rejectUnauthorized, timeoutMs: 20_000 };
    if (!target) {
      await rejectRendezvous(cmd.address, 404, `No WebSocket target is configured for '${this.path}'`, common).catch(() => undefined);
      return;
    }
    let local;
    try {
      local = await target.open(protocol);
    } catch (err) {
      this.#log.info({ err: (err as Error).message }, 'local target refused a relayed connection');
      await rejectRendezvous(cmd.address, 502, 'The local target is unreachable', common).catch(() => undefined);
      return;
    }
    let ep: WsEndpoint;
    try {
      ep = await this.#rendezvous(cmd.address, 'messages', protocol);
    } catch (err) {
      this.#log.info({ err: (err as Error).message }, 'accept rendezvous failed');
      local.destroy();
      return;
    }
    this.#active.add(local);
    ep.on('closed', () => this.#active.delete(local));
    local.pipe(ep, this.#log.child({ connId: cmd.id }));
    ep.start();
  }

  #rendezvous(address: string, mode: 'frames' | 'messages', protocol?: string): Promise<WsEndpoint> {
    return openRendezvous(address, {
      mode,
      protocol,
      ca: this.#o.ca,
      rejectUnauthorized: this.#o.rejectUnauthorized,
      timeoutMs: 20_000,
      maxFramePayloadBytes: this.#o.maxFramePayloadBytes,
    });
  }
}

function headerOf(headers: Record<string, string>, name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

function errorResponse(err: unknown): LocalResponse {
  const e = err instanceof RelayError ? err : new RelayError('RELAY_ERR_INTERNAL', String(err));
  const status = e.httpStatus ?? 502;
  const body = new PassThrough();
  body.end(JSON.stringify({ error: { code: e.code, message: e.message } }));
  return {
    statusCode: status,
    statusMessage: STATUS_CODES[status] ?? 'Bad Gateway',
    headers: { 'content-type': 'application/json; charset=utf-8', 'x-relaybridge-error': e.code },
    body,
  };
}
