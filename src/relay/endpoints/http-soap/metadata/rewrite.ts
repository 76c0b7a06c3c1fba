/**
 * Rewrites the addresses in a WSDL or XSD document so they point at the relay (wcf-wire.md §7):
 *   wsdl:service/wsdl:port/{soap,soap12,http}:address/@location
 *   wsa10:EndpointReference/wsa10:Address (and the 2004/08 form)   - element text
 *   wsdl:import/@location, xsd:import|include|redefine/@schemaLocation
 *   Identity/Dns                                                    - the public host name
 * Everything else is kept byte for byte (replacements are spliced into the document text).
 *
 * Which URLs are the service's own: the origins (scheme://host:port) of its endpoint addresses
 * and of its `?wsdl`/`?xsd` links. Only absolute http(s) URLs on those origins are rewritten,
 * so imports of third-party schemas (e.g. on www.w3.org) stay as they are; relative URLs already
 * resolve against the relay URL the client used. Paths are mapped by the document's own path:
 * the relay serves `{entity}{rest}` from the service's `{base}{rest}`, so a URL whose path is the
 * document path (or below it) keeps its remainder, e.g. `http://svc:8080/Calc.svc/basic` fetched
 * as `/calc?wsdl` becomes `https://relay/calc/basic`. The document path is the path of its
 * `?wsdl=`/`?xsd=` links when there are any (WCF writes them on the metadata address), else the
 * shortest endpoint address path. Endpoint addresses elsewhere on the service's origin (a WSDL
 * file that names another path, common with node-soap) are mapped to the document URL itself.
 */
import { scanXml } from '../../../../protocol/xml/text-reader';
import { escapeAttribute, escapeText } from '../../../../protocol/xml/text-writer';
import type { XmlLimits } from '../../../../protocol/xml/limits';
import { parseMetadataQuery } from '../../../../protocol/soap/http-request';

export const WSDL11_NS = 'http://schemas.xmlsoap.org/wsdl/';
export const WSDL_SOAP11_NS = 'http://schemas.xmlsoap.org/wsdl/soap/';
export const WSDL_SOAP12_NS = 'http://schemas.xmlsoap.org/wsdl/soap12/';
export const WSDL_HTTP_NS = 'http://schemas.xmlsoap.org/wsdl/http/';
export const XSD_NS = 'http://www.w3.org/2001/XMLSchema';
export const WSA10_NS = 'http://www.w3.org/2005/08/addressing';
export const WSA200408_NS = 'http://schemas.xmlsoap.org/ws/2004/08/addressing';
export const WCF_IDENTITY_NS = 'http://schemas.xmlsoap.org/ws/2006/02/addressingidentity';

export interface RewriteOptions {
  /** Where the client fetched the document, without query: `https://relay.example.com/calc`. */
  readonly documentUrl: string;
  /** Host name written into Identity/Dns (default: documentUrl's host name). */
  readonly dnsIdentity?: string;
  /** Query text (no leading `?`/`&`) appended to `?wsdl=`/`?xsd=` links, e.g. `sb-hc-token=…`. */
  readonly linkQuery?: string;
  readonly limits?: Partial<XmlLimits>;
}

export interface RewriteResult {
  readonly body: Buffer;
  /** Number of values replaced. */
  readonly rewritten: number;
}

type SiteKind = 'address' | 'link' | 'dns';

interface Site {
  kind: SiteKind;
  /** UTF-16 range in the document text to replace. */
  start: number;
  end: number;
  /** The attribute qname, for attribute sites; undefined for element text. */
  attribute?: string;
  value: string;
}

function isAddressElement(ns: string, local: string): boolean {
  return local === 'address' && (ns === WSDL_SOAP11_NS || ns === WSDL_SOAP12_NS || ns === WSDL_HTTP_NS);
}

/** Collects the rewrite sites of a document. */
function collectSites(doc: Buffer, limits?: Partial<XmlLimits>): { text: string; sites: Site[] } {
  const sites: Site[] = [];
  const stack: Array<{ ns: string; local: string }> = [];
  // Element-text sites: open while inside wsa:Address / Identity Dns.
  let textSite: { kind: SiteKind; contentStart: number; value: string; depth: number } | undefined;
  const result = scanXml(doc, (token, info) => {
    switch (token.kind) {
      case 'startElement': {
        const ns = info.namespaceUri ?? '';
        const parent = stack[stack.length - 1];
        stack.push({ ns, local: token.localName });
        if (!textSite) {
          if (token.localName === 'Address' && (ns === WSA10_NS || ns === WSA200408_NS) && parent?.local === 'EndpointReference') {
            textSite = { kind: 'address', contentStart: info.end, value: '', depth: info.depth };
          } else if (token.localName === 'Dns' && ns === WCF_IDENTITY_NS) {
            textSite = { kind: 'dns', contentStart: info.end, value: '', depth: info.depth };
          }
        }
        return true;
      }
      case 'attribute': {
        const el = stack[stack.length - 1];
        if (!el || token.prefix !== '' || info.namespaceUri !== '') return true;
        if (token.localName === 'location' && isAddressElement(el.ns, el.local)) {
          sites.push({ kind: 'address', start: info.start, end: info.end, attribute: 'location', value: token.value });
        } else if (token.localName === 'location' && el.ns === WSDL11_NS && el.local === 'import') {
          sites.push({ kind: 'link', start: info.start, end: info.end, attribute: 'location', value: token.value });
        } else if (
          token.localName === 'schemaLocation' &&
          el.ns === XSD_NS &&
          (el.local === 'import' || el.local === 'include' || el.local === 'redefine')
        ) {
          sites.push({ kind: 'link', start: info.start, end: info.end, attribute: 'schemaLocation', value: token.value });
        }
        return true;
      }
      case 'text':
        if (textSite && info.depth === textSite.depth) textSite.value += token.value;
        return true;
      case 'endElement':
        if (textSite && info.depth === textSite.depth) {
          sites.push({ kind: textSite.kind, start: textSite.contentStart, end: info.start, value: textSite.value.trim() });
          textSite = undefined;
        }
        stack.pop();
        return true;
      default:
        return true;
    }
  }, limits);
  return { text: result.text, sites };
}

function parseAbsolute(value: string): URL | undefined {
  if (!/^https?:\/\//i.test(value)) return undefined;
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function isUnder(path: string, base: string): boolean {
  const b = base.replace(/\/+$/, '');
  return path === b || path.startsWith(`${b}/`) || b === '';
}

function withLinkQuery(search: string, linkQuery: string | undefined): string {
  if (!linkQuery || parseMetadataQuery(search) === undefined) return search;
  return `${search}&${linkQuery}`;
}

/** Rewrites a metadata document for the relay; see the file header for the rules. */
export function rewriteMetadata(doc: Buffer, options: RewriteOptions): RewriteResult {
  const { text, sites } = collectSites(doc, options.limits);
  if (sites.length === 0) return { body: doc, rewritten: 0 };
  const target = new URL(options.documentUrl);
  const targetPath = target.pathname.replace(/\/+$/, '');

  // The service's own origins and its document path.
  const origins = new Set<string>();
  let docPath: string | undefined;
  let shortestAddress: string | undefined;
  for (const s of sites) {
    const u = parseAbsolute(s.value);
    if (!u) continue;
    if (s.kind === 'address') {
      origins.add(u.origin);
      const p = u.pathname.replace(/\/+$/, '');
      if (shortestAddress === undefined || p.length < shortestAddress.length) shortestAddress = p;
    } else if (s.kind === 'link' && parseMetadataQuery(u.search) !== undefined) {
      origins.add(u.origin);
      docPath ??= u.pathname.replace(/\/+$/, '');
    }
  }
  docPath ??= shortestAddress ?? '';

  const mapUrl = (s: Site): string | undefined => {
    if (s.kind === 'dns') return options.dnsIdentity ?? target.hostname.replace(/^\[|\]$/g, '');
    const u = parseAbsolute(s.value);
    if (!u) {
      // Relative: resolves against the relay URL already; only add the link query.
      if (s.kind === 'link' && options.linkQuery) {
        const q = s.value.indexOf('?');
        if (q >= 0) {
          const next = s.value.slice(0, q) + withLinkQuery(s.value.slice(q), options.linkQuery);
          return next === s.value ? undefined : next;
        }
      }
      return undefined;
    }
    if (!origins.has(u.origin)) return undefined;
    const p = u.pathname.replace(/\/+$/, '');
    let path: string;
    if (isUnder(p, docPath)) path = targetPath + p.slice(docPath.replace(/\/+$/, '').length);
    else if (s.kind === 'address') path = targetPath;
    else return undefined; // a link outside the service's mapping cannot be reached through the relay
    const search = s.kind === 'link' ? withLinkQuery(u.search, options.linkQuery) : u.search;
    return `${target.origin}${path || '/'}${search}${u.hash}`;
  };

  let out = '';
  let at = 0;
  let rewritten = 0;
  for (const s of [...sites].sort((a, b) => a.start - b.start)) {
    const next = mapUrl(s);
    if (next === undefined || next === s.value) continue;
    out += text.slice(at, s.start);
    out += s.attribute ? `${s.attribute}="${escapeAttribute(next)}"` : escapeText(next);
    at = s.end;
    rewritten++;
  }
  if (rewritten === 0) return { body: doc, rewritten: 0 };
  out += text.slice(at);
  return { body: encodeLike(doc, out), rewritten };
}

/** Encodes `text` the way `doc` was encoded (UTF-8, or UTF-16 with its BOM). */
function encodeLike(doc: Buffer, text: string): Buffer {
  if (doc[0] === 0xff && doc[1] === 0xfe) return Buffer.from(text, 'utf16le');
  if (doc[0] === 0xfe && doc[1] === 0xff) return Buffer.from(text, 'utf16le').swap16();
  return Buffer.from(text, 'utf8');
}
