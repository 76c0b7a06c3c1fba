/**
 * Shared Access Signature tokens, as Azure Relay Hybrid Connections uses them
 * (hybrid-connections.md §5; Azure docs `service-bus-messaging/service-bus-sas.md`).
 *
 *   SharedAccessSignature sr={urlenc(resourceUri)}&sig={urlenc(base64(HMAC-SHA256))}&se={unix s}&skn={keyName}
 *
 * - String to sign: the `sr` value exactly as it appears in the token, "\n", the `se` value.
 *   It is never decoded and re-encoded: producers differ in escape case (JS writes `%3A`,
 *   .NET Framework `%3a`), and .NET keeps that case on purpose.
 * - HMAC key: the UTF-8 bytes of the key text (the base64 text is not decoded).
 * - Parameters come in any order; the prefix is compared case-insensitively (.NET does).
 *
 * Pure string/HMAC logic: no I/O, time comes from an injected Clock.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type Clock, nowSeconds, systemClock } from '../core/clock';
import { AuthError, ConfigError } from '../core/errors';

/** Token type prefix (compared case-insensitively when parsing). */
export const SAS_PREFIX = 'SharedAccessSignature';

/** Default maximum token length accepted by {@link parseSasToken}, in characters. */
export const MAX_SAS_TOKEN_LENGTH = 4096;

/** Default token lifetime of {@link createSasToken}, in seconds (hyco and .NET both use 1 h). */
export const DEFAULT_SAS_TTL_SECONDS = 3600;

export interface CreateSasTokenOptions {
  /** Resource the token is scoped to, e.g. `https://ns.example.com/orders` (any scheme; port kept). */
  resourceUri: string;
  /** Name of the authorization rule (`skn`). */
  keyName: string;
  /** Key text of the rule; the HMAC key is its UTF-8 bytes. */
  key: string;
  /** Lifetime in seconds from `clock.now()`. Default 3600. */
  expiresInSeconds?: number;
  /** Time source. Default: the system clock. */
  clock?: Clock;
}

/** A token split into its fields. Nothing here is verified yet. */
export interface ParsedSasToken {
  /** The whole token, as given. */
  raw: string;
  /** The `sr` value exactly as in the token (still percent-encoded): what was signed. */
  sr: string;
  /** `sr` percent-decoded: the resource URI the token is scoped to. */
  resource: string;
  /** The signature, percent-decoded (base64 text). */
  sig: string;
  /** Expiry, unix seconds. */
  se: number;
  /** Key name, percent-decoded. */
  skn: string;
}

/** Signs `sr + "\n" + se` with the key's UTF-8 bytes; returns base64. */
function sign(sr: string, se: string, key: string): string {
  return createHmac('sha256', Buffer.from(key, 'utf8')).update(`${sr}\n${se}`, 'utf8').digest('base64');
}

/**
 * Creates a token for `resourceUri`. The URI is signed and sent as `encodeURIComponent(resourceUri)`
 * (upper-case escapes, as hyco-ws / hyco-https produce).
 * @throws ConfigError when resourceUri, keyName or key is empty, or expiresInSeconds is not finite.
 */
export function createSasToken(o: CreateSasTokenOptions): string {
  const issues: string[] = [];
  if (typeof o.resourceUri !== 'string' || o.resourceUri === '') issues.push('resourceUri: expected a non-empty string');
  if (typeof o.keyName !== 'string' || o.keyName === '') issues.push('keyName: expected a non-empty string');
  if (typeof o.key !== 'string' || o.key === '') issues.push('key: expected a non-empty string');
  const ttl = o.expiresInSeconds ?? DEFAULT_SAS_TTL_SECONDS;
  if (!Number.isFinite(ttl)) issues.push('expiresInSeconds: expected a finite number of seconds');
  if (issues.length) throw new ConfigError('invalid SAS token options', issues);

  const se = String(nowSeconds(o.clock ?? systemClock) + Math.floor(ttl));
  const sr = encodeURIComponent(o.resourceUri);
  const sig = sign(sr, se, o.key);
  // skn: encoding is a no-op for valid key names ([A-Za-z0-9._-]) and keeps odd ones parseable.
  return `${SAS_PREFIX} sr=${sr}&sig=${encodeURIComponent(sig)}&se=${se}&skn=${encodeURIComponent(o.keyName)}`;
}

function malformed(what: string): AuthError {
  return new AuthError(
    'RELAY_ERR_SAS_MALFORMED',
    `MalformedToken: The SharedAccessSignature token is not well-formed (${what}). ` +
      'Expected "SharedAccessSignature sr=...&sig=...&se=...&skn=...".',
  );
}

function decode(value: string, field: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw malformed(`'${field}' has an invalid percent-escape`);
  }
}

const FIELDS = ['sr', 'sig', 'se', 'skn'] as const;
type Field = (typeof FIELDS)[number];

/**
 * Splits a token into its fields. Field names are matched case-insensitively (as .NET does),
 * unknown fields and empty `&&` segments are ignored, and each of sr, sig, se, skn must appear
 * exactly once with a non-empty value. `se` must be a canonical decimal (no sign, no leading zero)
 * so that `String(se)` is exactly what was signed.
 * @param maxLength maximum token length in characters. Default 4096.
 * @throws AuthError RELAY_ERR_SAS_MALFORMED; the message never repeats the token.
 */
export function parseSasToken(token: string, maxLength = MAX_SAS_TOKEN_LENGTH): ParsedSasToken {
  if (typeof token !== 'string') throw malformed('not a string');
  if (token.length > maxLength) throw malformed(`longer than ${maxLength} characters`);
  const trimmed = token.trim();
  // The prefix must be followed by whitespace; compare case-insensitively.
  const prefixOk =
    trimmed.length > SAS_PREFIX.length &&
    trimmed.slice(0, SAS_PREFIX.length).toLowerCase() === SAS_PREFIX.toLowerCase() &&
    /\s/.test(trimmed[SAS_PREFIX.length]!);
  if (!prefixOk) throw malformed(`it does not start with "${SAS_PREFIX} "`);
  const body = trimmed.slice(SAS_PREFIX.length).trim();

  const found: Partial<Record<Field, string>> = {};
  for (const part of body.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw malformed('a parameter has no name or no "="');
    const name = part.slice(0, eq).toLowerCase();
    if (!(FIELDS as readonly string[]).includes(name)) continue;
    const field = name as Field;
    if (found[field] !== undefined) throw malformed(`'${field}' appears more than once`);
    const value = part.slice(eq + 1);
    if (value === '') throw malformed(`'${field}' is empty`);
    found[field] = value;
  }
  for (const f of FIELDS) if (found[f] === undefined) throw malformed(`'${f}' is missing`);

  const seText = found.se!;
  if (!/^(0|[1-9][0-9]*)$/.test(seText)) throw malformed(`'se' is not a unix time in seconds`);
  const se = Number(seText);
  if (!Number.isSafeInteger(se)) throw malformed(`'se' is out of range`);

  const sr = found.sr!;
  return {
    raw: token,
    sr,
    resource: decode(sr, 'sr'),
    sig: decode(found.sig!, 'sig'),
    se,
    skn: decode(found.skn!, 'skn'),
  };
}

/**
 * True when the token's signature matches one of `keys` (primary, secondary, ...).
 * Compares in constant time (crypto.timingSafeEqual over equal-length buffers) and tries
 * every key, so timing does not reveal which key matched.
 */
export function verifySasSignature(t: ParsedSasToken, keys: readonly string[]): boolean {
  const given = Buffer.from(t.sig, 'utf8');
  const se = String(t.se);
  let ok = false;
  for (const key of keys) {
    if (typeof key !== 'string' || key === '') continue;
    const expected = Buffer.from(sign(t.sr, se, key), 'utf8');
    // timingSafeEqual throws on unequal lengths; a base64 SHA-256 is always 44 chars,
    // so a length mismatch reveals nothing about the key.
    if (expected.length === given.length && timingSafeEqual(expected, given)) ok = true;
  }
  return ok;
}

/** Host (lower-case, no port, IPv6 without brackets) and path of a URI-ish string. */
function splitUri(uri: string): { host: string; path: string } {
  let rest = uri.trim();
  // Drop query and fragment.
  rest = rest.replace(/[?#].*$/s, '');
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length);
  else if (rest.startsWith('//')) rest = rest.slice(2);
  else if (rest.startsWith('/')) return { host: '', path: rest };
  const slash = rest.indexOf('/');
  let authority = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  const at = authority.lastIndexOf('@');
  if (at !== -1) authority = authority.slice(at + 1);
  return { host: stripPort(authority).toLowerCase(), path };
}

/** Host without port; IPv6 brackets are dropped so `[::1]:9443` and `::1` compare equal. */
function stripPort(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end === -1 ? authority : authority.slice(1, end);
  }
  const colon = authority.lastIndexOf(':');
  // More than one colon and no brackets: a bare IPv6 address, no port.
  if (colon !== -1 && authority.indexOf(':') === colon) return authority.slice(0, colon);
  return authority;
}

/** Path without one leading `/$hc`, without leading/trailing slashes, lower-case. */
function normalizePath(path: string): string {
  let p = path;
  if (/^\/?\$hc(\/|$)/i.test(p)) p = p.replace(/^\/?\$hc/i, '');
  return p.replace(/^\/+/, '').replace(/\/+$/, '').toLowerCase();
}

/**
 * The relay-side scope check (hybrid-connections.md §5): does the token's resource cover `path`?
 * - `sr` is percent-decoded; scheme (http, https, sb, ws, wss, ...) and port are ignored;
 * - the host must be one of `hosts` (case-insensitive; ports in `hosts` entries are ignored too),
 *   unless `hosts` is `'*'`;
 * - one leading `/$hc` and any trailing `/` are stripped;
 * - accepted when the token path is empty (namespace scope), equals `path`, or is a prefix of it
 *   at a `/` boundary, case-insensitively. ("A SAS token is valid for all resources under the
 *   resourceURI.")
 */
export function audienceMatches(t: ParsedSasToken, target: { hosts: readonly string[] | '*'; path: string }): boolean {
  const { host, path } = splitUri(t.resource);
  if (target.hosts !== '*') {
    if (host === '') return false;
    const allowed = target.hosts.some((h) => stripPort(h.trim()).toLowerCase() === host);
    if (!allowed) return false;
  }
  const scope = normalizePath(path);
  const wanted = normalizePath(target.path);
  if (scope === '') return true;
  return wanted === scope || wanted.startsWith(`${scope}/`);
}
