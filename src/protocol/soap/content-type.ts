/**
 * HTTP-level SOAP metadata: Content-Type (RFC 9110 §8.3) and SOAPAction (SOAP 1.1 §6.1.1).
 *
 * - SOAP 1.1: `text/xml; charset=utf-8` + `SOAPAction: "<action>"` (quoted, unquoted or `""`).
 * - SOAP 1.2: `application/soap+xml; charset=utf-8; action="<action>"` (RFC 3902; the action
 *   parameter is optional: Mono leaves it out and relies on wsa:Action).
 * - MTOM: `multipart/related; type="application/xop+xml"; start-info="<inner type>"; action=...`
 *   (wcf-wire.md §4.5): detected and reported; the MIME body is not parsed here.
 */
import { ProtocolError } from '../../core/errors';
import type { SoapVersion } from './addressing';

export interface ParsedContentType {
  /** Lower-cased `type/subtype`. */
  readonly mediaType: string;
  /** Parameters with lower-cased names and unquoted values. */
  readonly parameters: ReadonlyMap<string, string>;
}

export interface SoapContentType {
  /** Undefined when no Content-Type was given (then the envelope namespace decides). */
  readonly soapVersion: SoapVersion | undefined;
  readonly mediaType: string;
  readonly charset: string | undefined;
  /** The `action` parameter (SOAP 1.2 / MTOM), when present. */
  readonly action: string | undefined;
  /** True for MTOM (multipart/related with type application/xop+xml): the body is MIME, not XML. */
  readonly mtom: boolean;
  /** MTOM: MIME boundary and start part id, for a caller that parses the parts. */
  readonly boundary?: string;
  readonly start?: string;
}

const MAX_CONTENT_TYPE_CHARS = 1024;
const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function unsupported(message: string): ProtocolError {
  return new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', message, { httpStatus: 415 });
}

/**
 * Parses a Content-Type value. Parameter values may be tokens or quoted strings (with `\` escapes).
 * Throws ProtocolError (HTTP 415) when the media type itself is malformed; malformed parameters are
 * ignored, as browsers and WCF do.
 */
export function parseContentType(value: string): ParsedContentType {
  if (value.length > MAX_CONTENT_TYPE_CHARS) throw unsupported(`Content-Type longer than ${MAX_CONTENT_TYPE_CHARS} characters`);
  const semi = value.indexOf(';');
  const mediaType = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  const slash = mediaType.indexOf('/');
  if (slash <= 0 || !TOKEN_RE.test(mediaType.slice(0, slash)) || !TOKEN_RE.test(mediaType.slice(slash + 1))) {
    throw unsupported(`malformed Content-Type ${JSON.stringify(value)}`);
  }
  const parameters = new Map<string, string>();
  let i = semi < 0 ? value.length : semi + 1;
  while (i < value.length) {
    while (i < value.length && (value[i] === ' ' || value[i] === '\t' || value[i] === ';')) i++;
    const eq = value.indexOf('=', i);
    if (eq < 0) break;
    const name = value.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let v = '';
    if (value[i] === '"') {
      i++;
      while (i < value.length && value[i] !== '"') {
        if (value[i] === '\\' && i + 1 < value.length) i++;
        v += value[i];
        i++;
      }
      i++; // closing quote
      const next = value.indexOf(';', i);
      i = next < 0 ? value.length : next;
    } else {
      const next = value.indexOf(';', i);
      v = (next < 0 ? value.slice(i) : value.slice(i, next)).trim();
      i = next < 0 ? value.length : next;
    }
    if (TOKEN_RE.test(name) && !parameters.has(name)) parameters.set(name, v);
  }
  return { mediaType, parameters };
}

/**
 * Classifies a request's Content-Type for SOAP. Undefined/empty gives soapVersion undefined.
 * Throws ProtocolError with httpStatus 415 for a type that is not SOAP.
 */
export function classifySoapContentType(contentType: string | undefined): SoapContentType {
  if (contentType === undefined || contentType.trim() === '') {
    return { soapVersion: undefined, mediaType: '', charset: undefined, action: undefined, mtom: false };
  }
  const parsed = parseContentType(contentType);
  const charset = parsed.parameters.get('charset')?.toLowerCase();
  if (charset !== undefined && !/^(utf-8|utf8|utf-16|utf-16le|utf-16be|us-ascii)$/.test(charset)) {
    throw unsupported(`unsupported charset ${JSON.stringify(charset)} (WCF text encoding uses utf-8 or utf-16)`);
  }
  const action = parsed.parameters.get('action');
  switch (parsed.mediaType) {
    case 'text/xml':
      return { soapVersion: 'soap11', mediaType: parsed.mediaType, charset, action, mtom: false };
    case 'application/soap+xml':
      return { soapVersion: 'soap12', mediaType: parsed.mediaType, charset, action, mtom: false };
    case 'multipart/related': {
      if (parsed.parameters.get('type')?.toLowerCase() !== 'application/xop+xml') {
        throw unsupported('multipart/related without type="application/xop+xml" is not a SOAP MTOM message');
      }
      // start-info is the inner part's type, e.g. `application/soap+xml;action="..."` or `text/xml`.
      const startInfo = parsed.parameters.get('start-info');
      let soapVersion: SoapVersion | undefined;
      let innerAction: string | undefined;
      if (startInfo !== undefined) {
        const inner = parseContentType(startInfo);
        if (inner.mediaType === 'text/xml') soapVersion = 'soap11';
        else if (inner.mediaType === 'application/soap+xml') soapVersion = 'soap12';
        else throw unsupported(`MTOM start-info ${JSON.stringify(startInfo)} is not a SOAP type`);
        innerAction = inner.parameters.get('action');
      }
      return {
        soapVersion,
        mediaType: parsed.mediaType,
        charset,
        action: action ?? innerAction,
        mtom: true,
        boundary: parsed.parameters.get('boundary'),
        start: parsed.parameters.get('start'),
      };
    }
    default:
      throw unsupported(`Content-Type ${parsed.mediaType} is not SOAP (expected text/xml or application/soap+xml)`);
  }
}

/**
 * The action of a SOAPAction header: surrounding double quotes removed (WCF always quotes),
 * percent-escapes decoded (WCF URL-path-encodes it, wcf-wire.md §4.5). `""` gives ''.
 * Undefined when the header is absent.
 */
export function parseSoapActionHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let v = value.trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
  if (v.includes('%')) {
    try {
      v = decodeURI(v);
    } catch {
      /* not an escape sequence: keep as sent */
    }
  }
  return v;
}

/** SOAPAction header value as WCF writes it: the action in double quotes. */
export function formatSoapActionHeader(action: string): string {
  return `"${action.replace(/"/g, '%22')}"`;
}

/** SOAP 1.2 Content-Type with an action parameter (RFC 3902 §1). */
export function soap12ContentType(action: string | undefined): string {
  if (action === undefined || action === '') return 'application/soap+xml; charset=utf-8';
  return `application/soap+xml; charset=utf-8; action="${action.replace(/["\\]/g, '\\$&')}"`;
}
