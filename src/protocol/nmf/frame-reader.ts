/**
 * Shared pieces of the [MC-NMF] decoders: a ByteQueue plus readers for the two record shapes
 * that carry data, `type MB31(len) bytes` strings (Via, Extensible Encoding, Upgrade Request,
 * Fault; [MC-NMF] §2.2.3.3, §2.2.3.4.2, §2.2.3.6, §2.2.3.9) and sizes. Readers return undefined
 * when the queue does not yet hold the whole record, and consume nothing in that case, so a
 * decoder can stop and resume at any byte.
 */
import { TextDecoder } from 'node:util';
import { ByteQueue } from '../../core/byte-queue';
import { ProtocolError, type CodeOfKind } from '../../core/errors';
import { FaultString } from './faults';
import { peekMultiByteInt31, type DecodedInt31 } from './multibyte-int31';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A ProtocolError carrying the NMF fault string to answer with. */
export function nmfError(message: string, nmfFault: FaultString, code: CodeOfKind<'protocol'> = 'RELAY_ERR_PROTOCOL_INVALID_MESSAGE'): ProtocolError {
  return new ProtocolError(code, `[MC-NMF] ${message}`, { nmfFault });
}

export interface StringRecordRule {
  /** What the string is, for messages ("Via"). */
  readonly what: string;
  /** Most UTF-8 bytes allowed. */
  readonly maxBytes: number;
  /** Fault to answer with when the string is longer than maxBytes. */
  readonly tooLongFault: FaultString;
  /** Whether an empty string is allowed ([MC-NMF] §2.2.3.3: a Via must not be empty). */
  readonly allowEmpty: boolean;
}

/**
 * peekMultiByteInt31 for a length or size field: a value past 2^31-1 (WCF FramingSizeTooLarge)
 * exceeds every limit, so it fails as the limit would, with the fault record to answer with.
 * (Without this the overflow escaped without an nmfFault, found by the nmf fuzz targets.)
 */
function peekLength(queue: ByteQueue, offset: number, what: string, tooLargeFault: FaultString): DecodedInt31 | undefined {
  try {
    return peekMultiByteInt31(queue, offset);
  } catch (cause) {
    throw new ProtocolError('RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE', `[MC-NMF] ${what} size does not fit in 31 bits`, { cause, nmfFault: tooLargeFault });
  }
}

/**
 * Reads `type MB31(len) UTF-8` at the queue head (the caller has checked the type octet).
 * The length is checked against the rule before any string byte is waited for.
 */
export function readStringRecord(queue: ByteQueue, rule: StringRecordRule): string | undefined {
  const len = peekLength(queue, 1, rule.what, rule.tooLongFault);
  if (len === undefined) return undefined;
  if (len.value > rule.maxBytes) {
    throw nmfError(`${rule.what} is ${len.value} bytes, more than the ${rule.maxBytes} allowed`, rule.tooLongFault, 'RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE');
  }
  if (len.value === 0 && !rule.allowEmpty) {
    throw nmfError(`${rule.what} is empty`, FaultString.InvalidRecordSequence);
  }
  const total = 1 + len.length + len.value;
  if (queue.length < total) return undefined;
  const record = queue.consume(total);
  try {
    return utf8.decode(record.subarray(1 + len.length));
  } catch (cause) {
    throw new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `[MC-NMF] ${rule.what} is not valid UTF-8`, {
      cause,
      nmfFault: FaultString.InvalidRecordSequence,
    });
  }
}

/**
 * Reads the MB31 size after the type octet of a Sized Envelope (or a data chunk size at
 * offset 0 when `afterType` is false), checks it and consumes type + size. Zero is refused
 * ([MC-NMF] §2.2.3.7: the size of a Sized Envelope is non-zero).
 */
export function readSize(queue: ByteQueue, afterType: boolean, maxBytes: number, what: string): number | undefined {
  const offset = afterType ? 1 : 0;
  const size = peekLength(queue, offset, what, FaultString.MaxMessageSizeExceededFault);
  if (size === undefined) return undefined;
  if (size.value > maxBytes) {
    throw nmfError(`${what} of ${size.value} bytes exceeds the ${maxBytes}-byte limit`, FaultString.MaxMessageSizeExceededFault, 'RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE');
  }
  queue.consume(offset + size.length);
  return size.value;
}

/** Record type names for messages. */
export function recordName(type: number): string {
  return `0x${type.toString(16).padStart(2, '0')}`;
}

export { ByteQueue };
