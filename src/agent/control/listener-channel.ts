/**
 * One listener control channel from the agent to the relay, with an explicit state machine:
 *
 *   IDLE → CONNECTING → READY → (BACKOFF → CONNECTING)* → CLOSED
 *
 * Capped exponential backoff with jitter (reset on READY), forever until stop(): every failure
 * (relay down or restarting, DNS, TLS, a refused credential) schedules the next attempt; a
 * refused credential (401/403) uses the longer `authMaxMs` cap. A ping heartbeat terminates a
 * silent connection (at once after the process was frozen), and the token is renewed
 * (`renewToken`) before expiry. The channel only connects and hands over what the relay sends:
 * each `request` (with the body that follows it) and each `accept` goes to the serving side
 * (agent/serving: RequestServer, AcceptServer), with a ControlLink to answer on this connection.
 * It keeps those calls' promises, so stop() can let them finish.
 *
 * One bad message costs only its own request: a command that fails validation but names its
 * request id is answered with an error response (400, or 431 for too many headers), and a frame
 * that is not a command at all is dropped and logged. Neither closes the channel.
 */
import { EventEmitter } from 'node:events';
import { TurnWrites } from '../../transport/turn-writes';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { Backoff } from '../../core/backoff';
import type { Clock, TimerHandle } from '../../core/clock';
import { RelayError, toRelayError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import {
  CONTROL_BODY_HEADER,
  InvalidCommandError,
  NET_TCP_SESSION,
  SESSION_OFFER_HEADER,
  SOAP_BINARY_ENCODING,
  SOAP_BINARY_OFFER_HEADER,
  parseControlBodyOffer,
  parseServiceMessage,
  serializeRenewToken,
  serializeResponse,
  type RequestCommand,
} from '../../protocol/hyco';
import type { TokenProvider } from '../../auth/token-provider';
import type { RendezvousDialer } from '../rendezvous/rendezvous-client';
import type { AcceptServer } from '../serving/accept-server';
import type { ControlLink, RequestServer } from '../serving/request-server';
import { errorResponse, type LocalResponse } from '../serving/responses';
import { FailureKind, networkFailure, readRefusal, type ConnectFailure } from './connect-failure';
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
  ca?: string;
  rejectUnauthorized: boolean;
  /** What serves the requests and accepts this channel brings (agent/serving). */
  serving: ChannelServing;
  clock: Clock;
  logger: Logger;
}

/** The serving side of one channel (agent/serving): requests, accepts, and the dialer to refuse an accept with. */
export interface ChannelServing {
  readonly requests: Pick<RequestServer, 'handle' | 'handleRendezvous' | 'respond'>;
  readonly accepts: Pick<AcceptServer, 'accept' | 'closeAll'>;
  readonly dialer: Pick<RendezvousDialer, 'reject'>;
  /** The path has a net.tcp session target: the channel offers session carriers to the relay. */
  readonly offersSessions: boolean;
  /** The path takes SOAP calls as binary XML (protocol/hyco/binary-soap.ts): offered with x-relaybridge-soap-binary. */
  readonly offersSoapBinary?: boolean;
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
  /** Per control-channel connection: how responses go on it, with the body size agreed with the relay. */
  readonly #wsLinks = new WeakMap<WebSocket, ControlLink>();
  #timer: TimerHandle | undefined;
  #heartbeat: TimerHandle | undefined;
  #renewal: TimerHandle | undefined;
  #pongDeadline: TimerHandle | undefined;
  #awaitingPong = false;
  /** The request whose body the next binary message is, or `skip` for a refused request's body. */
  #pendingBody: RequestCommand | 'skip' | undefined;
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
    this.#o.serving.accepts.closeAll();
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
    if (o.serving.offersSessions) headers[SESSION_OFFER_HEADER] = NET_TCP_SESSION;
    if (o.serving.offersSoapBinary) headers[SOAP_BINARY_OFFER_HEADER] = SOAP_BINARY_ENCODING;
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
      const limit = accepted !== undefined && o.offerControlBodyBytes > 0 ? Math.min(accepted, o.offerControlBodyBytes) : o.controlBodyThresholdBytes;
      this.#wsLinks.set(ws, controlLink(ws, res.socket, limit, () => this.#inFlight.size > 1));
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
      else if (req !== 'skip') this.#track(this.#o.serving.requests.handle(this.#linkOf(ws), req, data), 'relayed request');
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
    if (msg.type === 'accept') this.#track(this.#o.serving.accepts.accept(msg), 'relayed connection');
    else if (msg.type === 'request') {
      if (this.#machine.state === ChannelState.Closed) {
        // Stopping: the relay has not seen our close yet. Fail fast; the caller may retry elsewhere.
        if (msg.body) this.#pendingBody = 'skip';
        if (msg.method === undefined) return;
        this.#reply(ws, msg, errorResponse(new RelayError('RELAY_ERR_AGENT_CLOSED', 'the agent is stopping', { httpStatus: 503 })));
      } else if (msg.method === undefined) this.#track(this.#o.serving.requests.handleRendezvous(this.#linkOf(ws), msg), 'rendezvous request');
      else if (msg.body) this.#pendingBody = msg;
      else this.#track(this.#o.serving.requests.handle(this.#linkOf(ws), msg, undefined), 'relayed request');
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
      this.#track(this.#o.serving.dialer.reject(address, err.httpStatus ?? 400, e.message), 'reject of an invalid accept');
      return;
    }
    if (err.body === true) this.#pendingBody = 'skip';
    this.#reply(ws, { type: 'request', id: err.id, address: err.address ?? '' }, errorResponse(err));
  }

  /** Sends a response for `req` (tracked like any call). */
  #reply(ws: WebSocket, req: RequestCommand, res: LocalResponse): void {
    this.#track(this.#o.serving.requests.respond(this.#linkOf(ws), req, res), 'response');
  }

  /** The serving side's view of a control connection: open or not, its inline body limit, one write per response. */
  #linkOf(ws: WebSocket): ControlLink {
    let link = this.#wsLinks.get(ws);
    if (!link) {
      link = controlLink(ws, undefined, this.#o.controlBodyThresholdBytes, () => false);
      this.#wsLinks.set(ws, link);
    }
    return link;
  }
}

/** A control connection as a ControlLink: a response and its body corked into one socket write. */
function controlLink(ws: WebSocket, socket: Duplex | undefined, controlBodyLimit: number, othersInFlight: () => boolean): ControlLink {
  const turn = socket ? new TurnWrites(socket) : undefined;
  return {
    get open() {
      return ws.readyState === ws.OPEN;
    },
    controlBodyLimit,
    sendResponse(head, body) {
      const send = (): void => {
        ws.send(serializeResponse(head));
        if (body.length > 0) ws.send(body, { binary: true });
      };
      if (turn) turn.write(send, othersInFlight());
      else send();
    },
  };
}

/** Longest wait for a pong after the process was found paused, ms. */
const PAUSE_PONG_TIMEOUT_MS = 5000;
