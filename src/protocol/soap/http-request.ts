/**
 * The one classifier of an HTTP request that may carry SOAP (wcf-wire.md §4.5, §7), for the relay's
 * SOAP endpoint and the agent's SOAP front alike, decided from the request line and headers only:
 *   - POST with `Content-Type: application/soap+xml` (SOAP 1.2; action= optional),
 *   - POST with a `SOAPAction` header (SOAP 1.1: quoted, unquoted or `""`; WCF always sends it),
 *     whatever its Content-Type (a wrong one gets a fault, not a plain relay),
 *   - POST of MTOM (`multipart/related; type="application/xop+xml"`),
 *   - POST `text/xml` without `SOAPAction`: 'xml', SOAP 1.1 or REST/XML (WebHttpBinding): the relay
 *     relays it as plain HTTP, the agent looks at the body,
 *   - GET/HEAD with a metadata query: `?wsdl`, `?wsdl=N`, `?singleWsdl`, `?xsd=N` (any case).
 * Pure: headers come through a getter (Node's lower-cased headers, or a case-insensitive record).
 */
import type { SoapVersion } from './addressing';
import { parseContentType } from './content-type';

export type SoapHttpRequest =
  | { readonly kind: 'soap'; readonly version: SoapVersion; readonly mtom: boolean }
  /** A text/xml POST without SOAPAction: SOAP 1.1 or plain XML, only the body can tell. */
  | { readonly kind: 'xml' }
  | { readonly kind: 'metadata'; readonly query: MetadataQuery };

/** A normalised metadata query: `wsdl`, `wsdl=wsdl0`, `singlewsdl`, `xsd=xsd0`. */
export interface MetadataQuery {
  readonly name: 'wsdl' | 'singlewsdl' | 'xsd';
  /** The value of `wsdl=`/`xsd=` ('' for bare `?wsdl`). */
  readonly value: string;
  /** Cache key part: name and value, lower-cased name. */
  readonly key: string;
}

/** A header by its lower-case name (first value). */
export type HeaderOf = (lowerCaseName: string) => string | undefined;

/** The SOAP version a Content-Type names; undefined when it names none (or is malformed). */
export function soapVersionOfContentType(contentType: string | undefined): { version: SoapVersion; mtom: boolean } | undefined {
  if (!contentType) return undefined;
  let parsed;
  try {
    parsed = parseContentType(contentType);
  } catch {
    return undefined;
  }
  if (parsed.mediaType === 'application/soap+xml') return { version: 'soap12', mtom: false };
  if (parsed.mediaType === 'text/xml') return { version: 'soap11', mtom: false };
  if (parsed.mediaType === 'multipart/related' && parsed.parameters.get('type')?.toLowerCase() === 'application/xop+xml') {
    const startInfo = parsed.parameters.get('start-info')?.toLowerCase() ?? '';
    return { version: startInfo.startsWith('application/soap+xml') ? 'soap12' : 'soap11', mtom: true };
  }
  return undefined;
}

/**
 * Parses a metadata query string (with or without `?`); undefined when it is not one. Relay
 * parameters (`sb-hc-*`) may sit beside it; any other parameter makes it an ordinary request.
 */
export function parseMetadataQuery(search: string): MetadataQuery | undefined {
  const body = search.startsWith('?') ? search.slice(1) : search;
  if (body === '' || body.length > 2048) return undefined; // WCF refuses query strings over 2048 characters
  let found: MetadataQuery | undefined;
  for (const part of body.split('&')) {
    if (part === '' || /^sb-hc-[^=]*=/i.test(part)) continue;
    if (found) return undefined;
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).toLowerCase();
    let value = eq < 0 ? '' : part.slice(eq + 1);
    try {
      value = decodeURIComponent(value.replace(/\+/g, ' '));
    } catch {
      return undefined;
    }
    if (name === 'wsdl' || name === 'singlewsdl' || name === 'xsd') {
      if (name === 'singlewsdl' && value !== '') return undefined;
      if (name === 'xsd' && value === '') return undefined;
      if (!/^[A-Za-z0-9._-]{0,128}$/.test(value)) return undefined;
      found = { name, value, key: value === '' ? name : `${name}=${value}` };
    } else return undefined;
  }
  return found;
}

/** The SOAP version of a reply's Content-Type when it is a plain envelope (not MTOM); undefined otherwise. */
export function envelopeVersionOfContentType(contentType: string | undefined): SoapVersion | undefined {
  const ct = soapVersionOfContentType(contentType);
  return ct && !ct.mtom ? ct.version : undefined;
}

/** The query part of a request target (`/path?wsdl` → `?wsdl`), '' without one. */
export function searchOf(requestTarget: string): string {
  const q = requestTarget.indexOf('?');
  return q < 0 ? '' : requestTarget.slice(q);
}

/** A metadata GET's query, from a request target (`/path?wsdl`). */
export function metadataQueryOfTarget(requestTarget: string): MetadataQuery | undefined {
  return parseMetadataQuery(searchOf(requestTarget));
}

/** Classifies a request; undefined when it is not SOAP by its line and headers. */
export function classifySoapHttpRequest(method: string | undefined, search: string, header: HeaderOf): SoapHttpRequest | undefined {
  const m = method?.toUpperCase();
  if (m === 'GET' || m === 'HEAD') {
    const query = parseMetadataQuery(search);
    return query ? { kind: 'metadata', query } : undefined;
  }
  if (m !== 'POST') return undefined;
  const ct = soapVersionOfContentType(header('content-type'));
  if (ct?.mtom) return { kind: 'soap', version: ct.version, mtom: true };
  if (ct?.version === 'soap12') return { kind: 'soap', version: 'soap12', mtom: false };
  if (header('soapaction') !== undefined) return { kind: 'soap', version: 'soap11', mtom: false };
  return ct ? { kind: 'xml' } : undefined;
}

/** The SOAP fault version for a request that looks like SOAP by its headers; undefined for others. */
export function soapVersionOfHeaders(header: HeaderOf): SoapVersion | undefined {
  return soapVersionOfContentType(header('content-type'))?.version ?? (header('soapaction') !== undefined ? 'soap11' : undefined);
}
