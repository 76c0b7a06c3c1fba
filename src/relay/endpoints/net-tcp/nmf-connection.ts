/**
 * One net.tcp connection: socket bytes -> ServerDecoder -> session logic -> encoders -> socket.
 *
 * Life cycle ([MC-NMF] §3.1; wcf-wire.md §1.6, §1.7): one explicit state with a transition table
 * (connection-state.ts):
 *
 *   PREAMBLE --PreambleEnd--> ROUTING --Via routes, caller allowed--> OPEN --End--> PREAMBLE …
 *        |  (Upgrade Request application/ssl-tls: 0x0A, TLS handshake, decoding resumes inside TLS)
 *        +--any refusal--> Fault record, CLOSING, CLOSED
 *
 * - Before the Preamble Ack, every refusal is an NMF Fault record followed by closing the
 *   connection: EndpointNotFound (Via names no hybrid connection), ContentTypeInvalid (not binary
 *   with session, 0x08), UnsupportedMode (anything but duplex), UpgradeInvalid (application/negotiate,
 *   i.e. Windows security, or TLS without a certificate), ServerTooBusy (connection cap),
 *   EndpointAccessDenied (a token in the Via query that does not authorize Send).
 * - After the Ack each envelope is decoded with the session's inbound dictionary, forwarded to a
 *   listener as a SOAP 1.2 POST, and its reply encoded with the outbound dictionary and framed
 *   when it arrives, so several outstanding calls are answered in completion order (WCF matches
 *   them by RelatesTo). One-way messages (no MessageID) get no reply.
 * - Relay-side failures after the Ack (no listener, timeout, authorization) are SOAP 1.2 faults,
 *   binary-encoded like any reply. A malformed frame or envelope ends this connection only, with
 *   the NMF fault record.
 * - End closes the session (dictionaries are per session); a new preamble may follow on the same
 *   socket (WCF's connection pool).
 *
 * Authorization (net.tcp has no HTTP headers): a SAS token may come
 *   1. in the Via query (`?sb-hc-token=…`): checked before the Ack; refusal = EndpointAccessDenied;
 *   2. in a `RelayAccessToken` SOAP header (Azure Relay's connect namespace) in any message: checked
 *      for that message, stripped before forwarding, and remembered for the session so later
 *      messages may omit it (a newer token replaces it; an expired one stops working).
 * Entities with requiresClientAuthorization=false accept anonymous senders. A message that is
 * not authorized is answered with a SOAP fault (Sender, RELAY_ERR_SAS_*) and not forwarded.
 *
 * Until a connection is authenticated (its Via token authorized, its path is anonymous, or one of
 * its messages authorized), it is cheap to refuse: it holds one unauthenticated slot of its
 * address (limits.maxUnauthenticated*); a connection that found none must authenticate by its
 * preamble (Via token, anonymous path) within OVER_CAP_GRACE_MS, else it gets ServerTooBusy at
 * the preamble's end. It may send at most
 * netTcp.preAuthMaxMessageBytes in all (preamble and envelopes; MaxMessageSizeExceededFault) unless
 * the envelope it is sending carries a token that authorizes it before its Body, and
 * is closed when netTcp.channelInitializationTimeoutMs after its start it has not authenticated.
 */
import type net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { AuthError, ProtocolError, RelayError, toRelayError } from '../../../core/errors';
import type { HybridConnection } from '../../../core/entities';
import type { Logger, ThrottledWarning } from '../../../core/logger';
import type { TimerHandle } from '../../../core/clock';
import type { AuthorizeResult } from '../../../auth';
import { SessionReader, SessionWriter } from '../../../protocol/nbfx';
import { decodeEnvelope } from '../../../protocol/soap-binary';
import {
  FaultString,
  KnownEncoding,
  Mode,
  ServerDecoder,
  UpgradeProtocol,
  encodeEnd,
  encodeFault,
  encodePreambleAck,
  encodeSizedEnvelope,
  encodeUpgradeResponse,
  type ServerFrame,
} from '../../../protocol/nmf';
import { soap12ContentType } from '../../../protocol/soap/content-type';
import type { XmlToken } from '../../../protocol/xml/tokens';
import { httpFormOf } from '../../http/json-error';
import type { EndpointDeps } from '../../deps';
import type { PreAuthSlot } from '../../guard/pre-auth-slots';
import type { RelayConfig } from '../../options';
import { assertOperationAllowed, signingRule } from '../../access/operation-rules';
import {
  BINARY_CARRIER,
  NET_TCP_SESSION,
  SESSION_ENCODINGS_HEADER,
  SESSION_KIND_HEADER,
  SESSION_TARGET_HEADER,
  SessionCloseCode,
} from '../../../protocol/hyco';
import { DEFAULT_XML_LIMITS, type XmlLimits } from '../../../protocol/xml/limits';
import { parseXml } from '../../../protocol/xml/text-reader';
import type { WsEndpoint } from '../../../transport/ws-endpoint';
import type { CarrierLink, PendingCarrier } from '../../routing/pending-carrier';
import { StateMachine } from '../../../core/state-machine';
import { CARRIER_TRANSITIONS, CONNECTION_TRANSITIONS, CarrierState, ConnectionState } from './connection-state';
import { forwardRpc, type RpcCall } from './rpc-call';
import { broadcastTwoWayRefused } from '../../routing/router';
import {
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
const VIA_TOKEN_PARAM = 'sb-hc-token';

interface Session {
  readonly id: number;
  readonly entity: HybridConnection;
  readonly requestTarget: string;
  readonly host: string;
  readonly reader: SessionReader;
  readonly writer: SessionWriter;
  /** Request/reply calls waiting for their reply (one-way calls are not tracked). */
  readonly calls: Set<RpcCall>;
  /** The last token that authorized a message on this session. */
  token: string | undefined;
  /** The session is over (ended or its connection closed): late replies are dropped. */
  closed: boolean;
  /**
   * Singleton-unsized (TransferMode.Streamed): one request per preamble, as Unsized Envelope
   * chunks, binary without session dictionary (msbin1); the reply likewise, then End.
   */
  readonly streamed: boolean;
  chunks: Buffer[];
  /** Streamed: a reply is still to come. */
  awaitingReply: boolean;
  /**
   * Duplex sessions to a listener that carries sessions: the session's carrier to the agent
   * (protocol/hyco/session-carrier.ts). undefined until the first message; null when the path's
   * listeners do not carry sessions (then every message is its own relayed request).
   */
  carrier: Carrier | null | undefined;
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

export interface NmfConnectionOptions {
  readonly ctx: EndpointDeps;
  readonly config: NetTcpConfig;
  readonly log: Logger;
  /** Certificate for the application/ssl-tls upgrade (relay options.tls), when allowed. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** True when the connection cap was reached: the preamble is answered ServerTooBusy. */
  readonly tooBusy: boolean;
  /**
   * The unauthenticated slot this connection holds until it authenticates; undefined when its
   * address (or everyone) is over the cap: then only a preamble that authenticates is accepted.
   */
  readonly slot: PreAuthSlot | undefined;
  /** Failed TLS handshakes: warned once per client address per interval, for the whole endpoint. */
  readonly tlsFailures: ThrottledWarning;
  /** Carried sessions per path, for the whole endpoint (netTcp.maxSessionsPerPath). */
  readonly sessionSlots: SessionSlots;
}

/** Counts carried sessions per hybrid connection path. */
export interface SessionSlots {
  /** False when the path holds netTcp.maxSessionsPerPath sessions already. */
  acquire(path: string): boolean;
  release(path: string): void;
}

/** Time a connection without an unauthenticated slot has to authenticate by its preamble, ms. */
const OVER_CAP_GRACE_MS = 5000;

export class NmfConnection {
  readonly #socket: net.Socket;
  readonly #o: NmfConnectionOptions;
  readonly #log: Logger;
  readonly #decoder: ServerDecoder;
  /** Where bytes go: the socket, or the TLS socket after an ssl-tls upgrade. */
  #out: Duplex;
  #session: Session | undefined;
  #sessionCount = 0;
  readonly #state = new StateMachine<ConnectionState>('net.tcp connection', ConnectionState.Preamble, CONNECTION_TRANSITIONS);
  #preamble: Extract<ServerFrame, { type: 'preamble' }> | undefined;
  #upgraded = false;
  /** Frames held while the preamble is being routed (ROUTING: async lookup). */
  readonly #backlog: ServerFrame[] = [];
  #preambleTimer: TimerHandle | undefined;
  #idleTimer: TimerHandle | undefined;
  /** Authorized once (Via token, anonymous path, or a message): the pre-auth bounds are off. */
  #authenticated = false;
  /**
   * XML limits for the service's replies as text: as large as netTcp.maxMessageBytes allows the
   * client's messages, and never below the XML defaults.
   */
  readonly #xmlLimits: Partial<XmlLimits>;
  /** Bytes received while not authenticated. */
  #preAuthBytes = 0;
  #initTimer: TimerHandle | undefined;

  constructor(socket: net.Socket, options: NmfConnectionOptions) {
    this.#socket = socket;
    this.#out = socket;
    this.#o = options;
    this.#log = options.log;
    this.#decoder = new ServerDecoder({ limits: { maxMessageBytes: options.config.maxMessageBytes } });
    const replyBytes = Math.max(options.config.maxMessageBytes, DEFAULT_XML_LIMITS.maxInputBytes);
    this.#xmlLimits = { maxInputBytes: replyBytes, maxTextChars: Math.max(replyBytes, DEFAULT_XML_LIMITS.maxTextChars) };
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.#log.debug({ err: err.message }, 'net.tcp socket error'));
    socket.on('close', () => this.#onClose());
    socket.on('end', () => {
      if (!this.#decoder.finish()) this.#log.debug('net.tcp client aborted mid-session');
      this.#destroy();
    });
    this.#armPreambleTimer();
    this.#armIdleTimer();
    const clock = options.ctx.config.clock;
    const initMs = options.slot ? options.config.channelInitializationTimeoutMs : OVER_CAP_GRACE_MS;
    this.#initTimer = clock.setTimeout(() => {
      if (this.#authenticated) return;
      this.#log.info({ ms: initMs }, 'net.tcp connection not authenticated in time');
      this.#destroy();
    }, initMs);
  }

  /** The connection authorized once: its slot goes back, and the pre-auth bounds are off. */
  #authenticate(): void {
    if (this.#authenticated) return;
    this.#authenticated = true;
    this.#o.slot?.release();
    this.#o.ctx.config.clock.clearTimeout(this.#initTimer);
  }

  /** Closes the connection (relay shutdown): End for an open session, then FIN. */
  close(): void {
    if (this.#state.is(ConnectionState.Closing, ConnectionState.Closed)) return;
    if (this.#session) this.#write([encodeEnd()]);
    this.#state.to(ConnectionState.Closing);
    this.#out.end();
    this.#destroySoon();
  }

  get closed(): boolean {
    return this.#state.is(ConnectionState.Closed);
  }

  /** Frames are read in every state but these: held while ROUTING, ignored once closing. */
  get #reading(): boolean {
    return !this.#state.is(ConnectionState.Routing, ConnectionState.Closing, ConnectionState.Closed);
  }

  #onData(chunk: Buffer): void {
    if (this.#state.is(ConnectionState.Closing, ConnectionState.Closed)) return;
    let overAllowance = false;
    if (!this.#authenticated) {
      this.#preAuthBytes += chunk.length;
      overAllowance = this.#preAuthBytes > this.#o.config.preAuthMaxMessageBytes;
    }
    this.#armIdleTimer();
    if (!this.#session && !this.#preambleTimer) this.#armPreambleTimer();
    let frames: ServerFrame[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      this.#protocolFailure(err);
      return;
    }
    if (overAllowance && !this.#headAuthenticates(frames)) {
      return this.#fault(FaultString.MaxMessageSizeExceededFault, `more than ${this.#o.config.preAuthMaxMessageBytes} bytes before the first authorized message`);
    }
    try {
      this.#onFrames(frames);
    } catch (err) {
      // A bug (an illegal state transition, say) ends this connection only, loudly.
      this.#log.error({ err: (err as Error).message, state: this.#state.state }, 'net.tcp connection failed on an internal error');
      this.#destroy();
    }
  }

  /**
   * Past netTcp.preAuthMaxMessageBytes an unauthenticated connection goes on only when the
   * envelope it is sending carries, before its Body and within that allowance, a token that
   * authorizes its path: a client whose first call on a connection is large (the token rides in
   * each message) is served as directly. Read from the envelope's first bytes, whole or not yet.
   */
  #headAuthenticates(frames: readonly ServerFrame[]): boolean {
    const session = this.#session;
    if (!session || session.streamed || !this.#state.is(ConnectionState.Open)) return false;
    const allowance = this.#o.config.preAuthMaxMessageBytes;
    const whole = frames.find((f) => f.type === 'envelope');
    const prefix = whole ? whole.payload.subarray(0, allowance) : this.#decoder.partialEnvelope(allowance);
    if (!prefix) return false;
    const { complete, token } = peekRequestToken(prefix, session.reader);
    if (!complete || token === undefined) return false;
    try {
      this.#o.ctx.access.authorizeToken(session.entity, 'Send', token);
    } catch {
      return false;
    }
    this.#authenticate();
    return true;
  }

  #onFrames(frames: ServerFrame[]): void {
    for (const f of frames) {
      if (this.#state.is(ConnectionState.Routing)) this.#backlog.push(f);
      else if (this.#reading) this.#onFrame(f);
      else return;
    }
  }

  #onFrame(f: ServerFrame): void {
    switch (f.type) {
      case 'preamble':
        return this.#onPreamble(f);
      case 'upgradeRequest':
        return this.#onUpgradeRequest(f.protocol);
      case 'preambleEnd':
        return this.#onPreambleEnd();
      case 'envelope':
        return this.#onEnvelope(f.payload);
      case 'end':
        return this.#onEnd();
      case 'envelopeStart':
        if (this.#session) this.#session.chunks = [];
        return;
      case 'envelopeData':
        // The decoder bounds the sum of the chunks by maxMessageBytes.
        this.#session?.chunks.push(f.data);
        return;
      case 'envelopeEnd': {
        const chunks = this.#session?.chunks ?? [];
        if (this.#session) this.#session.chunks = [];
        return this.#onEnvelope(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      }
    }
  }

  #onPreamble(f: Extract<ServerFrame, { type: 'preamble' }>): void {
    this.#preamble = f;
    // Buffered NetTcpBinding uses duplex, Streamed uses singleton-unsized (wcf-wire.md §1.3, §1.9);
    // simplex and singleton-sized are MSMQ shapes.
    if (f.mode !== Mode.Duplex && f.mode !== Mode.SingletonUnsized) return this.#fault(FaultString.UnsupportedMode, `mode ${f.mode}`);
    // Duplex sessions use binary XML with the in-band dictionary, streamed ones plain binary (§1.4).
    const expected = f.mode === Mode.Duplex ? KnownEncoding.Soap12BinarySession : KnownEncoding.Soap12Binary;
    if (f.encoding.known !== expected) {
      return this.#fault(FaultString.ContentTypeInvalid, `encoding ${f.encoding.contentType}`);
    }
  }

  #onUpgradeRequest(protocol: string): void {
    if (protocol === UpgradeProtocol.SslTls && this.#o.tls && !this.#upgraded) return this.#startTls(this.#o.tls);
    // application/negotiate (Windows security) cannot be terminated here (wcf-wire.md §9 risk 1).
    this.#fault(FaultString.UpgradeInvalid, `upgrade ${protocol}`);
  }

  /** [MC-NMF] §3.1.1.1.5: 0x0A, then TLS on the raw socket; framing resumes inside it. */
  #startTls(cred: { cert: string; key: string }): void {
    this.#upgraded = true;
    const socket = this.#socket;
    socket.removeAllListeners('data');
    socket.pause();
    socket.write(encodeUpgradeResponse());
    // Bytes already read past the Upgrade Request (the ClientHello may share a segment with it).
    const early = this.#decoder.takeBufferedBytes();
    for (const b of early.reverse()) socket.unshift(b);
    const secure = new tls.TLSSocket(socket, { isServer: true, cert: cred.cert, key: cred.key });
    this.#out = secure;
    secure.on('secure', () => {
      try {
        this.#decoder.upgradeComplete();
      } catch (err) {
        this.#protocolFailure(err);
      }
    });
    secure.on('data', (chunk: Buffer) => this.#onData(chunk));
    secure.on('error', (err) => {
      // A failed handshake is worth an operator's attention (a client without the relay's CA, an
      // old TLS version, a scanner), but a peer can repeat it at will: one line per address per interval.
      const remote = this.#socket.remoteAddress ?? '';
      this.#o.tlsFailures.warn(this.#log, remote, { remote, err: err.message, code: (err as NodeJS.ErrnoException).code }, 'net.tcp TLS handshake failed');
      this.#destroy();
    });
    secure.on('end', () => this.#destroy());
  }

  #onPreambleEnd(): void {
    const p = this.#preamble;
    if (!p) return this.#fault(FaultString.InvalidRecordSequence, 'Preamble End without a preamble');
    // netTcp.requireTls: a session in clear text is refused before its Via is looked up or any
    // message (and the token in it) is read. WCF clients see UpgradeInvalid as a ProtocolException.
    if (this.#o.config.requireTls && !this.#upgraded) {
      this.#log.info({ via: p.via }, 'refused a net.tcp session without TLS (netTcp.requireTls)');
      return this.#fault(FaultString.UpgradeInvalid, 'TLS required (netTcp.requireTls): the session did not send the application/ssl-tls upgrade');
    }
    if (this.#o.tooBusy) return this.#fault(FaultString.ServerTooBusy, 'connection limit reached');
    this.#state.to(ConnectionState.Routing);
    this.#socket.pause();
    this.#route(p.via).then(
      (session) => {
        // Closed meanwhile, or #route refused it with a fault.
        if (!session || !this.#state.is(ConnectionState.Routing)) return;
        if (!session.entity.requiresClientAuthorization || session.token !== undefined) this.#authenticate();
        if (!this.#authenticated && !this.#o.slot) {
          return this.#fault(FaultString.ServerTooBusy, 'too many unauthenticated connections from this address (limits.maxUnauthenticated*)');
        }
        this.#session = session;
        this.#state.to(ConnectionState.Open);
        this.#clearPreambleTimer();
        this.#write([encodePreambleAck()]);
        this.#log.debug({ path: session.entity.path, session: session.id }, 'net.tcp session open');
        this.#unblock();
      },
      (err: unknown) => {
        this.#log.info({ err: (err as Error).message }, 'net.tcp preamble refused');
        this.#fault(FaultString.EndpointNotFound, (err as Error).message);
      },
    );
  }

  #unblock(): void {
    this.#socket.resume();
    while (this.#reading && this.#backlog.length > 0) this.#onFrame(this.#backlog.shift()!);
  }

  /** Via -> hybrid connection; undefined after a fault was sent. */
  async #route(via: string): Promise<Session | undefined> {
    const ctx = this.#o.ctx;
    let url: URL;
    try {
      url = new URL(via);
    } catch {
      this.#fault(FaultString.EndpointNotFound, 'Via is not an absolute URI');
      return undefined;
    }
    const resolved = await ctx.access.resolveEntity(url.pathname);
    if (!resolved) {
      this.#fault(FaultString.EndpointNotFound, `no hybrid connection for ${url.pathname}`);
      return undefined;
    }
    const { entity, suffix } = resolved;
    const viaToken = url.searchParams.get(VIA_TOKEN_PARAM) ?? undefined;
    if (viaToken !== undefined) {
      try {
        ctx.access.authorizeToken(entity, 'Send', viaToken);
      } catch (err) {
        this.#fault(FaultString.EndpointAccessDenied, (err as Error).message);
        return undefined;
      }
    }
    const encoded = entity.path.split('/').map(encodeURIComponent).join('/');
    return {
      id: ++this.#sessionCount,
      entity,
      requestTarget: `/${encoded}${suffix ? `/${suffix.split('/').map(encodeURIComponent).join('/')}` : ''}`,
      host: url.host,
      reader: new SessionReader(),
      writer: new SessionWriter({ maxSessionBytes: this.#o.config.maxSessionBytes }),
      calls: new Set(),
      token: viaToken,
      closed: false,
      streamed: this.#preamble?.mode === Mode.SingletonUnsized,
      chunks: [],
      awaitingReply: false,
      carrier: undefined,
    };
  }

  #onEnvelope(payload: Buffer): void {
    const session = this.#session;
    if (!session) return this.#fault(FaultString.InvalidRecordSequence, 'envelope outside a session');
    let request: ReturnType<typeof decodeRequest>;
    try {
      request = decodeRequest(payload, session.streamed ? undefined : session.reader);
    } catch (err) {
      // WCF marks the session unusable after any decode error; so do we (wcf-wire.md §3.2).
      this.#protocolFailure(err);
      return;
    }
    const { messageId, action } = request.addressing;
    try {
      this.#authorize(session, request.token, action);
    } catch (err) {
      this.#log.debug({ err: (err as Error).message }, 'net.tcp message not authorized');
      this.#refuseCall(session, toRelayError(err), action, messageId);
      return;
    }
    if (session.calls.size >= this.#o.config.maxPendingCallsPerSession) {
      this.#refuseCall(session, new RelayError('RELAY_ERR_TOO_BUSY', 'Too many calls in flight on this net.tcp session; retry later.'), action, messageId);
      return;
    }
    if (session.entity.broadcast) return this.#broadcast(session, request, action, messageId);
    if (!session.streamed && session.carrier !== null) {
      if (session.carrier === undefined) {
        const opened = this.#openCarrier(session);
        if (opened === TOO_BUSY) return; // the connection got ServerTooBusy
        session.carrier = opened;
      }
      if (session.carrier) return this.#carry(session, session.carrier, request, messageId);
    }
    const call = forwardRpc(this.#o.ctx, {
      entity: session.entity,
      requestTarget: session.requestTarget,
      headers: relayedHeaders(session, action),
      body: requestXml(request),
      remoteEndpoint: this.#remoteEndpoint,
      action,
    });
    // One-way calls (no MessageID) are handed over and forgotten: nothing goes back.
    if (messageId !== undefined) session.calls.add(call);
    if (session.streamed) session.awaitingReply = messageId !== undefined;
    call.promise.then(
      (res) => {
        session.calls.delete(call);
        if (messageId === undefined) return;
        const reply = replyFromResponse(res, { action, messageId }, this.#xmlLimits);
        // An empty answer (202, or Mono's empty 200) means a one-way operation: WCF clients may
        // still send MessageID on those (Mono does), so nothing goes back.
        if (reply) this.#sendReply(session, reply);
        else this.#streamedDone(session);
      },
      (err: unknown) => {
        session.calls.delete(call);
        const e = withCallId(toRelayError(err), call.id);
        this.#log.debug({ err: e.message, code: e.code }, 'net.tcp call failed at the relay');
        if (messageId !== undefined) this.#sendReply(session, errorFault(e, messageId));
      },
    );
  }

  /**
   * A message to a broadcast entity (event distribution): a one-way message (no MessageID) goes,
   * as SOAP text, to every listener of the path on every node, and nothing comes back; a request
   * that waits for a reply (a MessageID: Microsoft's clients send one only on two-way operations)
   * gets RELAY_ERR_BROADCAST_ONE_WAY at once.
   */
  #broadcast(session: Session, request: ReturnType<typeof decodeRequest>, action: string | undefined, messageId: string | undefined): void {
    const ctx = this.#o.ctx;
    const path = session.entity.path;
    if (messageId !== undefined) {
      return this.#refuseCall(session, broadcastTwoWayRefused(path), action, messageId);
    }
    const id = ctx.accessLog.newId();
    const operation = ctx.router.labels.label(path, action);
    const line = { id, method: 'POST', path, operation };
    const body = requestXml(request);
    const max = ctx.config.limits.controlBodyThresholdBytes;
    if (body.length > max) {
      this.#log.warn({ path, bytes: body.length, max }, 'net.tcp one-way message too large for a broadcast hybrid connection: dropped');
      return this.#accessLine({ ...line, status: 413, code: 'RELAY_ERR_BODY_TOO_LARGE' });
    }
    try {
      ctx.router.broadcast(
        {
          path,
          method: 'POST',
          target: session.requestTarget,
          headers: relayedHeaders(session, action),
          body,
          remoteEndpoint: this.#remoteEndpoint,
          viaHost: session.host,
          operation,
        },
        body,
      );
      this.#accessLine({ ...line, status: 202 });
    } catch (err) {
      const e = toRelayError(err);
      this.#log.debug({ path, err: e.message, code: e.code }, 'net.tcp one-way message to a broadcast hybrid connection not delivered');
      this.#accessLine({ ...line, status: httpFormOf(e).status, code: e.code });
    }
  }

  /** The client's address, as a relayed message's remoteEndpoint. */
  get #remoteEndpoint(): { address: string; port: number } | undefined {
    return this.#socket.remoteAddress ? { address: this.#socket.remoteAddress, port: this.#socket.remotePort ?? 0 } : undefined;
  }

  /** A call refused before it was relayed: its access line, and a fault naming its id. */
  #refuseCall(session: Session, err: RelayError, action: string | undefined, messageId: string | undefined): void {
    const ctx = this.#o.ctx;
    const id = ctx.accessLog.newId();
    this.#accessLine({ id, method: 'POST', path: session.entity.path, operation: ctx.router.labels.label(session.entity.path, action), status: httpFormOf(err).status, code: err.code });
    if (messageId !== undefined) this.#sendReply(session, errorFault(withCallId(err, id), messageId));
  }

  #authorize(session: Session, token: string | undefined, action: string | undefined): void {
    const { entity } = session;
    const ctx = this.#o.ctx;
    let result: AuthorizeResult | undefined;
    if (token !== undefined || entity.requiresClientAuthorization) {
      const candidate = token ?? session.token;
      if (candidate === undefined) {
        throw new AuthError(
          'RELAY_ERR_SAS_MISSING',
          'MissingToken: this hybrid connection requires a SharedAccessSignature token: send it in a RelayAccessToken SOAP header ' +
            `or in the Via query (${VIA_TOKEN_PARAM}).`,
        );
      }
      result = ctx.access.authorizeToken(entity, 'Send', candidate);
      session.token = candidate;
    }
    this.#authenticate();
    assertOperationAllowed(signingRule(entity, ctx.access.namespaceRules, result), action, entity.path);
  }

  /**
   * Encodes a SOAP 1.2 reply the relay writes (a listener's answer, a relay fault) and frames it:
   * with the session's outbound dictionary while the relay owns the client's dictionary, without
   * session strings while a binary carrier may own it (protocol/hyco/session-carrier.ts).
   */
  #sendReply(session: Session, xml: Buffer | readonly XmlToken[]): void {
    if (session.closed || this.#session !== session || this.#state.is(ConnectionState.Closed)) return;
    const writer = session.streamed ? undefined : session.writer;
    // The relay's own dictionary is the client's only on a session relayed message by message
    // (carrier null) or carried as text (opened without binary); before the carrier is known,
    // and on a binary one, the service's StringTables may build it.
    const c = session.carrier;
    const selfContained = !session.streamed && c !== null && (c === undefined || c.ep === undefined || c.binary !== undefined);
    const encode = (x: Buffer | readonly XmlToken[]) => (selfContained ? encodeSelfContainedReply(x) : encodeReply(x, writer));
    let parts: Buffer[];
    try {
      parts = encode(xml);
    } catch (err) {
      this.#log.info({ err: (err as Error).message }, 'net.tcp reply could not be encoded');
      parts = encode(errorFault(toRelayError(err), undefined));
    }
    this.#write(parts);
    this.#streamedDone(session);
  }

  /** Streamed: the reply (or its absence) is settled; End follows once the client sent its End. */
  #streamedDone(session: Session): void {
    if (!session.streamed || this.#session !== session) return;
    session.awaitingReply = false;
    if (this.#state.is(ConnectionState.Ending)) this.#endSession(ConnectionState.Preamble);
  }

  #onEnd(): void {
    // The client acknowledges an End the relay sent (the service ended the session): nothing to do.
    if (this.#state.is(ConnectionState.ServerEnded)) return void this.#state.to(ConnectionState.Preamble);
    const session = this.#session;
    // The decoder admits End only after a preamble; the Via may still be routing (held) or refused.
    if (!session || !this.#state.is(ConnectionState.Open)) return this.#fault(FaultString.InvalidRecordSequence, 'End outside a session');
    if (session.carrier) this.#closeCarrier(session, session.carrier, SessionCloseCode.Ended, 'client');
    if (session.streamed && session.awaitingReply) return void this.#state.to(ConnectionState.Ending); // our End goes after the reply
    this.#endSession(ConnectionState.Preamble);
  }

  /**
   * Ends the open session with our End: PREAMBLE when it answers the client's End (a new
   * preamble may follow), SERVER_ENDED when the service ended it (the client's End will answer).
   */
  #endSession(next: typeof ConnectionState.Preamble | typeof ConnectionState.ServerEnded): void {
    if (!this.#state.is(ConnectionState.Open, ConnectionState.Ending)) return;
    const session = this.#session!;
    session.closed = true;
    // One-way calls still in flight complete on their own; replies for this session are dropped.
    this.#log.debug({ path: session.entity.path, session: session.id }, 'net.tcp session closed');
    this.#session = undefined;
    this.#preamble = undefined;
    this.#state.to(next);
    this.#write([encodeEnd()]);
    this.#clearPreambleTimer();
  }

  #write(parts: Buffer[]): void {
    if (this.#state.is(ConnectionState.Closed) || this.#out.destroyed) return;
    const out = this.#out;
    // One buffer, one write: small replies are copied once (cheaper than writev of 3-4 pieces).
    out.write(parts.length === 1 ? parts[0] : Buffer.concat(parts));
  }

  /** An NMF fault record, then close ([MC-NMF] §2.2.3.9). */
  #fault(fault: string, reason: string): void {
    // One fault record at most: a connection closing already sent its last record.
    if (this.#state.is(ConnectionState.Closing, ConnectionState.Closed)) return;
    const name = fault.slice(fault.lastIndexOf('/') + 1);
    this.#log.debug({ fault: name, reason }, 'net.tcp framing fault');
    // The connection (or its session) refused: an access line with the framing fault's name.
    this.#accessLine({ path: this.#session?.entity.path ?? viaPath(this.#preamble?.via), operation: 'session', status: FAULT_STATUS[name] ?? 400, code: name });
    this.#write([encodeFault(fault)]);
    this.#state.to(ConnectionState.Closing); // nothing more is read
    this.#out.end();
    this.#destroySoon();
  }

  #protocolFailure(err: unknown): void {
    const fault = err instanceof ProtocolError && err.nmfFault ? err.nmfFault : FaultString.InvalidRecordSequence;
    this.#fault(fault, (err as Error).message);
  }

  #armPreambleTimer(): void {
    const clock = this.#o.ctx.config.clock;
    clock.clearTimeout(this.#preambleTimer);
    this.#preambleTimer = clock.setTimeout(() => {
      this.#log.debug('net.tcp preamble timeout');
      this.#destroy();
    }, this.#o.config.preambleTimeoutMs);
  }

  #clearPreambleTimer(): void {
    this.#o.ctx.config.clock.clearTimeout(this.#preambleTimer);
    this.#preambleTimer = undefined;
  }

  #armIdleTimer(): void {
    const clock = this.#o.ctx.config.clock;
    clock.clearTimeout(this.#idleTimer);
    this.#idleTimer = clock.setTimeout(() => {
      // Calls relayed one by one keep it; a carried session idles on client silence (WCF's receive timeout).
      if (this.#session && this.#session.calls.size > 0) return this.#armIdleTimer();
      this.#log.debug('net.tcp idle timeout');
      this.close();
    }, this.#o.config.idleTimeoutMs);
  }

  #destroySoon(): void {
    // Give the fault or End a moment to leave before the socket is torn down.
    setTimeout(() => this.#destroy(), 1000).unref();
  }

  #destroy(): void {
    if (!this.#socket.destroyed) this.#socket.destroy();
    if (this.#out !== this.#socket && !this.#out.destroyed) this.#out.destroy();
    this.#onClose();
  }

  #onClose(): void {
    if (this.#state.is(ConnectionState.Closed)) return;
    this.#state.to(ConnectionState.Closed);
    const clock = this.#o.ctx.config.clock;
    clock.clearTimeout(this.#preambleTimer);
    clock.clearTimeout(this.#idleTimer);
    clock.clearTimeout(this.#initTimer);
    this.#o.slot?.release();
    if (this.#session) {
      this.#session.closed = true;
      // Calls with a reply pending are abandoned; one-way calls already handed over complete.
      for (const c of this.#session.calls) c.cancel();
      // A carried session is dropped at the service too (not ended: the client went away).
      if (this.#session.carrier) this.#closeCarrier(this.#session, this.#session.carrier, SessionCloseCode.GoingAway, 'client');
    }
    this.#session = undefined;
  }

  /**
   * Asks for a carrier for this session (its first message): a Carrier while the path's
   * listeners carry sessions, null when they do not (message-by-message relaying), TOO_BUSY
   * when the path holds netTcp.maxSessionsPerPath sessions (the client got ServerTooBusy).
   */
  #openCarrier(session: Session): Carrier | null | typeof TOO_BUSY {
    const ctx = this.#o.ctx;
    const remote = this.#socket.remoteAddress ? { address: this.#socket.remoteAddress, port: this.#socket.remotePort ?? 0 } : undefined;
    if (!this.#o.sessionSlots.acquire(session.entity.path)) {
      this.#log.info({ path: session.entity.path, max: this.#o.config.maxSessionsPerPath }, 'net.tcp session refused: too many sessions on this path');
      this.#fault(FaultString.ServerTooBusy, `more than netTcp.maxSessionsPerPath (${this.#o.config.maxSessionsPerPath}) sessions on this path`);
      return TOO_BUSY;
    }
    const pending = ctx.router.openCarrier({
      path: session.entity.path,
      kind: NET_TCP_SESSION,
      rest: session.requestTarget,
      connectHeaders: {
        [SESSION_KIND_HEADER]: NET_TCP_SESSION,
        [SESSION_TARGET_HEADER]: session.requestTarget,
        [SESSION_ENCODINGS_HEADER]: BINARY_CARRIER,
        Host: session.host,
      },
      remoteEndpoint: remote,
      // Binary XML decoded to text can grow: the carrier takes a few times the binary limit.
      maxMessageBytes: this.#o.config.maxMessageBytes * 4,
    });
    if (!pending) {
      this.#o.sessionSlots.release(session.entity.path);
      return null;
    }
    const carrier: Carrier = { state: new StateMachine('net.tcp session carrier', CarrierState.Opening, CARRIER_TRANSITIONS), pending, binary: undefined, ep: undefined, queue: [], awaiting: new Map(), startedAt: ctx.config.clock.now() };
    pending.carrier.then(
      (link) => this.#carrierOpen(session, carrier, link),
      (err: unknown) => this.#carrierFailed(session, carrier, toRelayError(err), 'refused'),
    );
    return carrier;
  }

  /** A client message on a carried session: sent, or queued while the carrier opens. */
  #carry(session: Session, carrier: Carrier, request: DecodedRequest, messageId: string | undefined): void {
    if (carrier.state.is(CarrierState.Over)) {
      if (messageId !== undefined) this.#sendReply(session, errorFault(new RelayError('RELAY_ERR_LISTENER_GONE', 'The session to the service is over.'), messageId));
      return;
    }
    if (messageId !== undefined) {
      const operation = this.#o.ctx.router.labels.label(session.entity.path, request.addressing.action);
      carrier.awaiting.set(messageId, { operation, startedAt: this.#o.ctx.config.clock.now() });
      // One-way calls with a MessageID (Mono) are never answered: keep the newest ids only.
      if (carrier.awaiting.size > this.#o.config.maxPendingCallsPerSession) carrier.awaiting.delete(carrier.awaiting.keys().next().value!);
    }
    if (carrier.state.is(CarrierState.Opening)) return void carrier.queue.push({ request, messageId });
    const ep = carrier.ep!;
    // The agent's end may be gone before its close reached us: fail now (the caller gets a fault), never drop.
    if (ep.isClosed || ep.socket.destroyed || !ep.socket.writable) {
      return this.#carrierFailed(session, carrier, new RelayError('RELAY_ERR_LISTENER_GONE', 'The session to the service was lost.'), 'failed');
    }
    this.#toService(carrier, ep, request);
  }

  /** One client message onto an open carrier: a self-contained binary payload, or SOAP 1.2 text. */
  #toService(carrier: Carrier, ep: WsEndpoint, request: DecodedRequest): void {
    if (carrier.binary) ep.sendBinary(carriedRequestPayload(request, carrier.binary.to));
    else ep.sendText(requestXml(request).toString('utf8'));
  }

  #carrierOpen(session: Session, carrier: Carrier, link: CarrierLink): void {
    const { ep } = link;
    if (!carrier.state.is(CarrierState.Opening) || session.closed) {
      ep.close(SessionCloseCode.GoingAway, 'the client went away');
      return;
    }
    carrier.state.to(CarrierState.Open);
    carrier.ep = ep;
    if (link.binaryTo !== undefined) carrier.binary = { to: link.binaryTo, serviceStrings: new SessionReader() };
    const ctx = this.#o.ctx;
    const path = session.entity.path;
    ctx.metrics.netTcpSessions.inc({ path });
    this.#log.info({ path, session: session.id, client: this.#socket.remoteAddress, binary: carrier.binary !== undefined }, 'net.tcp session carried to the agent');
    let peerCode: number | undefined;
    let peerReason = '';
    ep.on('text', (text) => this.#fromService(session, carrier, text));
    ep.on('binary', (payload) => this.#fromServiceBinary(session, carrier, payload));
    ep.on('closeFrame', (code, reason) => {
      peerCode = code;
      peerReason = reason;
    });
    ep.on('closed', () => {
      if (carrier.state.is(CarrierState.Over)) return;
      if (peerCode === SessionCloseCode.Ended) {
        // The service ended the session (an IsTerminating operation, or the service closing its channel).
        this.#closeCarrier(session, carrier, SessionCloseCode.Ended, 'service');
        this.#faultAwaiting(session, carrier, new RelayError('RELAY_ERR_TARGET_UNREACHABLE', 'The service ended the session before it answered.'));
        if (this.#session === session) this.#endSession(ConnectionState.ServerEnded);
        return;
      }
      const why = peerCode === SessionCloseCode.TooBusy ? 'too busy' : peerReason || `carrier closed (${peerCode ?? 'no close frame'})`;
      this.#carrierFailed(session, carrier, new RelayError('RELAY_ERR_LISTENER_GONE', `The session to the service failed: ${why}.`), 'failed');
    });
    ep.start();
    for (const m of carrier.queue.splice(0)) this.#toService(carrier, ep, m.request);
  }

  /**
   * A service payload on a binary carrier (reply, callback, fault): its head read with the
   * mirror of the service's session strings (RelatesTo), then framed to the client as it is.
   */
  #fromServiceBinary(session: Session, carrier: Carrier, payload: Buffer): void {
    if (!carrier.state.is(CarrierState.Open) || session.closed || this.#session !== session) return;
    if (!carrier.binary) {
      return this.#carrierFailed(session, carrier, new RelayError('RELAY_ERR_TARGET_BAD_RESPONSE', 'The agent sent a binary message on a text carrier.'), 'failed');
    }
    let head: ReturnType<typeof replyHead>;
    try {
      head = replyHead(decodeEnvelope(payload, { session: carrier.binary.serviceStrings }));
    } catch (err) {
      this.#log.info({ err: (err as Error).message }, 'undecodable message from the agent on a binary session carrier');
      return this.#carrierFailed(session, carrier, new RelayError('RELAY_ERR_TARGET_BAD_RESPONSE', 'The service sent a message that is not a binary SOAP envelope.'), 'failed');
    }
    if (head.relatesTo !== undefined) this.#carriedDone(session, carrier, head.relatesTo, head.isFault ? 500 : 200);
    this.#write(encodeSizedEnvelope(payload));
  }

  /** A message from the service (reply, callback, fault): encoded with the session's writer and framed. */
  #fromService(session: Session, carrier: Carrier, text: string): void {
    if (!carrier.state.is(CarrierState.Open) || session.closed) return;
    if (carrier.binary) {
      return this.#carrierFailed(session, carrier, new RelayError('RELAY_ERR_TARGET_BAD_RESPONSE', 'The agent sent a text message on a binary carrier.'), 'failed');
    }
    let tokens: XmlToken[];
    try {
      tokens = parseXml(text, this.#xmlLimits);
    } catch (err) {
      this.#log.info({ err: (err as Error).message }, 'undecodable message from the agent on a session carrier');
      return this.#carrierFailed(session, carrier, new RelayError('RELAY_ERR_TARGET_BAD_RESPONSE', 'The service sent a message that is not XML.'), 'failed');
    }
    const head = replyHead(tokens);
    if (head.relatesTo !== undefined) this.#carriedDone(session, carrier, head.relatesTo, head.isFault ? 500 : 200);
    this.#sendReply(session, tokens);
  }

  /**
   * The carrier could not open or broke: calls waiting for a reply get a fault, and the client's
   * connection is closed so its channel faults (as it would if the service's connection dropped).
   */
  #carrierFailed(session: Session, carrier: Carrier, err: RelayError, end: 'failed' | 'refused'): void {
    if (this.#endCarrier(session, carrier) === undefined) return;
    this.#o.ctx.metrics.netTcpSessionsTotal.inc({ path: session.entity.path, end });
    carrier.ep?.terminate();
    this.#log.info({ path: session.entity.path, session: session.id, err: err.message }, 'net.tcp session failed');
    if (session.closed || this.#session !== session) return;
    if (err.code === 'RELAY_ERR_TOO_BUSY') return this.#fault(FaultString.ServerTooBusy, err.message);
    for (const m of carrier.queue.splice(0)) {
      if (m.messageId !== undefined && !carrier.awaiting.has(m.messageId)) {
        const operation = this.#o.ctx.router.labels.label(session.entity.path, m.request.addressing.action);
        carrier.awaiting.set(m.messageId, { operation, startedAt: this.#o.ctx.config.clock.now() });
      }
    }
    this.#faultAwaiting(session, carrier, err);
    // Then an NMF Fault record kills the session ([MC-NMF] §2.2.3.9): a WCF client faults its
    // channel on it at once, even with no call waiting (a bare FIN may go unnoticed until its
    // next call waits out the SendTimeout).
    this.#fault(FaultString.EndpointUnavailable, `the session to the service failed: ${err.message}`);
  }

  /**
   * Marks the carrier over, once: its place on the path goes back and an open one leaves the
   * sessions gauge. Undefined when it was over already, else whether it had opened.
   */
  #endCarrier(session: Session, carrier: Carrier): boolean | undefined {
    if (carrier.state.is(CarrierState.Over)) return undefined;
    const wasOpen = carrier.state.to(CarrierState.Over) === CarrierState.Open;
    this.#o.sessionSlots.release(session.entity.path);
    if (wasOpen) this.#o.ctx.metrics.netTcpSessions.dec({ path: session.entity.path });
    return wasOpen;
  }

  #faultAwaiting(session: Session, carrier: Carrier, err: RelayError): void {
    for (const id of [...carrier.awaiting.keys()]) {
      this.#sendReply(session, errorFault(err, id));
      this.#carriedDone(session, carrier, id, 500, err.code);
    }
  }

  /** A call on a carried session was answered (or faulted here): its access line. */
  #carriedDone(session: Session, carrier: Carrier, messageId: string, status: number, code?: string): void {
    const call = carrier.awaiting.get(messageId);
    if (!call) return;
    carrier.awaiting.delete(messageId);
    this.#accessLine({ startedAt: call.startedAt, method: 'POST', path: session.entity.path, operation: call.operation, status, code });
  }

  /** This connection's access line for a call or refusal (started now unless said, its duration up to now). */
  #accessLine(e: { id?: string; startedAt?: number; method?: string; path: string; operation: string; status: number; code?: string }): void {
    const ctx = this.#o.ctx;
    const now = ctx.config.clock.now();
    const startedAt = e.startedAt ?? now;
    ctx.accessLog.call({ ...e, startedAt, endpoint: 'net.tcp', ms: Math.round(now - startedAt), remote: this.#socket.remoteAddress });
  }

  /** Ends the carrier from this side: Ended (the client's End) or GoingAway (the client is gone). */
  #closeCarrier(session: Session, carrier: Carrier, code: number, by: 'client' | 'service'): void {
    const wasOpen = this.#endCarrier(session, carrier);
    if (wasOpen === undefined) return;
    if (!wasOpen) return carrier.pending.cancel();
    const path = session.entity.path;
    this.#o.ctx.metrics.netTcpSessionsTotal.inc({ path, end: by });
    this.#log.info({ path, session: session.id, by, ms: this.#o.ctx.config.clock.now() - carrier.startedAt }, 'net.tcp session ended');
    if (by === 'client') carrier.ep!.close(code, code === SessionCloseCode.Ended ? 'client ended the session' : 'client went away');
  }
}

/** The HTTP status an access line gives a framing fault ([MC-NMF] fault names). */
const FAULT_STATUS: Record<string, number> = {
  EndpointNotFound: 404,
  EndpointAccessDenied: 401,
  ServerTooBusy: 503,
  MaxMessageSizeExceededFault: 413,
  EndpointUnavailable: 502,
};

/** The path of a preamble's Via, for the access line of a refused session. */
function viaPath(via: string | undefined): string {
  if (via === undefined) return '';
  try {
    return new URL(via).pathname.replace(/^\/+/, '');
  } catch {
    return '';
  }
}

/** `err` with the call's correlation id at the end of its message (the fault's Reason names it). */
function withCallId(err: RelayError, id: string): RelayError {
  if (err.message.includes('(id ')) return err;
  return new RelayError(err.code, `${err.message.replace(/\.?$/, '')} (id ${id}).`, { httpStatus: err.httpStatus, soapFaultCode: err.soapFaultCode, nmfFault: err.nmfFault });
}

/** The headers of a session's message relayed as SOAP 1.2 text (one call or a broadcast). */
function relayedHeaders(session: { host: string }, action: string | undefined): Record<string, string> {
  return { Host: session.host, 'Content-Type': soap12ContentType(action), Via: `1.1 ${session.host}`, 'X-Relay-Transport': 'net.tcp' };
}
