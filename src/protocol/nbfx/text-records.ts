/**
 * [MC-NBFX] §2.3 text records: decode one text record (type octet already read) into its text
 * form and a typed hint. Shared by element content, attribute values, lists and array items.
 */
import { TextDecoder } from 'node:util';
import { ProtocolError } from '../../core/errors';
import type { ByteCursor } from './byte-cursor';
import type { NbfxTextHint } from './hints';
import { RecordType, prefixLetter } from './record-types';
import { staticString } from './static-dictionary';
import { formatDateTime, formatDecimal, formatDouble, formatFloat, formatGuid, formatTimeSpan, UNIQUE_ID_PREFIX } from './text-values';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function nbfxError(message: string): ProtocolError {
  return new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `[MC-NBFX] ${message}`);
}

/** Resolves DictionaryString keys ([MC-NBFX] §2.1.4): even = static, odd = session. */
export interface DictionaryResolver {
  resolve(key: number): string;
}

export function makeResolver(session: { lookup(id: number): string | undefined } | undefined): DictionaryResolver {
  return {
    resolve(key: number): string {
      if (key % 2 === 0) {
        const s = staticString(key);
        // [MC-NBFS] §2: only the 487 defined keys exist.
        if (s === undefined) throw nbfxError(`static dictionary key 0x${key.toString(16)} is not defined`);
        return s;
      }
      // [MC-NBFSE] §2: odd keys name session strings; without a session they are invalid.
      if (session === undefined) throw nbfxError(`session dictionary key ${key} used without a session`);
      const s = session.lookup((key - 1) / 2);
      if (s === undefined) throw nbfxError(`session dictionary key ${key} is not defined`);
      return s;
    },
  };
}

export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw nbfxError('invalid UTF-8 in a string');
  }
}

/** Reads an [MC-NBFX] §2.1.3 String. */
export function readString(c: ByteCursor): string {
  const len = c.readMultiByteInt31();
  return decodeUtf8(c.readBytes(len));
}

export interface DecodedText {
  readonly value: string;
  readonly hint: NbfxTextHint;
}

/**
 * Decodes the payload of text record `type` (even or odd; the caller handles the implied
 * EndElement). StartListText reads items up to EndListText ([MC-NBFX] §2.3.19: no nesting).
 */
export function readTextRecord(c: ByteCursor, type: number, dict: DictionaryResolver, inList = false): DecodedText {
  const base = type & ~1;
  const endElement = (type & 1) === 1;
  const start = c.offset;
  let value: string;
  let key: number | undefined;
  let prefixIndex: number | undefined;
  let items: NbfxTextHint[] | undefined;
  switch (base) {
    case RecordType.ZeroText: value = '0'; break;
    case RecordType.OneText: value = '1'; break;
    case RecordType.FalseText: value = 'false'; break;
    case RecordType.TrueText: value = 'true'; break;
    case RecordType.Int8Text: value = String(c.readInt8()); break;
    case RecordType.Int16Text: value = String(c.readInt16()); break;
    case RecordType.Int32Text: value = String(c.readInt32()); break;
    case RecordType.Int64Text: value = c.readInt64().toString(); break;
    case RecordType.UInt64Text: value = c.readUInt64().toString(); break;
    case RecordType.FloatText: value = formatFloat(c.readFloat32()); break;
    case RecordType.DoubleText: value = formatDouble(c.readFloat64()); break;
    case RecordType.DecimalText: value = formatDecimal(c.readBytes(16)); break;
    case RecordType.DateTimeText: value = formatDateTime(c.readUInt64()); break;
    case RecordType.TimeSpanText: value = formatTimeSpan(c.readInt64()); break;
    case RecordType.Chars8Text: value = decodeUtf8(c.readBytes(c.readUInt8())); break;
    case RecordType.Chars16Text: value = decodeUtf8(c.readBytes(c.readUInt16())); break;
    case RecordType.Chars32Text: value = decodeUtf8(c.readBytes(readLength32(c))); break;
    case RecordType.Bytes8Text: value = c.readBytes(c.readUInt8()).toString('base64'); break;
    case RecordType.Bytes16Text: value = c.readBytes(c.readUInt16()).toString('base64'); break;
    case RecordType.Bytes32Text: value = c.readBytes(readLength32(c)).toString('base64'); break;
    case RecordType.UnicodeChars8Text: value = readUnicode(c, c.readUInt8()); break;
    case RecordType.UnicodeChars16Text: value = readUnicode(c, c.readUInt16()); break;
    case RecordType.UnicodeChars32Text: value = readUnicode(c, readLength32(c)); break;
    case RecordType.EmptyText: value = ''; break;
    case RecordType.DictionaryText:
      key = c.readMultiByteInt31();
      value = dict.resolve(key);
      break;
    case RecordType.UniqueIdText: value = UNIQUE_ID_PREFIX + formatGuid(c.readBytes(16)); break;
    case RecordType.UuidText: value = formatGuid(c.readBytes(16)); break;
    case RecordType.BoolText: value = c.readUInt8() === 0 ? 'false' : 'true'; break;
    case RecordType.QNameDictionaryText: {
      prefixIndex = c.readUInt8();
      // [MC-NBFX] §2.3.30: the prefix octet is 0-25 ('a'-'z').
      if (prefixIndex > 25) throw nbfxError(`QNameDictionaryText prefix ${prefixIndex} is not a-z`);
      key = c.readMultiByteInt31();
      value = `${prefixLetter(prefixIndex)}:${dict.resolve(key)}`;
      break;
    }
    case RecordType.StartListText: {
      // [MC-NBFX] §2.3.19: StartListText has no WithEndElement form and lists do not nest.
      if (endElement || inList) throw nbfxError('invalid list record');
      items = [];
      const parts: string[] = [];
      for (;;) {
        const t = c.readUInt8();
        if (t === RecordType.EndListText) break;
        if (t < 0x80 || t > 0xbd || (t & 1) === 1) throw nbfxError(`record 0x${t.toString(16)} inside a list`);
        const item = readTextRecord(c, t, dict, true);
        parts.push(item.value);
        items.push(item.hint);
      }
      value = parts.join(' ');
      break;
    }
    default:
      throw nbfxError(`invalid text record 0x${type.toString(16)}`);
  }
  const raw = key === undefined && items === undefined ? c.slice(start) : undefined;
  const hint: NbfxTextHint = { record: base, text: value, raw, key, prefixIndex, endElement, items };
  return { value, hint };
}

/** Int32 lengths of the *32Text records must not be negative ([MC-NBFX] §2.3.11). */
function readLength32(c: ByteCursor): number {
  const len = c.readInt32();
  if (len < 0) throw nbfxError('negative length');
  return len;
}

function readUnicode(c: ByteCursor, len: number): string {
  // [MC-NBFX] §2.3.26: UTF-16LE code units, so the byte count is even.
  if (len % 2 !== 0) throw nbfxError('odd byte count in a UnicodeChars record');
  return c.readBytes(len).toString('utf16le');
}
