/**
 * One [MC-NMF] duplex session from the agent to a local WCF net.tcp service (security None):
 *
 *   CONNECTING: connect, preamble (duplex, Via = service URL, binary with session 0x08) -> 0x0B
 *   OPEN:       envelopes both ways, replies matched by RelatesTo (wcf-wire.md §1.6, §4.3)
 *   ENDING:     our End sent -> the service's End (or FIN)
 *   CLOSED:     the socket is gone; closedReason says why (a service End in OPEN = endedByService)
 *
 * The session strings of each direction live as long as the session (one SessionWriter for what
 * we send, one SessionReader for what the service sends; the writer keeps within the 2048-byte
 * MaxSessionSize the service applies by default). Any framing or decoding error, an NMF fault or
 * the service closing ends the session and fails every call still waiting on it.
 */
import net from 'node:net';
import { RelayError, TimeoutError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { SessionReader, SessionWriter } from '../../protocol/nbfx';
import { decodeEnvelope, encodeEnvelope, SOAP_STRING_POLICY, TokenSoapMessage, xmlToBinary } from '../../protocol/soap-binary';
import type { XmlToken } from '../../protocol/xml/tokens';
import { writeXml } from '../../protocol/xml/text-writer';
import { ClientDecoder, KnownEncoding, Mode, encodeEnd, encodePreamble, encodeSizedEnvelope, type ClientFrame } from '../../protocol/nmf';
import type { AddressingInfo } from '../../protocol/soap/envelope';
import { StateMachine, type TransitionTable } from '../../core/state-machine';

export const ServiceSessionState = {
  Connecting: 'CONNECTING',
  Open: 'OPEN',
  Ending: 'ENDING',
  Closed: 'CLOSED',
} as const;
export type ServiceSessionState = (typeof ServiceSessionState)[keyof typeof ServiceSessionState];

export const SERVICE_SESSION_TRANSITIONS: TransitionTable<ServiceSessionState> = {
  CONNECTING: ['OPEN', 'CLOSED'],
  OPEN: ['ENDING', 'CLOSED'],
  ENDING: ['CLOSED'],
  CLOSED: [],
};

export interface NetTcpSessionOptions {
  /** net.tcp://host:port/path of the service (the Via). */
  readonly url: string;
  readonly connectTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly maxSessionBytes: number;
  /**
   * The service answers the calls of a session in order (WCF's default PerSession instancing with
   * ConcurrencyMode.Single). Then a reply to a later call proves that earlier calls still waiting
   * were one-way (Mono's client sends MessageID on one-way calls too): they resolve as one-way.
   */
  readonly repliesInOrder: boolean;
  readonly logger: Logger;
}

/** A message for the service: SOAP 1.2 text, or its tokens (already read: not parsed again). */
export type OutgoingMessage = Buffer | readonly XmlToken[];


/** A reply from the service: its tokens, whether it is a fault (read from them, not rescanned), and its text. */
export interface SessionReply {
  readonly tokens: readonly XmlToken[];
  readonly isFault: boolean;
  /** As SOAP 1.2 text, printed when first asked for (a binary caller never asks). */
  readonly xml: Buffer;
}

/** A SessionReply that prints its text once, on first use. */
class DecodedReply implements SessionReply {
  #xml: Buffer | undefined;
  constructor(
    readonly tokens: readonly XmlToken[],
    readonly isFault: boolean,
  ) {}
  get xml(): Buffer {
    return (this.#xml ??= Buffer.from(writeXml(this.tokens, { selfClose: true }), 'utf8'));
  }
}

interface Waiter {
  /** The reply, or undefined when the call turned out to be one-way. */
  resolve: (reply: SessionReply | undefined) => void;
  reject: (err: RelayError) => void;
  timer: NodeJS.Timeout;
}

export class NetTcpSession {
  readonly #o: NetTcpSessionOptions;
  readonly #socket: net.Socket;
  readonly #decoder: ClientDecoder;
  readonly #reader = new SessionReader();
  readonly #writer: SessionWriter;
  readonly #waiting = new Map<string, Waiter>();
  readonly #state = new StateMachine<ServiceSessionState>('net.tcp service session', ServiceSessionState.Connecting, SERVICE_SESSION_TRANSITIONS);
  #ready: Promise<void>;
  /** Why the session closed (set with CLOSED). */
  #dead: RelayError | undefined;
  #onAck: (() => void) | undefined;
  #onEnd: (() => void) | undefined;
  #failOpen: ((err: RelayError) => void) | undefined;
  /** Called once when the session can no longer be used. */
  onClosed: (() => void) | undefined;
  /**
   * Carrier mode (one client session relayed to this service session): every envelope the
   * service sends (replies, callbacks, faults) goes here as XML, uncorrelated; the client
   * correlates by RelatesTo itself. Unset: replies are matched to call() by RelatesTo.
   */
  onMessage: ((xml: Buffer) => void) | undefined;
  /**
   * Binary carrier mode: every envelope payload the service sends (msbinsession1: its StringTable
   * and NBFX), undecoded, in order. Takes precedence over onMessage.
   */
  onPayload: ((payload: Buffer) => void) | undefined;
  /**
   * Call mode: a message from the service that is not a reply to a waiting call (a callback: it
   * has a MessageID of its own, or no RelatesTo and is no fault). Unset: logged and dropped.
   */
  onUnsolicited: ((xml: Buffer, addressing: AddressingInfo | undefined) => void) | undefined;
  #endedByService = false;
  #closing: Promise<void> | undefined;

  constructor(options: NetTcpSessionOptions) {
    this.#o = options;
    this.#writer = new SessionWriter({ maxSessionBytes: options.maxSessionBytes });
    this.#decoder = new ClientDecoder({ limits: { maxMessageBytes: options.maxMessageBytes } });
    const url = new URL(options.url);
    this.#socket = net.connect(Number(url.port || 808), url.hostname.replace(/^\[|\]$/g, ''));
    this.#socket.setNoDelay(true);
    this.#ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#kill(new TimeoutError('RELAY_ERR_TIMEOUT', `the net.tcp service at ${options.url} did not accept a session in ${options.connectTimeoutMs} ms`));
      }, options.connectTimeoutMs);
      this.#onAck = () => {
        clearTimeout(timer);
        if (!this.#state.is(ServiceSessionState.Connecting)) return;
        this.#state.to(ServiceSessionState.Open);
        options.logger.debug({ service: options.url }, 'net.tcp service session open');
        resolve();
      };
      this.#socket.once('connect', () => {
        this.#socket.write(encodePreamble({ mode: Mode.Duplex, via: options.url, encoding: KnownEncoding.Soap12BinarySession }));
      });
      this.#failOpen = (err) => {
        clearTimeout(timer);
        reject(err);
      };
    });
    this.#ready.catch(() => undefined);
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on('error', (err) =>
      this.#kill(new RelayError('RELAY_ERR_TARGET_UNREACHABLE', `the net.tcp service at ${options.url} is unreachable: ${err.message}`, { cause: err })),
    );
    this.#socket.on('close', () => this.#kill(new RelayError('RELAY_ERR_TARGET_UNREACHABLE', `the net.tcp service at ${options.url} closed the connection`)));
  }

  /** Resolves when the preamble was acknowledged. */
  get ready(): Promise<void> {
    return this.#ready;
  }

  get state(): ServiceSessionState {
    return this.#state.state;
  }

  /** Connecting or open: calls may still be made on it. */
  get usable(): boolean {
    return this.#state.is(ServiceSessionState.Connecting, ServiceSessionState.Open);
  }

  /** The service ended the session with End (an orderly end, e.g. after an IsTerminating operation). */
  get endedByService(): boolean {
    return this.#endedByService;
  }

  /** Why the session cannot be used any more, once it cannot. */
  get closedReason(): RelayError | undefined {
    return this.#dead;
  }

  /** True while a call with this MessageID waits for its reply. */
  isWaiting(messageId: string): boolean {
    return this.#waiting.has(messageId);
  }

  /** Calls waiting for their reply. */
  get inFlight(): number {
    return this.#waiting.size;
  }

  /**
   * Sends a request and resolves with the reply whose RelatesTo is `messageId`, or undefined when
   * the call proved one-way (see repliesInOrder).
   */
  call(xml: OutgoingMessage, messageId: string, timeoutMs: number): Promise<SessionReply | undefined> {
    if (!this.usable) return Promise.reject(this.#dead ?? this.#ending());
    // Two calls with one MessageID on a session would take each other's replies.
    if (this.#waiting.has(messageId)) {
      return Promise.reject(new RelayError('RELAY_ERR_TOO_BUSY', 'another call with this MessageID is waiting on the service session; send a new MessageID per call'));
    }
    // The call is waiting from now on (isWaiting), before the session is open: a pool that picks a
    // session for the next call sees it at once. A session that fails to open rejects it (#kill).
    let waiter!: Waiter;
    const reply = new Promise<SessionReply | undefined>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(messageId);
        reject(new TimeoutError('RELAY_ERR_TIMEOUT', `the net.tcp service at ${this.#o.url} did not answer in ${timeoutMs} ms`));
      }, timeoutMs);
      waiter = { resolve, reject, timer };
      this.#waiting.set(messageId, waiter);
    });
    this.#ready.then(
      () => {
        if (this.#waiting.get(messageId) !== waiter) return; // timed out or failed meanwhile
        if (this.#state.is(ServiceSessionState.Open)) return this.#write(xml);
        this.#waiting.delete(messageId);
        clearTimeout(waiter.timer);
        waiter.reject(this.#dead ?? this.#ending());
      },
      () => undefined,
    );
    return reply;
  }

  /**
   * Binary carrier mode: writes a client's envelope payload (msbinsession1, its StringTable
   * included; To already the service's) as it is. Dropped once the session is not open (the
   * carrier is being ended by then).
   */
  sendPayload(payload: Buffer): void {
    if (!this.#state.is(ServiceSessionState.Open)) return;
    this.#socket.cork();
    for (const p of encodeSizedEnvelope(payload)) this.#socket.write(p);
    this.#socket.uncork();
  }

  /** Sends a one-way message (nothing comes back). */
  async send(xml: OutgoingMessage): Promise<void> {
    await this.#ready;
    if (!this.#state.is(ServiceSessionState.Open)) throw this.#dead ?? this.#ending();
    this.#write(xml);
  }

  #ending(): RelayError {
    return new RelayError('RELAY_ERR_AGENT_CLOSED', 'the net.tcp session is ending');
  }

  /** Drops the session at once (the client went away without End): the service sees the connection close. */
  abort(): void {
    this.#kill(new RelayError('RELAY_ERR_AGENT_CLOSED', 'the relayed client session was aborted'));
  }

  /** End the session: End, wait for the service's End (bounded), close. */
  close(timeoutMs = 2000): Promise<void> {
    // Once: a second End would break the service's record grammar.
    this.#closing ??= this.#close(timeoutMs);
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<void> {
    if (this.#state.is(ServiceSessionState.Open)) {
      this.#state.to(ServiceSessionState.Ending);
      const ended = new Promise<void>((resolve) => {
        this.#onEnd = resolve;
        this.#socket.once('close', resolve);
        setTimeout(resolve, timeoutMs).unref();
      });
      // End, then FIN: a service that answers End (WCF) does so on the half-open socket; one that
      // does not (Mono 6.8) closes on the FIN, so the session is released at once instead of
      // lingering for the timeout and counting against the service's session throttle
      // (MaxConcurrentSessions: 10 on Mono).
      this.#socket.end(encodeEnd());
      await ended;
    }
    this.#kill(new RelayError('RELAY_ERR_AGENT_CLOSED', 'the net.tcp session was closed'));
  }

  #write(message: OutgoingMessage): void {
    // Encoding and writing happen in one synchronous step, so string-table order = wire order.
    const parts = encodeSizedEnvelope(
      Buffer.isBuffer(message) ? xmlToBinary(message, { session: this.#writer }) : encodeEnvelope(message, { session: this.#writer, policy: SOAP_STRING_POLICY }),
    );
    this.#socket.cork();
    for (const p of parts) this.#socket.write(p);
    this.#socket.uncork();
  }

  #onData(chunk: Buffer): void {
    let frames: ClientFrame[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      this.#kill(new RelayError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `bad framing from the net.tcp service: ${(err as Error).message}`, { cause: err }));
      return;
    }
    for (const f of frames) this.#onFrame(f);
  }

  #onFrame(f: ClientFrame): void {
    switch (f.type) {
      case 'preambleAck':
        this.#onAck?.();
        return;
      case 'envelope':
        return this.#onEnvelope(f.payload);
      case 'fault':
        return this.#kill(new RelayError('RELAY_ERR_TARGET_UNREACHABLE', `the net.tcp service refused the session: ${f.fault}`));
      case 'end':
        if (this.#state.is(ServiceSessionState.Ending)) this.#onEnd?.(); // the answer to our End
        else {
          this.#endedByService = true;
          this.#socket.write(encodeEnd()); // the service ended the session: acknowledge
        }
        return this.#kill(new RelayError('RELAY_ERR_TARGET_UNREACHABLE', 'the net.tcp service ended the session'));
      default:
        return this.#kill(new RelayError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `unexpected ${f.type} frame from the net.tcp service`));
    }
  }

  #onEnvelope(payload: Buffer): void {
    if (this.onPayload) return this.onPayload(payload);
    let reply: DecodedReply;
    let addressing: AddressingInfo | undefined;
    let isFault: boolean;
    try {
      // Decoded once: the head is read from the tokens; text is printed only for who asks for it.
      const message = TokenSoapMessage.read(decodeEnvelope(payload, { session: this.#reader }));
      ({ addressing, isFault } = message);
      reply = new DecodedReply(message.tokens, isFault);
    } catch (err) {
      // WCF marks a session unusable after a decode error; so does this side.
      this.#kill(new RelayError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `undecodable reply from the net.tcp service: ${(err as Error).message}`, { cause: err }));
      return;
    }
    if (this.onMessage) return this.onMessage(reply.xml);
    const relatesTo = addressing?.relatesTo;
    // WCF correlates by RelatesTo. Mono's service leaves it out of faults; its calls on a session
    // are answered in order, so a fault without RelatesTo (and without a MessageID of its own)
    // goes to the oldest waiting call. Anything else without RelatesTo is a callback, never a reply.
    const orphanFault = relatesTo === undefined && isFault && addressing?.messageId === undefined;
    const key = relatesTo ?? (orphanFault ? this.#waiting.keys().next().value : undefined);
    const w = key !== undefined ? this.#waiting.get(key) : undefined;
    if (!w || key === undefined) {
      if (relatesTo === undefined && !orphanFault && this.onUnsolicited) return this.onUnsolicited(reply.xml, addressing);
      this.#o.logger.debug({ relatesTo, action: addressing?.action }, 'net.tcp message with no waiting call (late reply or callback); dropped');
      return;
    }
    if (this.#o.repliesInOrder) {
      for (const [earlier, e] of this.#waiting) {
        if (earlier === key) break;
        this.#waiting.delete(earlier);
        clearTimeout(e.timer);
        e.resolve(undefined);
      }
    }
    this.#waiting.delete(key);
    clearTimeout(w.timer);
    w.resolve(reply);
  }

  #kill(err: RelayError): void {
    if (this.#state.is(ServiceSessionState.Closed)) return;
    this.#state.to(ServiceSessionState.Closed);
    this.#dead = err;
    this.#o.logger.debug({ service: this.#o.url, reason: err.message }, 'net.tcp service session closed');
    this.#failOpen?.(err);
    for (const w of this.#waiting.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.#waiting.clear();
    this.#socket.destroy();
    this.onClosed?.();
  }
}
