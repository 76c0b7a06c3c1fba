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
import { ProtocolError } from '../../../core/errors';
import type { Logger, ThrottledWarning } from '../../../core/logger';
import type { TimerHandle } from '../../../core/clock';
import {
  FaultString,
  KnownEncoding,
  Mode,
  ServerDecoder,
  UpgradeProtocol,
  encodeEnd,
  encodeFault,
  encodePreambleAck,
  encodeUpgradeResponse,
  type ServerFrame,
} from '../../../protocol/nmf';
import type { EndpointDeps } from '../../deps';
import type { PreAuthSlot } from '../../guard/pre-auth-slots';
import { DEFAULT_XML_LIMITS, type XmlLimits } from '../../../protocol/xml/limits';
import { StateMachine } from '../../../core/state-machine';
import { CONNECTION_TRANSITIONS, ConnectionState } from './connection-state';
import { ClientSession, VIA_TOKEN_PARAM, type AccessEntry, type NetTcpConfig, type SessionConnection, type SessionSlots } from './client-session';

export type { NetTcpConfig, SessionSlots } from './client-session';

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

/** Time a connection without an unauthenticated slot has to authenticate by its preamble, ms. */
const OVER_CAP_GRACE_MS = 5000;

export class NmfConnection {
  readonly #socket: net.Socket;
  readonly #o: NmfConnectionOptions;
  readonly #log: Logger;
  readonly #decoder: ServerDecoder;
  /** Where bytes go: the socket, or the TLS socket after an ssl-tls upgrade. */
  #out: Duplex;
  #session: ClientSession | undefined;
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
    const { complete, token } = session.peekToken(prefix);
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
  async #route(via: string): Promise<ClientSession | undefined> {
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
    return new ClientSession({
      id: ++this.#sessionCount,
      entity,
      requestTarget: `/${encoded}${suffix ? `/${suffix.split('/').map(encodeURIComponent).join('/')}` : ''}`,
      host: url.host,
      token: viaToken,
      streamed: this.#preamble?.mode === Mode.SingletonUnsized,
      ctx,
      config: this.#o.config,
      log: this.#log,
      slots: this.#o.sessionSlots,
      xmlLimits: this.#xmlLimits,
      connection: this.#link,
    });
  }

  #onEnvelope(payload: Buffer): void {
    const session = this.#session;
    if (!session) return this.#fault(FaultString.InvalidRecordSequence, 'envelope outside a session');
    session.onEnvelope(payload);
  }

  /** What a session may ask of its connection. */
  readonly #link: SessionConnection = {
    write: (parts) => this.#write(parts),
    fault: (fault, reason) => this.#fault(fault, reason),
    accessLine: (e) => this.#accessLine(e),
    authenticated: () => this.#authenticate(),
    protocolFailure: (err) => this.#protocolFailure(err),
    isCurrent: (session) => this.#session === session && !this.#state.is(ConnectionState.Closed),
    replySettled: () => {
      if (this.#state.is(ConnectionState.Ending)) this.#endSession(ConnectionState.Preamble);
    },
    serviceEnded: (session) => {
      if (this.#session === session) this.#endSession(ConnectionState.ServerEnded);
    },
    remote: () => this.#remoteEndpoint,
  };

  /** This connection's access line for a call or refusal (started now unless said, its duration up to now). */
  #accessLine(e: AccessEntry): void {
    const ctx = this.#o.ctx;
    const now = ctx.config.clock.now();
    const startedAt = e.startedAt ?? now;
    ctx.accessLog.call({
      id: e.id,
      startedAt,
      endpoint: 'net.tcp',
      method: e.method,
      path: e.path,
      operation: e.operation,
      status: e.status,
      code: e.code,
      ms: Math.round(now - startedAt),
      remote: this.#socket.remoteAddress,
    });
  }

  /** The client's address, as a relayed message's remoteEndpoint. */
  get #remoteEndpoint(): { address: string; port: number } | undefined {
    return this.#socket.remoteAddress ? { address: this.#socket.remoteAddress, port: this.#socket.remotePort ?? 0 } : undefined;
  }

  #onEnd(): void {
    // The client acknowledges an End the relay sent (the service ended the session): nothing to do.
    if (this.#state.is(ConnectionState.ServerEnded)) return void this.#state.to(ConnectionState.Preamble);
    const session = this.#session;
    // The decoder admits End only after a preamble; the Via may still be routing (held) or refused.
    if (!session || !this.#state.is(ConnectionState.Open)) return this.#fault(FaultString.InvalidRecordSequence, 'End outside a session');
    session.clientEnded();
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
    // A carried session is dropped at the service too (not ended: the client went away).
    this.#session?.connectionClosed();
    this.#session = undefined;
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
