/**
 * [MC-NMF] initiator-side (client) stream decoder: the receiver's bytes in, typed frames out.
 * Used by the agent's net.tcp client towards a local WCF service.
 *
 * Grammar decoded ([MC-NMF] §3.1.1.2 ProtocolStream-b, restated; one round per preamble sent):
 *
 *   reply-stream = 1*( *UpgradeResponse ( Fault / PreambleAck messages ( End / Fault ) ) )
 *   messages     = *SizedEnvelope                     ; duplex
 *                / UnsizedEnvelope                    ; singleton-unsized (the reply)
 *
 * After an Upgrade Response (0x0A) the decoder pauses (AwaitingUpgrade): the following bytes are
 * the server's TLS handshake. takeBufferedBytes() returns what was already received, and
 * upgradeComplete() resumes with the decrypted stream. After End the decoder waits for the
 * answer to the next preamble on the same connection (pooling, wcf-wire.md §1.6 rule 3).
 * A Fault record is terminal ([MC-NMF] §2.2.3.9); WCF's client reads at most 256 bytes of it.
 */
import type { ProtocolError } from '../../core/errors';
import { FaultString } from './faults';
import { ByteQueue, nmfError, readSize, readStringRecord, recordName } from './frame-reader';
import { resolveNmfLimits, type NmfLimits } from './limits';
import { Mode, RecordType } from './records';

export type ClientFrame =
  | { readonly type: 'upgradeResponse' }
  | { readonly type: 'preambleAck' }
  | { readonly type: 'envelope'; readonly payload: Buffer }
  | { readonly type: 'envelopeStart' }
  | { readonly type: 'envelopeData'; readonly data: Buffer }
  | { readonly type: 'envelopeEnd' }
  | { readonly type: 'end' }
  | { readonly type: 'fault'; readonly fault: string };

export const ClientState = {
  ReadingPreambleResponse: 'ReadingPreambleResponse',
  AwaitingUpgrade: 'AwaitingUpgrade',
  ReadingEnvelopeOrEnd: 'ReadingEnvelopeOrEnd',
  ReadingEnvelopePayload: 'ReadingEnvelopePayload',
  ReadingChunkSize: 'ReadingChunkSize',
  ReadingChunkData: 'ReadingChunkData',
  Faulted: 'Faulted',
  Failed: 'Failed',
} as const;
export type ClientState = (typeof ClientState)[keyof typeof ClientState];

export interface ClientDecoderOptions {
  /** The mode of the preambles this client sends. Default Mode.Duplex. */
  readonly mode?: Mode;
  readonly limits?: Partial<NmfLimits>;
}

export class ClientDecoder {
  readonly #limits: NmfLimits;
  readonly #mode: Mode;
  readonly #queue = new ByteQueue();
  #state: ClientState = ClientState.ReadingPreambleResponse;
  #remaining = 0;
  #messageBytes = 0;
  #error: ProtocolError | undefined;

  constructor(options: ClientDecoderOptions = {}) {
    this.#limits = resolveNmfLimits(options.limits);
    this.#mode = options.mode ?? Mode.Duplex;
  }

  get state(): ClientState {
    return this.#state;
  }

  /** Adds received bytes and returns the frames they complete. Throws ProtocolError on bad input. */
  push(chunk: Buffer): ClientFrame[] {
    if (this.#error) throw this.#error;
    this.#queue.push(chunk);
    const frames: ClientFrame[] = [];
    try {
      while (this.#step(frames));
    } catch (err) {
      this.#state = ClientState.Failed;
      this.#error = err as ProtocolError;
      throw err;
    }
    return frames;
  }

  /** While AwaitingUpgrade: the bytes received after the Upgrade Response (server TLS bytes). */
  takeBufferedBytes(): Buffer[] {
    return this.#queue.consumeChunks(this.#queue.length);
  }

  upgradeComplete(): void {
    if (this.#state !== ClientState.AwaitingUpgrade) {
      throw nmfError(`upgradeComplete() in state ${this.#state}`, FaultString.InvalidRecordSequence);
    }
    this.#state = ClientState.ReadingPreambleResponse;
  }

  /** The server closed: true when that happened at a clean point (after End or a Fault). */
  finish(): boolean {
    return this.#queue.length === 0 && (this.#state === ClientState.ReadingPreambleResponse || this.#state === ClientState.Faulted);
  }

  #step(frames: ClientFrame[]): boolean {
    const q = this.#queue;
    if (q.length === 0 && this.#state !== ClientState.ReadingEnvelopePayload) return false;
    switch (this.#state) {
      case ClientState.ReadingPreambleResponse: {
        const type = q.peekByte(0);
        if (type === RecordType.PreambleAck) {
          q.consume(1);
          frames.push({ type: 'preambleAck' });
          this.#state = ClientState.ReadingEnvelopeOrEnd;
          return true;
        }
        if (type === RecordType.UpgradeResponse) {
          q.consume(1);
          frames.push({ type: 'upgradeResponse' });
          this.#state = ClientState.AwaitingUpgrade;
          return false;
        }
        if (type === RecordType.Fault) return this.#readFault(frames);
        throw this.#unexpected(type, 'Preamble Ack, Upgrade Response or Fault');
      }
      case ClientState.AwaitingUpgrade:
      case ClientState.Faulted:
      case ClientState.Failed:
        return false;
      case ClientState.ReadingEnvelopeOrEnd: {
        const type = q.peekByte(0);
        if (type === RecordType.End) {
          q.consume(1);
          frames.push({ type: 'end' });
          this.#state = ClientState.ReadingPreambleResponse;
          return true;
        }
        if (type === RecordType.Fault) return this.#readFault(frames);
        if (this.#mode === Mode.SingletonUnsized) {
          if (type !== RecordType.UnsizedEnvelope) throw this.#unexpected(type, 'Unsized Envelope, End or Fault');
          q.consume(1);
          frames.push({ type: 'envelopeStart' });
          this.#messageBytes = 0;
          this.#state = ClientState.ReadingChunkSize;
          return true;
        }
        if (type !== RecordType.SizedEnvelope) throw this.#unexpected(type, 'Sized Envelope, End or Fault');
        const size = readSize(q, true, this.#limits.maxMessageBytes, 'sized envelope');
        if (size === undefined) return false;
        // [MC-NMF] §2.2.3.7: a Sized Envelope is never empty.
        if (size === 0) throw nmfError('empty Sized Envelope', FaultString.InvalidRecordSequence);
        this.#remaining = size;
        this.#state = ClientState.ReadingEnvelopePayload;
        return true;
      }
      case ClientState.ReadingEnvelopePayload: {
        if (q.length < this.#remaining) return false;
        frames.push({ type: 'envelope', payload: q.consume(this.#remaining) });
        this.#state = ClientState.ReadingEnvelopeOrEnd;
        return true;
      }
      case ClientState.ReadingChunkSize: {
        const size = readSize(q, false, this.#limits.maxMessageBytes - this.#messageBytes, 'unsized envelope');
        if (size === undefined) return false;
        if (size === 0) {
          // [MC-NMF] §2.2.3.6: a zero-length chunk ends the Unsized Envelope; End follows.
          frames.push({ type: 'envelopeEnd' });
          this.#state = ClientState.ReadingEnvelopeOrEnd;
          return true;
        }
        this.#messageBytes += size;
        this.#remaining = size;
        this.#state = ClientState.ReadingChunkData;
        return true;
      }
      case ClientState.ReadingChunkData: {
        const take = Math.min(this.#remaining, q.length);
        for (const data of q.consumeChunks(take)) frames.push({ type: 'envelopeData', data });
        this.#remaining -= take;
        if (this.#remaining === 0) this.#state = ClientState.ReadingChunkSize;
        return true;
      }
    }
  }

  #readFault(frames: ClientFrame[]): boolean {
    // dotnet/wcf FaultStringDecoder.FaultSizeQuota: a fault string of more than 256 bytes is refused.
    const fault = readStringRecord(this.#queue, {
      what: 'fault string',
      maxBytes: this.#limits.maxFaultBytes,
      tooLongFault: FaultString.InvalidRecordSequence,
      allowEmpty: true,
    });
    if (fault === undefined) return false;
    frames.push({ type: 'fault', fault });
    this.#state = ClientState.Faulted;
    return false;
  }

  #unexpected(type: number, expected: string): ProtocolError {
    return nmfError(`record ${recordName(type)} where ${expected} was expected (state ${this.#state})`, FaultString.InvalidRecordSequence);
  }
}
