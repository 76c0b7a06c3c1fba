/**
 * A small net.tcp client built from our own codecs (NMF ClientDecoder + encoders, NBFX session
 * dictionaries): opens duplex sessions, sends SOAP 1.2 envelopes as binary, correlates replies by
 * RelatesTo. Used by the integration tests and the benchmark; not production code.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { SessionReader, SessionWriter } from '../../src/protocol/nbfx';
import { decodeEnvelope, TokenSoapMessage, xmlToBinary } from '../../src/protocol/soap-binary';
import { writeXml } from '../../src/protocol/xml/text-writer';
import {
  ClientDecoder,
  KnownEncoding,
  Mode,
  encodeEnd,
  encodePreamble,
  encodePreambleEnd,
  encodeSizedEnvelope,
  encodeUnsizedEnvelope,
  type ClientFrame,
} from '../../src/protocol/nmf';
import { escapeText } from '../../src/protocol/xml/text-writer';

export const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope';
export const WSA10 = 'http://www.w3.org/2005/08/addressing';

/** The server answered the preamble (or a session) with an NMF Fault record. */
export class NmfFaultError extends Error {
  constructor(readonly fault: string) {
    super(`NMF fault ${fault}`);
  }
}

export interface RequestEnvelope {
  action: string;
  to: string;
  /** Body content (XML text). */
  body: string;
  /** Omit for one-way. */
  messageId?: string;
  /** Adds a RelayAccessToken header. */
  token?: string;
}

/** A SOAP 1.2 + WS-Addressing 1.0 request as WCF writes it (wcf-wire.md §4.2). */
export function requestEnvelope(r: RequestEnvelope): string {
  const headers = [`<a:Action s:mustUnderstand="1">${escapeText(r.action)}</a:Action>`];
  if (r.messageId !== undefined) {
    headers.push(`<a:MessageID>${escapeText(r.messageId)}</a:MessageID>`);
    headers.push(`<a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>`);
  }
  if (r.token !== undefined) {
    headers.push(
      `<RelayAccessToken xmlns="http://schemas.microsoft.com/netservices/2009/05/servicebus/connect"><wsse:BinarySecurityToken xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" ValueType="http://schemas.microsoft.com/servicebus/2010/08/protocol/#SharedAccessSignature" EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${Buffer.from(r.token).toString('base64')}</wsse:BinarySecurityToken></RelayAccessToken>`,
    );
  }
  headers.push(`<a:To s:mustUnderstand="1">${escapeText(r.to)}</a:To>`);
  return `<s:Envelope xmlns:s="${SOAP12}" xmlns:a="${WSA10}"><s:Header>${headers.join('')}</s:Header><s:Body>${r.body}</s:Body></s:Envelope>`;
}

export interface ConnectOptions {
  host?: string;
  port: number;
  /** Mode of the preambles this client sends (default duplex; SingletonUnsized = WCF Streamed). */
  mode?: Mode;
  /** Run the application/ssl-tls upgrade with these TLS options. */
  tls?: tls.ConnectionOptions;
}

/** One TCP connection; sessions (preamble … End) run on it one after the other (pooling). */
export class NetTcpClient {
  readonly socket: net.Socket;
  #stream: Duplex;
  #decoder: ClientDecoder;
  #chunks: Buffer[] = [];
  #streamedReply: ((xml: string) => void) | undefined;
  #reader = new SessionReader();
  #writer = new SessionWriter();
  #pending = new Map<string, { resolve: (xml: string) => void; reject: (e: Error) => void }>();
  #waiters: Array<{ pred: (f: ClientFrame) => boolean; resolve: (f: ClientFrame) => void; reject: (e: Error) => void }> = [];
  #closedError: Error | undefined;
  /** Replies whose RelatesTo matched nothing, and one-way messages from the server. */
  readonly unsolicited: string[] = [];
  /** End records the server sent (the server ended a session, or answered ours). */
  endsReceived = 0;
  /** Called for each unsolicited message (a callback from the service): answer two-way ones with send(). */
  onUnsolicited: ((xml: string) => void) | undefined;
  via = '';

  private constructor(socket: net.Socket, mode: Mode = Mode.Duplex) {
    this.socket = socket;
    this.#decoder = new ClientDecoder({ mode });
    this.#stream = socket;
    socket.setNoDelay(true);
    this.#listen(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => this.#fail(new Error('connection closed')));
  }

  static connect(options: ConnectOptions): Promise<NetTcpClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(options.port, options.host ?? '127.0.0.1', () => {
        socket.off('error', reject);
        resolve(new NetTcpClient(socket, options.mode));
      });
      socket.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.#closedError !== undefined;
  }

  #listen(stream: Duplex): void {
    stream.on('data', (chunk: Buffer) => {
      let frames: ClientFrame[];
      try {
        frames = this.#decoder.push(chunk);
      } catch (err) {
        this.#fail(err as Error);
        this.socket.destroy();
        return;
      }
      for (const f of frames) this.#onFrame(f);
    });
  }

  #onFrame(f: ClientFrame): void {
    if (f.type === 'end') this.endsReceived++;
    if (f.type === 'envelope') {
      const tokens = decodeEnvelope(f.payload, { session: this.#reader });
      const relatesTo = TokenSoapMessage.readHead(tokens)?.addressing?.relatesTo;
      const xml = writeXml(tokens, { selfClose: false });
      const p = relatesTo !== undefined ? this.#pending.get(relatesTo) : undefined;
      if (p && relatesTo !== undefined) {
        this.#pending.delete(relatesTo);
        p.resolve(xml);
      } else {
        this.unsolicited.push(xml);
        this.onUnsolicited?.(xml);
      }
      return;
    }
    if (f.type === 'envelopeStart') this.#chunks = [];
    if (f.type === 'envelopeData') this.#chunks.push(f.data);
    if (f.type === 'envelopeEnd') {
      const tokens = decodeEnvelope(Buffer.concat(this.#chunks));
      this.#streamedReply?.(writeXml(tokens, { selfClose: false }));
      this.#streamedReply = undefined;
    }
    if (f.type === 'fault') {
      const err = new NmfFaultError(f.fault);
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    }
    for (const w of [...this.#waiters]) {
      if (w.pred(f) || f.type === 'fault') {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        if (f.type === 'fault' && !w.pred(f)) w.reject(new NmfFaultError(f.fault));
        else w.resolve(f);
      }
    }
  }

  #fail(err: Error): void {
    if (this.#closedError) return;
    this.#closedError = err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    for (const w of this.#waiters) w.reject(err);
    this.#waiters = [];
  }

  #waitFor(pred: (f: ClientFrame) => boolean, timeoutMs = 10_000): Promise<ClientFrame> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a frame')), timeoutMs);
      this.#waiters.push({
        pred,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** Writes raw bytes (malformed-input tests). */
  write(bytes: Buffer): void {
    this.#stream.write(bytes);
  }

  /** Sends a preamble for `via` and waits for the Ack; rejects with NmfFaultError on a fault. */
  async open(via: string, options: { encoding?: KnownEncoding | string; mode?: Mode; upgrade?: string; tls?: tls.ConnectionOptions } = {}): Promise<void> {
    this.via = via;
    this.#reader = new SessionReader();
    this.#writer = new SessionWriter();
    const upgrade = options.upgrade ?? (options.tls ? 'application/ssl-tls' : undefined);
    const ack = this.#waitFor((f) => f.type === 'preambleAck' || f.type === 'upgradeResponse');
    this.#stream.write(encodePreamble({ mode: options.mode ?? Mode.Duplex, via, encoding: options.encoding ?? KnownEncoding.Soap12BinarySession, upgrade }));
    const first = await ack;
    if (first.type === 'upgradeResponse') {
      if (!options.tls) throw new Error('upgrade response without TLS options');
      const early = this.#decoder.takeBufferedBytes();
      this.socket.removeAllListeners('data');
      for (const b of early.reverse()) this.socket.unshift(b);
      const secure = tls.connect({ ...options.tls, socket: this.socket });
      await new Promise<void>((resolve, reject) => {
        secure.once('secureConnect', resolve);
        secure.once('error', reject);
      });
      secure.on('error', () => undefined);
      this.#decoder.upgradeComplete();
      this.#stream = secure;
      this.#listen(secure);
      const ack2 = this.#waitFor((f) => f.type === 'preambleAck');
      secure.write(encodePreambleEnd());
      await ack2;
    }
  }

  /** Sends a request envelope (XML text) and resolves with the reply's XML. */
  call(xml: string, messageId: string): Promise<string> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const reply = new Promise<string>((resolve, reject) => this.#pending.set(messageId, { resolve, reject }));
    this.send(xml);
    return reply;
  }

  /** Sends an envelope and expects nothing back. */
  send(xml: string): void {
    const parts = encodeSizedEnvelope(xmlToBinary(xml, { session: this.#writer }));
    this.#stream.write(Buffer.concat(parts));
  }

  /** Builds a request envelope addressed to the current Via and calls it. */
  request(action: string, body: string, extra: { token?: string; to?: string } = {}): Promise<string> {
    const messageId = `urn:uuid:${randomUUID()}`;
    return this.call(requestEnvelope({ action, to: extra.to ?? this.via, body, messageId, token: extra.token }), messageId);
  }

  /** One-way message (no MessageID). */
  notify(action: string, body: string, extra: { token?: string } = {}): void {
    this.send(requestEnvelope({ action, to: this.via, body, token: extra.token }));
  }

  /**
   * Singleton-unsized (Streamed) exchange after open(…, { mode: SingletonUnsized, encoding: Soap12Binary }):
   * the request as an Unsized Envelope of plain binary, then End; resolves with the reply (or
   * undefined for one-way) once the server's End arrived.
   */
  async streamed(xml: string, chunkBytes = 1000): Promise<string | undefined> {
    let reply: string | undefined;
    this.#streamedReply = (x) => (reply = x);
    const end = this.#waitFor((f) => f.type === 'end');
    const body = Buffer.concat(xmlToBinary(xml));
    const chunks: Buffer[] = [];
    for (let at = 0; at < body.length; at += chunkBytes) chunks.push(body.subarray(at, at + chunkBytes));
    this.#stream.write(Buffer.concat([...encodeUnsizedEnvelope(chunks), encodeEnd()]));
    await end;
    return reply;
  }

  /** End the session and wait for the server's End (the connection stays open for a new preamble). */
  async end(): Promise<void> {
    const end = this.#waitFor((f) => f.type === 'end');
    this.#stream.write(encodeEnd());
    await end;
  }

  /** Waits until the server closes the connection (after a fault). */
  waitClosed(timeoutMs = 5000): Promise<void> {
    if (this.socket.destroyed || this.socket.readableEnded) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('server did not close')), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Waits for an NMF fault record (e.g. after malformed input). */
  async nextFault(timeoutMs = 5000): Promise<string> {
    const f = await this.#waitFor((x) => x.type === 'fault', timeoutMs).catch((e: unknown) => {
      if (e instanceof NmfFaultError) return { type: 'fault' as const, fault: e.fault };
      throw e;
    });
    return (f as { fault: string }).fault;
  }

  destroy(): void {
    this.#stream.destroy();
    this.socket.destroy();
  }
}
