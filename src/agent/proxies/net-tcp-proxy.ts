/**
 * The `nettcp` back-end: relayed SOAP calls to a local WCF service over net.tcp ([MC-NMF] duplex
 * + binary XML with session dictionaries; security None), behind the same SOAP front as every
 * target (soap-http-proxy.ts, declared SOAP 1.2: the front rewrites wsa:To, translates SOAP 1.1
 * callers (basicHttp clients: binding bridging) and their replies, and answers failures as
 * faults in the caller's version).
 *
 * - A relayed net.tcp client session (a session carrier, protocol/hyco/session-carrier.ts) gets a
 *   service session of its own for its whole life (openSession): WCF's default PerSession
 *   instancing keeps per-client state there, and callbacks flow back on it. At most
 *   maxClientSessions at once; past it the client gets ServerTooBusy.
 * - Sessionless callers (SOAP over HTTP, Hybrid Connections senders) get a service session per
 *   call (opened, used once, ended), so two callers never share service state; with
 *   `shareSessions` (a PerCall or Single service, where sharing is harmless) calls are pooled
 *   instead: a call takes the open session with the fewest calls in flight, and a new one is
 *   opened while every session is busy and the pool is below maxSessions.
 * - One-way requests (no MessageID; an operation the WSDL marks one-way, from the `wsdl` file or
 *   `wsdlUrl`; an action listed in oneWayActions) are answered 202 as soon as they are written.
 */
import type { Logger } from '../../core/logger';
import { ProtocolError, RelayError } from '../../core/errors';
import { writeNbfx } from '../../protocol/nbfx';
import { SOAP_BINARY_CONTENT_TYPE } from '../../protocol/hyco';
import { decodeEnvelope, SOAP_STRING_POLICY, TokenSoapMessage } from '../../protocol/soap-binary';
import { faultFromError } from '../../protocol/soap/fault';
import { metadataQueryOfTarget, type MetadataQuery } from '../../protocol/soap/http-request';
import type { XmlLimits } from '../../protocol/xml/limits';
import { parseXml } from '../../protocol/xml/text-reader';
import { acceptedResponse, bufferedResponse, isWholeWsdl, readBody, xmlLimitsFor } from '../soap/soap-http';
import { operationOf, WsdlSource } from '../soap/wsdl-source';
import type { LocalRequest, LocalResponse } from './http-proxy';
import { NetTcpSession, type SessionReply } from './net-tcp-session';
import type { ServiceSession, SessionTarget } from './service-proxy';
import type { SoapTransport } from './soap-http-proxy';

const SOAP12_CONTENT_TYPE = 'application/soap+xml; charset=utf-8';

export interface NetTcpProxyOptions {
  /** net.tcp://host:port/path of the local service. */
  readonly url: string;
  /** wsa:To for the service; default `url`. */
  readonly address?: string;
  /** Time allowed per call, ms. */
  readonly timeoutMs: number;
  /** Most sessions (TCP connections) open to the service at once. */
  readonly maxSessions: number;
  /** Largest message in either direction, bytes. */
  readonly maxMessageBytes: number;
  /** Session dictionary quota for what the agent writes, bytes (the service's MaxSessionSize). */
  readonly maxSessionBytes: number;
  /** Actions of one-way operations, for SOAP 1.1 callers (SOAP 1.2 callers say so by omitting MessageID). */
  readonly oneWayActions: readonly string[];
  /** See NetTcpSessionOptions.repliesInOrder. */
  readonly repliesInOrder: boolean;
  /** Sessionless calls may share pooled service sessions (the service is PerCall or Single). Default false. */
  readonly shareSessions?: boolean;
  /** Most relayed client sessions held at once (each its own service session). Default 100. */
  readonly maxClientSessions?: number;
  /** Carry relayed client sessions as binary when the relay offers it (default) or always as text. */
  readonly carrier?: 'binary' | 'text';
  /** Metadata: fetched from here with the request's query (`?wsdl`, `?xsd=xsd0`, ...). */
  readonly wsdlUrl?: string;
  /** Metadata: this WSDL text for `?wsdl`/`?singleWsdl` (when there is no wsdlUrl). */
  readonly wsdl?: string;
  readonly logger: Logger;
}

export class NetTcpProxy implements SoapTransport, SessionTarget {
  readonly #o: NetTcpProxyOptions;
  readonly #sessions = new Set<NetTcpSession>();
  /** Service sessions of relayed client sessions (one each, never pooled). */
  readonly #carried = new Set<NetTcpSession>();
  /** Actions proved one-way at run time (a call with MessageID that the service never answered while answering later ones). */
  readonly #learnedOneWay = new Set<string>();
  /** The service's WSDL (wsdl file or wsdlUrl): its one-way operations need no oneWayActions. */
  readonly #wsdl: WsdlSource;
  /** XML limits for messages up to maxMessageBytes. */
  readonly #limits: Partial<XmlLimits>;
  #closed = false;

  constructor(options: NetTcpProxyOptions) {
    this.#limits = xmlLimitsFor(options.maxMessageBytes);
    this.#o = options;
    const wsdlUrl = options.wsdlUrl;
    this.#wsdl = new WsdlSource({
      text: options.wsdl,
      url: wsdlUrl === undefined ? undefined : () => Object.assign(new URL(wsdlUrl), { search: '?wsdl' }),
      timeoutMs: options.timeoutMs,
      logger: options.logger,
    });
  }

  /** One-way by config, by the WSDL, or learned at run time. */
  async #isOneWay(action: string | undefined): Promise<boolean> {
    if (action === undefined) return false;
    if (this.#o.oneWayActions.includes(action) || this.#learnedOneWay.has(action)) return true;
    return operationOf(await this.#wsdl.info(), action)?.oneWay === true;
  }

  /** Sessions currently open or opening (tests, metrics). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /**
   * A call from the SOAP front (soap-http-proxy.ts): SOAP 1.2 text with `To` already the
   * service's (the front translated a SOAP 1.1 caller's message, and translates the reply back),
   * or a metadata GET. The envelope is parsed once: its addressing and its binary encoding come
   * from the same tokens. Failures are thrown: the front answers them as faults in the caller's version.
   */
  async call(request: LocalRequest): Promise<LocalResponse> {
    const method = request.method.toUpperCase();
    const query = method === 'GET' ? metadataQueryOfTarget(request.requestTarget) : undefined;
    if (query) return this.#metadata(query);
    if (method !== 'POST') {
      return bufferedResponse(404, { 'content-type': 'text/plain; charset=utf-8' }, Buffer.from('A net.tcp service takes SOAP POSTs only.\n'), 'Not Found');
    }
    const body = await readBody(request.body, this.#o.maxMessageBytes);
    const reply = await this.#place(TokenSoapMessage.read(parseXml(body, this.#limits)));
    if (reply === undefined) return acceptedResponse();
    return bufferedResponse(reply.isFault ? 500 : 200, { 'content-type': SOAP12_CONTENT_TYPE }, reply.xml);
  }

  /** Relayed net.tcp clients' calls are taken as binary XML (protocol/hyco/binary-soap.ts) unless the carrier is text. */
  get takesBinarySoap(): boolean {
    return this.#o.carrier !== 'text';
  }

  /**
   * A call in binary XML without session strings (protocol/hyco/binary-soap.ts), `To` not set
   * yet: decoded, placed on a service session like call()'s, and answered in binary XML. No
   * text is printed or parsed. Failures are thrown (the front answers them as SOAP 1.2 faults).
   */
  async callBinary(request: LocalRequest): Promise<LocalResponse> {
    const body = await readBody(request.body, this.#o.maxMessageBytes);
    const reply = await this.#place(TokenSoapMessage.read(decodeEnvelope(body, { limits: this.#limits })).withTo(this.#address));
    if (reply === undefined) return acceptedResponse();
    return bufferedResponse(reply.isFault ? 500 : 200, { 'content-type': SOAP_BINARY_CONTENT_TYPE }, writeNbfx(reply.tokens, { policy: SOAP_STRING_POLICY }));
  }

  /** Places a SOAP 1.2 message (`To` set) on a service session: its reply, or undefined for a one-way call. */
  async #place(message: TokenSoapMessage): Promise<SessionReply | undefined> {
    if (message.soapVersion !== 'soap12') throw new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', 'a net.tcp service takes SOAP 1.2 envelopes only');
    const addressing = message.addressing;
    const oneWay = addressing?.messageId === undefined || (await this.#isOneWay(addressing.action));
    const shared = this.#o.shareSessions === true;
    // A shared session is picked and the call placed on it in one synchronous step (see #session).
    const session = shared ? this.#session(oneWay ? undefined : addressing?.messageId) : await this.#dedicated();
    let reply: SessionReply | undefined;
    try {
      if (oneWay) {
        await session.send(message.tokens);
        return undefined;
      }
      reply = await session.call(message.tokens, addressing!.messageId!, this.#o.timeoutMs);
    } finally {
      // A session of its own: ended once its one call is over (the service drops its instance).
      if (!shared) void session.close().catch(() => undefined);
    }
    if (reply === undefined) {
      // Later calls were answered and this one was not: the operation is one-way; remember it
      // so its next calls are answered at once (bounded: one entry per action).
      if (addressing?.action !== undefined && this.#learnedOneWay.size < 1024) this.#learnedOneWay.add(addressing.action);
    }
    return reply;
  }

  /** The service's address: what the front writes into `To`. */
  localUrl(): URL {
    return new URL(this.#address);
  }

  /** A net.tcp service has no `{url}?wsdl` over HTTP: its WSDL is wsdlUrl's or the configured file. */
  serviceUrl(): URL | undefined {
    return undefined;
  }

  /** The service's WSDL, for the front to share (one read per target). */
  get wsdl(): WsdlSource {
    return this.#wsdl;
  }

  /** WSDL/XSD for the relay's metadata endpoint: from wsdlUrl (same query) or the configured file. */
  async #metadata(query: MetadataQuery): Promise<LocalResponse> {
    const xml = { 'content-type': 'text/xml; charset=utf-8' };
    if (this.#o.wsdlUrl) {
      const url = new URL(this.#o.wsdlUrl);
      url.search = `?${query.key}`;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(this.#o.timeoutMs) });
        const body = Buffer.from(await res.arrayBuffer());
        return bufferedResponse(res.status, { 'content-type': res.headers.get('content-type') ?? xml['content-type'] }, body, res.statusText);
      } catch (err) {
        return bufferedResponse(502, { 'content-type': 'text/plain; charset=utf-8' }, Buffer.from(`metadata unavailable: ${(err as Error).message}\n`), 'Bad Gateway');
      }
    }
    if (this.#o.wsdl !== undefined && isWholeWsdl(query)) return bufferedResponse(200, xml, Buffer.from(this.#o.wsdl, 'utf8'), 'OK');
    return bufferedResponse(404, { 'content-type': 'text/plain; charset=utf-8' }, Buffer.from('No metadata is configured for this net.tcp service (wsdlUrl or wsdl).\n'), 'Not Found');
  }

  get #address(): string {
    return this.#o.address ?? this.#o.url;
  }

  /** Sessions held for relayed client sessions (tests, metrics). */
  get clientSessionCount(): number {
    return this.#carried.size;
  }

  /**
   * A service session for one relayed client session: its own TCP connection and preamble, every
   * message the service sends passed on as it comes (carrier mode), To rewritten on the way in.
   */
  async openSession(options: { binary: boolean } = { binary: false }): Promise<ServiceSession> {
    const max = this.#o.maxClientSessions ?? 100;
    if (this.#carried.size >= max) {
      throw new RelayError('RELAY_ERR_TOO_BUSY', `the agent holds ${max} sessions to this net.tcp service (maxClientSessions); retry later`);
    }
    const session = await this.#openReady();
    this.#carried.add(session);
    const address = this.#address;
    const binary = options.binary && this.#o.carrier !== 'text';
    const carried: ServiceSession = {
      encoding: binary ? 'binary' : 'text',
      address,
      onMessage: undefined,
      onClosed: undefined,
      // Binary: the relay wrote To and removed relay credentials; the payload goes as it is.
      send: binary
        ? (payload) => session.sendPayload(payload)
        : (xml) => void session.send(TokenSoapMessage.read(parseXml(xml, this.#limits)).withTo(address).tokens).catch(() => undefined),
      end: () => session.close(),
      abort: () => session.abort(),
    };
    if (binary) session.onPayload = (payload) => carried.onMessage?.(payload);
    else session.onMessage = (xml) => carried.onMessage?.(xml);
    session.onClosed = () => {
      this.#carried.delete(session);
      carried.onClosed?.(session.endedByService, session.endedByService ? undefined : session.closedReason?.message);
    };
    if (!session.usable) {
      this.#carried.delete(session);
      throw session.closedReason ?? new RelayError('RELAY_ERR_TARGET_UNREACHABLE', 'the net.tcp service session closed at once');
    }
    return carried;
  }

  /**
   * A new service session, acknowledged: a preamble the service leaves unanswered for a few
   * seconds is given up and tried again on a new connection (nothing was sent on it yet, so
   * nothing is repeated), within the connect timeout. Mono 6.8's service at times never answers
   * the preamble of a connection opened while others open or close; a WCF client meets that
   * less because it reuses pooled connections.
   */
  async #openReady(): Promise<NetTcpSession> {
    const total = Math.min(this.#o.timeoutMs, 30_000);
    const attemptMs = Math.max(1000, Math.min(5000, Math.floor(total / 3)));
    const deadline = Date.now() + total;
    for (let attempt = 1; ; attempt++) {
      const ms = Math.max(500, Math.min(attemptMs, deadline - Date.now()));
      const session = this.#newSession(ms);
      try {
        await session.ready;
        return session;
      } catch (err) {
        session.abort();
        const timedOut = err instanceof RelayError && err.code === 'RELAY_ERR_TIMEOUT';
        if (!timedOut || Date.now() + 500 > deadline) throw err;
        this.#o.logger.info({ attempt, ms }, 'the net.tcp service did not answer a session preamble; trying a new connection');
      }
    }
  }

  #newSession(connectTimeoutMs = Math.min(this.#o.timeoutMs, 30_000)): NetTcpSession {
    return new NetTcpSession({
      url: this.#o.url,
      connectTimeoutMs,
      maxMessageBytes: this.#o.maxMessageBytes,
      maxSessionBytes: this.#o.maxSessionBytes,
      repliesInOrder: this.#o.repliesInOrder,
      logger: this.#o.logger,
    });
  }

  /** A service session for one sessionless call: never shared with another caller. */
  async #dedicated(): Promise<NetTcpSession> {
    const session = await this.#openReady();
    this.#track(session);
    return session;
  }

  /**
   * The least busy open session, or a new one while all are busy and the pool has room. A
   * session where a call with the same MessageID waits is passed over (its reply would be taken
   * for this one's). Synchronous, so the call is placed (NetTcpSession.call registers it at once)
   * before another call picks; the session may still be opening (its calls wait for that).
   */
  #session(messageId: string | undefined): NetTcpSession {
    let best: NetTcpSession | undefined;
    for (const s of this.#sessions) {
      if (!s.usable || (messageId !== undefined && s.isWaiting(messageId))) continue;
      if (!best || s.inFlight < best.inFlight) best = s;
    }
    if (best && (best.inFlight === 0 || this.#sessions.size >= this.#o.maxSessions)) return best;
    if (!best && this.#sessions.size >= this.#o.maxSessions) {
      throw new RelayError('RELAY_ERR_TOO_BUSY', `every pooled session to this net.tcp service (maxSessions ${this.#o.maxSessions}) has a call with this MessageID waiting`);
    }
    const session = this.#newSession();
    this.#track(session);
    return session;
  }

  /**
   * A session for sessionless callers: counted while it lives; a callback from the service (a
   * duplex contract) cannot reach such a caller: a two-way one is answered with a fault at once,
   * so the service does not wait out its timeout, and a one-way one is dropped, both logged.
   */
  #track(session: NetTcpSession): void {
    this.#sessions.add(session);
    session.onClosed = () => this.#sessions.delete(session);
    session.onUnsolicited = (_xml, addressing) => {
      this.#o.logger.info(
        { action: addressing?.action, twoWay: addressing?.messageId !== undefined },
        'a callback from the net.tcp service cannot reach a sessionless caller (SOAP over HTTP, a Hybrid Connections sender); use a net.tcp client for duplex contracts',
      );
      if (addressing?.messageId === undefined) return;
      const err = new RelayError('RELAY_ERR_NO_LISTENER', 'The caller of this service is sessionless (SOAP over HTTP or a Hybrid Connections sender): a callback cannot reach it.');
      void session.send(faultFromError(err, 'soap12', { addressing: { version: addressing.version, messageId: addressing.messageId } }).body).catch(() => undefined);
    };
    if (!session.usable) this.#sessions.delete(session);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#sessions, ...this.#carried].map((s) => s.close()));
    this.#sessions.clear();
    this.#carried.clear();
  }
}
