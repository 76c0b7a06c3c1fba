/**
 * A SOAP envelope in text form, scanned once: its bytes and what the head reader found (version,
 * addressing, the fault flag, the byte ranges of Header, each header block and Body). Edits
 * (`withoutHeaders`, `withoutRelayAccessToken`, `withTo`) splice those known ranges and shift the
 * ranges after them, so an edited message is never scanned again; every byte outside an edit is
 * kept as it was (signatures over the Body stay valid).
 *
 * inspectEnvelope() reads one from an HTTP exchange: Content-Type and SOAPAction checked
 * against the envelope, the effective action, the one-way hint.
 */
import { isUtf8 } from 'node:buffer';
import { ProtocolError } from '../../core/errors';
import type { XmlLimits } from '../xml/limits';
import { escapeText } from '../xml/text-writer';
import { addressingVersionOfNamespace, type SoapVersion } from './addressing';
import { classifySoapContentType, parseSoapActionHeader, type SoapContentType } from './content-type';
import { invalidEnvelope, isRelayTokenHeader, relayTokenOf } from './envelope-head';
import { readAddressing, scanEnvelope, type AddressingInfo, type ElementRange, type EnvelopeStructure, type SoapHeaderInfo } from './envelope';

export class SoapMessage implements EnvelopeStructure {
  readonly soapVersion: SoapVersion;
  readonly envelopeNamespace: string;
  readonly envelopePrefix: string;
  readonly header: ElementRange | undefined;
  readonly headers: readonly SoapHeaderInfo[];
  readonly body: ElementRange;
  readonly bodyFirstChild: EnvelopeStructure['bodyFirstChild'];
  readonly isFault: boolean;
  readonly addressing: AddressingInfo | undefined;

  /** A message and its structure as scanEnvelope found it (use SoapMessage.read). */
  constructor(
    readonly bytes: Buffer,
    structure: EnvelopeStructure,
  ) {
    this.soapVersion = structure.soapVersion;
    this.envelopeNamespace = structure.envelopeNamespace;
    this.envelopePrefix = structure.envelopePrefix;
    this.header = structure.header;
    this.headers = structure.headers;
    this.body = structure.body;
    this.bodyFirstChild = structure.bodyFirstChild;
    this.isFault = structure.isFault;
    this.addressing = structure.addressing;
  }

  /** Scans `bytes` (UTF-8, or UTF-16 with a BOM). Throws ProtocolError when it is not a SOAP 1.1/1.2 envelope. */
  static read(bytes: Buffer, limits?: Partial<XmlLimits>): SoapMessage {
    return new SoapMessage(bytes, scanEnvelope(bytes, limits));
  }

  /** The header blocks that match, removed (the Header element stays, possibly empty). */
  withoutHeaders(drop: (header: SoapHeaderInfo) => boolean): SoapMessage {
    const removed = this.headers.filter(drop);
    if (removed.length === 0) return this;
    const parts: Buffer[] = [];
    let at = 0;
    for (const h of removed) {
      parts.push(this.bytes.subarray(at, h.start));
      at = h.end;
    }
    parts.push(this.bytes.subarray(at));
    const shift = (offset: number): number => {
      let delta = 0;
      for (const h of removed) if (h.end <= offset) delta += h.end - h.start;
      return offset - delta;
    };
    const headers = this.headers.filter((h) => !removed.includes(h)).map((h) => ({ ...h, ...shiftRange(h, shift) }));
    return this.#edited(Buffer.concat(parts), shift, headers);
  }

  /**
   * Every `RelayAccessToken` header removed (relay credentials never reach the service), with the
   * first one's token (base64-decoded when its BinarySecurityToken says Base64Binary).
   */
  withoutRelayAccessToken(): { readonly message: SoapMessage; readonly token: string | undefined; readonly rawToken: string | undefined } {
    const first = this.headers.find(isRelayTokenHeader);
    if (!first) return { message: this, token: undefined, rawToken: undefined };
    return { message: this.withoutHeaders(isRelayTokenHeader), token: relayTokenOf(first), rawToken: first.text.trim() };
  }

  /**
   * The wsa:To header's value replaced (WCF services check To against their address,
   * wcf-wire.md §4.2); the same message when it has no To header.
   */
  withTo(to: string): SoapMessage {
    const h = this.headers.find((x) => x.localName === 'To' && addressingVersionOfNamespace(x.namespaceUri) !== undefined);
    if (!h) return this;
    const value = encodeLike(this.bytes, escapeText(to));
    const bytes = Buffer.concat([this.bytes.subarray(0, h.contentStart), value, this.bytes.subarray(h.contentEnd)]);
    const delta = value.length - (h.contentEnd - h.contentStart);
    const shift = (offset: number): number => (offset >= h.contentEnd ? offset + delta : offset);
    const headers = this.headers.map((x) => (x === h ? { ...x, ...shiftRange(x, shift), text: to } : { ...x, ...shiftRange(x, shift) }));
    return this.#edited(bytes, shift, headers);
  }

  #edited(bytes: Buffer, shift: (offset: number) => number, headers: SoapHeaderInfo[]): SoapMessage {
    return new SoapMessage(bytes, {
      soapVersion: this.soapVersion,
      envelopeNamespace: this.envelopeNamespace,
      envelopePrefix: this.envelopePrefix,
      header: this.header && shiftRange(this.header, shift),
      headers,
      body: shiftRange(this.body, shift),
      bodyFirstChild: this.bodyFirstChild,
      isFault: this.isFault,
      addressing: readAddressing(headers),
    });
  }
}

function shiftRange(r: ElementRange, shift: (offset: number) => number): ElementRange {
  return { start: shift(r.start), contentStart: shift(r.contentStart), contentEnd: shift(r.contentEnd), end: shift(r.end) };
}

/** Encodes replacement text the way the message is encoded (UTF-8, or UTF-16 with a BOM). */
function encodeLike(message: Buffer, text: string): Buffer {
  if (message[0] === 0xff && message[1] === 0xfe) return Buffer.from(text, 'utf16le');
  if (message[0] === 0xfe && message[1] === 0xff) return Buffer.from(text, 'utf16le').swap16();
  return Buffer.from(text, 'utf8');
}

/** A SOAP message read from an HTTP request or response, with what its HTTP headers said. */
export interface EnvelopeInfo extends EnvelopeStructure {
  /** The message itself, for edits that splice instead of scanning again. */
  readonly message: SoapMessage;
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

/**
 * Inspects an HTTP SOAP request or response: Content-Type and SOAPAction checks plus one scan of
 * the envelope. Throws ProtocolError: httpStatus 415 for a non-SOAP or MTOM Content-Type (MTOM
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
  const message = SoapMessage.read(body, limits);
  // The scan decodes a bounded head; the rest of a UTF-8 message is checked here, whole (native,
  // about a microsecond per KiB), so a body that is not what it says is refused (415), never
  // forwarded for the service to choke on.
  const utf16 = body.length >= 2 && ((body[0] === 0xff && body[1] === 0xfe) || (body[0] === 0xfe && body[1] === 0xff));
  if (!utf16 && !ct.charset?.startsWith('utf-16') && !isUtf8(body)) {
    throw new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', 'Invalid SOAP message: the body is not valid UTF-8', { httpStatus: 415 });
  }
  if (ct.soapVersion !== undefined && ct.soapVersion !== message.soapVersion) {
    throw invalidEnvelope(
      `a SOAP ${message.soapVersion === 'soap11' ? '1.1' : '1.2'} envelope was sent with Content-Type ${ct.mediaType} ` +
        `(SOAP ${ct.soapVersion === 'soap11' ? '1.1 uses text/xml' : '1.2 uses application/soap+xml'})`,
    );
  }
  const httpAction = message.soapVersion === 'soap11' ? (parseSoapActionHeader(soapActionHeader) ?? ct.action) : ct.action;
  const wsaAction = message.addressing?.action;
  if (wsaAction && httpAction && wsaAction !== httpAction) {
    throw invalidEnvelope(`the wsa:Action ${JSON.stringify(wsaAction)} does not match the HTTP action ${JSON.stringify(httpAction)}`);
  }
  const addressing = message.addressing;
  // Spelled out: an object spread here cost more than the rest of a 1 KiB envelope's inspection.
  return {
    message,
    soapVersion: message.soapVersion,
    envelopeNamespace: message.envelopeNamespace,
    envelopePrefix: message.envelopePrefix,
    header: message.header,
    headers: message.headers,
    body: message.body,
    bodyFirstChild: message.bodyFirstChild,
    isFault: message.isFault,
    addressing,
    contentType: ct,
    action: wsaAction || httpAction,
    httpAction,
    oneWayCandidate: addressing !== undefined && addressing.messageId === undefined && addressing.replyTo === undefined,
  };
}

export interface StrippedToken {
  /** The message without the RelayAccessToken header (the same Buffer when there was none). */
  readonly body: Buffer;
  /** The token: the header's text, base64-decoded when its BinarySecurityToken says Base64Binary. */
  readonly token: string | undefined;
  /** The header's text as written. */
  readonly rawToken: string | undefined;
}

/** SoapMessage.read(message).withoutRelayAccessToken(), for a caller holding bytes only. */
export function stripRelayAccessToken(message: Buffer, limits?: Partial<XmlLimits>): StrippedToken {
  const stripped = SoapMessage.read(message, limits).withoutRelayAccessToken();
  return { body: stripped.message.bytes, token: stripped.token, rawToken: stripped.rawToken };
}

export interface RewrittenTo {
  /** The message with the new wsa:To value (the same Buffer when there was no To header). */
  readonly body: Buffer;
  /** The previous To value; undefined when the message had no wsa:To header. */
  readonly previous: string | undefined;
}

/** SoapMessage.read(message).withTo(to), for a caller holding bytes only. */
export function rewriteAddressingTo(message: Buffer, to: string, limits?: Partial<XmlLimits>): RewrittenTo {
  const read = SoapMessage.read(message, limits);
  return { body: read.withTo(to).bytes, previous: read.addressing?.to };
}
