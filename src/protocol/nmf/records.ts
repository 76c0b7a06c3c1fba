/**
 * [MC-NMF] .NET Message Framing: wire constants.
 *
 * Record types ([MC-NMF] §2.2.1), modes (§2.2.3.2), known encodings (§2.2.3.4.1) and the
 * upgrade protocol names WCF uses (§2.2.3.6, wcf-wire.md §1.7). Each is an `as const` object
 * plus a union of its values, named as the specification names them.
 */

/** Record type octets ([MC-NMF] §2.2.1). Values 0x0D-0xFF are reserved. */
export const RecordType = {
  Version: 0x00,
  Mode: 0x01,
  Via: 0x02,
  KnownEncoding: 0x03,
  ExtensibleEncoding: 0x04,
  UnsizedEnvelope: 0x05,
  SizedEnvelope: 0x06,
  End: 0x07,
  Fault: 0x08,
  UpgradeRequest: 0x09,
  UpgradeResponse: 0x0a,
  PreambleAck: 0x0b,
  PreambleEnd: 0x0c,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/** Communication modes of the Mode record ([MC-NMF] §2.2.3.2). */
export const Mode = {
  SingletonUnsized: 0x01,
  Duplex: 0x02,
  Simplex: 0x03,
  SingletonSized: 0x04,
} as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

/** The only protocol version defined: 1.0 ([MC-NMF] §2.2.3.1). */
export const NMF_VERSION = { major: 1, minor: 0 } as const;

/** Known Encoding record values ([MC-NMF] §2.2.3.4.1). */
export const KnownEncoding = {
  Soap11Utf8: 0x00,
  Soap11Utf16: 0x01,
  Soap11UnicodeFffe: 0x02,
  Soap12Utf8: 0x03,
  Soap12Utf16: 0x04,
  Soap12UnicodeFffe: 0x05,
  Soap12Mtom: 0x06,
  Soap12Binary: 0x07,
  Soap12BinarySession: 0x08,
} as const;
export type KnownEncoding = (typeof KnownEncoding)[keyof typeof KnownEncoding];

/**
 * The content type each known encoding stands for, as WCF maps them (CoreWCF
 * FramingEncodingString; wcf-wire.md §1.4).
 */
export const KNOWN_ENCODING_CONTENT_TYPES: Readonly<Record<KnownEncoding, string>> = {
  [KnownEncoding.Soap11Utf8]: 'text/xml; charset=utf-8',
  [KnownEncoding.Soap11Utf16]: 'text/xml; charset=utf16',
  [KnownEncoding.Soap11UnicodeFffe]: 'text/xml; charset=unicodeFFFE',
  [KnownEncoding.Soap12Utf8]: 'application/soap+xml; charset=utf-8',
  [KnownEncoding.Soap12Utf16]: 'application/soap+xml; charset=utf16',
  [KnownEncoding.Soap12UnicodeFffe]: 'application/soap+xml; charset=unicodeFFFE',
  [KnownEncoding.Soap12Mtom]: 'multipart/related',
  [KnownEncoding.Soap12Binary]: 'application/soap+msbin1',
  [KnownEncoding.Soap12BinarySession]: 'application/soap+msbinsession1',
};

/** Upgrade protocol names carried by the Upgrade Request record ([MC-NMF] §2.2.3.6). */
export const UpgradeProtocol = {
  SslTls: 'application/ssl-tls',
  Negotiate: 'application/negotiate',
} as const;
export type UpgradeProtocol = (typeof UpgradeProtocol)[keyof typeof UpgradeProtocol];

/** The encoding named by a preamble: a known-encoding octet or an extensible content type. */
export interface NmfEncoding {
  /** The Known Encoding octet, or undefined when an Extensible Encoding record was used. */
  readonly known?: KnownEncoding;
  /** The content type (for a known encoding, the string WCF maps it to). */
  readonly contentType: string;
}

export function isMode(value: number): value is Mode {
  return value >= Mode.SingletonUnsized && value <= Mode.SingletonSized;
}

export function isKnownEncoding(value: number): value is KnownEncoding {
  return value >= KnownEncoding.Soap11Utf8 && value <= KnownEncoding.Soap12BinarySession;
}
