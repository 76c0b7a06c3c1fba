/**
 * Reads what the relay needs from the head of a SOAP request it may not read whole yet (the
 * caller has not authorized): the first `RelayAccessToken` header (Azure Relay connect
 * namespace, wcf-wire.md §5.3) and the MessageID for a fault's RelatesTo. The head is a prefix
 * of the envelope, so the scan stops at the first element inside Body, and an input that ends
 * before the token or the Body is "incomplete", not an error: more bytes may settle it.
 * Pure: bytes in, a verdict out.
 */
import type { XmlLimits } from '../xml/limits';
import { scanXml } from '../xml/text-reader';
import type { AddressingVersion, SoapVersion } from './addressing';
import { EnvelopeHeadReader, isRelayTokenHeader, relayTokenOf } from './envelope-head';
import { readAddressing } from './envelope';

export type SoapHeadVerdict =
  /** A RelayAccessToken header was read whole (the token as SoapMessage.withoutRelayAccessToken gives it). */
  | { readonly state: 'token'; readonly token: string; readonly head: SoapHeadInfo }
  /** The Header ended, or the Body began, without one. */
  | { readonly state: 'none'; readonly head: SoapHeadInfo }
  /** The head ends before either; more bytes may settle it. */
  | { readonly state: 'incomplete'; readonly head: SoapHeadInfo }
  /** Not a SOAP envelope, or malformed XML before the Body. */
  | { readonly state: 'invalid'; readonly head: SoapHeadInfo };

/** What was learnt on the way, for a fault to the caller. */
export interface SoapHeadInfo {
  readonly soapVersion?: SoapVersion;
  readonly addressing?: { readonly version: AddressingVersion; readonly messageId?: string };
}

/**
 * Scans a prefix of a SOAP envelope (UTF-8, or UTF-16 with a BOM) with the envelope head reader,
 * stopping at the first RelayAccessToken header or at the Body. `complete` says the prefix is the
 * whole body: then an envelope without a token is 'none', and one that does not parse is 'invalid'.
 */
export function scanSoapHead(prefix: Buffer, complete: boolean, limits?: Partial<XmlLimits>): SoapHeadVerdict {
  const reader = new EnvelopeHeadReader({ stopAt: 'body', stopAfter: isRelayTokenHeader });
  try {
    scanXml(complete ? prefix : cutAtCharacter(prefix), reader.onToken, limits);
  } catch {
    // The prefix ends mid-document (or is malformed): what was read before may still settle it.
  }
  const addressing = readAddressing(reader.headers);
  const head: SoapHeadInfo = {
    ...(reader.soapVersion ? { soapVersion: reader.soapVersion } : {}),
    ...(addressing ? { addressing: { version: addressing.version, messageId: addressing.messageId } } : {}),
  };
  if (reader.stoppedBlock) return { state: 'token', token: relayTokenOf(reader.stoppedBlock), head };
  if (reader.notEnvelope) return { state: 'invalid', head };
  if (reader.headerDone) return { state: 'none', head };
  // A prefix that ended (or broke) before the Header closed: only the whole body can say which.
  return { state: complete ? 'invalid' : 'incomplete', head };
}

/** The prefix without a trailing partial character (UTF-8 sequence, or odd UTF-16 byte). */
function cutAtCharacter(prefix: Buffer): Buffer {
  const utf16 = prefix.length >= 2 && ((prefix[0] === 0xff && prefix[1] === 0xfe) || (prefix[0] === 0xfe && prefix[1] === 0xff));
  if (utf16) return prefix.subarray(0, prefix.length & ~1);
  let cut = prefix.length;
  // Back up over continuation bytes and the lead byte of a sequence that may be unfinished.
  let back = 0;
  while (cut > 0 && back < 4 && (prefix[cut - 1]! & 0xc0) === 0x80) {
    cut--;
    back++;
  }
  if (cut > 0 && prefix[cut - 1]! >= 0xc0) {
    const lead = prefix[cut - 1]!;
    const need = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : 1;
    if (back < need) return prefix.subarray(0, cut - 1);
  }
  return prefix.subarray(0, prefix.length);
}
