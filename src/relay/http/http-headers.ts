/**
 * Header and query handling for relayed HTTP requests (hybrid-connections.md §1, §2.1, §2.4, §3.2).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ProtocolError } from '../../core/errors';
import { HYCO_LIMITS } from '../../protocol/hyco';

/** Hop-by-hop headers (RFC 7230 §6.1) plus those the relay answers itself. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'close',
  'content-length',
  'expect',
  'http2-settings',
]);

/** Relay credentials never reach a listener. */
const RELAY_AUTH = new Set(['servicebusauthorization']);

/**
 * Request headers for the listener, names as the sender wrote them, repeated headers joined
 * with ", " (live MultiValueHeader test). `Host` is kept; `Via` is added or extended.
 */
export function listenerRequestHeaders(
  rawHeaders: readonly string[],
  options: { stripAuthorization: boolean; viaHost: string },
): Record<string, string> {
  const connectionListed = new Set<string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'connection') {
      for (const t of rawHeaders[i + 1]!.split(',')) connectionListed.add(t.trim().toLowerCase());
    }
  }
  const out: Record<string, string> = {};
  const names = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || RELAY_AUTH.has(lower) || connectionListed.has(lower)) continue;
    if (lower === 'authorization' && options.stripAuthorization) continue;
    if (lower.startsWith('sec-websocket-')) continue;
    const value = rawHeaders[i + 1]!;
    const existing = names.get(lower);
    if (existing) out[existing] = `${out[existing]}, ${value}`;
    else {
      names.set(lower, name);
      out[name] = value;
    }
  }
  const via = names.get('via');
  if (via) out[via] = `${out[via]}, 1.1 ${options.viaHost}`;
  else out['Via'] = `1.1 ${options.viaHost}`;
  return out;
}

/**
 * Refuses headers a listener could not take: the control message that carries them (a `request`'s
 * requestHeaders, an `accept`'s connectHeaders) allows at most HYCO_LIMITS.maxHeaderCount entries
 * and HYCO_LIMITS.maxHeaderBytes (or the relay's smaller `limits.maxHeaderBytes`) of UTF-8 names
 * and values, counted as the codec counts them. Checked before anything is forwarded, so the
 * caller gets 431 and the listener never sees the request (as nginx's large_client_header_buffers
 * and HAProxy's tune.http.maxhdr answer the caller, not the backend).
 *
 * @throws ProtocolError RELAY_ERR_PROTOCOL_HEADERS_TOO_LARGE (HTTP 431)
 */
export function assertForwardableHeaders(headers: Record<string, string>, maxHeaderBytes: number = HYCO_LIMITS.maxHeaderBytes): void {
  const maxBytes = Math.min(maxHeaderBytes, HYCO_LIMITS.maxHeaderBytes);
  let count = 0;
  let bytes = 0;
  for (const [k, v] of Object.entries(headers)) {
    count++;
    bytes += Buffer.byteLength(k, 'utf8') + Buffer.byteLength(v, 'utf8');
  }
  if (count > HYCO_LIMITS.maxHeaderCount) {
    throw new ProtocolError('RELAY_ERR_PROTOCOL_HEADERS_TOO_LARGE', `Request Header Fields Too Large: ${count} headers to forward, at most ${HYCO_LIMITS.maxHeaderCount} are allowed.`);
  }
  if (bytes > maxBytes) {
    throw new ProtocolError('RELAY_ERR_PROTOCOL_HEADERS_TOO_LARGE', `Request Header Fields Too Large: ${bytes} bytes of headers to forward, at most ${maxBytes} are allowed.`);
  }
}

/** Size of a header map as it would appear on the wire, bytes. */
export function headerBytes(headers: Record<string, string>): number {
  let n = 0;
  for (const [k, v] of Object.entries(headers)) n += k.length + v.length + 4;
  return n;
}

/**
 * Removes every `sb-hc-*` parameter that has an `=`, keeping everything else byte for byte
 * (live QueryString test: `?sb-hc-undefined` is kept, `?&&&` is kept, api-version is kept).
 */
export function stripRelayQuery(search: string): string {
  if (!search || search === '?') return search;
  const body = search.startsWith('?') ? search.slice(1) : search;
  const kept = body.split('&').filter((part) => !/^sb-hc-[^=]*=/i.test(part));
  const joined = kept.join('&');
  return joined.length || body.length === 0 ? `?${joined}` : '';
}

/** A dot segment as a listener's server might read it: `.`/`..`, percent-encoded (once or twice), with `;params`. */
const DOT_SEGMENT = /^(?:\.|%2e|%252e){1,2}$/i;
const MAY_HAVE_PROBLEM = /[.%]/;

/**
 * Why a request path must not be routed, or undefined when it may (RFC 3986 §3.3, §5.2.4).
 * Refused: a percent-escape that does not decode, and any dot segment (`.` or `..`), also when
 * its dots are percent-encoded (`%2e`, double-encoded `%252e`), when it is delimited by an encoded
 * slash or a backslash (`%2f`, `%5c`, `\`), or followed by `;params` (`..;`): servers behind a
 * listener treat all of these as `..` and would serve a path outside the hybrid connection's.
 * Browsers and HTTP libraries remove dot segments before sending, so only hand-made targets
 * carry them; refusing (where nginx normalises) keeps every accepted target forwarded byte for byte.
 */
export function targetPathProblem(pathname: string): string | undefined {
  // Without a dot or a percent-escape there is neither a dot segment nor an escape to decode.
  if (!MAY_HAVE_PROBLEM.test(pathname)) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return 'a percent-escape in the path does not decode';
  }
  for (const segment of decoded.split(/[/\\]/)) {
    if (DOT_SEGMENT.test(segment.split(';')[0]!)) return "the path has a '.' or '..' segment";
  }
  return undefined;
}

/** Splits a raw request URL into path and search without normalising escapes. */
export function splitTarget(url: string): { pathname: string; search: string } {
  const q = url.indexOf('?');
  return q < 0 ? { pathname: url, search: '' } : { pathname: url.slice(0, q), search: url.slice(q) };
}

/** Response headers from a listener, minus hop-by-hop headers (the relay frames the body). */
export function senderResponseHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (HOP_BY_HOP.has(k.toLowerCase())) continue;
    out[k] = v;
  }
  return out;
}

/** First value of a Node header. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Removes a header from a plain record, whatever the case of its name. */
export function dropHeader(headers: Record<string, string>, lowerName: string): void {
  for (const k of Object.keys(headers)) if (k.toLowerCase() === lowerName) delete headers[k];
}

/** What encodeURIComponent leaves alone, plus the slash. */
const PLAIN_PATH = /^[A-Za-z0-9\-_.!~*'()/]*$/;

/** A hybrid connection path as a URL path: each segment percent-encoded, slashes kept. */
export function encodePath(path: string): string {
  // Unreserved characters and slashes only (the usual path): nothing to encode.
  if (PLAIN_PATH.test(path)) return path;
  return path.split('/').map(encodeURIComponent).join('/');
}
