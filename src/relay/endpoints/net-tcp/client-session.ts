/**
 * One net.tcp client session on a connection (from a routed preamble to End): its entity and
 * request target, the per-direction session dictionaries (reader, writer), the token that last
 * authorized it, the calls waiting for their replies, and its carrier to the agent when the
 * path's listeners carry sessions. Each envelope is read as a TokenSoapMessage (soap-messages.ts)
 * and relayed through the Router: one call, a broadcast, or onto the carrier. The connection
 * (nmf-connection.ts) owns the socket, the framing and the connection's states; the session asks
 * it for no more than SessionConnection says.
 */
import { AuthError, RelayError, toRelayError } from '../../../core/errors';
import type { HybridConnection } from '../../../core/entities';
import type { Logger } from '../../../core/logger';
import type { AuthorizeResult } from '../../../auth';
import { SessionReader, SessionWriter } from '../../../protocol/nbfx';
import { decodeEnvelope } from '../../../protocol/soap-binary';
import { FaultString, encodeSizedEnvelope } from '../../../protocol/nmf';
import {
  BINARY_CARRIER,
  NET_TCP_SESSION,
  SESSION_ENCODINGS_HEADER,
  SESSION_KIND_HEADER,
  SESSION_TARGET_HEADER,
  SessionCloseCode,
  SOAP_BINARY_CONTENT_TYPE,
} from '../../../protocol/hyco';
import { soap12ContentType } from '../../../protocol/soap/content-type';
import type { XmlLimits } from '../../../protocol/xml/limits';
import { parseXml } from '../../../protocol/xml/text-reader';
import type { XmlToken } from '../../../protocol/xml/tokens';
import { StateMachine } from '../../../core/state-machine';
import type { WsEndpoint } from '../../../transport/ws-endpoint';
import { assertOperationAllowed, signingRule } from '../../access/operation-rules';
import type { EndpointDeps } from '../../deps';
import { httpFormOf } from '../../http/json-error';
import type { RelayConfig } from '../../options';
import type { CarrierLink, PendingCarrier } from '../../routing/pending-carrier';
import { broadcastTwoWayRefused } from '../../routing/router';
import { CARRIER_TRANSITIONS, CarrierState } from './connection-state';
import { forwardRpc, type RpcCall } from './rpc-call';
import {
  binaryRequestBody,
  carriedRequestPayload,
  decodeRequest,
  encodeReply,
  encodeSelfContainedReply,
  errorFault,
  peekRequestToken,
  replyFromResponse,
  replyHead,
  requestXml,
  type DecodedRequest,
} from './soap-messages';

export type NetTcpConfig = NonNullable<RelayConfig['netTcp']>;

/** Query parameter that may carry a SAS token in the Via. */
export const VIA_TOKEN_PARAM = 'sb-hc-token';

/** An access line for a call or refusal on a connection (started now unless said). */
export interface AccessEntry {
  readonly id?: string;
  readonly startedAt?: number;
  readonly method?: string;
  readonly path: string;
  readonly operation: string;
  readonly status: number;
  readonly code?: string;
}

/** What a session asks of its connection. */
export interface SessionConnection {
  /** Frames to the client (dropped once the connection is closed). */
  write(parts: Buffer[]): void;
  /** An NMF fault record, then the connection closes. */
  fault(fault: string, reason: string): void;
  accessLine(entry: AccessEntry): void;
  /** A message authorized: the connection's pre-auth bounds are off. */
  authenticated(): void;
  /** A message that could not be decoded: the connection ends with the matching fault. */
  protocolFailure(err: unknown): void;
  /** The session is still the connection's current one (its replies may be written). */
  isCurrent(session: ClientSession): boolean;
  /** Streamed: the reply (or its absence) is settled; End may follow. */
  replySettled(): void;
  /** The service ended the session: the connection sends End and waits for the client's. */
  serviceEnded(session: ClientSession): void;
  /** The client's address, as a relayed message's remoteEndpoint. */
  remote(): { address: string; port: number } | undefined;
}

/** Sessions held per path (netTcp.maxSessionsPerPath), shared by the endpoint's connections. */
export interface SessionSlots {
  acquire(path: string): boolean;
  release(path: string): void;
}

export interface ClientSessionOptions {
  readonly id: number;
  readonly entity: HybridConnection;
  readonly requestTarget: string;
  readonly host: string;
  /** A token from the Via, already authorized. */
  readonly token: string | undefined;
  readonly streamed: boolean;
  readonly ctx: EndpointDeps;
  readonly config: NetTcpConfig;
  readonly log: Logger;
  readonly slots: SessionSlots;
  /** XML limits for the service's replies as text. */
  readonly xmlLimits: Partial<XmlLimits>;
  readonly connection: SessionConnection;
}

/** #openCarrier's answer when the path holds netTcp.maxSessionsPerPath sessions (the client got ServerTooBusy). */
const TOO_BUSY = Symbol('too busy');

/** One client session's carrier (CARRIER_TRANSITIONS: OPENING, messages queue; OPEN; OVER). */
interface Carrier {
  readonly state: StateMachine<CarrierState>;
  pending: PendingCarrier;
  ep: WsEndpoint | undefined;
  /**
   * Binary carrier: the service's address (`To` of what goes to it) and a mirror of the
   * service's session strings (to read RelatesTo of what comes back); undefined for text.
   */
  binary: { readonly to: string; readonly serviceStrings: SessionReader } | undefined;
  /** Messages that came while the carrier was opening. */
  readonly queue: Array<{ request: DecodedRequest; messageId: string | undefined }>;
  /** Client requests not answered yet, by MessageID: faulted if the carrier fails; an access line each. */
  readonly awaiting: Map<string, CarriedCall>;
  readonly startedAt: number;
}

/** A call on a carried session waiting for its reply. */
interface CarriedCall {
  readonly operation: string;
  readonly startedAt: number;
}

export class ClientSession {
  readonly id: number;
  readonly entity: HybridConnection;
  readonly requestTarget: string;
  readonly host: string;
  /** The client's session strings (what it writes), and ours (what the relay writes to it). */
  readonly reader = new SessionReader();
  readonly writer: SessionWriter;
  /** Request/reply calls waiting for their reply (one-way calls are not tracked). */
  readonly calls = new Set<RpcCall>();
  /** The last token that authorized a message on this session. */
  token: string | undefined;
  /** The session is over (ended or its connection closed): late replies are dropped. */
  closed = false;
  /**
   * Singleton-unsized (TransferMode.Streamed): one request per preamble, as Unsized Envelope
   * chunks, binary without session dictionary (msbin1); the reply likewise, then End.
   */
  readonly streamed: boolean;
  chunks: Buffer[] = [];
  /** Streamed: a reply is still to come. */
  awaitingReply = false;
  /**
   * Duplex sessions to a listener that carries sessions: the session's carrier to the agent
   * (protocol/hyco/session-carrier.ts). undefined until the first message; null when the path's
   * listeners do not carry sessions (then every message is its own relayed request).
   */
  carrier: Carrier | null | undefined;
  /**
   * Every StringTable the client sent on this session went on to the service, in order, so a
   * binary carrier may pass the client's payloads on as they are (soap-messages.ts,
   * carriedRequestPayload). False from the first message whose new strings did not go on (a
   * refused call, or one re-encoded self-contained); its payloads are then re-encoded too.
   */
  #tablesWhole = true;

  readonly #ctx: EndpointDeps;
  readonly #config: NetTcpConfig;
  readonly #log: Logger;
  readonly #slots: SessionSlots;
  readonly #xmlLimits: Partial<XmlLimits>;
  readonly #conn: SessionConnection;

  constructor(o: ClientSessionOptions) {
    this.id = o.id;
    this.entity = o.entity;
    this.requestTarget = o.requestTarget;
    this.host = o.host;
    this.token = o.token;
    this.streamed = o.streamed;
    this.writer = new SessionWriter({ maxSessionBytes: o.config.maxSessionBytes });
    this.#ctx = o.ctx;
    this.#config = o.config;
    this.#log = o.log;
    this.#slots = o.slots;
    this.#xmlLimits = o.xmlLimits;
    this.#conn = o.connection;
  }

  /**
   * The token of an envelope of which only the first bytes have arrived (read with a copy of the
   * session's dictionary): `complete` once everything before its Body was read.
   */
  peekToken(prefix: Buffer): { readonly complete: boolean; readonly token?: string } {
    return peekRequestToken(prefix, this.reader);
  }

  /** The client sent End: a carrier is ended at the service too. */
  clientEnded(): void {
    if (this.carrier) this.#closeCarrier(this.carrier, SessionCloseCode.Ended, 'client');
  }

  /** The connection is gone: calls waiting for replies are abandoned, a carrier is dropped (not ended). */
  connectionClosed(): void {
    this.closed = true;
    // Calls with a reply pending are abandoned; one-way calls already handed over complete.
    for (const c of this.calls) c.cancel();
    if (this.carrier) this.#closeCarrier(this.carrier, SessionCloseCode.GoingAway, 'client');
  }

  /** Streamed: the reply (or its absence) is settled; End follows once the client sent its End. */
  #settled(): void {
    if (!this.streamed || !this.#conn.isCurrent(this)) return;
    this.awaitingReply = false;
    this.#conn.replySettled();
  }

  /** One envelope of this session: decoded, authorized, then relayed (a call, a broadcast, or onto the carrier). */
  onEnvelope(payload: Buffer): void {
    let request: ReturnType<typeof decodeRequest>;
    try {
      request = decodeRequest(payload, this.streamed ? undefined : this.reader);
    } catch (err) {
      // WCF marks the session unusable after any decode error; so do we (wcf-wire.md §3.2).
      this.#conn.protocolFailure(err);
      return;
    }
    const { messageId, action } = request.addressing;
    try {
      this.#authorize(request.token, action);
    } catch (err) {
      this.#log.debug({ err: (err as Error).message }, 'net.tcp message not authorized');
      this.#notCarried(request);
      this.#refuseCall(toRelayError(err), action, messageId);
      return;
    }
    if (this.calls.size >= this.#config.maxPendingCallsPerSession) {
      this.#notCarried(request);
      this.#refuseCall(new RelayError('RELAY_ERR_TOO_BUSY', 'Too many calls in flight on this net.tcp session; retry later.'), action, messageId);
      return;
    }
    if (this.entity.broadcast) return this.#broadcast(request, action, messageId);
    if (!this.streamed && this.carrier !== null) {
      if (this.carrier === undefined) {
        const opened = this.#openCarrier();
        if (opened === TOO_BUSY) return; // the connection got ServerTooBusy
        this.carrier = opened;
      }
      if (this.carrier) return this.#carry(this.carrier, request, messageId);
    }
    const call = forwardRpc(this.#ctx, {
      entity: this.entity,
      requestTarget: this.requestTarget,
      headers: relayedHeaders(this, action),
      body: () => requestXml(request),
      bytesIn: payload.length,
      // To a relaybridge agent's nettcp path: binary XML, never printed as text on the way.
      binary: () => ({ headers: relayedHeaders(this, action, SOAP_BINARY_CONTENT_TYPE), body: binaryRequestBody(request, this.streamed ? payload : undefined) }),
      remoteEndpoint: this.#conn.remote(),
      action,
    });
    // One-way calls (no MessageID) are handed over and forgotten: nothing goes back.
    if (messageId !== undefined) this.calls.add(call);
    if (this.streamed) this.awaitingReply = messageId !== undefined;
    call.promise.then(
      (res) => {
        this.calls.delete(call);
        if (messageId === undefined) return;
        const reply = replyFromResponse(res, { action, messageId }, this.#xmlLimits);
        // An empty answer (202, or Mono's empty 200) means a one-way operation: WCF clients may
        // still send MessageID on those (Mono does), so nothing goes back.
        if (reply) this.#sendReply(reply);
        else this.#settled();
      },
      (err: unknown) => {
        this.calls.delete(call);
        const e = withCallId(toRelayError(err), call.id);
        this.#log.debug({ err: e.message, code: e.code }, 'net.tcp call failed at the relay');
        if (messageId !== undefined) this.#sendReply(errorFault(e, messageId));
      },
    );
  }

  /** A message whose StringTable does not reach the service: if it added strings, the service's dictionary can no longer be the client's. */
  #notCarried(request: DecodedRequest): void {
    if (request.source?.definesStrings) this.#tablesWhole = false;
  }

  /**
   * A message to a broadcast entity (event distribution): a one-way message (no MessageID) goes,
   * as SOAP text, to every listener of the path on every node, and nothing comes back; a request
   * that waits for a reply (a MessageID: Microsoft's clients send one only on two-way operations)
   * gets RELAY_ERR_BROADCAST_ONE_WAY at once.
   */
  #broadcast(request: ReturnType<typeof decodeRequest>, action: string | undefined, messageId: string | undefined): void {
    const ctx = this.#ctx;
    const path = this.entity.path;
    if (messageId !== undefined) {
      return this.#refuseCall(broadcastTwoWayRefused(path), action, messageId);
    }
    const id = ctx.accessLog.newId();
    const operation = ctx.router.labels.label(path, action);
    const line = { id, method: 'POST', path, operation };
    const body = requestXml(request);
    const max = ctx.config.limits.controlBodyThresholdBytes;
    if (body.length > max) {
      this.#log.warn({ path, bytes: body.length, max }, 'net.tcp one-way message too large for a broadcast hybrid connection: dropped');
      return this.#conn.accessLine({ ...line, status: 413, code: 'RELAY_ERR_BODY_TOO_LARGE' });
    }
    try {
      ctx.router.broadcast(
        {
          path,
          method: 'POST',
          target: this.requestTarget,
          headers: relayedHeaders(this, action),
          body,
          remoteEndpoint: this.#conn.remote(),
          viaHost: this.host,
          operation,
        },
        body,
      );
      this.#conn.accessLine({ ...line, status: 202 });
    } catch (err) {
      const e = toRelayError(err);
      this.#log.debug({ path, err: e.message, code: e.code }, 'net.tcp one-way message to a broadcast hybrid connection not delivered');
      this.#conn.accessLine({ ...line, status: httpFormOf(e).status, code: e.code });
    }
  }

  /** A call refused before it was relayed: its access line, and a fault naming its id. */
  #refuseCall(err: RelayError, action: string | undefined, messageId: string | undefined): void {
    const ctx = this.#ctx;
    const id = ctx.accessLog.newId();
    this.#conn.accessLine({ id, method: 'POST', path: this.entity.path, operation: ctx.router.labels.label(this.entity.path, action), status: httpFormOf(err).status, code: err.code });
    if (messageId !== undefined) this.#sendReply(errorFault(withCallId(err, id), messageId));
  }

  #authorize(token: string | undefined, action: string | undefined): void {
    const { entity } = this;
    const ctx = this.#ctx;
    let result: AuthorizeResult | undefined;
    if (token !== undefined || entity.requiresClientAuthorization) {
      const candidate = token ?? this.token;
      if (candidate === undefined) {
        throw new AuthError(
          'RELAY_ERR_SAS_MISSING',
          'MissingToken: this hybrid connection requires a SharedAccessSignature token: send it in a RelayAccessToken SOAP header ' +
            `or in the Via query (${VIA_TOKEN_PARAM}).`,
        );
      }
      result = ctx.access.authorizeToken(entity, 'Send', candidate);
      this.token = candidate;
    }
    this.#conn.authenticated();
    assertOperationAllowed(signingRule(entity, ctx.access.namespaceRules, result), action, entity.path);
  }

  /**
   * Encodes a SOAP 1.2 reply the relay writes (a listener's answer, a relay fault) and frames it:
   * with the session's outbound dictionary while the relay owns the client's dictionary, without
   * session strings while a binary carrier may own it (protocol/hyco/session-carrier.ts).
   */
  #sendReply(xml: Buffer | readonly XmlToken[]): void {
    if (this.closed || !this.#conn.isCurrent(this)) return;
    const writer = this.streamed ? undefined : this.writer;
    // The relay's own dictionary is the client's only on a session relayed message by message
    // (carrier null) or carried as text (opened without binary); before the carrier is known,
    // and on a binary one, the service's StringTables may build it.
    const c = this.carrier;
    const selfContained = !this.streamed && c !== null && (c === undefined || c.ep === undefined || c.binary !== undefined);
    const encode = (x: Buffer | readonly XmlToken[]) => (selfContained ? encodeSelfContainedReply(x) : encodeReply(x, writer));
    let parts: Buffer[];
    try {
      parts = encode(xml);
    } catch (err) {
      this.#log.info({ err: (err as Error).message }, 'net.tcp reply could not be encoded');
      parts = encode(errorFault(toRelayError(err), undefined));
    }
    this.#conn.write(parts);
    this.#settled();
  }

  /**
   * Asks for a carrier for this session (its first message): a Carrier while the path's
   * listeners carry sessions, null when they do not (message-by-message relaying), TOO_BUSY
   * when the path holds netTcp.maxSessionsPerPath sessions (the client got ServerTooBusy).
   */
  #openCarrier(): Carrier | null | typeof TOO_BUSY {
    const ctx = this.#ctx;
    const remote = this.#conn.remote();
    if (!this.#slots.acquire(this.entity.path)) {
      this.#log.info({ path: this.entity.path, max: this.#config.maxSessionsPerPath }, 'net.tcp session refused: too many sessions on this path');
      this.#conn.fault(FaultString.ServerTooBusy, `more than netTcp.maxSessionsPerPath (${this.#config.maxSessionsPerPath}) sessions on this path`);
      return TOO_BUSY;
    }
    const pending = ctx.router.openCarrier({
      path: this.entity.path,
      kind: NET_TCP_SESSION,
      rest: this.requestTarget,
      connectHeaders: {
        [SESSION_KIND_HEADER]: NET_TCP_SESSION,
        [SESSION_TARGET_HEADER]: this.requestTarget,
        [SESSION_ENCODINGS_HEADER]: BINARY_CARRIER,
        Host: this.host,
      },
      remoteEndpoint: remote,
      // Binary XML decoded to text can grow: the carrier takes a few times the binary limit.
      maxMessageBytes: this.#config.maxMessageBytes * 4,
    });
    if (!pending) {
      this.#slots.release(this.entity.path);
      return null;
    }
    const carrier: Carrier = { state: new StateMachine('net.tcp session carrier', CarrierState.Opening, CARRIER_TRANSITIONS), pending, binary: undefined, ep: undefined, queue: [], awaiting: new Map(), startedAt: ctx.config.clock.now() };
    pending.carrier.then(
      (link) => this.#carrierOpen(carrier, link),
      (err: unknown) => this.#carrierFailed(carrier, toRelayError(err), 'refused'),
    );
    return carrier;
  }

  /** A client message on a carried session: sent, or queued while the carrier opens. */
  #carry(carrier: Carrier, request: DecodedRequest, messageId: string | undefined): void {
    if (carrier.state.is(CarrierState.Over)) {
      if (messageId !== undefined) this.#sendReply(errorFault(new RelayError('RELAY_ERR_LISTENER_GONE', 'The session to the service is over.'), messageId));
      return;
    }
    if (messageId !== undefined) {
      const operation = this.#ctx.router.labels.label(this.entity.path, request.addressing.action);
      carrier.awaiting.set(messageId, { operation, startedAt: this.#ctx.config.clock.now() });
      // One-way calls with a MessageID (Mono) are never answered: keep the newest ids only.
      if (carrier.awaiting.size > this.#config.maxPendingCallsPerSession) carrier.awaiting.delete(carrier.awaiting.keys().next().value!);
    }
    if (carrier.state.is(CarrierState.Opening)) return void carrier.queue.push({ request, messageId });
    const ep = carrier.ep!;
    // The agent's end may be gone before its close reached us: fail now (the caller gets a fault), never drop.
    if (ep.isClosed || ep.socket.destroyed || !ep.socket.writable) {
      return this.#carrierFailed(carrier, new RelayError('RELAY_ERR_LISTENER_GONE', 'The session to the service was lost.'), 'failed');
    }
    this.#toService(carrier, ep, request);
  }

  /** One client message onto an open carrier: a self-contained binary payload, or SOAP 1.2 text. */
  #toService(carrier: Carrier, ep: WsEndpoint, request: DecodedRequest): void {
    if (carrier.binary) {
      const { payload, passedOn } = carriedRequestPayload(request, carrier.binary.to, this.#tablesWhole);
      if (!passedOn) this.#notCarried(request); // its StringTable did not go on
      ep.sendBinary(payload);
    }
    else ep.sendText(requestXml(request).toString('utf8'));
  }

  #carrierOpen(carrier: Carrier, link: CarrierLink): void {
    const { ep } = link;
    if (!carrier.state.is(CarrierState.Opening) || this.closed) {
      ep.close(SessionCloseCode.GoingAway, 'the client went away');
      return;
    }
    carrier.state.to(CarrierState.Open);
    carrier.ep = ep;
    if (link.binaryTo !== undefined) carrier.binary = { to: link.binaryTo, serviceStrings: new SessionReader() };
    const ctx = this.#ctx;
    const path = this.entity.path;
    ctx.metrics.netTcpSessions.inc({ path });
    this.#log.info({ path, session: this.id, client: this.#conn.remote()?.address, binary: carrier.binary !== undefined }, 'net.tcp session carried to the agent');
    let peerCode: number | undefined;
    let peerReason = '';
    ep.on('text', (text) => this.#fromService(carrier, text));
    ep.on('binary', (payload) => this.#fromServiceBinary(carrier, payload));
    ep.on('closeFrame', (code, reason) => {
      peerCode = code;
      peerReason = reason;
    });
    ep.on('closed', () => {
      if (carrier.state.is(CarrierState.Over)) return;
      if (peerCode === SessionCloseCode.Ended) {
        // The service ended the session (an IsTerminating operation, or the service closing its channel).
        this.#closeCarrier(carrier, SessionCloseCode.Ended, 'service');
        this.#faultAwaiting(carrier, new RelayError('RELAY_ERR_TARGET_UNREACHABLE', 'The service ended the session before it answered.'));
        this.#conn.serviceEnded(this);
        return;
      }
      const why = peerCode === SessionCloseCode.TooBusy ? 'too busy' : peerReason || `carrier closed (${peerCode ?? 'no close frame'})`;
      this.#carrierFailed(carrier, new RelayError('RELAY_ERR_LISTENER_GONE', `The session to the service failed: ${why}.`), 'failed');
    });
    ep.start();
    for (const m of carrier.queue.splice(0)) this.#toService(carrier, ep, m.request);
  }

  /**
   * A service payload on a binary carrier (reply, callback, fault): its head read with the
   * mirror of the service's session strings (RelatesTo), then framed to the client as it is.
   */
  #fromServiceBinary(carrier: Carrier, payload: Buffer): void {
    if (!carrier.state.is(CarrierState.Open) || this.closed || !this.#conn.isCurrent(this)) return;
    if (!carrier.binary) {
      return this.#carrierFailed(carrier, new RelayError('RELAY_ERR_TARGET_BAD_RESPONSE', 'The agent sent a binary message on a text carrier.'), 'failed');
    }
    let head: ReturnType<typeof replyHead>;
    try {
      head = replyHead(decodeEnvelope(payload, { session: carrier.binary.serviceStrings, hints: false }));
    } catch (err) {
      this.#log.info({ err: (err as Error).message }, 'undecodable message from the agent on a binary session carrier');
      return this.#carrierFailed(carrier, new RelayError('RELAY_ERR_TARGET_BAD_RESPONSE', 'The service sent a message that is not a binary SOAP envelope.'), 'failed');
    }
    if (head.relatesTo !== undefined) this.#carriedDone(carrier, head.relatesTo, head.isFault ? 500 : 200);
    this.#conn.write(encodeSizedEnvelope(payload));
  }

  /** A message from the service (reply, callback, fault): encoded with the session's writer and framed. */
  #fromService(carrier: Carrier, text: string): void {
    if (!carrier.state.is(CarrierState.Open) || this.closed) return;
    if (carrier.binary) {
      return this.#carrierFailed(carrier, new RelayError('RELAY_ERR_TARGET_BAD_RESPONSE', 'The agent sent a text message on a binary carrier.'), 'failed');
    }
    let tokens: XmlToken[];
    try {
      tokens = parseXml(text, this.#xmlLimits);
    } catch (err) {
      this.#log.info({ err: (err as Error).message }, 'undecodable message from the agent on a session carrier');
      return this.#carrierFailed(carrier, new RelayError('RELAY_ERR_TARGET_BAD_RESPONSE', 'The service sent a message that is not XML.'), 'failed');
    }
    const head = replyHead(tokens);
    if (head.relatesTo !== undefined) this.#carriedDone(carrier, head.relatesTo, head.isFault ? 500 : 200);
    this.#sendReply(tokens);
  }

  /**
   * The carrier could not open or broke: calls waiting for a reply get a fault, and the client's
   * connection is closed so its channel faults (as it would if the service's connection dropped).
   */
  #carrierFailed(carrier: Carrier, err: RelayError, end: 'failed' | 'refused'): void {
    if (this.#endCarrier(carrier) === undefined) return;
    this.#ctx.metrics.netTcpSessionsTotal.inc({ path: this.entity.path, end });
    carrier.ep?.terminate();
    this.#log.info({ path: this.entity.path, session: this.id, err: err.message }, 'net.tcp session failed');
    if (this.closed || !this.#conn.isCurrent(this)) return;
    if (err.code === 'RELAY_ERR_TOO_BUSY') return this.#conn.fault(FaultString.ServerTooBusy, err.message);
    for (const m of carrier.queue.splice(0)) {
      if (m.messageId !== undefined && !carrier.awaiting.has(m.messageId)) {
        const operation = this.#ctx.router.labels.label(this.entity.path, m.request.addressing.action);
        carrier.awaiting.set(m.messageId, { operation, startedAt: this.#ctx.config.clock.now() });
      }
    }
    this.#faultAwaiting(carrier, err);
    // Then an NMF Fault record kills the session ([MC-NMF] §2.2.3.9): a WCF client faults its
    // channel on it at once, even with no call waiting (a bare FIN may go unnoticed until its
    // next call waits out the SendTimeout).
    this.#conn.fault(FaultString.EndpointUnavailable, `the session to the service failed: ${err.message}`);
  }

  /**
   * Marks the carrier over, once: its place on the path goes back and an open one leaves the
   * sessions gauge. Undefined when it was over already, else whether it had opened.
   */
  #endCarrier(carrier: Carrier): boolean | undefined {
    if (carrier.state.is(CarrierState.Over)) return undefined;
    const wasOpen = carrier.state.to(CarrierState.Over) === CarrierState.Open;
    this.#slots.release(this.entity.path);
    if (wasOpen) this.#ctx.metrics.netTcpSessions.dec({ path: this.entity.path });
    return wasOpen;
  }

  #faultAwaiting(carrier: Carrier, err: RelayError): void {
    for (const id of [...carrier.awaiting.keys()]) {
      this.#sendReply(errorFault(err, id));
      this.#carriedDone(carrier, id, 500, err.code);
    }
  }

  /** A call on a carried session was answered (or faulted here): its access line. */
  #carriedDone(carrier: Carrier, messageId: string, status: number, code?: string): void {
    const call = carrier.awaiting.get(messageId);
    if (!call) return;
    carrier.awaiting.delete(messageId);
    this.#conn.accessLine({ startedAt: call.startedAt, method: 'POST', path: this.entity.path, operation: call.operation, status, code });
  }

  /** Ends the carrier from this side: Ended (the client's End) or GoingAway (the client is gone). */
  #closeCarrier(carrier: Carrier, code: number, by: 'client' | 'service'): void {
    const wasOpen = this.#endCarrier(carrier);
    if (wasOpen === undefined) return;
    if (!wasOpen) return carrier.pending.cancel();
    const path = this.entity.path;
    this.#ctx.metrics.netTcpSessionsTotal.inc({ path, end: by });
    this.#log.info({ path, session: this.id, by, ms: this.#ctx.config.clock.now() - carrier.startedAt }, 'net.tcp session ended');
    if (by === 'client') carrier.ep!.close(code, code === SessionCloseCode.Ended ? 'client ended the session' : 'client went away');
  }
}

/** `err` with the call's correlation id at the end of its message (the fault's Reason names it). */
function withCallId(err: RelayError, id: string): RelayError {
  if (err.message.includes('(id ')) return err;
  return new RelayError(err.code, `${err.message.replace(/\.?$/, '')} (id ${id}).`, { httpStatus: err.httpStatus, soapFaultCode: err.soapFaultCode, nmfFault: err.nmfFault });
}

/** The headers of a session's message relayed as SOAP 1.2 text (one call or a broadcast). */
function relayedHeaders(session: { host: string }, action: string | undefined, contentType = soap12ContentType(action)): Record<string, string> {
  return { Host: session.host, 'Content-Type': contentType, Via: `1.1 ${session.host}`, 'X-Relay-Transport': 'net.tcp' };
}
