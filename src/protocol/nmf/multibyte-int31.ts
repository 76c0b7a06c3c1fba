/**
 * MultiByteInt31 ([MC-NMF] §2.2.2; also [MC-NBFX] §2.1.2): little-endian base-128, seven value
 * bits per octet, bit 7 set when another octet follows. At most 5 octets; the 5th may only
 * carry the top 3 bits of a 31-bit value (WCF's IntDecoder throws FramingSizeTooLarge when
 * any of the bits 0xF8 is set there; wcf-wire.md §1.2). Non-minimal forms are accepted, as WCF
 * accepts them.
 */
import { ProtocolError } from '../../core/errors';
import type { ByteQueue } from '../../core/byte-queue';

/** Largest value a MultiByteInt31 can carry. */
export const MAX_INT31 = 0x7fffffff;

/** Number of octets `value` takes (1-5). */
export function sizeOfMultiByteInt31(value: number): number {
  checkRange(value);
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/** Writes `value` at `offset` and returns the offset after it. */
export function writeMultiByteInt31(target: Buffer, offset: number, value: number): number {
  checkRange(value);
  let v = value;
  while (v >= 0x80) {
    target[offset++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  target[offset++] = v;
  return offset;
}

/** The encoded octets of `value`. */
export function encodeMultiByteInt31(value: number): Buffer {
  const out = Buffer.allocUnsafe(sizeOfMultiByteInt31(value));
  writeMultiByteInt31(out, 0, value);
  return out;
}

export interface DecodedInt31 {
  readonly value: number;
  /** Octets consumed. */
  readonly length: number;
}

/**
 * Decodes from `peek(i)` (the i-th available octet, or undefined when not yet received).
 * Returns undefined when more octets are needed; throws ProtocolError past the 31-bit cap.
 */
function decodeWith(peek: (i: number) => number | undefined): DecodedInt31 | undefined {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    const b = peek(i);
    if (b === undefined) return undefined;
    if (i === 4) {
      // [MC-NMF] §2.2.2 / WCF IntDecoder: the 5th octet holds bits 28-30 only, and ends the value.
      if ((b & 0xf8) !== 0) {
        throw new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', 'MultiByteInt31 exceeds 2^31-1');
      }
      return { value: value + b * 0x10000000, length: 5 };
    }
    value |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) === 0) return { value, length: i + 1 };
  }
  /* c8 ignore next */
  return undefined;
}

/** Decodes at `offset` of a buffer; undefined when the buffer ends inside the number. */
export function decodeMultiByteInt31(source: Uint8Array, offset: number): DecodedInt31 | undefined {
  return decodeWith((i) => (offset + i < source.length ? source[offset + i] : undefined));
}

/** Decodes from the head of a ByteQueue without consuming; undefined when incomplete. */
export function peekMultiByteInt31(queue: ByteQueue, offset = 0): DecodedInt31 | undefined {
  return decodeWith((i) => (offset + i < queue.length ? queue.peekByte(offset + i) : undefined));
}

function checkRange(value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_INT31) {
    throw new RangeError(`MultiByteInt31 value out of range: ${value}`);
  }
}
