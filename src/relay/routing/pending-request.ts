/**
 * One relayed HTTP request, from the sender's request to the end of the listener's response
 * (hybrid-connections.md §2.1–§2.4, §3.2).
 *
 * Route: small bodies (Content-Length ≤ 64 KiB, headers ≤ 32 KiB) travel on the control channel;
 * anything else uses the address-only form, and the full request plus a streamed body go over
 * the rendezvous socket the listener opens. The response comes back on the control channel,
 * or on a rendezvous socket (the listener decides: hyco-https opens one for responses over
 * 64 KiB even for control-channel requests). Streamed bodies never sit whole in memory:
 * back-pressure pauses the producing socket.
 */
import type { Readable } from 'node:stream';
import { ERROR_CODES, RelayError, TimeoutError, toRelayError, type ErrorCode } from '../../core/errors';
import type { Clock, TimerHandle } from '../../core/clock';
import type { Logger } from '../../core/logger';
import { parseListenerMessage, reasonPhrase, serializeRequest, type ResponseCommand } from '../../protocol/hyco';
import type { WsEndpoint } from '../../transport/ws-endpoint';
import { senderResponseHeaders } from '../http/http-headers';
import { httpFormOf } from '../http/json-error';
import type { RegisteredListener } from './listener-registry';
import type { ResponseHandler } from './response-handler';
import { pump } from '../../core/pump';

/** What the router needs from a listener's control channel (ControlChannel; a fake in unit tests). */
export interface RouteListener extends RegisteredListener {
  readonly remoteAddress: string;
  /** When it connected (ISO 8601) and its User-Agent, when known (the status page). */
  readonly connectedAt?: string;
  readonly userAgent?: string;
  /** The relay node holding its control channel (another node's listener: relay/cluster). */
  readonly nodeId?: string;
  /** Host header the listener connected with: rendezvous addresses reuse it. */
  readonly hostHeader: string | undefined;
  /**
   * ws(s)://host[:port] of rendezvous addresses for this listener, when not derived from its
   * Host header: a listener on another node (relay/cluster) dials this node.
   */
  readonly rendezvousBase?: string;
  /** True for a listener connected to another node (relay/cluster), routable from here. */
  readonly remote?: boolean;
  /** Largest body this channel takes inline with a request. */
  readonly controlBodyLimit: number;
  /** Session kinds the listener can carry (protocol/hyco/session-carrier.ts); empty for other listeners. */
  readonly sessionKinds: readonly string[];
  /** Takes SOAP calls as binary XML (protocol/hyco/binary-soap.ts): a relaybridge agent's `nettcp` path. */
  readonly soapBinary?: boolean;
  /** Bytes written to the channel that its socket has not sent yet (a slow listener's backlog). */
  readonly bufferedBytes?: number;
  /** Ids of requests routed to this channel and not answered yet. */
  readonly pending: Set<string>;
  readonly log: Logger;
  /**
   * Sends a `request` and, when given, its body right after it; false when the channel cannot
   * take it. `requestId` is the request's id (a listener on another node needs it to route the
   * answer back without parsing the command). `othersInFlight`: calls this channel's `pending`
   * set does not hold are under way on it (requests forwarded by other nodes: relay/cluster), so
   * the channel may coalesce this turn's writes (transport/turn-writes.ts).
   */
  sendRequest(json: string, body: Buffer | undefined, requestId?: string, othersInFlight?: boolean): boolean;
  /** Sends a bodyless command (`accept`, address-only `request` with its `requestId`); false when the channel cannot take it. */
  sendJson(json: string, requestId?: string): boolean;
  close(code: number, reason: string): void;
}

/** A streamed request body: the sender's IncomingMessage, or any Readable. */
export type RequestBodySource = Readable & { readonly complete?: boolean };

/**
 * One request to relay, as an endpoint hands it to the router: never changed afterwards.
 * `body` is the whole body when the endpoint read it (it may go on the control channel), or a
 * stream, which goes over the rendezvous socket the listener opens.
 */
export interface RelayedRequest {
  /**
   * The caller's correlation id (http/access-log.ts): the call's id towards the listener, so the
   * relay's and the agent's lines and the caller's fault name one id. Default: a new id.
   */
  readonly id?: string;
  /** The hybrid connection (entity) path the call is for. */
  readonly path: string;
  readonly method: string;
  /** Path and query for the listener (relay query parameters removed). */
  readonly target: string;
  /** Headers for the listener (listenerRequestHeaders). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | RequestBodySource;
  readonly remoteEndpoint?: { readonly address: string; readonly port: number };
  /** This relay's name in the response's `Via`. */
  readonly viaHost: string;
  /** Microsoft-Relay-AllowedListeners / DisallowedListeners pinning. */
  readonly allowedListeners?: readonly string[];
  readonly disallowedListeners?: readonly string[];
  /** The `operation` metrics label (the HTTP method, `GET ?wsdl`, a SOAP action). */
  readonly operation: string;
  /**
   * The same SOAP 1.2 call as binary XML (protocol/hyco/binary-soap.ts), for a listener that takes
   * it (RouteListener.soapBinary) instead of `headers` and `body`; made when first asked for.
   */
  readonly binary?: () => RequestForm;
}

/** What a request carries to the listener besides its target and method: headers and a whole body. */
export interface RequestForm {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** The headers and body `listener` gets: the binary form when both sides have it, else the request's own. */
export function requestFormFor(r: RelayedRequest, listener: Pick<RouteListener, 'soapBinary'>): { readonly headers: Readonly<Record<string, string>>; readonly body: Buffer | RequestBodySource } {
  return r.binary !== undefined && listener.soapBinary === true ? r.binary() : r;
}

/**
 * A SOAP call, whose caller can read nothing but a SOAP message back: SOAP 1.2's content type, or
 * text/xml with a SOAPAction header (SOAP 1.1; text/xml alone is also plain XML over REST).
 */
function isSoapCall(method: string, headers: Readonly<Record<string, string>>): boolean {
  if (method.toUpperCase() !== 'POST') return false;
  const ct = headerOf(headers, 'content-type') ?? '';
  if (/^\s*application\/soap\+xml\s*(;|$)/i.test(ct)) return true;
  return /^\s*text\/xml\s*(;|$)/i.test(ct) && headerOf(headers, 'soapaction') !== undefined;
}
/** A response a SOAP caller can read: SOAP 1.1/1.2, MTOM, binary SOAP (protocol/hyco/binary-soap.ts), or other XML (the envelope decides). */
const SOAP_RESPONSE_TYPE = /^\s*(text\/xml|application\/soap\+xml|application\/soap\+msbin1|multipart\/related|application\/(?:[\w.+-]+\+)?xml)\s*(;|$)/i;

/**
 * A listener answered a SOAP call with something that is not a SOAP message (an empty error
 * status such as Mono's 415, HTML, JSON). The caller gets a fault naming `correlationId`; what
 * the listener sent is logged under it.
 */
export class ListenerAnswerError extends RelayError {
  readonly correlationId: string;
  constructor(message: string, correlationId: string) {
    super('RELAY_ERR_TARGET_BAD_RESPONSE', message);
    this.correlationId = correlationId;
  }
}

/** The `request` command that carries a request whole on a control channel (its body, if any, follows it). */
export function inlineRequestJson(
  id: string,
  address: string,
  r: Pick<RelayedRequest, 'target' | 'method' | 'remoteEndpoint'> & { readonly headers: Readonly<Record<string, string>> },
  hasBody: boolean,
): string {
  return serializeRequest({
    id,
    address,
    requestTarget: r.target,
    method: r.method,
    remoteEndpoint: r.remoteEndpoint,
    requestHeaders: r.headers as Record<string, string>,
    body: hasBody,
  });
}

/** Largest binary fragment written when a buffered body goes over rendezvous, bytes. */
const BODY_FRAGMENT_BYTES = 64 * 1024;

export interface PendingRequestOptions {
  requestTimeoutMs: number;
  bodyIdleTimeoutMs: number;
  clock: Clock;
  logger: Logger;
  /** Called once, with the status the caller saw, when the call is over. */
  onDone: (p: PendingRequest, status: number) => void;
}

/**
 * One relayed request, from its dispatch to the end of the listener's response. It sends the
 * request on the channel the router picked, takes the response from that channel or from the
 * rendezvous socket, and drives the ResponseHandler. Timeouts: the response head within
 * requestTimeoutMs, then each body piece within bodyIdleTimeoutMs.
 */
export class PendingRequest {
  readonly id: string;
  readonly request: RelayedRequest;
  readonly startedAt: number;
  /** A streamed response's Content-Length from the listener, when valid; the bytes seen so far. */
  #declaredLength: number | undefined;
  #streamedBytes = 0;
  #channel: RouteListener | undefined;
  /** Rendezvous address handed to the listener (set when sent). */
  #address = '';
  /** 'control': request sent on the control channel; 'rendezvous': address-only form. */
  #mode: 'control' | 'rendezvous' = 'control';
  #requestDelivered = false;
  #responseStarted = false;
  #status = 0;
  #done = false;
  #timer: TimerHandle | undefined;
  #rendezvous: WsEndpoint | undefined;
  /** The request is a SOAP call: a non-SOAP answer becomes a fault (#notSoap). */
  readonly #soapCall: boolean;
  readonly #handler: ResponseHandler;
  readonly #o: PendingRequestOptions;
  readonly #log: Logger;

  constructor(id: string, request: RelayedRequest, handler: ResponseHandler, options: PendingRequestOptions) {
    this.id = id;
    this.request = request;
    this.#handler = handler;
    this.#o = options;
    this.#log = options.logger;
    this.startedAt = options.clock.now();
    this.#soapCall = isSoapCall(request.method, request.headers);
    this.#armTimer(options.requestTimeoutMs, 'response');
  }

  get entityPath(): string {
    return this.request.path;
  }

  /** The channel the request went out on (responses count only from it). */
  get channel(): RouteListener | undefined {
    return this.#channel;
  }

  get done(): boolean {
    return this.#done;
  }

  get requestDelivered(): boolean {
    return this.#requestDelivered;
  }

  /**
   * Sends the request on `channel`: with its whole body when `inline` (the body fits the
   * channel), else the address-only form (the listener fetches it over rendezvous at `address`).
   * False when the channel could not take it (the router tries another).
   */
  send(channel: RouteListener, address: string, inline: boolean): boolean {
    if (this.#done) return true;
    const r = this.request;
    const form = requestFormFor(r, channel);
    let ok: boolean;
    if (inline && Buffer.isBuffer(form.body)) {
      const body = form.body;
      const json = inlineRequestJson(this.id, address, { target: r.target, method: r.method, remoteEndpoint: r.remoteEndpoint, headers: form.headers }, body.length > 0);
      ok = channel.sendRequest(json, body.length > 0 ? body : undefined, this.id);
      if (ok) this.#requestDelivered = true;
    } else {
      ok = channel.sendJson(serializeRequest({ address, id: this.id }), this.id);
      if (ok) this.#mode = 'rendezvous';
    }
    if (ok) {
      this.#channel = channel;
      this.#address = address;
      channel.pending.add(this.id);
    }
    return ok;
  }

  /** The caller went away: the call ends, its rendezvous (if any) is closed. */
  cancel(): void {
    if (!this.#done) this.#abort('sender went away');
  }

  /** A response arrived on the control channel. */
  onControlResponse(response: ResponseCommand, body: Buffer | undefined): void {
    if (this.#done || this.#responseStarted) return;
    if (this.#refuseStatus(response)) return;
    const notSoap = this.#notSoap(response, body ? body.length : 0, body);
    if (notSoap) return this.fail(notSoap);
    if (!this.#startResponse(response, body ? body.length : 0)) return;
    if (body && body.length && !this.#bodyless()) {
      try {
        this.#handler.onData(body, noop);
      } catch (err) {
        return this.fail(toRelayError(err));
      }
    }
    this.#finish();
  }

  /** The listener opened a rendezvous socket for this request. */
  attachRendezvous(ep: WsEndpoint): void {
    if (this.#done || this.#rendezvous) {
      ep.close(1008, 'rendezvous already used');
      return;
    }
    this.#rendezvous = ep;
    let awaitingBody = false;
    ep.on('text', (text) => {
      try {
        const msg = parseListenerMessage(text);
        if (msg.type !== 'response' || this.#responseStarted) return;
        if (this.#refuseStatus(msg)) return;
        const notSoap = this.#notSoap(msg, msg.body ? undefined : 0);
        if (notSoap) return this.fail(notSoap);
        if (msg.body) {
          if (!this.#startResponse(msg, undefined)) return;
          awaitingBody = true;
          this.#armTimer(this.#o.bodyIdleTimeoutMs, 'body');
        } else {
          if (this.#startResponse(msg, 0)) this.#finish();
        }
      } catch (err) {
        this.#log.info({ err: (err as Error).message }, 'bad message on request rendezvous');
        ep.close(1008, 'invalid message');
        this.#abort('invalid message on rendezvous');
      }
    });
    const resume = (): void => ep.resume();
    ep.on('binaryData', (data) => {
      if (!awaitingBody || this.#done) return;
      this.#armTimer(this.#o.bodyIdleTimeoutMs, 'body');
      if (this.#bodyless()) return;
      this.#streamedBytes += data.length;
      if (this.#declaredLength !== undefined && this.#streamedBytes > this.#declaredLength) {
        return this.fail(new RelayError('RELAY_ERR_TARGET_BAD_RESPONSE', `The listener sent more than the ${this.#declaredLength} bytes its Content-Length declared.`));
      }
      let more: boolean;
      try {
        more = this.#handler.onData(data, resume);
      } catch (err) {
        return this.fail(toRelayError(err));
      }
      if (!more) ep.pause();
    });
    ep.on('binaryEnd', () => {
      if (!awaitingBody || this.#done) return;
      awaitingBody = false;
      // A body shorter than its declared length is cut, never completed (the caller sees the truncation).
      if (this.#declaredLength !== undefined && !this.#bodyless() && this.#streamedBytes !== this.#declaredLength) {
        return this.fail(new RelayError('RELAY_ERR_TARGET_BAD_RESPONSE', `The listener's body ended at ${this.#streamedBytes} of the ${this.#declaredLength} bytes its Content-Length declared.`));
      }
      this.#finish();
    });
    ep.on('closed', () => {
      if (!this.#done) this.#abort('rendezvous closed before the response finished');
    });
    if (this.#mode === 'rendezvous' && !this.#requestDelivered) this.#deliverOverRendezvous(ep);
  }

  /** Full request JSON, then the body streamed as one fragmented binary message. */
  #deliverOverRendezvous(ep: WsEndpoint): void {
    this.#requestDelivered = true;
    const r = this.request;
    // The form of the listener the address went to (set by send()).
    const form = requestFormFor(r, this.#channel ?? {});
    ep.sendText(
      serializeRequest({
        id: this.id,
        address: this.#address,
        requestTarget: r.target,
        method: r.method,
        remoteEndpoint: r.remoteEndpoint,
        requestHeaders: form.headers as Record<string, string>,
        body: true,
      }),
    );
    const body = form.body;
    if (Buffer.isBuffer(body)) {
      this.#writeBuffered(ep, body, 0);
      return;
    }
    pump(body, (f: (chunk: Buffer) => void) => body.on('data', f), (chunk) => ep.writeBinaryFragment(chunk), ep);
    body.on('end', () => ep.endBinaryMessage());
    body.resume();
  }

  /** Writes a whole body as fragments of BODY_FRAGMENT_BYTES, waiting for drain in between. */
  #writeBuffered(ep: WsEndpoint, body: Buffer, from: number): void {
    let at = from;
    while (at < body.length && !this.#done) {
      const end = Math.min(at + BODY_FRAGMENT_BYTES, body.length);
      const ok = ep.writeBinaryFragment(body.subarray(at, end));
      at = end;
      if (!ok && at < body.length) {
        ep.once('drain', () => this.#writeBuffered(ep, body, at));
        return;
      }
    }
    if (!this.#done) ep.endBinaryMessage();
  }

  /**
   * A listener's status must be a final one, 200–599 (RFC 9110 §15: 1xx are interim, and 101
   * is never a relayed HTTP answer); anything else fails the call with 502 instead of being
   * written (Node would write a 1xx as if final and the caller would see a reset).
   */
  #refuseStatus(response: ResponseCommand): boolean {
    const s = response.statusCode;
    if (Number.isInteger(s) && s >= 200 && s <= 599) return false;
    this.#log.info({ status: s }, 'listener answered an invalid final status');
    this.fail(new RelayError('RELAY_ERR_LISTENER_BAD_STATUS', `The listener answered with status ${s}, which is not a final HTTP status (200-599).`));
    return true;
  }

  /**
   * For a SOAP call, the error to fail it with when the listener's answer is not a SOAP message:
   * an empty error status (an empty 2xx is a one-way acknowledgement), or a body of another type.
   * WCF clients cannot read those, and a net.tcp client would wait for a reply that never comes.
   */
  #notSoap(response: ResponseCommand, bodyLength: number | undefined, body?: Buffer): RelayError | undefined {
    if (!this.#soapCall) return undefined;
    const status = response.statusCode;
    const contentType = headerOf(response.responseHeaders ?? {}, 'content-type');
    if (bodyLength === 0) {
      if (status < 300) return undefined;
    } else if (contentType !== undefined && SOAP_RESPONSE_TYPE.test(contentType)) return undefined;
    const agentError = body && agentJsonError(headerOf(response.responseHeaders ?? {}, 'x-relaybridge-error'), body);
    if (agentError) return agentError;
    const correlationId = this.id;
    const what = bodyLength === 0 ? 'with no body' : `with ${contentType ?? 'no content type'}`;
    this.#log.warn({ correlationId, status, contentType, relayCode: headerOf(response.responseHeaders ?? {}, 'x-relaybridge-error'), answer: body?.subarray(0, 512).toString('utf8') }, 'the listener answered a SOAP call with something that is not a SOAP message');
    return new ListenerAnswerError(`The service answered HTTP ${status} ${what} instead of a SOAP message (id ${correlationId}).`, correlationId);
  }

  #bodyless(): boolean {
    const s = this.#status;
    return this.request.method === 'HEAD' || s === 204 || s === 304 || (s >= 100 && s < 200);
  }

  /** Hands the head to the handler; false when the handler threw (the call has failed). */
  #startResponse(response: ResponseCommand, wholeLength: number | undefined): boolean {
    this.#responseStarted = true;
    this.#status = response.statusCode;
    const headers = senderResponseHeaders(response.responseHeaders);
    headers['Via'] = headers['Via'] ? `${headers['Via']}, 1.1 ${this.request.viaHost}` : `1.1 ${this.request.viaHost}`;
    // The relay frames the body itself (§2.4 item 5): Content-Length when whole; a streamed body
    // keeps the service's Content-Length when the listener passed a valid one (checked against
    // the bytes that arrive), else it goes chunked.
    if (!this.#bodyless() && wholeLength !== undefined) headers['Content-Length'] = String(wholeLength);
    else if (!this.#bodyless()) {
      const declared = headerOf(response.responseHeaders ?? {}, 'content-length');
      if (declared !== undefined && /^\d{1,15}$/.test(declared.trim())) {
        this.#declaredLength = Number(declared.trim());
        headers['Content-Length'] = String(this.#declaredLength);
      }
    }
    try {
      this.#handler.onStart(response.statusCode, response.statusDescription ?? reasonPhrase(response.statusCode), headers, wholeLength === undefined);
      return true;
    } catch (err) {
      this.fail(toRelayError(err));
      return false;
    }
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#o.clock.clearTimeout(this.#timer);
    this.#channel?.pending.delete(this.id);
    if (this.#rendezvous && !this.#rendezvous.isClosed) this.#rendezvous.close(1000, 'done');
    try {
      this.#handler.onEnd();
    } finally {
      this.#o.onDone(this, this.#status);
    }
  }

  /** Fails the request: the handler writes an error if nothing was sent yet, else cuts the caller's response. */
  fail(err: RelayError): void {
    if (this.#done) return;
    this.#done = true;
    this.#o.clock.clearTimeout(this.#timer);
    this.#channel?.pending.delete(this.id);
    if (this.#rendezvous && !this.#rendezvous.isClosed) this.#rendezvous.close(1011, 'request failed');
    const started = this.#responseStarted;
    let status = err.httpStatus ?? 500;
    try {
      const written = this.#handler.onError(err, started);
      if (!started) status = written ?? httpFormOf(err).status;
    } finally {
      // Unread request bytes would otherwise keep the sender waiting.
      const body = this.request.body;
      if (!Buffer.isBuffer(body) && !body.complete) body.resume();
      this.#o.onDone(this, status);
    }
  }

  #abort(reason: string): void {
    this.#log.debug({ reason }, 'relayed request aborted');
    this.fail(new RelayError('RELAY_ERR_LISTENER_GONE', `The listener connection was lost: ${reason}.`));
  }

  #armTimer(ms: number, what: 'response' | 'body'): void {
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = this.#o.clock.setTimeout(() => {
      const message =
        what === 'response'
          ? 'The request was routed to the listener but the listener did not respond in the required time.'
          : 'The listener stopped sending the response body.';
      this.fail(new TimeoutError('RELAY_ERR_LISTENER_TIMEOUT', message));
    }, ms);
  }
}

function noop(): void {}

function headerOf(headers: Readonly<Record<string, string>>, lowerName: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lowerName) return v;
  return undefined;
}

/** Our agent's JSON error (`{error:{code,message,correlationId}}`, already public), as the error it names. */
function agentJsonError(code: string | undefined, body: Buffer): RelayError | undefined {
  if (code === undefined || !Object.hasOwn(ERROR_CODES, code)) return undefined;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: { message?: unknown; correlationId?: unknown } };
    const message = parsed.error?.message;
    if (typeof message !== 'string') return undefined;
    const id = parsed.error?.correlationId;
    return typeof id === 'string' ? Object.assign(new RelayError(code as ErrorCode, message), { correlationId: id }) : new RelayError(code as ErrorCode, message);
  } catch {
    return undefined;
  }
}
