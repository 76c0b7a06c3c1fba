/**
 * Streaming RFC 6455 frame decoder (§5.1–§5.5), for relaying frames without buffering whole
 * messages (hybrid-connections.md §3.1 item 5, §10 item 3). Bytes in, frame events out; no I/O.
 *
 * Frame grammar (RFC 6455 §5.2):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-------+-+-------------+-------------------------------+
 *   |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *   |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *   |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *   | |1|2|3|       |K|             |                               |
 *   +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *   |     Extended payload length continued, if payload len == 127  |
 *   + - - - - - - - - - - - - - - - +-------------------------------+
 *   |                               | Masking-key, if MASK set to 1 |
 *   +-------------------------------+-------------------------------+
 *   | Masking-key (continued)       |          Payload Data         |
 *   +-------------------------------- - - - - - - - - - - - - - - - +
 *
 * States: Info (2 bytes) → [Length16 | Length64] → [MaskKey] → Payload → Info …
 *
 * Events per frame: one `header` (once the whole header is read and validated), zero or more
 * `payload` (unmasked bytes as they arrive; a view of the input when the frame is unmasked),
 * one `frameEnd`. A zero-length frame gives `header` + `frameEnd`.
 *
 * Not checked here, left to the consumer: UTF-8 validity of text messages (needs message
 * assembly; §8.1), close-frame payloads (decodeClosePayload), and frames after a Close.
 */
import { ByteQueue } from '../../core/byte-queue';
import { ConfigError, ProtocolError } from '../../core/errors';
import { WS_LIMITS } from './limits';
import { maskInto } from './mask';
import { Opcode, isControlOpcode, isKnownOpcode } from './opcodes';

export interface FrameHeader {
  fin: boolean;
  /** RSV1–RSV3 as a 3-bit number (RSV1 = 4); always 0 here, since no extension is negotiated. */
  rsv: number;
  opcode: number;
  masked: boolean;
  /** Payload length in bytes, from the length field. */
  payloadLength: number;
}

export type FrameEvent =
  | { type: 'header'; header: FrameHeader }
  | { type: 'payload'; data: Buffer; header: FrameHeader }
  | { type: 'frameEnd'; header: FrameHeader };

export interface FrameDecoderOptions {
  /**
   * 'server': we are the server, frames come from a client and MUST be masked;
   * 'client': frames come from a server and MUST NOT be masked (RFC 6455 §5.1).
   */
  role: 'server' | 'client';
  /** Largest frame payload accepted, bytes. Default 16 MiB. Oversize → 1009. */
  maxFramePayloadBytes?: number;
  /** Largest control frame payload, bytes, at most 125 (RFC 6455 §5.5). Default 125. */
  maxControlPayloadBytes?: number;
  /**
   * Unmask masked payloads in place, in the caller's input buffers (as `ws` does), instead of
   * into fresh buffers. Saves a copy; only for callers that do not reuse pushed chunks.
   * Default false.
   */
  unmaskInPlace?: boolean;
}

const State = {
  Info: 0,
  Length16: 1,
  Length64: 2,
  MaskKey: 3,
  Payload: 4,
} as const;
type State = (typeof State)[keyof typeof State];

const TWO_POW_32 = 2 ** 32;

function wsError(message: string, closeCode = 1002): ProtocolError {
  return new ProtocolError('RELAY_ERR_PROTOCOL_WS_FRAME', `WebSocket: ${message}`, { wsCloseCode: closeCode });
}

export class FrameDecoder {
  readonly #expectMasked: boolean;
  readonly #maxPayload: number;
  readonly #maxControl: number;
  readonly #unmaskInPlace: boolean;
  readonly #queue = new ByteQueue();

  #state: State = State.Info;
  #error: Error | undefined;

  // The frame being read.
  #fin = false;
  #opcode = 0;
  #masked = false;
  #payloadLength = 0;
  #mask: Buffer | undefined;
  #header: FrameHeader | undefined;
  #remaining = 0;
  #offset = 0;

  /** A fragmented data message has started and awaits its final continuation (§5.4). */
  #inFragmentedMessage = false;

  constructor(options: FrameDecoderOptions) {
    if (options.role !== 'server' && options.role !== 'client') {
      throw new ConfigError(`FrameDecoder: role must be 'server' or 'client', got ${String(options.role)}`);
    }
    this.#expectMasked = options.role === 'server';
    this.#maxPayload = options.maxFramePayloadBytes ?? WS_LIMITS.maxFramePayloadBytes;
    if (!Number.isSafeInteger(this.#maxPayload) || this.#maxPayload < 0) {
      throw new ConfigError(`FrameDecoder: maxFramePayloadBytes must be a non-negative integer`);
    }
    this.#maxControl = options.maxControlPayloadBytes ?? WS_LIMITS.maxControlPayloadBytes;
    if (!Number.isInteger(this.#maxControl) || this.#maxControl < 0 || this.#maxControl > 125) {
      throw new ConfigError(`FrameDecoder: maxControlPayloadBytes must be an integer 0–125`);
    }
    this.#unmaskInPlace = options.unmaskInPlace ?? false;
  }

  /** The error that failed this decoder, if any; a failed decoder rejects all further input. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** True between frames with no fragmented message open: a clean place for the peer to stop. */
  get isIdle(): boolean {
    return this.#state === State.Info && this.#queue.length === 0 && !this.#inFragmentedMessage;
  }

  /**
   * Feeds bytes; returns the events they complete, in order.
   *
   * @throws ProtocolError RELAY_ERR_PROTOCOL_WS_FRAME (wsCloseCode 1002) on a protocol
   *         violation, RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE (1009) on an oversize frame. Events
   *         completed earlier in the same chunk are dropped; the connection is to be failed.
   *         Once failed, every later push throws the same error.
   */
  push(chunk: Buffer): FrameEvent[] {
    if (this.#error !== undefined) throw this.#error;
    this.#queue.push(chunk);
    const events: FrameEvent[] = [];
    try {
      this.#run(events);
    } catch (err) {
      // After an error the decoder stays failed (RFC 6455 §7.1.7: _Fail the WebSocket
      // Connection_ means no further data is processed).
      // Anything but a ProtocolError is a bug here; it is kept as is so tests and fuzzing see it.
      this.#error = err instanceof Error ? err : new Error(String(err));
      this.#queue.clear();
      throw this.#error;
    }
    return events;
  }

  #run(events: FrameEvent[]): void {
    for (;;) {
      switch (this.#state) {
        case State.Info:
          if (this.#queue.length < 2) return;
          this.#readInfo(events);
          break;
        case State.Length16:
          if (this.#queue.length < 2) return;
          this.#afterLength(this.#queue.consume(2).readUInt16BE(0), events);
          break;
        case State.Length64: {
          if (this.#queue.length < 8) return;
          const b = this.#queue.consume(8);
          const hi = b.readUInt32BE(0);
          // §5.2: "the most significant bit MUST be 0" in the 64-bit length.
          if (hi & 0x80000000) throw wsError('64-bit payload length has its most significant bit set');
          // Exact up to 2^53; anything larger is far over any limit and rejected next.
          this.#afterLength(hi * TWO_POW_32 + b.readUInt32BE(4), events);
          break;
        }
        case State.MaskKey:
          if (this.#queue.length < 4) return;
          // Copy the 4 key bytes: the input chunk may be unmasked in place later.
          this.#mask = Buffer.from(this.#queue.consume(4));
          this.#startPayload(events);
          break;
        case State.Payload:
          if (this.#remaining > 0) {
            if (this.#queue.length === 0) return;
            this.#readPayload(events);
            if (this.#remaining > 0) return;
          }
          events.push({ type: 'frameEnd', header: this.#header! });
          this.#header = undefined;
          this.#mask = undefined;
          this.#state = State.Info;
          break;
      }
    }
  }

  /** First two octets: FIN, RSV, opcode, MASK, 7-bit length. Every check that needs no more. */
  #readInfo(events: FrameEvent[]): void {
    const b0 = this.#queue.peekByte(0);
    const b1 = this.#queue.peekByte(1);
    this.#queue.consume(2);
    const fin = (b0 & 0x80) !== 0;
    const rsv = (b0 & 0x70) >> 4;
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    const len7 = b1 & 0x7f;

    // §5.2: RSV1–3 "MUST be 0 unless an extension is negotiated"; we never negotiate one
    // (no permessage-deflate, hybrid-connections.md §10 item 4).
    if (rsv !== 0) throw wsError(`reserved bits set (RSV=${rsv}) but no extension was negotiated`);
    // §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket
    // Connection_."
    if (!isKnownOpcode(opcode)) throw wsError(`unknown opcode 0x${opcode.toString(16)}`);
    // §5.1: a server MUST close on an unmasked client frame; a client MUST close on a masked
    // server frame.
    if (masked !== this.#expectMasked) {
      throw wsError(this.#expectMasked ? 'client frame is not masked' : 'server frame is masked');
    }
    if (isControlOpcode(opcode)) {
      // §5.5: "All control frames MUST have a payload length of 125 bytes or less and MUST NOT
      // be fragmented." (len7 of 126/127 announces an extended length, i.e. > 125.)
      if (!fin) throw wsError(`fragmented control frame (opcode 0x${opcode.toString(16)})`);
      if (len7 > 125) throw wsError('control frame payload longer than 125 bytes');
    } else if (opcode === Opcode.Continuation) {
      // §5.4: a continuation frame is only valid inside a fragmented message.
      if (!this.#inFragmentedMessage) throw wsError('continuation frame without a message to continue');
      if (fin) this.#inFragmentedMessage = false;
    } else {
      // §5.4: fragments of one message MUST NOT be interleaved with another data message;
      // only control frames may come between them.
      if (this.#inFragmentedMessage) throw wsError('new data frame while a fragmented message is open');
      if (!fin) this.#inFragmentedMessage = true;
    }

    this.#fin = fin;
    this.#opcode = opcode;
    this.#masked = masked;
    if (len7 === 126) this.#state = State.Length16;
    else if (len7 === 127) this.#state = State.Length64;
    else this.#afterLength(len7, events);
  }

  /** Length known: limits first (before any payload is buffered), then mask key or payload. */
  #afterLength(length: number, events: FrameEvent[]): void {
    // §5.2 says the minimal length encoding MUST be used by senders; like ws and most
    // receivers we accept a non-minimal one, since it is unambiguous.
    if (isControlOpcode(this.#opcode) && length > this.#maxControl) {
      throw wsError(`control frame payload of ${length} bytes exceeds ${this.#maxControl}`);
    }
    // §10.4: implementation limit on frame size; fail with 1009 "message too big" (§7.4.1).
    if (length > this.#maxPayload) {
      throw new ProtocolError(
        'RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE',
        `WebSocket: frame payload of ${length} bytes exceeds ${this.#maxPayload}`,
        { wsCloseCode: 1009 },
      );
    }
    this.#payloadLength = length;
    if (this.#masked) this.#state = State.MaskKey;
    else this.#startPayload(events);
  }

  /** The header is complete and valid: report it and start counting payload bytes. */
  #startPayload(events: FrameEvent[]): void {
    const header: FrameHeader = {
      fin: this.#fin,
      rsv: 0,
      opcode: this.#opcode,
      masked: this.#masked,
      payloadLength: this.#payloadLength,
    };
    this.#header = header;
    this.#remaining = this.#payloadLength;
    this.#offset = 0;
    this.#state = State.Payload;
    events.push({ type: 'header', header });
  }

  /** Streams what is buffered of the current payload: views when unmasked, no whole-frame buffer. */
  #readPayload(events: FrameEvent[]): void {
    for (const piece of this.#queue.consumeChunks(this.#remaining)) {
      let data = piece;
      if (this.#mask !== undefined) {
        // §5.3: unmask with the key octet (j MOD 4), j counted from the frame's first byte.
        const out = this.#unmaskInPlace ? piece : Buffer.allocUnsafe(piece.length);
        maskInto(piece, this.#mask, this.#offset, out);
        data = out;
      }
      this.#offset += piece.length;
      this.#remaining -= piece.length;
      events.push({ type: 'payload', data, header: this.#header! });
    }
  }
}
