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
import { isUtf8 } from 'node:buffer';
import { ProtocolError } from '../../core/errors';
import { resolveXmlLimits, type XmlLimits } from '../xml/limits';
import { scanXml } from '../xml/text-reader';
import { escapeText } from '../xml/text-writer';
import {
  addressingVersionOfNamespace,
  RELAY_CONNECT_NS,
  SOAP_VERSIONS,
  soapVersionOfNamespace,
  type AddressingVersion,
  type SoapVersion,
} from './addressing';
import { classifySoapContentType, parseSoapActionHeader, type SoapContentType } from './content-type';

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

export interface EnvelopeInfo extends EnvelopeStructure {
  readonly contentType: SoapContentType;
  /** The effective action: wsa:Action, else SOAPAction (1.1) / action= (1.2); '' for SOAPAction "". */
  readonly action: string | undefined;
  /** The action from HTTP metadata (SOAPAction header or the Content-Type action parameter). */
  readonly httpAction: string | undefined;
  /**
   * A one-way candidate: addressing is used but there is neither MessageID nor ReplyTo, so no
   * reply can be correlated (WCF one-way over SOAP 1.2, wcf-wire.md §4.2). Mono's wsHttp client
   * still sends both for one-way calls, so false does not prove request/reply.
   */
  readonly oneWayCandidate: boolean;
}

function invalid(message: string): ProtocolError {
  return new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `Invalid SOAP message: ${message}`);
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

interface MutableHeader {
  prefix: string;
  localName: string;
  namespaceUri: string;
  mustUnderstand: boolean;
  text: string;
  address?: string;
  encodingType?: string;
  chars: [number, number, number, number];
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
  let envNs = '';
  let envelopePrefix = '';
  let envelopeQName = '';
  let headerChars: [number, number, number, number] | undefined;
  let bodyQName = '';
  let bodyChars: [number, number, number, number] | undefined;
  let bodyFirstChild: { namespaceUri: string; localName: string } | undefined;
  const headers: MutableHeader[] = [];
  let current: MutableHeader | undefined;
  let inAddress = false;
  let phase: 'start' | 'envelope' | 'header' | 'body' = 'start';

  const result = scanXml(head, (token, info) => {
    switch (token.kind) {
      case 'startElement': {
        const ns = info.namespaceUri ?? '';
        if (info.depth === 1) {
          if (token.localName !== 'Envelope' || soapVersionOfNamespace(ns) === undefined) {
            throw invalid(`root element is {${ns}}${token.localName}, not a SOAP 1.1 or 1.2 Envelope`);
          }
          envNs = ns;
          envelopePrefix = token.prefix;
          envelopeQName = token.prefix ? `${token.prefix}:${token.localName}` : token.localName;
          phase = 'envelope';
        } else if (info.depth === 2) {
          if (ns === envNs && token.localName === 'Header' && headerChars === undefined && bodyChars === undefined) {
            headerChars = [info.start, info.end, info.end, info.end];
            phase = 'header';
          } else if (ns === envNs && token.localName === 'Body' && bodyChars === undefined) {
            bodyChars = [info.start, info.end, info.end, info.end];
            bodyQName = token.prefix ? `${token.prefix}:${token.localName}` : token.localName;
            phase = 'body';
          } else {
            throw invalid(`unexpected {${ns}}${token.localName} in Envelope (expected Header, then Body)`);
          }
        } else if (phase === 'body') {
          bodyFirstChild = { namespaceUri: ns, localName: token.localName };
          return false; // the Body content is not ours to tokenize
        } else if (phase === 'header' && info.depth === 3) {
          current = { prefix: token.prefix, localName: token.localName, namespaceUri: ns, mustUnderstand: false, text: '', chars: [info.start, info.end, info.end, info.end] };
        } else if (current && info.depth === 4 && token.localName === 'Address' && ns === current.namespaceUri) {
          inAddress = true;
          current.address = '';
        }
        return true;
      }
      case 'attribute':
        if (current && info.depth === 3 && token.localName === 'mustUnderstand' && info.namespaceUri === envNs) {
          current.mustUnderstand = token.value.trim() === '1' || token.value.trim() === 'true';
        } else if (current && info.depth === 4 && token.localName === 'EncodingType') {
          current.encodingType = token.value;
        }
        return true;
      case 'text':
        if (current) {
          current.text += token.value;
          if (inAddress && info.depth === 4) current.address += token.value;
        } else if (phase === 'envelope' && info.depth <= 2 && token.value.trim() !== '') {
          throw invalid('text directly inside Envelope');
        }
        return true;
      case 'endElement':
        if (info.depth === 4) inAddress = false;
        if (info.depth === 3 && current) {
          current.chars[2] = info.start;
          current.chars[3] = info.end;
          headers.push(current);
          current = undefined;
        } else if (info.depth === 2 && phase === 'header' && headerChars) {
          headerChars[2] = info.start;
          headerChars[3] = info.end;
          phase = 'envelope';
        } else if (info.depth === 2 && phase === 'body' && bodyChars) {
          bodyChars[2] = info.start;
          bodyChars[3] = info.end;
          phase = 'envelope';
        }
        return true;
      default:
        return true;
    }
  }, limits);

  if (!bodyChars) throw invalid('Envelope has no Body');
  if (result.complete && head !== message) throw invalid('the head of the message is a whole document'); // cannot happen for a valid envelope

  // Offsets were recorded in document order, so converting in this order keeps byteOffset linear.
  const toRange = (c: [number, number, number, number]): ElementRange => ({
    start: result.byteOffset(c[0]),
    contentStart: result.byteOffset(c[1]),
    contentEnd: result.byteOffset(c[2]),
    end: result.byteOffset(c[3]),
  });
  let header: ElementRange | undefined;
  let headerInfos: SoapHeaderInfo[] = [];
  if (headerChars) {
    const start = result.byteOffset(headerChars[0]);
    const contentStart = result.byteOffset(headerChars[1]);
    // Built field by field: rest/spread here cost more than tokenizing the headers.
    headerInfos = headers.map((h): SoapHeaderInfo => {
      const r = toRange(h.chars);
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
    if (close < contentStart || !isBodyTail(closeText, bodyQName, envelopeQName)) {
      throw invalid('Body is not closed by </Body></Envelope> at the end of the message');
    }
    const closeBytes = Buffer.isBuffer(message) && isUtf16(message) ? (closeText.indexOf('>') + 1) * 2 : Buffer.byteLength(closeText.slice(0, closeText.indexOf('>') + 1), 'utf8');
    body = { start: bodyStart, contentStart, contentEnd: close, end: close + closeBytes };
  }
  const soapVersion = soapVersionOfNamespace(envNs)!;
  return {
    soapVersion,
    envelopeNamespace: envNs,
    envelopePrefix,
    header,
    headers: headerInfos,
    body,
    bodyFirstChild,
    isFault: bodyFirstChild?.namespaceUri === envNs && bodyFirstChild.localName === 'Fault',
    addressing: readAddressing(headerInfos),
  };
}

/** WS-Addressing headers of the first addressing version found among the headers. */
export function readAddressing(headers: readonly SoapHeaderInfo[]): AddressingInfo | undefined {
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

/**
 * Inspects an HTTP SOAP request or response: Content-Type and SOAPAction checks plus
 * scanEnvelope. Throws ProtocolError: httpStatus 415 for a non-SOAP or MTOM Content-Type (MTOM
 * bodies are MIME; use classifySoapContentType and forward them opaquely), 400 for a version
 * mismatch between Content-Type and envelope, an action mismatch, or a malformed envelope.
 *
 * @param body              the raw HTTP body.
 * @param contentType       the Content-Type header (undefined: the envelope decides the version).
 * @param soapActionHeader  the SOAPAction header as received (SOAP 1.1).
 */
export function inspectEnvelope(body: Buffer, contentType: string | undefined, soapActionHeader: string | undefined, limits?: Partial<XmlLimits>): EnvelopeInfo {
  const ct = classifySoapContentType(contentType);
  if (ct.mtom) {
    throw new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', 'MTOM (multipart/related) messages cannot be inspected as XML', { httpStatus: 415 });
  }
  const structure = scanEnvelope(body, limits);
  // The scan decodes a bounded head; the rest of a UTF-8 message is checked here, whole (native,
  // about a microsecond per KiB), so a body that is not what it says is refused (415), never
  // forwarded for the service to choke on.
  const utf16 = body.length >= 2 && ((body[0] === 0xff && body[1] === 0xfe) || (body[0] === 0xfe && body[1] === 0xff));
  if (!utf16 && !ct.charset?.startsWith('utf-16') && !isUtf8(body)) {
    throw new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', 'Invalid SOAP message: the body is not valid UTF-8', { httpStatus: 415 });
  }
  if (ct.soapVersion !== undefined && ct.soapVersion !== structure.soapVersion) {
    throw invalid(`a SOAP ${structure.soapVersion === 'soap11' ? '1.1' : '1.2'} envelope was sent with Content-Type ${ct.mediaType} ` +
      `(SOAP ${ct.soapVersion === 'soap11' ? '1.1 uses text/xml' : '1.2 uses application/soap+xml'})`);
  }
  const httpAction = structure.soapVersion === 'soap11' ? parseSoapActionHeader(soapActionHeader) ?? ct.action : ct.action;
  const wsaAction = structure.addressing?.action;
  if (wsaAction && httpAction && wsaAction !== httpAction) {
    throw invalid(`the wsa:Action ${JSON.stringify(wsaAction)} does not match the HTTP action ${JSON.stringify(httpAction)}`);
  }
  const addressing = structure.addressing;
  // Spelled out: an object spread here cost more than the rest of a 1 KiB envelope's inspection.
  return {
    soapVersion: structure.soapVersion,
    envelopeNamespace: structure.envelopeNamespace,
    envelopePrefix: structure.envelopePrefix,
    header: structure.header,
    headers: structure.headers,
    body: structure.body,
    bodyFirstChild: structure.bodyFirstChild,
    isFault: structure.isFault,
    addressing,
    contentType: ct,
    action: wsaAction || httpAction,
    httpAction,
    oneWayCandidate: addressing !== undefined && addressing.messageId === undefined && addressing.replyTo === undefined,
  };
}

/** Encodes replacement text the way the message is encoded (UTF-8, or UTF-16 with a BOM). */
function encodeLike(message: Buffer, text: string): Buffer {
  if (message[0] === 0xff && message[1] === 0xfe) return Buffer.from(text, 'utf16le');
  if (message[0] === 0xfe && message[1] === 0xff) return Buffer.from(text, 'utf16le').swap16();
  return Buffer.from(text, 'utf8');
}

function splice(message: Buffer, start: number, end: number, insert?: Buffer): Buffer {
  const parts = [message.subarray(0, start)];
  if (insert) parts.push(insert);
  parts.push(message.subarray(end));
  return Buffer.concat(parts);
}

export interface StrippedToken {
  /** The message without the RelayAccessToken header (the same Buffer when there was none). */
  readonly body: Buffer;
  /** The token: the header's text, base64-decoded when its BinarySecurityToken says Base64Binary. */
  readonly token: string | undefined;
  /** The header's text as written. */
  readonly rawToken: string | undefined;
}

/**
 * Removes every `RelayAccessToken` header (Azure Relay connect namespace, wcf-wire.md §5.3) and
 * returns the first one's token, so relay credentials never reach the service.
 */
export function stripRelayAccessToken(message: Buffer, limits?: Partial<XmlLimits>): StrippedToken {
  const structure = scanEnvelope(message, limits);
  const found = structure.headers.filter((h) => h.namespaceUri === RELAY_CONNECT_NS && h.localName === 'RelayAccessToken');
  if (found.length === 0) return { body: message, token: undefined, rawToken: undefined };
  const first = found[0]!;
  const rawToken = first.text.trim();
  const token = first.encodingType?.endsWith('Base64Binary') ? Buffer.from(rawToken, 'base64').toString('utf8') : rawToken;
  let body = message;
  for (const h of [...found].reverse()) body = splice(body, h.start, h.end);
  return { body, token, rawToken };
}

export interface RewrittenTo {
  /** The message with the new wsa:To value (the same Buffer when there was no To header). */
  readonly body: Buffer;
  /** The previous To value; undefined when the message had no wsa:To header. */
  readonly previous: string | undefined;
}

/**
 * Replaces the value of the wsa:To header (WS-Addressing 1.0 or 2004/08), keeping everything
 * else byte-for-byte. WCF services check To against their address (wcf-wire.md §4.2).
 */
export function rewriteAddressingTo(message: Buffer, to: string, limits?: Partial<XmlLimits>): RewrittenTo {
  const structure = scanEnvelope(message, limits);
  const header = structure.headers.find((h) => h.localName === 'To' && addressingVersionOfNamespace(h.namespaceUri) !== undefined);
  if (!header) return { body: message, previous: undefined };
  return { body: splice(message, header.contentStart, header.contentEnd, encodeLike(message, escapeText(to))), previous: header.text.trim() };
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
