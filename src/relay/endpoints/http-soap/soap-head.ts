/**
 * Reads what the relay needs from the head of a SOAP request it may not read whole yet (the
 * caller has not authorized): the first `RelayAccessToken` header (Azure Relay connect
 * namespace, wcf-wire.md §5.3) and the MessageID for a fault's RelatesTo. The head is a prefix
 * of the envelope, so the scan stops at the first element inside Body, and an input that ends
 * before the token or the Body is "incomplete", not an error: more bytes may settle it.
 * Pure: bytes in, a verdict out.
 */
import {
  addressingVersionOfNamespace,
  RELAY_CONNECT_NS,
  soapVersionOfNamespace,
  type AddressingVersion,
  type SoapVersion,
} from '../../../protocol/soap/addressing';
import type { XmlLimits } from '../../../protocol/xml/limits';
import { scanXml } from '../../../protocol/xml/text-reader';

export type SoapHeadVerdict =
  /** A RelayAccessToken header was read whole (the token as stripRelayAccessToken gives it). */
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

/** Stops the scan once a verdict is known. */
class Settled {
  constructor(readonly state: 'token' | 'none' | 'invalid', readonly token = '') {}
}

/**
 * Scans a prefix of a SOAP envelope (UTF-8, or UTF-16 with a BOM). `complete` says the prefix is
 * the whole body: then an envelope without a token is 'none', and one that does not parse is 'invalid'.
 */
export function scanSoapHead(prefix: Buffer, complete: boolean, limits?: Partial<XmlLimits>): SoapHeadVerdict {
  const head: { soapVersion?: SoapVersion; addressing?: { version: AddressingVersion; messageId?: string } } = {};
  let input = prefix;
  if (!complete) input = cutAtCharacter(prefix);
  let envNs = '';
  let inHeader = false;
  let block: { kind: 'token' | 'messageId' | 'other'; text: string; encodingType?: string } | undefined;
  try {
    scanXml(
      input,
      (token, info) => {
        if (token.kind === 'startElement') {
          const ns = info.namespaceUri ?? '';
          if (info.depth === 1) {
            const version = token.localName === 'Envelope' ? soapVersionOfNamespace(ns) : undefined;
            if (!version) throw new Settled('invalid'); // the root says it all
            envNs = ns;
            head.soapVersion = version;
          } else if (info.depth === 2) {
            if (ns === envNs && token.localName === 'Header') inHeader = true;
            else throw new Settled('none'); // Body (or anything else): no token before it
          } else if (info.depth === 3 && inHeader) {
            const isToken = ns === RELAY_CONNECT_NS && token.localName === 'RelayAccessToken';
            const wsa = token.localName === 'MessageID' ? addressingVersionOfNamespace(ns) : undefined;
            if (wsa && !head.addressing) head.addressing = { version: wsa };
            block = { kind: isToken ? 'token' : wsa ? 'messageId' : 'other', text: '' };
          }
        } else if (token.kind === 'attribute') {
          if (block?.kind === 'token' && info.depth === 4 && token.localName === 'EncodingType') block.encodingType = token.value;
        } else if (token.kind === 'text') {
          if (block && block.kind !== 'other') block.text += token.value;
        } else if (token.kind === 'endElement') {
          if (info.depth === 3 && block) {
            const done = block;
            block = undefined;
            if (done.kind === 'messageId' && head.addressing && head.addressing.messageId === undefined) {
              head.addressing = { version: head.addressing.version, messageId: done.text.trim() };
            }
            if (done.kind === 'token') {
              const raw = done.text.trim();
              const value = done.encodingType?.endsWith('Base64Binary') ? Buffer.from(raw, 'base64').toString('utf8') : raw;
              throw new Settled('token', value);
            }
          } else if (info.depth === 2 && inHeader) {
            throw new Settled('none'); // </Header> without a token
          }
        }
        return true;
      },
      limits,
    );
  } catch (err) {
    if (err instanceof Settled) return err.state === 'token' ? { state: 'token', token: err.token, head } : { state: err.state, head };
    // The prefix ends mid-document (or is malformed): only the whole body can say which.
    return { state: complete ? 'invalid' : 'incomplete', head };
  }
  // A whole document that never reached a Header or Body.
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
