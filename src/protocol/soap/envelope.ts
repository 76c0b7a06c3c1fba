/**
 * SOAP envelope inspection without materialising the Body: SOAP version (Content-Type and
 * Envelope namespace), action (SOAPAction / `action=` / wsa:Action), WS-Addressing headers
 * (1.0 and 2004/08), the byte ranges of Header, each header block and Body content (so callers
 * can splice bytes instead of re-serialising), and the Body's first child (fault or not).
 *
 * Envelope grammar checked (SOAP 1.1 §4, SOAP 1.2 Part 1 §5):
 *   Envelope ::= <Envelope> Header? Body </Envelope>     (both in the version's namespace)
 * The scan stops at the first element inside Body; the end of Body is found from the end of
 * the document (only `</Body></Envelope>`, whitespace, comments and PIs may follow it), so the
 * Body's content is neither tokenized nor validated here.
 */
import { ProtocolError } from '../../core/errors';
import { resolveXmlLimits, type XmlLimits } from '../xml/limits';
import { scanXml } from '../xml/text-reader';
import {
  addressingVersionOfNamespace,
  SOAP_VERSIONS,
  type AddressingVersion,
  type SoapVersion,
} from './addressing';
import { EnvelopeHeadReader, invalidEnvelope, type Span } from './envelope-head';

/** Byte offsets in the message of an element and of its content. */
export interface ElementRange {
  /** First byte of the start tag. */
  readonly start: number;
  /** First byte after the start tag (content begins). */
  readonly contentStart: number;
  /** First byte of the end tag (content ends); equals contentStart for `<x/>`. */
  readonly contentEnd: number;
  /** First byte after the end tag. */
  readonly end: number;
}

export interface SoapHeaderInfo extends ElementRange {
  readonly prefix: string;
  readonly localName: string;
  readonly namespaceUri: string;
  /** mustUnderstand="1"/"true" in the envelope namespace. */
  readonly mustUnderstand: boolean;
  /** All descendant text, concatenated (the value of simple headers such as wsa:To). */
  readonly text: string;
  /** For endpoint-reference headers (ReplyTo, FaultTo, From): the text of their Address child. */
  readonly address?: string;
  /** EncodingType attribute of a child element (BinarySecurityToken inside RelayAccessToken). */
  readonly encodingType?: string;
}

export interface AddressingInfo {
  readonly version: AddressingVersion;
  readonly namespace: string;
  readonly action?: string;
  readonly to?: string;
  readonly messageId?: string;
  readonly relatesTo?: string;
  /** ReplyTo/Address. */
  readonly replyTo?: string;
  /** FaultTo/Address. */
  readonly faultTo?: string;
  /** From/Address. */
  readonly from?: string;
}

/** The structure of an envelope, found by scanning up to the Body. */
export interface EnvelopeStructure {
  readonly soapVersion: SoapVersion;
  readonly envelopeNamespace: string;
  /** Envelope element prefix as written ('' for a default-namespace envelope). */
  readonly envelopePrefix: string;
  readonly header: ElementRange | undefined;
  readonly headers: readonly SoapHeaderInfo[];
  readonly body: ElementRange;
  /** First element inside Body, undefined for an empty Body. */
  readonly bodyFirstChild: { readonly namespaceUri: string; readonly localName: string } | undefined;
  /** True when the Body's first child is the version's Fault element. */
  readonly isFault: boolean;
  /** WS-Addressing headers; undefined when the message has none. */
  readonly addressing: AddressingInfo | undefined;
}


const XML_SPACE = new Set([' ', '\t', '\r', '\n']);

function skipSpace(text: string, at: number): number {
  while (at < text.length && XML_SPACE.has(text[at]!)) at++;
  return at;
}

/** `</qname S? >` at `at`: the offset after it, or -1. */
function endTagAt(text: string, at: number, qname: string): number {
  if (!text.startsWith(`</${qname}`, at)) return -1;
  const i = skipSpace(text, at + 2 + qname.length);
  return text[i] === '>' ? i + 1 : -1;
}

/**
 * Whether `tail` is what may follow the Body's content: `</Body>`, `</Envelope>`, then only
 * whitespace, comments and PIs. Linear: each comment or PI ends at its first terminator.
 * (It was a regular expression, `(?:\s|<!--[^]*?-->|<\?[^]*?\?>)*$`, whose lazy comment bodies
 * could span several comments: n comments then any other byte took 2^n steps (22 comments: 180 ms,
 * doubling with each one more), and text between comments was accepted.)
 */
function isBodyTail(tail: string, bodyQName: string, envelopeQName: string): boolean {
  let at = endTagAt(tail, 0, bodyQName);
  if (at < 0) return false;
  at = endTagAt(tail, skipSpace(tail, at), envelopeQName);
  if (at < 0) return false;
  for (;;) {
    at = skipSpace(tail, at);
    if (at === tail.length) return true;
    let end: number;
    if (tail.startsWith('<!--', at)) end = tail.indexOf('-->', at + 4) + 3;
    else if (tail.startsWith('<?', at)) end = tail.indexOf('?>', at + 2) + 2;
    else return false;
    if (end < at + 3) return false; // indexOf gave -1: unterminated
    at = end;
  }
}

/**
 * Scans the envelope up to the first Body child. Throws ProtocolError when the document is not
 * a SOAP 1.1/1.2 envelope, or when the XML before the Body is malformed.
 */
export function scanEnvelope(message: Buffer | string, limits?: Partial<XmlLimits>): EnvelopeStructure {
  if (Buffer.isBuffer(message) && message.length > HEAD_BYTES[0]! && !isUtf16(message)) {
    const max = resolveXmlLimits(limits).maxInputBytes;
    if (message.length > max) {
      throw new ProtocolError('RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE', `XML limit exceeded: input of ${message.length} bytes is larger than maxInputBytes ${max}`);
    }
    // Fast path: decode and scan only the head; the tail is checked in bytes. Any failure (the
    // Body starts beyond the head, or the head is malformed) tries a longer head, then the full
    // scan, which then reports the real error.
    for (const size of HEAD_BYTES) {
      if (message.length <= size) break;
      let cut = size;
      while (cut > 0 && (message[cut]! & 0xc0) === 0x80) cut--; // never split a UTF-8 sequence
      try {
        return scanHead(message.subarray(0, cut), message, limits);
      } catch {
        /* fall through */
      }
    }
  }
  return scanHead(message, message, limits);
}

/**
 * How much of a large UTF-8 message is decoded when looking for the Body: a small head first
 * (the usual envelope's headers fit), then a larger one (WS-Security and the like).
 */
const HEAD_BYTES = [8 * 1024, 256 * 1024] as const;

function isUtf16(message: Buffer): boolean {
  return (message[0] === 0xff && message[1] === 0xfe) || (message[0] === 0xfe && message[1] === 0xff);
}

/** Scans `head` (all of `message`, or a prefix of a UTF-8 `message`) up to the first Body child. */
function scanHead(head: Buffer | string, message: Buffer | string, limits?: Partial<XmlLimits>): EnvelopeStructure {
  const reader = new EnvelopeHeadReader();
  const result = scanXml(head, reader.onToken, limits);
  const bodyChars = reader.body;
  if (!bodyChars) throw invalidEnvelope('Envelope has no Body');
  if (result.complete && head !== message) throw invalidEnvelope('the head of the message is a whole document'); // cannot happen for a valid envelope

  // Offsets were recorded in document order, so converting in this order keeps byteOffset linear.
  const toRange = (c: Span): ElementRange => ({
    start: result.byteOffset(c[0]),
    contentStart: result.byteOffset(c[1]),
    contentEnd: result.byteOffset(c[2]),
    end: result.byteOffset(c[3]),
  });
  let header: ElementRange | undefined;
  let headerInfos: SoapHeaderInfo[] = [];
  const headerChars = reader.header;
  if (headerChars) {
    const start = result.byteOffset(headerChars[0]);
    const contentStart = result.byteOffset(headerChars[1]);
    // Built field by field: rest/spread here cost more than tokenizing the headers.
    headerInfos = reader.headers.map((h): SoapHeaderInfo => {
      const r = toRange(h.span);
      const info: { -readonly [K in keyof SoapHeaderInfo]: SoapHeaderInfo[K] } = {
        prefix: h.prefix,
        localName: h.localName,
        namespaceUri: h.namespaceUri,
        mustUnderstand: h.mustUnderstand,
        text: h.text,
        start: r.start,
        contentStart: r.contentStart,
        contentEnd: r.contentEnd,
        end: r.end,
      };
      if (h.address !== undefined) info.address = h.address;
      if (h.encodingType !== undefined) info.encodingType = h.encodingType;
      return info;
    });
    header = { start, contentStart, contentEnd: result.byteOffset(headerChars[2]), end: result.byteOffset(headerChars[3]) };
  }
  let body: ElementRange;
  if (result.complete) {
    body = toRange(bodyChars);
  } else {
    // Stopped inside Body: its end tag must be the last markup but </Envelope>.
    const bodyQName = reader.bodyQName;
    const bodyStart = result.byteOffset(bodyChars[0]);
    const contentStart = result.byteOffset(bodyChars[1]);
    const closeTag = `</${bodyQName}`;
    let close: number;
    let closeText: string;
    if (Buffer.isBuffer(message) && !isUtf16(message)) {
      close = message.lastIndexOf(closeTag, undefined, 'utf8');
      closeText = close < 0 ? '' : message.subarray(close).toString('utf8');
    } else {
      const at = result.text.lastIndexOf(closeTag);
      closeText = at < 0 ? '' : result.text.slice(at);
      close = at < 0 ? -1 : result.byteOffset(at);
    }
    if (close < contentStart || !isBodyTail(closeText, bodyQName, reader.envelopeQName)) {
      throw invalidEnvelope('Body is not closed by </Body></Envelope> at the end of the message');
    }
    const closeBytes = Buffer.isBuffer(message) && isUtf16(message) ? (closeText.indexOf('>') + 1) * 2 : Buffer.byteLength(closeText.slice(0, closeText.indexOf('>') + 1), 'utf8');
    body = { start: bodyStart, contentStart, contentEnd: close, end: close + closeBytes };
  }
  return {
    soapVersion: reader.soapVersion!,
    envelopeNamespace: reader.envelopeNamespace,
    envelopePrefix: reader.envelopePrefix,
    header,
    headers: headerInfos,
    body,
    bodyFirstChild: reader.bodyFirstChild,
    isFault: reader.isFault,
    addressing: readAddressing(headerInfos),
  };
}

/** WS-Addressing headers of the first addressing version found among the headers. */
export function readAddressing(headers: readonly Pick<SoapHeaderInfo, 'namespaceUri' | 'localName' | 'text' | 'address'>[]): AddressingInfo | undefined {
  let version: AddressingVersion | undefined;
  let namespace = '';
  let action: string | undefined;
  let to: string | undefined;
  let messageId: string | undefined;
  let relatesTo: string | undefined;
  let replyTo: string | undefined;
  let faultTo: string | undefined;
  let from: string | undefined;
  // The first occurrence of each header wins.
  for (const h of headers) {
    const v = addressingVersionOfNamespace(h.namespaceUri);
    if (v === undefined || (version !== undefined && v !== version)) continue;
    version = v;
    namespace = h.namespaceUri;
    switch (h.localName) {
      case 'Action':
        action ??= h.text.trim();
        break;
      case 'To':
        to ??= h.text.trim();
        break;
      case 'MessageID':
        messageId ??= h.text.trim();
        break;
      case 'RelatesTo':
        relatesTo ??= h.text.trim();
        break;
      case 'ReplyTo':
        replyTo ??= (h.address ?? '').trim();
        break;
      case 'FaultTo':
        faultTo ??= (h.address ?? '').trim();
        break;
      case 'From':
        from ??= (h.address ?? '').trim();
        break;
      default:
        break;
    }
  }
  if (version === undefined) return undefined;
  return { version, namespace, action, to, messageId, relatesTo, replyTo, faultTo, from };
}

/** The envelope namespace's content type for a SOAP version (convenience for callers). */
export function contentTypeFor(version: SoapVersion): string {
  return SOAP_VERSIONS[version].contentType;
}

/**
 * False only when a UTF-8 message certainly has no WS-Addressing headers: neither addressing
 * namespace (both contain "addressing") appears in its bytes. Lets a caller skip scanning a
 * plain SOAP 1.1 call it would pass on unchanged. UTF-16 messages always answer true.
 */
export function mayHaveAddressing(message: Buffer): boolean {
  return isUtf16(message) || message.includes('addressing', 0, 'latin1');
}
