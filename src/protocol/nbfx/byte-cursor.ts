/**
 * Byte access for the [MC-NBFX] reader and writer: a read cursor that throws the MORE_DATA
 * sentinel when the input ends inside a value (msgpack's `new RangeError("Insufficient data")`
 * pattern: the streaming reader catches only that and retries from the last complete record),
 * and a growable write buffer. MultiByteInt31 as in [MC-NBFX] §2.1.2 (same as [MC-NMF] §2.2.2).
 */
import { ProtocolError } from '../../core/errors';

/** Thrown (and caught only by the readers) when the input ends inside a record. */
export class MoreDataError extends RangeError {
  constructor(readonly needed: number) {
    super('Insufficient data');
  }
}

export class ByteCursor {
  readonly #buf: Uint8Array;
  #view: DataView;
  offset: number;

  constructor(buf: Uint8Array, offset = 0) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.offset = offset;
  }

  get length(): number {
    return this.#buf.length;
  }

  get remaining(): number {
    return this.#buf.length - this.offset;
  }

  /** Throws MORE_DATA unless n more bytes are present. */
  need(n: number): void {
    if (this.offset + n > this.#buf.length) throw new MoreDataError(this.offset + n);
  }

  peekUInt8(): number {
    this.need(1);
    return this.#buf[this.offset]!;
  }

  readUInt8(): number {
    this.need(1);
    return this.#buf[this.offset++]!;
  }

  readInt8(): number {
    this.need(1);
    return this.#view.getInt8(this.offset++);
  }

  readInt16(): number {
    this.need(2);
    const v = this.#view.getInt16(this.offset, true);
    this.offset += 2;
    return v;
  }

  readUInt16(): number {
    this.need(2);
    const v = this.#view.getUint16(this.offset, true);
    this.offset += 2;
    return v;
  }

  readInt32(): number {
    this.need(4);
    const v = this.#view.getInt32(this.offset, true);
    this.offset += 4;
    return v;
  }

  readInt64(): bigint {
    this.need(8);
    const v = this.#view.getBigInt64(this.offset, true);
    this.offset += 8;
    return v;
  }

  readUInt64(): bigint {
    this.need(8);
    const v = this.#view.getBigUint64(this.offset, true);
    this.offset += 8;
    return v;
  }

  readFloat32(): number {
    this.need(4);
    const v = this.#view.getFloat32(this.offset, true);
    this.offset += 4;
    return v;
  }

  readFloat64(): number {
    this.need(8);
    const v = this.#view.getFloat64(this.offset, true);
    this.offset += 8;
    return v;
  }

  /** A view (no copy) of the next n bytes. */
  readBytes(n: number): Buffer {
    this.need(n);
    const out = Buffer.from(this.#buf.buffer, this.#buf.byteOffset + this.offset, n);
    this.offset += n;
    return out;
  }

  /** A view of the bytes from `start` to the current offset. */
  slice(start: number): Buffer {
    return Buffer.from(this.#buf.buffer, this.#buf.byteOffset + start, this.offset - start);
  }

  /** [MC-NBFX] §2.1.2 MultiByteInt31: at most 5 octets, value at most 2^31-1. */
  readMultiByteInt31(): number {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.readUInt8();
      if (i === 4) {
        // The 5th octet carries bits 28-30 only; more would exceed 2^31-1 (and a 6th octet is invalid).
        if ((b & 0xf8) !== 0) throw new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', '[MC-NBFX] MultiByteInt31 exceeds 2^31-1');
        return value + b * 0x10000000;
      }
      value |= (b & 0x7f) << (7 * i);
      if ((b & 0x80) === 0) return value;
    }
    /* c8 ignore next */
    return value;
  }

  static sizeOfMultiByteInt31(value: number): number {
    return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
  }

  static writeMultiByteInt31(target: Buffer, offset: number, value: number): number {
    let v = value;
    while (v >= 0x80) {
      target[offset++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    target[offset++] = v;
    return offset;
  }
}

/** Growable output buffer with little-endian writers. */
export class ByteWriter {
  #buf = Buffer.allocUnsafe(256);
  #len = 0;

  get length(): number {
    return this.#len;
  }

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  uint8(v: number): void {
    this.#ensure(1);
    this.#buf[this.#len++] = v & 0xff;
  }

  int8(v: number): void {
    this.#ensure(1);
    this.#buf.writeInt8(v, this.#len++);
  }

  int16(v: number): void {
    this.#ensure(2);
    this.#len = this.#buf.writeInt16LE(v, this.#len);
  }

  uint16(v: number): void {
    this.#ensure(2);
    this.#len = this.#buf.writeUInt16LE(v, this.#len);
  }

  int32(v: number): void {
    this.#ensure(4);
    this.#len = this.#buf.writeInt32LE(v, this.#len);
  }

  int64(v: bigint): void {
    this.#ensure(8);
    this.#len = this.#buf.writeBigInt64LE(v, this.#len);
  }

  uint64(v: bigint): void {
    this.#ensure(8);
    this.#len = this.#buf.writeBigUInt64LE(v, this.#len);
  }

  float32(v: number): void {
    this.#ensure(4);
    this.#len = this.#buf.writeFloatLE(v, this.#len);
  }

  float64(v: number): void {
    this.#ensure(8);
    this.#len = this.#buf.writeDoubleLE(v, this.#len);
  }

  bytes(b: Uint8Array): void {
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  multiByteInt31(v: number): void {
    this.#ensure(5);
    this.#len = ByteCursor.writeMultiByteInt31(this.#buf, this.#len, v);
  }

  /** MB31 byte length + UTF-8 ([MC-NBFX] §2.1.3 String). */
  string(s: string): void {
    const len = Buffer.byteLength(s, 'utf8');
    this.multiByteInt31(len);
    this.#ensure(len);
    this.#len += this.#buf.write(s, this.#len, 'utf8');
  }

  /** The bytes written (a copy sized to fit). */
  toBuffer(): Buffer {
    return Buffer.from(this.#buf.subarray(0, this.#len));
  }
}
