/**
 * The relay's side of one listener control channel (hybrid-connections.md §2).
 *
 * Outbound: `accept` and `request` JSON in text frames; a request body is exactly one binary
 * message right after its JSON (§2.4 rules 1–2). Each unit is written with consecutive
 * synchronous `ws.send` calls, so nothing can come between a request and its body.
 * Only valid JSON text (plus those bodies) is ever sent here (§2.4 rule 3).
 *
 * Inbound: `response` (+ one binary body message when body:true), `renewToken`, unknown
 * commands (ignored). Tolerated: a stray empty binary message after body:false (hyco-https),
 * pings and unsolicited pongs (.NET keepalive).
 */
import { TurnWrites } from '../../../transport/turn-writes';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { ProtocolError, RelayError } from '../../../core/errors';
import type { Clock, TimerHandle } from '../../../core/clock';
import type { Logger } from '../../../core/logger';
import { InvalidResponseError, parseListenerMessage, type ResponseCommand } from '../../../protocol/hyco';
import type { RouteListener } from '../../routing/pending-request';

export interface ControlChannelHooks {
  /** A response arrived (body whole, or undefined when body:false). */
  onResponse(channel: ControlChannel, response: ResponseCommand, body: Buffer | undefined): void;
  /** A response that names its request but is invalid: that request fails, the channel stays. */
  onInvalidResponse(channel: ControlChannel, requestId: string, err: ProtocolError): void;
  /** Validates a renewed token; returns its expiry (unix seconds) or throws AuthError. */
  renewToken(channel: ControlChannel, token: string): number;
  /** The channel is gone (closed, failed heartbeat, token expiry). */
  onClosed(channel: ControlChannel): void;
}

export interface ControlChannelOptions {
  listenerId: string;
  path: string;
  remoteAddress: string;
  /** When it connected (ISO 8601), and its User-Agent (our agent: relaybridge-agent/VERSION (NAME)). */
  connectedAt?: string;
  userAgent?: string;
  /** Host header the listener connected with: rendezvous addresses reuse it. */
  hostHeader?: string;
  /** Largest body sent on this channel: the protocol's threshold, or what a relaybridge agent negotiated. */
  controlBodyLimit: number;
  /** Session kinds the listener offered to carry (x-relaybridge-sessions); empty for other listeners. */
  sessionKinds?: readonly string[];
  /** The listener takes SOAP calls as binary XML (x-relaybridge-soap-binary, protocol/hyco/binary-soap.ts). */
  soapBinary?: boolean;
  tokenExpiresAt: number;
  tokenGraceSeconds: number;
  heartbeatIntervalMs: number;
  heartbeatMaxMissed: number;
  clock: Clock;
  logger: Logger;
}

export class ControlChannel implements RouteListener {
  readonly listenerId: string;
  readonly path: string;
  readonly remoteAddress: string;
  readonly connectedAt: string | undefined;
  readonly userAgent: string | undefined;
  readonly hostHeader: string | undefined;
  readonly controlBodyLimit: number;
  readonly sessionKinds: readonly string[];
  readonly soapBinary: boolean;
  readonly log: Logger;
  /** Requests routed to this channel and not answered yet (id set), for failover accounting. */
  readonly pending = new Set<string>();
  readonly #ws: WebSocket;
  readonly #hooks: ControlChannelHooks;
  readonly #opts: ControlChannelOptions;
  #awaitingBody: ResponseCommand | undefined;
  /** An invalid response announced a body: the next binary message is its, and is dropped. */
  #skipBody = false;
  #missed = 0;
  /** A heartbeat found the previous ping unanswered: no new calls until the listener speaks again. */
  #suspect = false;
  #heartbeat: TimerHandle | undefined;
  #expiry: TimerHandle | undefined;
  #closing = false;

  /** The upgraded socket under `ws`: a request and its body in one write, and a busy turn's requests together. */
  readonly #turn: TurnWrites | undefined;

  constructor(ws: WebSocket, hooks: ControlChannelHooks, options: ControlChannelOptions, socket?: Duplex) {
    this.#ws = ws;
    this.#turn = socket ? new TurnWrites(socket) : undefined;
    this.#hooks = hooks;
    this.#opts = options;
    this.listenerId = options.listenerId;
    this.path = options.path;
    this.remoteAddress = options.remoteAddress;
    this.connectedAt = options.connectedAt;
    this.userAgent = options.userAgent;
    this.hostHeader = options.hostHeader;
    this.controlBodyLimit = options.controlBodyLimit;
    this.sessionKinds = options.sessionKinds ?? [];
    this.soapBinary = options.soapBinary ?? false;
    this.log = options.logger;
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    ws.on('pong', () => this.#alive());
    ws.on('ping', () => this.#alive());
    ws.on('close', (code, reason) => this.#onClose(code, reason.toString()));
    ws.on('error', (err) => this.log.debug({ err: err.message }, 'control channel error'));
    this.#heartbeat = options.clock.setInterval(() => this.#beat(), options.heartbeatIntervalMs);
    this.#armExpiry(options.tokenExpiresAt);
  }

  /**
   * Routable: open, not closing, and no ping left unanswered for a whole heartbeat interval.
   * A frozen or partitioned listener stops getting new calls one interval after it went silent
   * and is terminated after heartbeatMaxMissed intervals.
   */
  get healthy(): boolean {
    return !this.#closing && !this.#suspect && this.#missed < this.#opts.heartbeatMaxMissed && this.#ws.readyState === this.#ws.OPEN;
  }

  /** Sends an `accept` (no body). Returns false when the channel cannot take it. */
  sendJson(json: string): boolean {
    if (!this.healthy) return false;
    this.#ws.send(json, { binary: false });
    return true;
  }

  /** Sends a `request` and, when given, its body as one binary message directly after it. */
  get bufferedBytes(): number {
    return this.#ws.bufferedAmount;
  }

  sendRequest(json: string, body: Buffer | undefined, _requestId?: string, othersInFlight = false): boolean {
    if (!this.healthy) return false;
    // One write for both frames: the listener wakes once per request, not once per frame.
    const send = (): void => {
      this.#ws.send(json, { binary: false });
      if (body !== undefined) this.#ws.send(body, { binary: true });
    };
    if (this.#turn) this.#turn.write(send, othersInFlight || this.pending.size > 0);
    else send();
    return true;
  }

  close(code: number, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.log.info({ code, reason }, 'closing control channel');
    this.#ws.close(code, reason.slice(0, 120));
    const t = this.#opts.clock.setTimeout(() => this.#ws.terminate(), 2000);
    void t;
  }

  #alive(): void {
    this.#missed = 0;
    if (this.#suspect) this.log.info('listener answered again; routable');
    this.#suspect = false;
  }

  #beat(): void {
    if (this.#missed > 0 && !this.#suspect) {
      this.#suspect = true;
      this.log.info({ missed: this.#missed }, 'listener missed a pong; no new calls until it answers');
    }
    if (this.#missed >= this.#opts.heartbeatMaxMissed) {
      this.log.info({ missed: this.#missed }, 'listener missed heartbeats; terminating');
      this.#closing = true;
      this.#ws.terminate();
      return;
    }
    this.#missed++;
    this.#ws.ping();
  }

  #armExpiry(expiresAt: number): void {
    this.#opts.clock.clearTimeout(this.#expiry);
    const ms = (expiresAt + this.#opts.tokenGraceSeconds) * 1000 - this.#opts.clock.now();
    // setTimeout overflows above 2^31-1 ms; tokens that far out are re-armed on renewal.
    this.#expiry = this.#opts.clock.setTimeout(() => this.close(1008, 'Token expired'), Math.max(0, Math.min(ms, 2 ** 31 - 1)));
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    this.#alive();
    try {
      if (isBinary) return this.#onBinary(data);
      if (this.#awaitingBody || this.#skipBody) {
        throw new ProtocolError('RELAY_ERR_PROTOCOL_UNEXPECTED_FRAME', 'a response body was expected, got a text message');
      }
      const msg = parseListenerMessage(data.toString('utf8'));
      switch (msg.type) {
        case 'response':
          if (msg.body) this.#awaitingBody = msg;
          else this.#hooks.onResponse(this, msg, undefined);
          return;
        case 'renewToken': {
          const expiresAt = this.#hooks.renewToken(this, msg.token);
          this.#armExpiry(expiresAt);
          this.log.debug({ expiresAt }, 'token renewed');
          return;
        }
        default:
          this.log.debug({ command: msg.name }, 'ignoring unknown listener command');
      }
    } catch (err) {
      if (err instanceof InvalidResponseError) return this.#onInvalidResponse(err);
      this.#fail(err);
    }
  }

  /** One bad response fails its request only; the body it announced is read and dropped. */
  #onInvalidResponse(err: InvalidResponseError): void {
    this.log.info({ requestId: err.requestId, code: err.code, err: err.message }, 'invalid response from the listener; failing that request only');
    if (err.body === true) this.#skipBody = true;
    this.#hooks.onInvalidResponse(this, err.requestId, err);
  }

  #onBinary(data: Buffer): void {
    const response = this.#awaitingBody;
    if (response) {
      this.#awaitingBody = undefined;
      this.#hooks.onResponse(this, response, data);
      return;
    }
    if (this.#skipBody) {
      this.#skipBody = false;
      return;
    }
    // hyco-https sends an empty binary frame after body:false (HEAD, 204, 304): drop it.
    if (data.length === 0) return;
    throw new ProtocolError('RELAY_ERR_PROTOCOL_UNEXPECTED_FRAME', 'binary message without a preceding response');
  }

  #fail(err: unknown): void {
    const e = err instanceof RelayError ? err : new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', String(err));
    const code = e.wsCloseCode ?? 1008;
    this.log.info({ code: e.code, err: e.message }, 'listener protocol error; closing its control channel');
    this.close(code, e.message);
  }

  #onClose(code: number, reason: string): void {
    this.#closing = true;
    this.#opts.clock.clearInterval(this.#heartbeat);
    this.#opts.clock.clearTimeout(this.#expiry);
    this.log.info({ code, reason }, 'control channel closed');
    this.#hooks.onClosed(this);
  }
}
