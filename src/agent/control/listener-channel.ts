/**
 * One listener control channel from the agent to the relay, with an explicit state machine:
 *
 *   IDLE → CONNECTING → READY → (BACKOFF → CONNECTING)* → CLOSED
 *
 * Capped exponential backoff with jitter (reset on READY), forever until stop(): every failure
 * (relay down or restarting, DNS, TLS, a refused credential) schedules the next attempt; a
 * refused credential (401/403) uses the longer `authMaxMs` cap. A ping heartbeat terminates a
 * silent connection (at once after the process was frozen), and the token is renewed
 * (`renewToken`) before expiry. Each `request` is answered through the service proxy; each
 * `accept` is piped to the stream target.
 *
 * One bad message costs only its own request: a command that fails validation but names its
 * request id is answered with an error response (400, or 431 for too many headers), a failing
 * proxy becomes an error response, and a frame that is not a command at all is dropped and
 * logged. None of them closes the channel.
 */
import { EventEmitter } from 'node:events';
import { PassThrough, type Duplex, type Readable } from 'node:stream';
import WebSocket from 'ws';
import { Backoff } from '../../core/backoff';
import type { Clock, TimerHandle } from '../../core/clock';
import { RelayError, toRelayError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import {
  CONTROL_BODY_HEADER,
  InvalidCommandError,
  BINARY_CARRIER,
  NET_TCP_SESSION,
  SESSION_ENCODING_HEADER,
  SESSION_ENCODINGS_HEADER,
  SESSION_TO_HEADER,
  SESSION_KIND_HEADER,
  SESSION_OFFER_HEADER,
  SESSION_TARGET_HEADER,
  SessionCloseCode,
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
import type { ServiceProxy, ServiceSession, SessionTarget } from '../proxies/service-proxy';
import type { StreamTarget } from '../proxies/stream-proxy';
import { FailureKind, networkFailure, readRefusal, type ConnectFailure } from './connect-failure';
import { errorResponse, headerOf, markOneWayAck, streamResponse } from './responses';
import { StateMachine } from '../../core/state-machine';
import { ChannelState, TRANSITIONS, type ChannelStatus, type StateDetail } from './channel-state';
import type { ProxyAgent } from '../../transport/proxy-agent';

export { ChannelState, type ChannelStatus, type StateDetail } from './channel-state';

export interface ListenerChannelOptions {
  relayWsBase: string;
  /**
   * More relay nodes of the same namespace (ws(s)://host[:port]): after a failed or lost
   * connection the channel tries the next one, in turn, so listeners re-home when a node goes.
   */
  fallbackRelayWsBases?: readonly string[];
  path: string;
  listenerId: string;
  tokenProvider: TokenProvider;
  tokenTtlSeconds: number;
  renewBeforeSeconds: number;
  heartbeatIntervalMs: number;
  backoff: Backoff;
  /** Cap of the backoff after the relay refused the credential (401/403), ms. Default backoff.maxMs. */
  authMaxMs?: number;
  maxControlMessageBytes: number;
  controlBodyThresholdBytes: number;
  /** Larger control-channel bodies offered to a relaybridge relay (0: no offer). */
  offerControlBodyBytes: number;
  /** User-Agent of the control channel (the relay's status page shows it). */
  userAgent?: string;
  /** An HTTP proxy's agent (CONNECT) for the control channel and every rendezvous. */
  proxyAgent?: ProxyAgent;
  /** A relayed call is over on this side (the agent's metrics). */
  onCall?: (status: number, ms: number) => void;
  maxFramePayloadBytes: number;
  ca?: string;
  rejectUnauthorized: boolean;
  /** The service proxy for relayed HTTP requests (http, module or ipc target). */
  http?: ServiceProxy;
  /** A target that holds a service session per relayed net.tcp client session (nettcp); offered to the relay. */
  sessions?: SessionTarget;
  stream?: StreamTarget;
  clock: Clock;
  logger: Logger;
}

export interface ListenerChannelEvents {
  state: [from: ChannelState, to: ChannelState, detail: StateDetail];
}

export class ListenerChannel extends EventEmitter<ListenerChannelEvents> {
  readonly path: string;
  readonly listenerId: string;
  readonly #o: ListenerChannelOptions;
  readonly #log: Logger;
  readonly #machine = new StateMachine<ChannelState>('listener channel', ChannelState.Idle, TRANSITIONS);
  #ws: WebSocket | undefined;
  /** Per control-channel connection: its socket and the body size agreed with the relay. */
  readonly #wsLinks = new WeakMap<WebSocket, { socket: Duplex; controlBodyLimit: number }>();
  #timer: TimerHandle | undefined;
  #heartbeat: TimerHandle | undefined;
  #renewal: TimerHandle | undefined;
  #pongDeadline: TimerHandle | undefined;
  #awaitingPong = false;
  /** The request whose body the next binary message is, or `skip` for a refused request's body. */
  #pendingBody: RequestCommand | 'skip' | undefined;
  #active = new Set<{ destroy(): void }>();
  /** Calls being answered (a drain on stop waits for them). */
  readonly #inFlight = new Set<Promise<void>>();
  #since: number;
  #lastError: (ConnectFailure & { at: number }) | undefined;
  #nextAttemptAt: number | undefined;
  #stopped: Promise<void> | undefined;
  /** Which relay node (relayWsBase, then the fallbacks) the next connection dials. */
  #relayIndex = 0;

  constructor(options: ListenerChannelOptions) {
    super();
    this.#o = options;
    this.path = options.path;
    this.listenerId = options.listenerId;
    this.#log = options.logger;
    this.#since = options.clock.now();
  }

  get state(): ChannelState {
    return this.#machine.state;
  }

  /** State, since when, attempts and the last failure (for /$health). */
  status(): ChannelStatus {
    const iso = (ms: number) => new Date(ms).toISOString();
    const st: ChannelStatus = {
      path: this.path,
      listenerId: this.listenerId,
      state: this.#machine.state,
      since: iso(this.#since),
      attempt: this.#o.backoff.attempt,
      inFlight: this.#inFlight.size,
    };
    if (this.#machine.state === ChannelState.Backoff && this.#nextAttemptAt !== undefined) st.nextAttemptAt = iso(this.#nextAttemptAt);
    if (this.#lastError) st.lastError = { ...this.#lastError, at: iso(this.#lastError.at) };
    return st;
  }

  start(): void {
    if (this.#machine.state === ChannelState.Idle) this.#connect();
  }

  /**
   * Stops for good: no more reconnects; calls in flight get up to `drainMs` to finish (new
   * requests meanwhile are answered 503), then the channel closes with 1000 and relayed
   * WebSocket connections are closed. Resolves once the socket is closed (at most ~1 s after the
   * drain). Calling it again returns the same promise.
   */
  stop(drainMs = 0): Promise<void> {
    if (this.#stopped) return this.#stopped;
    if (this.#machine.state !== ChannelState.Closed) this.#transition(ChannelState.Closed, { reason: 'stopped' });
    this.#clearTimers();
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stopped = this.#closeAfterDrain(drainMs);
    return this.#stopped;
  }

  async #closeAfterDrain(drainMs: number): Promise<void> {
    const ws = this.#ws;
    const clock = this.#o.clock;
    if (ws && ws.readyState === ws.OPEN && this.#inFlight.size > 0 && drainMs > 0) {
      this.#log.info({ inFlight: this.#inFlight.size, drainMs }, 'stopping: letting calls in flight finish');
      let timer: TimerHandle | undefined;
      await Promise.race([
        Promise.allSettled([...this.#inFlight]),
        new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, drainMs))),
      ]);
      clock.clearTimeout(timer);
    }
    for (const a of this.#active) a.destroy();
    this.#ws = undefined;
    if (!ws || ws.readyState === ws.CLOSED) return;
    if (ws.readyState === ws.CONNECTING) {
      ws.terminate();
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = clock.setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1000);
      ws.once('close', () => {
        clock.clearTimeout(timer);
        resolve();
      });
      ws.close(1000, 'agent stopping');
    });
  }

  #transition(to: ChannelState, detail: StateDetail = {}): void {
    const from = this.#machine.to(to);
    this.#since = this.#o.clock.now();
    this.#log.debug({ from, to, ...detail }, 'state');
    this.emit('state', from, to, detail);
  }

  async #connect(): Promise<void> {
    this.#transition(ChannelState.Connecting);
    const o = this.#o;
    const audience = `${this.#relayWsBase.replace(/^ws/i, 'http')}/${o.path}`;
    let token: string;
    try {
      token = await o.tokenProvider(audience, o.tokenTtlSeconds);
    } catch (err) {
      return this.#retry({ kind: FailureKind.Token, reason: `token provider failed: ${(err as Error).message}` });
    }
    if (this.#machine.state !== ChannelState.Connecting) return;
    const url = `${this.#relayWsBase}/$hc/${o.path.split('/').map(encodeURIComponent).join('/')}?sb-hc-action=listen&sb-hc-id=${encodeURIComponent(this.listenerId)}`;
    const headers: Record<string, string> = { ServiceBusAuthorization: token };
    if (o.userAgent) headers['User-Agent'] = o.userAgent;
    if (o.offerControlBodyBytes > 0) headers[CONTROL_BODY_HEADER] = String(o.offerControlBodyBytes);
    // A relaybridge relay then carries each net.tcp client session on a WebSocket of its own.
    if (o.sessions) headers[SESSION_OFFER_HEADER] = NET_TCP_SESSION;
    const ws = new WebSocket(url, {
      headers,
      perMessageDeflate: false,
      maxPayload: o.maxControlMessageBytes,
      handshakeTimeout: 30_000,
      ca: o.ca,
      rejectUnauthorized: o.rejectUnauthorized,
      ...(o.proxyAgent ? { agent: o.proxyAgent.agent } : {}),
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
    ws.on('unexpected-response', (req, res) => {
      // The proxy's own refusal of the tunnel (403, 407): a network failure, retried as one.
      const refused = o.proxyAgent?.refusal(req);
      if (refused) {
        res.resume();
        ws.terminate();
        if (ws === this.#ws) this.#retry({ kind: FailureKind.Network, reason: refused, cause: 'EPROXY' });
        return;
      }
      // Read the relay's reason (bounded), then give up on this handshake and retry.
      void readRefusal(res).then((failure) => {
        if (ws !== this.#ws) return;
        ws.terminate();
        this.#retry(failure);
      });
    });
    ws.on('message', (data, isBinary) => this.#onMessage(ws, data as Buffer, isBinary));
    ws.on('pong', () => {
      this.#awaitingPong = false;
      this.#o.clock.clearTimeout(this.#pongDeadline);
    });
    ws.on('close', (code, reason) => {
      if (ws !== this.#ws) return;
      this.#clearTimers();
      this.#retry({ kind: FailureKind.Lost, reason: `control channel closed: ${code} ${reason.toString()}`.trim(), closeCode: code });
    });
    ws.on('error', (err) => {
      this.#log.debug({ err: err.message }, 'control channel error');
      if (ws === this.#ws && ws.readyState !== ws.OPEN) this.#retry(networkFailure(err));
    });
  }

  #onOpen(ws: WebSocket): void {
    if (this.#machine.state !== ChannelState.Connecting || ws !== this.#ws) return;
    const attempts = this.#o.backoff.attempt;
    this.#o.backoff.reset();
    this.#transition(ChannelState.Ready);
    if (attempts > 0) this.#log.info({ attempts }, 'listening on the relay again');
    else this.#log.info('listening on the relay');
    this.#awaitingPong = false;
    const clock = this.#o.clock;
    const interval = this.#o.heartbeatIntervalMs;
    let lastTick = clock.now();
    this.#heartbeat = clock.setInterval(() => {
      const now = clock.now();
      const gap = now - lastTick;
      lastTick = now;
      if (this.#awaitingPong) {
        this.#log.info('relay missed a heartbeat; reconnecting');
        ws.terminate();
        return;
      }
      this.#awaitingPong = true;
      ws.ping();
      // The timer fired far too late: this process was frozen (SIGSTOP, a suspended VM), and the
      // relay has most likely dropped the channel. Check it now instead of one interval later.
      if (gap > 2 * interval) {
        this.#log.info({ gapMs: gap }, 'the agent was paused; checking the channel');
        this.#pongDeadline = clock.setTimeout(() => {
          if (this.#awaitingPong && ws === this.#ws) {
            this.#log.info('no pong after a pause; reconnecting');
            ws.terminate();
          }
        }, Math.min(interval, PAUSE_PONG_TIMEOUT_MS));
      }
    }, interval);
    this.#scheduleRenewal(ws);
  }

  #scheduleRenewal(ws: WebSocket): void {
    const o = this.#o;
    const ms = (o.tokenTtlSeconds - o.renewBeforeSeconds) * 1000;
    this.#renewal = o.clock.setTimeout(async () => {
      try {
        const token = await o.tokenProvider(`${this.#relayWsBase.replace(/^ws/i, 'http')}/${o.path}`, o.tokenTtlSeconds);
        if (ws.readyState === ws.OPEN) ws.send(serializeRenewToken(token));
        this.#log.debug('token renewed');
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'token renewal failed');
      }
      if (ws === this.#ws && ws.readyState === ws.OPEN) this.#scheduleRenewal(ws);
    }, ms);
  }

  /** The relay node this channel dials now: relayWsBase, or one of the fallbacks in turn. */
  get #relayWsBase(): string {
    const all = [this.#o.relayWsBase, ...(this.#o.fallbackRelayWsBases ?? [])];
    return all[this.#relayIndex % all.length]!;
  }

  #retry(failure: ConnectFailure): void {
    if (this.#machine.state === ChannelState.Closed || this.#machine.state === ChannelState.Backoff) return;
    // Several relay nodes: the next attempt goes to the next one.
    if (this.#o.fallbackRelayWsBases?.length) this.#relayIndex++;
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws && ws.readyState === ws.OPEN) ws.terminate();
    this.#clearTimers();
    this.#pendingBody = undefined;
    const clock = this.#o.clock;
    const auth = failure.kind === FailureKind.Auth;
    const delayMs = this.#o.backoff.next(auth ? (this.#o.authMaxMs ?? this.#o.backoff.maxMs) : undefined);
    const attempt = this.#o.backoff.attempt;
    this.#lastError = { ...failure, at: clock.now() };
    this.#nextAttemptAt = clock.now() + delayMs;
    this.#transition(ChannelState.Backoff, { reason: failure.reason, delayMs, kind: failure.kind, attempt });
    const fields = { kind: failure.kind, status: failure.status, cause: failure.cause, closeCode: failure.closeCode, reason: failure.reason, attempt, delayMs };
    // A refused credential needs an operator: error (the growing delay, up to authMaxMs, keeps
    // it from flooding the log). Everything else heals by itself: warn.
    if (auth) this.#log.error(fields, 'reconnecting after backoff');
    else this.#log.warn(fields, 'reconnecting after backoff');
    this.#timer = clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#machine.state === ChannelState.Backoff) void this.#connect();
    }, delayMs);
  }

  #clearTimers(): void {
    this.#o.clock.clearInterval(this.#heartbeat);
    this.#o.clock.clearTimeout(this.#renewal);
    this.#o.clock.clearTimeout(this.#pongDeadline);
    this.#heartbeat = undefined;
    this.#renewal = undefined;
    this.#pongDeadline = undefined;
  }

  /** Keeps a call's promise until it settles (stop() drains them); its failure is logged, never thrown. */
  #track(work: Promise<unknown>, what: string): void {
    const p = work.then(
      () => undefined,
      (err: unknown) => this.#log.warn({ err: (err as Error)?.message ?? String(err) }, `${what} failed`),
    );
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
  }

  #onMessage(ws: WebSocket, data: Buffer, isBinary: boolean): void {
    try {
      this.#dispatch(ws, data, isBinary);
    } catch (err) {
      // A bug in handling one message must not take the channel (or the process) down.
      this.#log.error({ err: (err as Error)?.message ?? String(err) }, 'failed to handle a control message');
    }
  }

  #dispatch(ws: WebSocket, data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      const req = this.#pendingBody;
      this.#pendingBody = undefined;
      if (req === undefined) this.#log.debug({ bytes: data.length }, 'ignoring a binary message no request announced');
      else if (req !== 'skip') this.#handleRequest(ws, req, data);
      return;
    }
    // A request that announced a body but was followed by text: that body never came.
    if (this.#pendingBody !== undefined && this.#pendingBody !== 'skip') {
      const lost = this.#pendingBody;
      this.#pendingBody = undefined;
      this.#reply(ws, lost, errorResponse(new RelayError('RELAY_ERR_PROTOCOL_UNEXPECTED_FRAME', 'the request body did not follow its request', { httpStatus: 400 })));
    }
    this.#pendingBody = undefined;
    let msg;
    try {
      msg = parseServiceMessage(data.toString('utf8'));
    } catch (err) {
      this.#onInvalidCommand(ws, err);
      return;
    }
    if (msg.type === 'accept') this.#track(this.#handleAccept(msg), 'relayed connection');
    else if (msg.type === 'request') {
      if (this.#machine.state === ChannelState.Closed) {
        // Stopping: the relay has not seen our close yet. Fail fast; the caller may retry elsewhere.
        if (msg.body) this.#pendingBody = 'skip';
        if (msg.method === undefined) return;
        this.#reply(ws, msg, errorResponse(new RelayError('RELAY_ERR_AGENT_CLOSED', 'the agent is stopping', { httpStatus: 503 })));
      } else if (msg.method === undefined) this.#track(this.#handleRendezvousRequest(ws, msg), 'rendezvous request');
      else if (msg.body) this.#pendingBody = msg;
      else this.#handleRequest(ws, msg, undefined);
    } else this.#log.debug({ command: msg.name }, 'ignoring unknown relay command');
  }

  /**
   * A control message that did not validate. One that names its request is answered with an
   * error (its body, if announced, skipped); one that names an accept is rejected on its
   * rendezvous address; anything else is dropped. The channel stays up in every case.
   */
  #onInvalidCommand(ws: WebSocket, err: unknown): void {
    const e = toRelayError(err);
    if (!(err instanceof InvalidCommandError)) {
      this.#log.warn({ code: e.code, err: e.message }, 'dropped an invalid message from the relay');
      return;
    }
    this.#log.warn({ code: e.code, err: e.message, requestId: err.id, command: err.command }, 'refused an invalid command from the relay');
    if (err.command === 'accept') {
      const address = err.address;
      if (!address) return;
      const common = this.#dial;
      this.#track(rejectRendezvous(address, err.httpStatus ?? 400, e.message, common), 'reject of an invalid accept');
      return;
    }
    if (err.body === true) this.#pendingBody = 'skip';
    this.#reply(ws, { type: 'request', id: err.id, address: err.address ?? '' }, errorResponse(err));
  }

  /** Sends a response for `req` (tracked like any call). */
  #reply(ws: WebSocket, req: RequestCommand, res: LocalResponse): void {
    this.#track(this.#respond(ws, req, res), 'response');
  }

  /** A request that arrived on the control channel (body ≤ 64 KiB, already here). */
  #handleRequest(ws: WebSocket, req: RequestCommand, body: Buffer | undefined): void {
    this.#track(
      this.#callLocal(req, body).then(
        (res) => this.#respond(ws, req, res),
        (err: unknown) => this.#respond(ws, req, errorResponse(err)),
      ),
      'relayed request',
    );
  }

  /**
   * The call to the local service, and its `call` line: under the relay's id for the call (the
   * relay's access line and the caller's Relaybridge-Correlation-Id name the same id), with the
   * status the service answered and the time to its answer.
   */
  async #callLocal(req: RequestCommand, body: Readable | Buffer | undefined): Promise<LocalResponse> {
    const proxy = this.#o.http;
    const started = this.#o.clock.now();
    const method = req.method ?? 'GET';
    const target = (req.requestTarget ?? `/${this.path}`).split('?')[0]!;
    try {
      if (!proxy) throw new RelayError('RELAY_ERR_TARGET_UNREACHABLE', `path '${this.path}' has no HTTP target`);
      const res = await proxy.call({ id: req.id, method, requestTarget: req.requestTarget ?? `/${this.path}`, headers: req.requestHeaders ?? {}, body, remoteAddress: req.remoteEndpoint?.address });
      const code = res.headers['x-relaybridge-error'];
      const ms = this.#o.clock.now() - started;
      this.#log.info({ id: req.id, method, target, status: res.statusCode, code, ms: Math.round(ms) }, 'call');
      this.#o.onCall?.(res.statusCode, ms);
      return res;
    } catch (err) {
      const e = toRelayError(err);
      const ms = this.#o.clock.now() - started;
      this.#log.info({ id: req.id, method, target, status: e.httpStatus ?? 502, code: e.code, ms: Math.round(ms) }, 'call');
      this.#o.onCall?.(e.httpStatus ?? 502, ms);
      throw err;
    }
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
    let failed: Error | undefined;
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
      body.once('error', (err) => {
        failed = err;
        resolve(false);
      });
    });
    // The local body broke off: never send what arrived as a complete response.
    if (failed) return this.#respond(ws, req, errorResponse(new RelayError('RELAY_ERR_TARGET_BAD_RESPONSE', 'The service behind this path broke off its response.', { cause: failed })));
    if (!overflow) {
      if (ws.readyState !== ws.OPEN) return;
      const whole = Buffer.concat(buffered, size);
      const socket = link?.socket;
      socket?.cork();
      const responseHeaders = whole.length === 0 ? markOneWayAck(head.statusCode, head.responseHeaders) : head.responseHeaders;
      ws.send(serializeResponse({ requestId: head.requestId, statusCode: head.statusCode, statusDescription: head.statusDescription, responseHeaders, body: whole.length > 0 }));
      if (whole.length > 0) ws.send(whole, { binary: true });
      socket?.uncork();
      return;
    }
    let ep: WsEndpoint;
    try {
      ep = await this.#rendezvous(req.address, 'messages');
    } catch (err) {
      body.destroy();
      // The caller would wait for the relay's timeout: answer 502 on the control channel now.
      return this.#respond(ws, req, errorResponse(this.#unreachable(req.address, err, 'response')));
    }
    streamResponse(ep, head, buffered, body);
  }

  /** Address-only request: fetch it over rendezvous, stream the body in and the response out. */
  async #handleRendezvousRequest(ws: WebSocket, cmd: RequestCommand): Promise<void> {
    let ep: WsEndpoint;
    try {
      ep = await this.#rendezvous(cmd.address, 'messages');
    } catch (err) {
      // The request itself is out of reach, but its id is not: the relay takes a control-channel
      // response for it (the request went out on this channel), so the caller gets 502 now
      // instead of the relay's timeout.
      return this.#respond(ws, cmd, errorResponse(this.#unreachable(cmd.address, err, 'request')));
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
        if (err instanceof InvalidCommandError && err.command === 'request') {
          // It names its request: that one gets the error, on its own rendezvous.
          const r = errorResponse(err);
          bodyStream.resume(); // its body, if any, is read and dropped
          streamResponse(ep, { requestId: err.id, statusCode: r.statusCode, statusDescription: r.statusMessage, responseHeaders: r.headers }, [], r.body);
        } else ep.close(1008, 'invalid request');
        return;
      }
      const head = { requestId: req.id, statusCode: 0, responseHeaders: {} as Record<string, string> };
      if (!req.body) bodyStream.end();
      this.#callLocal(req, req.body ? bodyStream : undefined).then(
        (res) =>
          streamResponse(
            ep,
            // Over a rendezvous the body is streamed: 202 and 204 are known empty before it.
            { ...head, statusCode: res.statusCode, statusDescription: res.statusMessage || undefined, responseHeaders: res.statusCode === 202 || res.statusCode === 204 ? markOneWayAck(res.statusCode, res.headers) : res.headers },
            [],
            res.body,
          ),
        (err: unknown) => {
          const r = errorResponse(err);
          streamResponse(ep, { ...head, statusCode: r.statusCode, statusDescription: r.statusMessage, responseHeaders: r.headers }, [], r.body);
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
    const closed = new Promise<void>((resolve) =>
      ep.on('closed', () => {
        if (!bodyStream.writableEnded) bodyStream.destroy();
        resolve();
      }),
    );
    ep.start();
    // In flight until its rendezvous closes (the response is out or the caller is gone).
    await closed;
  }

  async #handleAccept(cmd: AcceptCommand): Promise<void> {
    if (headerOf(cmd.connectHeaders, SESSION_KIND_HEADER) === NET_TCP_SESSION) return this.#handleSession(cmd);
    const target = this.#o.stream;
    const offered = headerOf(cmd.connectHeaders, 'sec-websocket-protocol');
    const protocol = offered?.split(',')[0]?.trim() || undefined;
    const common = this.#dial;
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

  /**
   * A relayed net.tcp client session (protocol/hyco/session-carrier.ts): a service session of its
   * own, then the carrier WebSocket; messages both ways until either side ends or fails, which
   * ends the other (End for an orderly end, a dropped connection for a failure).
   */
  async #handleSession(cmd: AcceptCommand): Promise<void> {
    const common = this.#dial;
    const log = this.#log.child({ connId: cmd.id, client: cmd.remoteEndpoint?.address });
    const target = this.#o.sessions;
    if (!target) {
      await rejectRendezvous(cmd.address, 404, `No net.tcp session target is configured for '${this.path}'`, common).catch(() => undefined);
      return;
    }
    const binaryOffered = (headerOf(cmd.connectHeaders, SESSION_ENCODINGS_HEADER) ?? '')
      .split(',')
      .some((e) => e.trim().toLowerCase() === BINARY_CARRIER);
    let session: ServiceSession;
    try {
      session = await target.openSession({ binary: binaryOffered });
    } catch (err) {
      const busy = err instanceof RelayError && err.code === 'RELAY_ERR_TOO_BUSY';
      log.info({ err: (err as Error).message }, busy ? 'net.tcp session refused: too many sessions' : 'net.tcp service refused a session');
      await rejectRendezvous(cmd.address, busy ? 503 : 502, busy ? 'Too many sessions' : 'The net.tcp service is unreachable', common).catch(() => undefined);
      return;
    }
    let ep: WsEndpoint;
    try {
      const headers = session.encoding === 'binary' ? { [SESSION_ENCODING_HEADER]: BINARY_CARRIER, [SESSION_TO_HEADER]: session.address } : undefined;
      ep = await this.#rendezvous(cmd.address, 'messages', undefined, headers);
    } catch (err) {
      log.info({ err: (err as Error).message }, 'session rendezvous failed');
      session.abort();
      return;
    }
    log.info({ target: headerOf(cmd.connectHeaders, SESSION_TARGET_HEADER), encoding: session.encoding }, 'net.tcp session started');
    const handle = { destroy: () => ep.terminate() };
    this.#active.add(handle);
    let peerCode: number | undefined;
    let over = false;
    if (session.encoding === 'binary') {
      ep.on('binary', (payload) => session.send(payload));
      ep.on('text', () => ep.close(SessionCloseCode.Failed, 'text message on a binary carrier'));
      session.onMessage = (payload) => ep.sendBinary(payload);
    } else {
      ep.on('text', (text) => session.send(Buffer.from(text, 'utf8')));
      ep.on('binary', () => ep.close(SessionCloseCode.Failed, 'binary message on a text carrier'));
      session.onMessage = (xml) => ep.sendText(xml.toString('utf8'));
    }
    ep.on('closeFrame', (code) => (peerCode = code));
    session.onClosed = (orderly, reason) => {
      if (over) return;
      over = true;
      log.info({ orderly, reason }, 'net.tcp session ended by the service');
      ep.close(orderly ? SessionCloseCode.Ended : SessionCloseCode.ServiceUnavailable, (reason ?? '').slice(0, 120));
    };
    const closed = new Promise<void>((resolve) =>
      ep.on('closed', () => {
        this.#active.delete(handle);
        if (!over) {
          over = true;
          // The client's End: End to the service; anything else (client or relay gone): drop it.
          if (peerCode === SessionCloseCode.Ended) void session.end().catch(() => undefined);
          else session.abort();
          log.info({ code: peerCode }, 'net.tcp session ended by the client');
        }
        resolve();
      }),
    );
    ep.start();
    await closed;
  }

  /**
   * The error for a rendezvous the agent could not open, logged at warn (it is a configuration
   * problem, mostly a relay `publicUrl` the agent cannot reach). It names the address's host:port
   * only: the rest of the address (the rendezvous id) is a capability and stays out of messages.
   */
  #unreachable(address: string, err: unknown, what: 'request' | 'response'): RelayError {
    const where = rendezvousHostPort(address);
    const reason = err instanceof RelayError ? err.message : ((err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? String(err));
    this.#log.warn({ rendezvous: where, err: reason }, `could not open a ${what} rendezvous`);
    return new RelayError(
      'RELAY_ERR_RENDEZVOUS_UNREACHABLE',
      `The agent could not open the rendezvous connection to the relay at ${where} (${reason}); check the relay's publicUrl.`,
      { cause: err },
    );
  }

  #rendezvous(address: string, mode: 'frames' | 'messages', protocol?: string, headers?: Record<string, string>): Promise<WsEndpoint> {
    return openRendezvous(address, {
      ...this.#dial,
      mode,
      protocol,
      headers,
      // A session carrier's binary messages arrive whole (bounded like text ones).
      assembleBinary: headers !== undefined,
      maxFramePayloadBytes: this.#o.maxFramePayloadBytes,
    });
  }

  /** How every rendezvous is dialled (opened, or rejected): TLS trust, the proxy, the time allowed. */
  get #dial(): { ca?: string; rejectUnauthorized: boolean; timeoutMs: number; agent?: ProxyAgent['agent'] } {
    return { ca: this.#o.ca, rejectUnauthorized: this.#o.rejectUnauthorized, timeoutMs: 20_000, agent: this.#o.proxyAgent?.agent };
  }
}

/** Longest wait for a pong after the process was found paused, ms. */
const PAUSE_PONG_TIMEOUT_MS = 5000;

/** `host:port` of a rendezvous address (the scheme's default port when it names none). */
export function rendezvousHostPort(address: string): string {
  try {
    const url = new URL(address);
    const port = url.port || (/^(wss|https):$/i.test(url.protocol) ? '443' : '80');
    return `${url.hostname}:${port}`;
  } catch {
    return 'an invalid address';
  }
}
