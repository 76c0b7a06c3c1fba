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
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { ERROR_CODES, RelayError, TimeoutError, type ErrorCode } from '../../../core/errors';
import type { Clock, TimerHandle } from '../../../core/clock';
import type { Logger } from '../../../core/logger';
import { parseListenerMessage, reasonPhrase, serializeRequest, type ResponseCommand } from '../../../protocol/hyco';
import type { WsEndpoint } from '../../../transport/ws-endpoint';
import type { ControlChannel } from '../control/control-channel';
import { senderResponseHeaders } from './http-headers';

export interface RequestParts {
  id: string;
  /** Rendezvous address handed to the listener. */
  address: string;
  requestTarget: string;
  method: string;
  headers: Record<string, string>;
  remoteEndpoint?: { address: string; port: number };
}

/**
 * Where the response goes: a node:http ServerResponse, or anything with the same few members
 * (the metadata endpoint collects a response to rewrite it before the client sees it).
 */
export interface ResponseSink {
  statusCode: number;
  statusMessage: string;
  readonly headersSent: boolean;
  setHeader(name: string, value: string | number | readonly string[]): unknown;
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer | string): unknown;
  flushHeaders(): void;
  destroy(err?: Error): unknown;
  on(event: 'close', listener: () => void): unknown;
  once(event: 'drain', listener: () => void): unknown;
}

/**
 * Where a streamed request body comes from: the sender's IncomingMessage, or any Readable for
 * programmatic callers (the net.tcp endpoint, which sets `body` and never streams).
 */
export type RequestSource = Readable & { readonly complete?: boolean };

/**
 * A SOAP call, whose caller can read nothing but a SOAP message back: SOAP 1.2's content type, or
 * text/xml with a SOAPAction header (SOAP 1.1; text/xml alone is also plain XML over REST).
 */
function isSoapCall(method: string, headers: Record<string, string>): boolean {
  if (method.toUpperCase() !== 'POST') return false;
  const ct = headerOf(headers, 'content-type') ?? '';
  if (/^\s*application\/soap\+xml\s*(;|$)/i.test(ct)) return true;
  return /^\s*text\/xml\s*(;|$)/i.test(ct) && headerOf(headers, 'soapaction') !== undefined;
}
/** A response a SOAP caller can read: SOAP 1.1/1.2, MTOM, or other XML (the envelope decides). */
const SOAP_RESPONSE_TYPE = /^\s*(text\/xml|application\/soap\+xml|multipart\/related|application\/(?:[\w.+-]+\+)?xml)\s*(;|$)/i;

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

/** Largest binary fragment written when a buffered body goes over rendezvous, bytes. */
const BODY_FRAGMENT_BYTES = 64 * 1024;

export interface PendingRequestOptions {
  /** The hybrid connection the request is for (metrics). */
  entityPath: string;
  requestTimeoutMs: number;
  bodyIdleTimeoutMs: number;
  viaHost: string;
  clock: Clock;
  logger: Logger;
  /** Writes a relay-side error to the sender (JSON for plain HTTP, a SOAP fault for SOAP callers). */
  writeError: (res: ResponseSink, err: RelayError) => void;
  onDone: (p: PendingRequest, status: number) => void;
}

export class PendingRequest {
  readonly parts: RequestParts;
  readonly req: RequestSource | IncomingMessage;
  readonly res: ResponseSink;
  readonly startedAt: number;
  /** A body already read whole (SOAP); when set, it is sent instead of streaming `req`. */
  body: Buffer | undefined;
  channel: ControlChannel | undefined;
  /** 'control': request sent on the control channel; 'rendezvous': address-only form. */
  mode: 'control' | 'rendezvous' = 'control';
  #requestDelivered = false;
  #responseStarted = false;
  #done = false;
  #timer: TimerHandle | undefined;
  #rendezvous: WsEndpoint | undefined;
  /** The request is a SOAP call: a non-SOAP answer becomes a fault (#notSoap). */
  readonly #soapCall: boolean;
  readonly #o: PendingRequestOptions;
  readonly #log: Logger;

  constructor(parts: RequestParts, req: RequestSource | IncomingMessage, res: ResponseSink, options: PendingRequestOptions) {
    this.parts = parts;
    this.req = req;
    this.res = res;
    this.#o = options;
    this.#log = options.logger;
    this.startedAt = options.clock.now();
    this.#soapCall = isSoapCall(parts.method, parts.headers);
    this.#armTimer(options.requestTimeoutMs, 'response');
    res.on('close', () => {
      if (!this.#done) this.#abort('sender went away');
    });
  }

  get entityPath(): string {
    return this.#o.entityPath;
  }

  get done(): boolean {
    return this.#done;
  }

  get requestDelivered(): boolean {
    return this.#requestDelivered;
  }

  /** Sends the request with its whole (small) body on the control channel. */
  sendOnControl(channel: ControlChannel, body: Buffer): boolean {
    const p = this.parts;
    const json = serializeRequest({
      id: p.id,
      address: p.address,
      requestTarget: p.requestTarget,
      method: p.method,
      remoteEndpoint: p.remoteEndpoint,
      requestHeaders: p.headers,
      body: body.length > 0,
    });
    const ok = channel.sendRequest(json, body.length > 0 ? body : undefined);
    if (ok) {
      this.channel = channel;
      this.mode = 'control';
      this.#requestDelivered = true;
      channel.pending.add(this.parts.id);
    }
    return ok;
  }

  /** Sends the address-only form; the listener fetches the request over rendezvous. */
  sendAddressOnly(channel: ControlChannel): boolean {
    const ok = channel.sendJson(serializeRequest({ address: this.parts.address, id: this.parts.id }));
    if (ok) {
      this.channel = channel;
      this.mode = 'rendezvous';
      channel.pending.add(this.parts.id);
    }
    return ok;
  }

  /** A response arrived on the control channel. */
  onControlResponse(response: ResponseCommand, body: Buffer | undefined): void {
    if (this.#done || this.#responseStarted) return;
    if (this.#refuseStatus(response)) return;
    const notSoap = this.#notSoap(response, body ? body.length : 0, body);
    if (notSoap) return this.fail(notSoap);
    this.#startResponse(response, body ? body.length : 0);
    if (body && body.length && !this.#bodyless()) this.res.write(body);
    this.#finish(response.statusCode);
  }

  /** The listener opened a rendezvous socket for this request. */
  attachRendezvous(ep: WsEndpoint): void {
    if (this.#done || this.#rendezvous) {
      ep.close(1008, 'rendezvous already used');
      return;
    }
    this.#rendezvous = ep;
    let awaitingBody: ResponseCommand | undefined;
    ep.on('text', (text) => {
      try {
        const msg = parseListenerMessage(text);
        if (msg.type !== 'response' || this.#responseStarted) return;
        if (this.#refuseStatus(msg)) return;
        const notSoap = this.#notSoap(msg, msg.body ? undefined : 0);
        if (notSoap) return this.fail(notSoap);
        if (msg.body) {
          awaitingBody = msg;
          this.#startResponse(msg, undefined);
          this.#armTimer(this.#o.bodyIdleTimeoutMs, 'body');
        } else {
          this.#startResponse(msg, 0);
          this.#finish(msg.statusCode);
        }
      } catch (err) {
        this.#log.info({ err: (err as Error).message }, 'bad message on request rendezvous');
        ep.close(1008, 'invalid message');
        this.#abort('invalid message on rendezvous');
      }
    });
    ep.on('binaryData', (data) => {
      if (!awaitingBody || this.#done) return;
      this.#armTimer(this.#o.bodyIdleTimeoutMs, 'body');
      if (this.#bodyless()) return;
      if (!this.res.write(data)) {
        ep.pause();
        this.res.once('drain', () => ep.resume());
      }
    });
    ep.on('binaryEnd', () => {
      if (!awaitingBody || this.#done) return;
      const status = awaitingBody.statusCode;
      awaitingBody = undefined;
      this.#finish(status);
    });
    ep.on('closed', () => {
      if (!this.#done) this.#abort('rendezvous closed before the response finished');
    });
    if (this.mode === 'rendezvous' && !this.#requestDelivered) this.#deliverOverRendezvous(ep);
  }

  /** Full request JSON, then the body streamed as one fragmented binary message. */
  #deliverOverRendezvous(ep: WsEndpoint): void {
    this.#requestDelivered = true;
    ep.sendText(
      serializeRequest({ ...this.parts, requestHeaders: this.parts.headers, body: true }),
    );
    if (this.body !== undefined) {
      this.#writeBuffered(ep, this.body, 0);
      return;
    }
    const req = this.req;
    req.on('data', (chunk: Buffer) => {
      if (!ep.writeBinaryFragment(chunk)) {
        req.pause();
        ep.once('drain', () => req.resume());
      }
    });
    req.on('end', () => ep.endBinaryMessage());
    req.resume();
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
    const correlationId = randomBytes(6).toString('hex');
    const what = bodyLength === 0 ? 'with no body' : `with ${contentType ?? 'no content type'}`;
    this.#log.warn({ correlationId, status, contentType, relayCode: headerOf(response.responseHeaders ?? {}, 'x-relaybridge-error'), answer: body?.subarray(0, 512).toString('utf8') }, 'the listener answered a SOAP call with something that is not a SOAP message');
    return new ListenerAnswerError(`The service answered HTTP ${status} ${what} instead of a SOAP message (id ${correlationId}).`, correlationId);
  }

  #bodyless(): boolean {
    const s = this.res.statusCode;
    return this.parts.method === 'HEAD' || s === 204 || s === 304 || (s >= 100 && s < 200);
  }

  #startResponse(response: ResponseCommand, wholeLength: number | undefined): void {
    this.#responseStarted = true;
    const res = this.res;
    const headers = senderResponseHeaders(response.responseHeaders);
    headers['Via'] = headers['Via'] ? `${headers['Via']}, 1.1 ${this.#o.viaHost}` : `1.1 ${this.#o.viaHost}`;
    res.statusCode = response.statusCode;
    res.statusMessage = response.statusDescription ?? reasonPhrase(response.statusCode);
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    if (!this.#bodyless()) {
      // The relay frames the body itself (§2.4 item 5): Content-Length when whole, else chunked.
      if (wholeLength !== undefined) res.setHeader('Content-Length', String(wholeLength));
    }
    // A whole body goes out with its headers in one write; a streamed one shows its head early.
    if (wholeLength === undefined) res.flushHeaders();
  }

  #finish(status: number): void {
    if (this.#done) return;
    this.#done = true;
    this.#o.clock.clearTimeout(this.#timer);
    this.channel?.pending.delete(this.parts.id);
    this.res.end();
    if (this.#rendezvous && !this.#rendezvous.isClosed) this.#rendezvous.close(1000, 'done');
    this.#o.onDone(this, status);
  }

  /** Fails the request: an error status if nothing was sent yet, else the sender connection is cut. */
  fail(err: RelayError): void {
    if (this.#done) return;
    this.#done = true;
    this.#o.clock.clearTimeout(this.#timer);
    this.channel?.pending.delete(this.parts.id);
    if (this.#rendezvous && !this.#rendezvous.isClosed) this.#rendezvous.close(1011, 'request failed');
    let status = err.httpStatus ?? 500;
    if (!this.#responseStarted && !this.res.headersSent) {
      this.#o.writeError(this.res, err);
      status = this.res.statusCode; // as written (a SOAP fault is a 500 whatever the error)
    } else {
      this.res.destroy(err);
    }
    // Unread request bytes would otherwise keep the sender waiting.
    if (!this.req.complete) this.req.resume();
    this.#o.onDone(this, status);
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

function headerOf(headers: Record<string, string>, lowerName: string): string | undefined {
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
