/**
 * Close frame body (RFC 6455 §5.5.1): empty, or a 2-byte big-endian status code (§7.4)
 * followed by a UTF-8 reason; the whole body is at most 125 bytes (§5.5).
 */
import { isUtf8 } from 'node:buffer';
import { ProtocolError } from '../../core/errors';
import { isValidCloseCode } from './opcodes';

/** Most reason bytes that fit a control frame after the 2-byte code (§5.5). */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * Builds a close payload. No code gives an empty payload (received as 1005 "no status").
 * A reason longer than 123 UTF-8 bytes is cut at a character boundary (relayed reasons must
 * still fit a control frame).
 *
 * @throws RangeError when `code` may not be sent (§7.4.1/§7.4.2), TypeError for a reason without a code
 */
export function encodeClosePayload(code?: number, reason = ''): Buffer {
  if (code === undefined) {
    // §5.5.1: a reason may only follow a status code.
    if (reason !== '') throw new TypeError('a close reason needs a close code');
    return Buffer.alloc(0);
  }
  if (!Number.isInteger(code) || !isValidCloseCode(code)) throw new RangeError(`invalid close code ${code}`);
  const text = truncateUtf8(reason, MAX_CLOSE_REASON_BYTES);
  const out = Buffer.allocUnsafe(2 + text.length);
  out.writeUInt16BE(code, 0);
  text.copy(out, 2);
  return out;
}

function truncateUtf8(s: string, maxBytes: number): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= maxBytes) return b;
  let end = maxBytes;
  // Back up over continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.subarray(0, end);
}

function closeError(message: string, wsCloseCode: number): ProtocolError {
  return new ProtocolError('RELAY_ERR_PROTOCOL_WS_FRAME', `WebSocket: ${message}`, { wsCloseCode });
}

/**
 * Reads a received close payload. An empty payload gives `{ code: undefined, reason: '' }`
 * (report 1005, §7.1.5).
 *
 * @throws ProtocolError RELAY_ERR_PROTOCOL_WS_FRAME: 1002 for a 1-byte body, a body over 125
 *         bytes or a code that may not be sent; 1007 for a reason that is not UTF-8
 */
export function decodeClosePayload(p: Buffer): { code?: number; reason: string } {
  if (p.length === 0) return { reason: '' };
  // §5.5.1: if there is a body, its first two bytes MUST be a status code.
  if (p.length === 1) throw closeError('close frame body of 1 byte', 1002);
  // §5.5: control frame payloads are at most 125 bytes.
  if (p.length > 125) throw closeError('close frame body longer than 125 bytes', 1002);
  const code = p.readUInt16BE(0);
  // §7.4: 1004–1006, 1015 and codes outside the defined ranges are not valid on the wire.
  if (!isValidCloseCode(code)) throw closeError(`invalid close code ${code}`, 1002);
  const reason = p.subarray(2);
  // §5.5.1: the reason is UTF-8; §8.1: invalid UTF-8 fails the connection with 1007.
  if (!isUtf8(reason)) throw closeError('close reason is not valid UTF-8', 1007);
  return { code, reason: reason.toString('utf8') };
}
