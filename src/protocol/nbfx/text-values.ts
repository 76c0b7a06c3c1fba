/**
 * Text forms of [MC-NBFX] typed text records (§2.3), as the .NET XmlBinaryReader reports them
 * (System.Runtime.Serialization XmlConverter / System.Xml XmlConvert), and the inverse parsers
 * the writer uses. Numbers that JS cannot hold exactly (Int64, UInt64, Decimal, DateTime ticks)
 * go through bigint, never through double.
 */
import { ProtocolError } from '../../core/errors';

function invalid(message: string): ProtocolError {
  return new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `[MC-NBFX] ${message}`);
}

/**
 * .NET "R"/shortest formatting of a floating-point value (Number.Formatting FormatDouble /
 * FormatSingle): the shortest digits that round-trip in the value's own precision, printed
 * positionally unless the decimal exponent is above maxDigits (17 for double, 9 for float) or
 * below -5, then as d.dddE+XX. XmlConvert adds INF, -INF, NaN and -0.
 */
function formatShortest(digits: string, exponent: number, negative: boolean, maxDigits: number): string {
  // digits: significant digits without dot; exponent: scientific exponent of the first digit.
  const scale = exponent + 1; // position of the decimal point relative to the digits
  let body: string;
  if (scale > maxDigits || scale < -3) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exponent).toString().padStart(2, '0');
    body = `${mantissa}E${exponent < 0 ? '-' : '+'}${e}`;
  } else if (scale <= 0) {
    body = `0.${'0'.repeat(-scale)}${digits}`;
  } else if (scale >= digits.length) {
    body = digits + '0'.repeat(scale - digits.length);
  } else {
    body = `${digits.slice(0, scale)}.${digits.slice(scale)}`;
  }
  return negative ? `-${body}` : body;
}

function special(value: number): string | undefined {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'INF';
  if (value === -Infinity) return '-INF';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  return undefined;
}

function splitExponential(text: string): { digits: string; exponent: number } {
  const [mant, exp] = text.split('e') as [string, string];
  return { digits: mant.replace('.', '').replace(/0+$/, '') || '0', exponent: Number(exp) };
}

/** DoubleText text form. */
export function formatDouble(value: number): string {
  const s = special(value);
  if (s !== undefined) return s;
  const { digits, exponent } = splitExponential(Math.abs(value).toExponential());
  return formatShortest(digits, exponent, value < 0, 17);
}

/** FloatText text form: shortest digits that round-trip as a float32 (0.1f prints "0.1"). */
export function formatFloat(value: number): string {
  const s = special(value);
  if (s !== undefined) return s;
  const abs = Math.abs(value);
  for (let p = 1; p <= 9; p++) {
    const candidate = abs.toExponential(p - 1);
    if (Math.fround(Number(candidate)) === abs) {
      const { digits, exponent } = splitExponential(candidate);
      return formatShortest(digits, exponent, value < 0, 9);
    }
  }
  /* c8 ignore next */
  return formatDouble(value);
}

/** Parses xs:double / xs:float lexical forms ("INF", "-INF", "NaN", decimal, exponent). */
export function parseFloating(text: string): number | undefined {
  if (text === 'INF') return Infinity;
  if (text === '-INF') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

/**
 * DecimalText text form ([MC-NBFX] §2.3.12: [MS-OAUT] DECIMAL, wReserved(2) scale(1) sign(1)
 * Hi32(4) Lo64(8)). .NET prints every digit the scale keeps ("1.50"), no exponent.
 */
export function formatDecimal(bytes: Uint8Array): string {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, 16);
  const scale = view[2]!;
  const sign = view[3]!;
  // .NET rejects a scale above 28 and sign bits other than 0x80 (Decimal(int[]) validation).
  if (scale > 28 || (sign & 0x7f) !== 0) throw invalid(`invalid Decimal (scale ${scale}, sign 0x${sign.toString(16)})`);
  const magnitude = (BigInt(view.readUInt32LE(4)) << 64n) | view.readBigUInt64LE(8);
  let digits = magnitude.toString().padStart(scale + 1, '0');
  if (scale > 0) digits = `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  return sign === 0x80 && magnitude !== 0n ? `-${digits}` : digits;
}

/** Inverse of formatDecimal for canonical text; undefined when the text is not a .NET decimal. */
export function parseDecimal(text: string): Buffer | undefined {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return undefined;
  const frac = m[3] ?? '';
  if (frac.length > 28) return undefined;
  const magnitude = BigInt(m[2]! + frac);
  if (magnitude >> 96n !== 0n) return undefined;
  const out = Buffer.alloc(16);
  out[2] = frac.length;
  out[3] = m[1] === '-' ? 0x80 : 0;
  out.writeUInt32LE(Number(magnitude >> 64n), 4);
  out.writeBigUInt64LE(magnitude & 0xffffffffffffffffn, 8);
  return out;
}

const TICKS_PER_SECOND = 10_000_000n;
const TICKS_PER_DAY = 86_400n * TICKS_PER_SECOND;
/** Ticks from 0001-01-01 to 1970-01-01. */
const UNIX_EPOCH_TICKS = 621_355_968_000_000_000n;
const MAX_TICKS = 3_155_378_975_999_999_999n; // DateTime.MaxValue.Ticks
const KIND_MASK = 0xc000000000000000n;
const TICKS_MASK = 0x3fffffffffffffffn;

export const DateTimeKind = { Unspecified: 0, Utc: 1, Local: 2 } as const;
export type DateTimeKind = (typeof DateTimeKind)[keyof typeof DateTimeKind];

function pad(n: number | bigint, width: number): string {
  return n.toString().padStart(width, '0');
}

/** Civil date from days since 0001-01-01 (proleptic Gregorian). */
function civil(days: bigint): { y: number; m: number; d: number } {
  const ms = Number(days - UNIX_EPOCH_TICKS / TICKS_PER_DAY) * 86_400_000;
  const date = new Date(ms);
  return { y: date.getUTCFullYear(), m: date.getUTCMonth() + 1, d: date.getUTCDate() };
}

/**
 * DateTimeText text form ([MC-NBFX] §2.3.13: DateTime.ToBinary(), 62-bit ticks + 2-bit kind).
 * yyyy-MM-ddTHH:mm:ss[.fffffff] with trailing zeros of the fraction removed, then Z (UTC),
 * nothing (unspecified), or an offset (local). A local value is stored as UTC ticks and .NET
 * prints it in the reader's time zone; a codec has no time zone, so it prints it as a reader
 * in UTC would ("+00:00"). The typed hint keeps the raw value, so re-encoding stays exact.
 */
export function formatDateTime(raw: bigint): string {
  const kind = Number((raw & KIND_MASK) >> 62n);
  const ticks = raw & TICKS_MASK;
  // [MC-NBFX] §2.3.13: kind 3 is undefined, and ticks beyond DateTime.MaxValue are invalid.
  if (kind === 3 || ticks > MAX_TICKS) throw invalid('invalid DateTime value');
  const days = ticks / TICKS_PER_DAY;
  const rest = ticks % TICKS_PER_DAY;
  const { y, m, d } = civil(days);
  const seconds = rest / TICKS_PER_SECOND;
  const fraction = rest % TICKS_PER_SECOND;
  let text = `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T${pad(seconds / 3600n, 2)}:${pad((seconds / 60n) % 60n, 2)}:${pad(seconds % 60n, 2)}`;
  if (fraction !== 0n) text += `.${pad(fraction, 7).replace(/0+$/, '')}`;
  if (kind === DateTimeKind.Utc) text += 'Z';
  else if (kind === DateTimeKind.Local) text += '+00:00';
  return text;
}

/** Inverse of formatDateTime (UTC 'Z' or unspecified forms only); undefined otherwise. */
export function parseDateTime(text: string): bigint | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(Z?)$/.exec(text);
  if (!m) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3])); // (Date.UTC maps years 0-99 to 19xx)
  const ms = date.getTime();
  const days = BigInt(Math.round(ms / 86_400_000)) + UNIX_EPOCH_TICKS / TICKS_PER_DAY;
  const seconds = BigInt(Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6]));
  const fraction = BigInt((m[7] ?? '').padEnd(7, '0'));
  const ticks = days * TICKS_PER_DAY + seconds * TICKS_PER_SECOND + fraction;
  if (ticks < 0n || ticks > MAX_TICKS) return undefined;
  const raw = m[8] === 'Z' ? ticks | (1n << 62n) : ticks;
  return formatDateTime(raw) === text ? raw : undefined;
}

/** TimeSpanText text form: xs:duration as XmlConvert.ToString(TimeSpan) prints it. */
export function formatTimeSpan(ticks: bigint): string {
  const negative = ticks < 0n;
  let t = negative ? -ticks : ticks;
  const days = t / TICKS_PER_DAY;
  t %= TICKS_PER_DAY;
  const hours = t / (3600n * TICKS_PER_SECOND);
  t %= 3600n * TICKS_PER_SECOND;
  const minutes = t / (60n * TICKS_PER_SECOND);
  t %= 60n * TICKS_PER_SECOND;
  const seconds = t / TICKS_PER_SECOND;
  const fraction = t % TICKS_PER_SECOND;
  let text = negative ? '-P' : 'P';
  if (days !== 0n) text += `${days}D`;
  if (hours !== 0n || minutes !== 0n || seconds !== 0n || fraction !== 0n) {
    text += 'T';
    if (hours !== 0n) text += `${hours}H`;
    if (minutes !== 0n) text += `${minutes}M`;
    if (seconds !== 0n || fraction !== 0n) {
      text += `${seconds}`;
      if (fraction !== 0n) text += `.${pad(fraction, 7).replace(/0+$/, '')}`;
      text += 'S';
    }
  }
  return text === 'P' || text === '-P' ? 'PT0S' : text;
}

/**
 * Guid text from 16 bytes in Guid.ToByteArray order ([MC-NBFX] §2.3.23): the first 4, the next
 * 2 and the next 2 bytes are little-endian fields; the last 8 are in order.
 */
export function formatGuid(b: Uint8Array): string {
  const h = (i: number): string => b[i]!.toString(16).padStart(2, '0');
  return (
    h(3) + h(2) + h(1) + h(0) + '-' + h(5) + h(4) + '-' + h(7) + h(6) + '-' + h(8) + h(9) + '-' +
    h(10) + h(11) + h(12) + h(13) + h(14) + h(15)
  );
}

const GUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Inverse of formatGuid (lowercase canonical form only). */
export function parseGuid(text: string): Buffer | undefined {
  if (!GUID_TEXT.test(text)) return undefined;
  const hex = text.replace(/-/g, '');
  const x = Buffer.from(hex, 'hex');
  return Buffer.from([x[3]!, x[2]!, x[1]!, x[0]!, x[5]!, x[4]!, x[7]!, x[6]!, ...x.subarray(8)]);
}

export const UNIQUE_ID_PREFIX = 'urn:uuid:';

export const INT64_MIN = -(1n << 63n);
export const INT64_MAX = (1n << 63n) - 1n;
export const UINT64_MAX = (1n << 64n) - 1n;

/** A canonical decimal integer (no '+', no leading zeros, no "-0") as bigint, else undefined. */
export function parseCanonicalInteger(text: string): bigint | undefined {
  if (!/^(0|-?[1-9]\d{0,19})$/.test(text)) return undefined;
  return BigInt(text);
}
