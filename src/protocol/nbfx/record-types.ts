/**
 * [MC-NBFX] record type octets (§2.2 structure records, §2.3 text records; runtime
 * XmlBinaryNodeType.cs; wcf-wire.md §2.2-§2.3).
 *
 * Text records come in pairs: the even octet is the plain record, the odd one (+1) is the same
 * payload followed by an implicit EndElement ("...WithEndElement", [MC-NBFX] §2.3).
 */
export const RecordType = {
  EndElement: 0x01,
  Comment: 0x02,
  Array: 0x03,
  ShortAttribute: 0x04,
  Attribute: 0x05,
  ShortDictionaryAttribute: 0x06,
  DictionaryAttribute: 0x07,
  ShortXmlnsAttribute: 0x08,
  XmlnsAttribute: 0x09,
  ShortDictionaryXmlnsAttribute: 0x0a,
  DictionaryXmlnsAttribute: 0x0b,
  /** 0x0C-0x25: prefix 'a' + (type - 0x0C), name is a DictionaryString. */
  PrefixDictionaryAttributeA: 0x0c,
  PrefixDictionaryAttributeZ: 0x25,
  /** 0x26-0x3F: prefix 'a' + (type - 0x26), name is a String. */
  PrefixAttributeA: 0x26,
  PrefixAttributeZ: 0x3f,
  ShortElement: 0x40,
  Element: 0x41,
  ShortDictionaryElement: 0x42,
  DictionaryElement: 0x43,
  /** 0x44-0x5D: prefix 'a' + (type - 0x44), name is a DictionaryString. */
  PrefixDictionaryElementA: 0x44,
  PrefixDictionaryElementZ: 0x5d,
  /** 0x5E-0x77: prefix 'a' + (type - 0x5E), name is a String. */
  PrefixElementA: 0x5e,
  PrefixElementZ: 0x77,
  // Text records (even forms; +1 = WithEndElement).
  ZeroText: 0x80,
  OneText: 0x82,
  FalseText: 0x84,
  TrueText: 0x86,
  Int8Text: 0x88,
  Int16Text: 0x8a,
  Int32Text: 0x8c,
  Int64Text: 0x8e,
  FloatText: 0x90,
  DoubleText: 0x92,
  DecimalText: 0x94,
  DateTimeText: 0x96,
  Chars8Text: 0x98,
  Chars16Text: 0x9a,
  Chars32Text: 0x9c,
  Bytes8Text: 0x9e,
  Bytes16Text: 0xa0,
  Bytes32Text: 0xa2,
  StartListText: 0xa4,
  EndListText: 0xa6,
  EmptyText: 0xa8,
  DictionaryText: 0xaa,
  UniqueIdText: 0xac,
  TimeSpanText: 0xae,
  UuidText: 0xb0,
  UInt64Text: 0xb2,
  BoolText: 0xb4,
  UnicodeChars8Text: 0xb6,
  UnicodeChars16Text: 0xb8,
  UnicodeChars32Text: 0xba,
  QNameDictionaryText: 0xbc,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/** First and last text record octets (both forms). */
export const FIRST_TEXT_RECORD = 0x80;
export const LAST_TEXT_RECORD = 0xbd;

/** True for any text record octet, either form (0xA5/0xA7 are not defined and are excluded). */
export function isTextRecord(type: number): boolean {
  return type >= FIRST_TEXT_RECORD && type <= LAST_TEXT_RECORD && type !== 0xa5 && type !== 0xa7;
}

/** Item types allowed in an Array record ([MC-NBFX] §2.3.3): always the WithEndElement form. */
export const ARRAY_ITEM_SIZES: ReadonlyMap<number, number> = new Map([
  [0xb5, 1], // Bool
  [0x8b, 2], // Int16
  [0x8d, 4], // Int32
  [0x8f, 8], // Int64
  [0x91, 4], // Float
  [0x93, 8], // Double
  [0x95, 16], // Decimal
  [0x97, 8], // DateTime
  [0xaf, 8], // TimeSpan
  [0xb1, 16], // Guid (UuidText)
]);

/** 'a'..'z' for a prefix-letter record offset 0..25. */
export function prefixLetter(offset: number): string {
  return String.fromCharCode(0x61 + offset);
}

/** The offset 0..25 of a one-letter lowercase prefix, or -1. */
export function prefixLetterIndex(prefix: string): number {
  if (prefix.length !== 1) return -1;
  const c = prefix.charCodeAt(0) - 0x61;
  return c >= 0 && c < 26 ? c : -1;
}
