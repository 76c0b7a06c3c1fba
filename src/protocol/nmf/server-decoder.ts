/**
 * [MC-NMF] receiver-side (server) stream decoder: bytes from the initiator in, typed frames out.
 *
 * Grammar decoded ([MC-NMF] §2.2.1 records, §3.1.1.2 ProtocolStream-a, restated):
 *
 *   stream        = 1*session                            ; a pooled connection carries several
 *   session       = preamble ( duplex / simplex / singleton-unsized / singleton-sized )
 *   preamble      = Version Mode Via Encoding *UpgradeRequest PreambleEnd
 *   Encoding      = KnownEncoding / ExtensibleEncoding
 *   duplex        = *SizedEnvelope End                  ; Mode 0x02
 *   simplex       = *SizedEnvelope End                  ; Mode 0x03, connection closes after End
 *   singleton-unsized = UnsizedEnvelope End             ; Mode 0x01, one message per preamble
 *   singleton-sized   = *OCTET                          ; Mode 0x04, raw bytes until the peer closes
 *   UnsizedEnvelope = 0x05 1*(MB31(len>0) len*OCTET) 0x00
 *
 * After UpgradeRequest the decoder pauses (state AwaitingUpgrade): the bytes that follow belong to
 * the upgrade protocol (TLS). The caller takes them with takeBufferedBytes(), runs the upgrade,
 * and calls upgradeComplete(); decrypted bytes are then pushed as before (wcf-wire.md §1.7).
 * After End in duplex or singleton-unsized mode the decoder expects a new preamble: WCF returns
 * a cleanly closed connection to its pool and reuses it (wcf-wire.md §1.6 rule 3).
 *
 * Every error is a ProtocolError carrying `nmfFault`, the fault record to answer with before
 * closing (only meaningful before the Preamble Ack; after it the caller just closes).
 */
import { resolveNmfLimits, type NmfLimits } from './limits';
import { FaultString } from './faults';
import { KNOWN_ENCODING_CONTENT_TYPES, Mode, NMF_VERSION, RecordType, isKnownEncoding, isMode, type NmfEncoding } from './records';
import { ByteQueue, nmfError, readSize, readStringRecord, recordName } from './frame-reader';
import type { ProtocolError } from '../../core/errors';

/** Frames produced by ServerDecoder.push. */
export type ServerFrame =
  | {
      readonly type: 'preamble';
      readonly version: { readonly major: number; readonly minor: number };
      readonly mode: Mode;
      readonly via: string;
      readonly encoding: NmfEncoding;
    }
  | { readonly type: 'upgradeRequest'; readonly protocol: string }
  | { readonly type: 'preambleEnd' }
  /** A whole Sized Envelope payload (duplex, simplex). */
  | { readonly type: 'envelope'; readonly payload: Buffer }
  /** Unsized Envelope start (singleton-unsized). */
  | { readonly type: 'envelopeStart' }
  /** Unsized Envelope data, or singleton-sized raw data; split points do not follow wire chunks. */
  | { readonly type: 'envelopeData'; readonly data: Buffer }
  /** Unsized Envelope terminator. */
  | { readonly type: 'envelopeEnd' }
  | { readonly type: 'end' };

export const ServerState = {
  ReadingVersionRecord: 'ReadingVersionRecord',
  ReadingModeRecord: 'ReadingModeRecord',
  ReadingViaRecord: 'ReadingViaRecord',
  ReadingEncodingRecord: 'ReadingEncodingRecord',
  ReadingUpgradeOrPreambleEnd: 'ReadingUpgradeOrPreambleEnd',
  AwaitingUpgrade: 'AwaitingUpgrade',
  ReadingEnvelopeOrEnd: 'ReadingEnvelopeOrEnd',
  ReadingEnvelopePayload: 'ReadingEnvelopePayload',
  ReadingChunkSize: 'ReadingChunkSize',
  ReadingChunkData: 'ReadingChunkData',
  ReadingEndRecord: 'ReadingEndRecord',
  ReadingSingletonData: 'ReadingSingletonData',
  Ended: 'Ended',
  Failed: 'Failed',
} as const;
export type ServerState = (typeof ServerState)[keyof typeof ServerState];

export interface ServerDecoderOptions {
  readonly limits?: Partial<NmfLimits>;
}

/**
 * Streaming decoder for the initiator's byte stream. Feed every received chunk to push(); it
 * returns the frames completed so far (possibly none) and keeps any partial record.
 */
export class ServerDecoder {
  readonly #limits: NmfLimits;
  readonly #queue = new ByteQueue();
  #state: ServerState = ServerState.ReadingVersionRecord;
  #version = { major: 0, minor: 0 };
  #mode: Mode = Mode.Duplex;
  #via = '';
  #remaining = 0; // bytes left in the current envelope payload or chunk
  #messageBytes = 0; // bytes so far in the current unsized envelope
  #error: ProtocolError | undefined;

  constructor(options: ServerDecoderOptions = {}) {
    this.#limits = resolveNmfLimits(options.limits);
  }

  get state(): ServerState {
    return this.#state;
  }

  /** The mode of the current (or last) preamble. */
  get mode(): Mode {
    return this.#mode;
  }

  /** Bytes received but not yet decoded. */
  get bufferedLength(): number {
    return this.#queue.length;
  }

  /** Adds received bytes and returns the frames they complete. Throws ProtocolError on bad input. */
  push(chunk: Buffer): ServerFrame[] {
    if (this.#error) throw this.#error;
    this.#queue.push(chunk);
    const frames: ServerFrame[] = [];
    try {
      while (this.#step(frames));
    } catch (err) {
      this.#state = ServerState.Failed;
      this.#error = err as ProtocolError;
      throw err;
    }
    return frames;
  }

  /**
   * While AwaitingUpgrade: removes and returns the bytes received after the Upgrade Request
   * record (the first bytes of the upgrade protocol, e.g. a TLS ClientHello that shared a TCP
   * segment with the record). The socket layer hands them to the TLS stack.
   */
  takeBufferedBytes(): Buffer[] {
    return this.#queue.consumeChunks(this.#queue.length);
  }

  /**
   * While a Sized Envelope is being received: its first bytes so far (at most `max`), without
   * consuming them; else undefined. Lets a server read an envelope's head (a token in it) before
   * the whole envelope has arrived.
   */
  partialEnvelope(max: number): Buffer | undefined {
    if (this.#state !== ServerState.ReadingEnvelopePayload) return undefined;
    return this.#queue.peek(Math.min(max, this.#queue.length, this.#remaining));
  }

  /** The upgrade handshake is done: decode the (now decrypted) bytes that follow. */
  upgradeComplete(): void {
    if (this.#state !== ServerState.AwaitingUpgrade) {
      throw nmfError(`upgradeComplete() in state ${this.#state}`, FaultString.InvalidRecordSequence);
    }
    this.#state = ServerState.ReadingUpgradeOrPreambleEnd;
  }

  /**
   * The peer closed its side. Returns true when that is a clean end (between sessions, after a
   * simplex End, or at the end of singleton-sized data), false for an abort (mid-session or
   * mid-record), which the caller treats as a session abort (wcf-wire.md §1.6 rule 4).
   */
  finish(): boolean {
    if (this.#queue.length > 0) return false;
    return (
      this.#state === ServerState.ReadingVersionRecord ||
      this.#state === ServerState.Ended ||
      this.#state === ServerState.ReadingSingletonData
    );
  }

  /** Decodes at most one record; returns false when more bytes are needed. */
  #step(frames: ServerFrame[]): boolean {
    const q = this.#queue;
    if (q.length === 0 && this.#state !== ServerState.ReadingEnvelopePayload) return false;
    switch (this.#state) {
      case ServerState.ReadingVersionRecord: {
        this.#expect(RecordType.Version, 'Version');
        if (q.length < 3) return false;
        const rec = q.consume(3);
        // [MC-NMF] §2.2.3.1: MajorVersion MUST be 1. WCF answers other majors with UnsupportedVersion.
        if (rec[1] !== NMF_VERSION.major) {
          throw nmfError(`unsupported version ${rec[1]}.${rec[2]}`, FaultString.UnsupportedVersion);
        }
        this.#version = { major: rec[1]!, minor: rec[2]! };
        this.#state = ServerState.ReadingModeRecord;
        return true;
      }
      case ServerState.ReadingModeRecord: {
        this.#expect(RecordType.Mode, 'Mode');
        if (q.length < 2) return false;
        const mode = q.consume(2)[1]!;
        // [MC-NMF] §2.2.3.2: the mode MUST be one of the four defined values.
        if (!isMode(mode)) throw nmfError(`unsupported mode 0x${mode.toString(16)}`, FaultString.UnsupportedMode);
        this.#mode = mode;
        this.#state = ServerState.ReadingViaRecord;
        return true;
      }
      case ServerState.ReadingViaRecord: {
        this.#expect(RecordType.Via, 'Via');
        // [MC-NMF] §2.2.3.3: Via is a non-empty URI; WCF caps it at 2048 bytes (fault ViaTooLong).
        const via = readStringRecord(q, { what: 'Via', maxBytes: this.#limits.maxViaBytes, tooLongFault: FaultString.ViaTooLong, allowEmpty: false });
        if (via === undefined) return false;
        this.#via = via;
        this.#state = ServerState.ReadingEncodingRecord;
        return true;
      }
      case ServerState.ReadingEncodingRecord:
        return this.#readEncoding(frames);
      case ServerState.ReadingUpgradeOrPreambleEnd: {
        const type = q.peekByte(0);
        if (type === RecordType.PreambleEnd) {
          q.consume(1);
          frames.push({ type: 'preambleEnd' });
          this.#state = this.#mode === Mode.SingletonSized ? ServerState.ReadingSingletonData : ServerState.ReadingEnvelopeOrEnd;
          return true;
        }
        // [MC-NMF] §3.1.1.2: the only records between Encoding and PreambleEnd are upgrade requests;
        // the grammar allows none in simplex mode.
        if (type !== RecordType.UpgradeRequest || this.#mode === Mode.Simplex) throw this.#unexpected(type, 'Upgrade Request or Preamble End');
        const protocol = readStringRecord(q, {
          what: 'upgrade protocol',
          maxBytes: this.#limits.maxUpgradeProtocolBytes,
          tooLongFault: FaultString.UpgradeInvalid,
          allowEmpty: false,
        });
        if (protocol === undefined) return false;
        frames.push({ type: 'upgradeRequest', protocol });
        this.#state = ServerState.AwaitingUpgrade;
        return false; // the bytes that follow belong to the upgrade protocol
      }
      case ServerState.AwaitingUpgrade:
        return false;
      case ServerState.ReadingEnvelopeOrEnd:
        return this.#readEnvelopeOrEnd(frames);
      case ServerState.ReadingEnvelopePayload: {
        if (q.length < this.#remaining) return false;
        frames.push({ type: 'envelope', payload: q.consume(this.#remaining) });
        this.#state = ServerState.ReadingEnvelopeOrEnd;
        return true;
      }
      case ServerState.ReadingChunkSize: {
        const size = readSize(q, false, this.#limits.maxMessageBytes - this.#messageBytes, 'unsized envelope');
        if (size === undefined) return false;
        if (size === 0) {
          // [MC-NMF] §2.2.3.6: a zero-length chunk terminates the Unsized Envelope.
          frames.push({ type: 'envelopeEnd' });
          this.#state = ServerState.ReadingEndRecord;
          return true;
        }
        this.#messageBytes += size;
        this.#remaining = size;
        this.#state = ServerState.ReadingChunkData;
        return true;
      }
      case ServerState.ReadingChunkData: {
        const take = Math.min(this.#remaining, q.length);
        for (const data of q.consumeChunks(take)) frames.push({ type: 'envelopeData', data });
        this.#remaining -= take;
        if (this.#remaining === 0) this.#state = ServerState.ReadingChunkSize;
        return true;
      }
      case ServerState.ReadingEndRecord: {
        // singleton-unsized carries exactly one envelope per preamble, then End.
        this.#expect(RecordType.End, 'End');
        q.consume(1);
        frames.push({ type: 'end' });
        this.#state = ServerState.ReadingVersionRecord;
        return true;
      }
      case ServerState.ReadingSingletonData: {
        for (const data of q.consumeChunks(q.length)) frames.push({ type: 'envelopeData', data });
        return false;
      }
      case ServerState.Ended:
        throw nmfError('data after End in simplex mode', FaultString.InvalidRecordSequence);
      case ServerState.Failed:
        return false;
    }
  }

  #readEncoding(frames: ServerFrame[]): boolean {
    const q = this.#queue;
    const type = q.peekByte(0);
    let encoding: NmfEncoding;
    if (type === RecordType.KnownEncoding) {
      if (q.length < 2) return false;
      const value = q.consume(2)[1]!;
      // [MC-NMF] §2.2.3.4.1: only the defined encodings are valid; anything else is an unusable content type.
      if (!isKnownEncoding(value)) throw nmfError(`unknown known-encoding 0x${value.toString(16)}`, FaultString.ContentTypeInvalid);
      encoding = { known: value, contentType: KNOWN_ENCODING_CONTENT_TYPES[value] };
    } else if (type === RecordType.ExtensibleEncoding) {
      // [MC-NMF] §2.2.3.4.2; WCF caps the content type at 256 bytes (fault ContentTypeTooLong).
      const contentType = readStringRecord(q, {
        what: 'content type',
        maxBytes: this.#limits.maxContentTypeBytes,
        tooLongFault: FaultString.ContentTypeTooLong,
        allowEmpty: false,
      });
      if (contentType === undefined) return false;
      encoding = { contentType };
    } else {
      throw this.#unexpected(type, 'Known Encoding or Extensible Encoding');
    }
    frames.push({ type: 'preamble', version: this.#version, mode: this.#mode, via: this.#via, encoding });
    this.#state = ServerState.ReadingUpgradeOrPreambleEnd;
    return true;
  }

  #readEnvelopeOrEnd(frames: ServerFrame[]): boolean {
    const q = this.#queue;
    const type = q.peekByte(0);
    if (type === RecordType.End) {
      q.consume(1);
      frames.push({ type: 'end' });
      // Simplex: the connection closes after End. Duplex/singleton: a new preamble may follow (pooling).
      this.#state = this.#mode === Mode.Simplex ? ServerState.Ended : ServerState.ReadingVersionRecord;
      return true;
    }
    if (this.#mode === Mode.SingletonUnsized) {
      if (type !== RecordType.UnsizedEnvelope) throw this.#unexpected(type, 'Unsized Envelope or End');
      q.consume(1);
      frames.push({ type: 'envelopeStart' });
      this.#messageBytes = 0;
      this.#state = ServerState.ReadingChunkSize;
      return true;
    }
    if (type !== RecordType.SizedEnvelope) throw this.#unexpected(type, 'Sized Envelope or End');
    // The size is checked against maxMessageBytes before any payload byte is buffered.
    const size = readSize(q, true, this.#limits.maxMessageBytes, 'sized envelope');
    if (size === undefined) return false;
    // [MC-NMF] §2.2.3.7: a Sized Envelope is never empty.
    if (size === 0) throw nmfError('empty Sized Envelope', FaultString.InvalidRecordSequence);
    this.#remaining = size;
    this.#state = ServerState.ReadingEnvelopePayload;
    return true;
  }

  #expect(expected: number, name: string): void {
    const type = this.#queue.peekByte(0);
    if (type !== expected) throw this.#unexpected(type, name);
  }

  #unexpected(type: number, expected: string): ProtocolError {
    return nmfError(`record ${recordName(type)} where ${expected} was expected (state ${this.#state})`, FaultString.InvalidRecordSequence);
  }
}
