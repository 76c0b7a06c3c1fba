/**
 * RFC 6455 frame encoder (§5.2 base framing, §5.3 masking, §5.5 control frames). Returns
 * `[header, payload]` so the payload can go out untouched with writev (ws `Sender.frame`).
 * Argument errors are programming errors and throw RangeError/TypeError, not ProtocolError.
 */
import { MAX_ENCODABLE_PAYLOAD_BYTES } from './limits';
import { applyMask, generateMask } from './mask';
import { isControlOpcode } from './opcodes';

export interface FrameHeaderFields {
  fin: boolean;
  /** 4-bit opcode (any value 0–15 is encodable, so tests can craft reserved ones). */
  opcode: number;
  /** Payload length in bytes, 0 … 2^53 - 1. */
  payloadLength: number;
  /** 4-byte masking key: set for client-to-server frames (RFC 6455 §5.1), omit otherwise. */
  mask?: Buffer;
  /** RSV1–RSV3 as a 3-bit number; default 0. Only for crafting test frames: we negotiate no extension. */
  rsv?: number;
}

/**
 * Encodes a frame header: 2 bytes, + 2 (length 126–65535) or + 8 (length ≥ 65536) extended
 * length bytes (§5.2: the minimal form), + 4 when masked.
 */
export function encodeFrameHeader(o: FrameHeaderFields): Buffer {
  const { fin, opcode, payloadLength, mask } = o;
  const rsv = o.rsv ?? 0;
  if (!Number.isInteger(opcode) || opcode < 0 || opcode > 15) throw new RangeError(`invalid opcode ${opcode}`);
  if (!Number.isInteger(rsv) || rsv < 0 || rsv > 7) throw new RangeError(`invalid rsv ${rsv}`);
  if (!Number.isInteger(payloadLength) || payloadLength < 0 || payloadLength > MAX_ENCODABLE_PAYLOAD_BYTES) {
    throw new RangeError(`invalid payload length ${payloadLength}`);
  }
  if (mask !== undefined && mask.length !== 4) throw new RangeError('mask must be 4 bytes');

  const extended = payloadLength > 65535 ? 8 : payloadLength > 125 ? 2 : 0;
  const header = Buffer.allocUnsafe(2 + extended + (mask ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  const maskBit = mask ? 0x80 : 0;
  if (extended === 0) {
    header[1] = maskBit | payloadLength;
  } else if (extended === 2) {
    header[1] = maskBit | 126;
    header.writeUInt16BE(payloadLength, 2);
  } else {
    header[1] = maskBit | 127;
    // §5.2: 64-bit unsigned, most significant bit 0 (guaranteed by the 2^53 cap).
    header.writeUInt32BE(Math.floor(payloadLength / 2 ** 32), 2);
    header.writeUInt32BE(payloadLength >>> 0, 6);
  }
  if (mask) mask.copy(header, 2 + extended);
  return header;
}

export interface EncodeFrameOptions {
  /** FIN bit; default true (an unfragmented message or the last fragment). */
  fin?: boolean;
  opcode: number;
  payload: Buffer;
  /**
   * Mask with a fresh random key (client role, RFC 6455 §5.3). The payload is masked into a
   * copy; the caller's buffer is never modified. Default false (server role).
   */
  mask?: boolean;
}

/**
 * Encodes one frame as `[header, payload]`.
 *
 * @throws RangeError for a control frame that is fragmented or longer than 125 bytes (§5.5)
 */
export function encodeFrame(o: EncodeFrameOptions): Buffer[] {
  const fin = o.fin ?? true;
  if (isControlOpcode(o.opcode)) {
    // §5.5: control frames MUST NOT be fragmented and MUST carry at most 125 bytes.
    if (!fin) throw new RangeError('control frames cannot be fragmented');
    if (o.payload.length > 125) throw new RangeError('control frame payload must be at most 125 bytes');
  }
  if (!o.mask) return [encodeFrameHeader({ fin, opcode: o.opcode, payloadLength: o.payload.length }), o.payload];
  const mask = generateMask();
  return [
    encodeFrameHeader({ fin, opcode: o.opcode, payloadLength: o.payload.length, mask }),
    applyMask(o.payload, mask, 0),
  ];
}
