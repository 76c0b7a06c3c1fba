/**
 * The relay's public base URL as a client sees it, for addresses written into metadata.
 *
 * Precedence (first that is present wins, field by field for the forwarded forms):
 *   1. RFC 7239 `Forwarded` (first element: the proxy nearest the client): proto=, host=
 *   2. `X-Forwarded-Proto`, `X-Forwarded-Host`, `X-Forwarded-Port`, `X-Forwarded-Prefix`
 *      (first value of each comma-separated list)
 *   3. the configured `publicUrl` (scheme, host, port and path prefix)
 *   4. the request's `Host` and whether the relay itself serves TLS
 * WCF does the same with `X-Forwarded-Host` (UseRequestHeadersForMetadataAddress, wcf-wire.md §7).
 * Forwarded values are only used in the answer to the request that carried them (metadata is
 * cached unrewritten), so a client can only mislead itself.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface PublicBase {
  /** 'http' or 'https'. */
  readonly scheme: string;
  /** Host name (IPv6 in brackets), without port. */
  readonly hostname: string;
  /** Port, '' for the scheme's default. */
  readonly port: string;
  /** Path prefix without a trailing slash ('' or '/relay'). */
  readonly prefix: string;
}

const HOST_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%!$&'()*+,;=-]+)(?::(\d{1,5}))?$/;

function first(headers: IncomingHttpHeaders, name: string): string | undefined {
  const raw = headers[name];
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (v === undefined) return undefined;
  const f = v.split(',')[0]!.trim();
  return f === '' ? undefined : f;
}

/** Parses the first element of an RFC 7239 Forwarded header into lower-cased keys. */
export function parseForwarded(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!value) return out;
  // The first element ends at the first comma outside quotes.
  let element = '';
  let quoted = false;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) break;
    element += ch;
  }
  for (const pair of element.split(';')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const key = pair.slice(0, eq).trim().toLowerCase();
    let v = pair.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    if (!(key in out)) out[key] = v;
  }
  return out;
}

function splitHost(host: string | undefined): { hostname: string; port: string } | undefined {
  if (!host) return undefined;
  const m = HOST_RE.exec(host.trim());
  if (!m) return undefined;
  return { hostname: m[1]!, port: m[2] ?? '' };
}

function cleanScheme(s: string | undefined): string | undefined {
  const v = s?.trim().toLowerCase();
  return v === 'http' || v === 'https' ? v : undefined;
}

function cleanPrefix(p: string | undefined): string | undefined {
  if (p === undefined) return undefined;
  const v = p.trim();
  if (v === '' || v === '/') return '';
  if (!/^\/?[A-Za-z0-9._~%!$&'()*+,;=:@/-]*$/.test(v)) return undefined;
  return `/${v.replace(/^\/+|\/+$/g, '')}`;
}

/** Works out the public base for one request. */
export function publicBase(headers: IncomingHttpHeaders, config: { publicUrl?: string; tls: boolean }): PublicBase {
  const fwd = parseForwarded(first0(headers, 'forwarded'));
  let scheme = cleanScheme(fwd.proto) ?? cleanScheme(first(headers, 'x-forwarded-proto'));
  let host = splitHost(fwd.host) ?? splitHost(first(headers, 'x-forwarded-host'));
  let prefix = cleanPrefix(first(headers, 'x-forwarded-prefix'));
  const fwdPort = first(headers, 'x-forwarded-port');

  let configured: URL | undefined;
  if (config.publicUrl) {
    try {
      configured = new URL(config.publicUrl);
    } catch {
      configured = undefined;
    }
  }
  const forwardedSomething = scheme !== undefined || host !== undefined;
  if (!forwardedSomething && configured) {
    scheme = configured.protocol.replace(':', '');
    host = { hostname: configured.hostname.includes(':') && !configured.hostname.startsWith('[') ? `[${configured.hostname}]` : configured.hostname, port: configured.port };
    prefix ??= cleanPrefix(configured.pathname) ?? '';
  }
  scheme ??= config.tls ? 'https' : 'http';
  host ??= splitHost(first(headers, 'host')) ?? { hostname: 'localhost', port: '' };
  let port = host.port;
  if (fwdPort !== undefined && /^\d{1,5}$/.test(fwdPort)) port = fwdPort;
  if ((scheme === 'http' && port === '80') || (scheme === 'https' && port === '443')) port = '';
  return { scheme, hostname: host.hostname, port, prefix: prefix ?? '' };
}

/** Whole first header value (Forwarded elements are split by parseForwarded itself). */
function first0(headers: IncomingHttpHeaders, name: string): string | undefined {
  const raw = headers[name];
  return Array.isArray(raw) ? raw[0] : raw;
}

/** `scheme://host[:port]prefix` */
export function formatBase(b: PublicBase): string {
  return `${b.scheme}://${b.hostname}${b.port ? `:${b.port}` : ''}${b.prefix}`;
}
