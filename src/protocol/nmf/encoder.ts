/**
 * [MC-NMF] record encoders ([MC-NMF] §2.2.3). Each returns Buffers ready for socket.write /
 * writev; envelope encoders return [header, payload...] so the payload is never copied
 * (ws Sender.frame style).
 */
import { encodeMultiByteInt31, sizeOfMultiByteInt31, writeMultiByteInt31 } from './multibyte-int31';
import { KNOWN_ENCODING_CONTENT_TYPES, Mode, NMF_VERSION, RecordType, isKnownEncoding, type KnownEncoding } from './records';

const PREAMBLE_ACK = Buffer.from([RecordType.PreambleAck]);
const UPGRADE_RESPONSE = Buffer.from([RecordType.UpgradeResponse]);
const END = Buffer.from([RecordType.End]);
const PREAMBLE_END = Buffer.from([RecordType.PreambleEnd]);
const UNSIZED_ENVELOPE = Buffer.from([RecordType.UnsizedEnvelope]);
const UNSIZED_TERMINATOR = Buffer.from([0x00]);

export interface PreambleOptions {
  readonly mode: Mode;
  /** Absolute URI of the endpoint (WCF sends Via.AbsoluteUri). */
  readonly via: string;
  /** A known encoding octet, or a content type (sent as Known Encoding when WCF would, else Extensible). */
  readonly encoding: KnownEncoding | string;
  /** Append an Upgrade Request record for this protocol (e.g. application/ssl-tls). */
  readonly upgrade?: string;
  /** Append Preamble End. Default true when there is no upgrade (it then follows the upgraded stream). */
  readonly end?: boolean;
}

/** A string record: type, MB31 length, UTF-8. */
function stringRecord(type: number, value: string): Buffer {
  const len = Buffer.byteLength(value, 'utf8');
  const out = Buffer.allocUnsafe(1 + sizeOfMultiByteInt31(len) + len);
  out[0] = type;
  const at = writeMultiByteInt31(out, 1, len);
  out.write(value, at, 'utf8');
  return out;
}

/** Version, Mode, Via, Encoding [, Upgrade Request] [, Preamble End] ([MC-NMF] §2.2.3.1-§2.2.3.6). */
export function encodePreamble(options: PreambleOptions): Buffer {
  const parts: Buffer[] = [
    Buffer.from([RecordType.Version, NMF_VERSION.major, NMF_VERSION.minor, RecordType.Mode, options.mode]),
    stringRecord(RecordType.Via, options.via),
    encodeEncoding(options.encoding),
  ];
  if (options.upgrade !== undefined) parts.push(encodeUpgradeRequest(options.upgrade));
  if (options.end ?? options.upgrade === undefined) parts.push(PREAMBLE_END);
  return Buffer.concat(parts);
}

/** Known Encoding when the content type is one of the nine WCF maps to an octet, else Extensible Encoding. */
function encodeEncoding(encoding: KnownEncoding | string): Buffer {
  if (typeof encoding === 'number') {
    if (!isKnownEncoding(encoding)) throw new RangeError(`not a known encoding: ${encoding}`);
    return Buffer.from([RecordType.KnownEncoding, encoding]);
  }
  for (const [key, contentType] of Object.entries(KNOWN_ENCODING_CONTENT_TYPES)) {
    if (contentType === encoding) return Buffer.from([RecordType.KnownEncoding, Number(key)]);
  }
  return stringRecord(RecordType.ExtensibleEncoding, encoding);
}

export function encodeUpgradeRequest(protocol: string): Buffer {
  return stringRecord(RecordType.UpgradeRequest, protocol);
}

export function encodePreambleEnd(): Buffer {
  return PREAMBLE_END;
}

export function encodePreambleAck(): Buffer {
  return PREAMBLE_ACK;
}

export function encodeUpgradeResponse(): Buffer {
  return UPGRADE_RESPONSE;
}

export function encodeEnd(): Buffer {
  return END;
}

/** Fault record ([MC-NMF] §2.2.3.9); send it, then close the connection. */
export function encodeFault(fault: string): Buffer {
  return stringRecord(RecordType.Fault, fault);
}

/**
 * Sized Envelope ([MC-NMF] §2.2.3.7): returns [header, ...payload] with the payload untouched.
 * The payload may be given in parts (e.g. the NBFSE string table and the NBFX body).
 */
export function encodeSizedEnvelope(payload: Buffer | readonly Buffer[]): Buffer[] {
  const parts = Buffer.isBuffer(payload) ? [payload] : [...payload];
  let size = 0;
  for (const p of parts) size += p.length;
  // [MC-NMF] §2.2.3.7: the size is non-zero and a MultiByteInt31.
  if (size === 0) throw new RangeError('a Sized Envelope cannot be empty');
  const header = Buffer.allocUnsafe(1 + sizeOfMultiByteInt31(size));
  header[0] = RecordType.SizedEnvelope;
  writeMultiByteInt31(header, 1, size);
  return [header, ...parts.filter((p) => p.length > 0)];
}

/** Unsized Envelope start octet ([MC-NMF] §2.2.3.6). */
export function encodeUnsizedEnvelopeStart(): Buffer {
  return UNSIZED_ENVELOPE;
}

/** One data chunk of an Unsized Envelope: [size, data]. Empty data is skipped (zero ends the envelope). */
export function encodeDataChunk(data: Buffer): Buffer[] {
  if (data.length === 0) return [];
  return [encodeMultiByteInt31(data.length), data];
}

/** The terminator of an Unsized Envelope. */
export function encodeUnsizedEnvelopeEnd(): Buffer {
  return UNSIZED_TERMINATOR;
}

/** A whole Unsized Envelope from chunks: [0x05, size, data, ..., 0x00]. */
export function encodeUnsizedEnvelope(chunks: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [UNSIZED_ENVELOPE];
  for (const c of chunks) out.push(...encodeDataChunk(c));
  out.push(UNSIZED_TERMINATOR);
  return out;
}
