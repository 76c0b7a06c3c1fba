/**
 * Network and TLS failures as one line with a hint, instead of `TypeError: fetch failed` and a
 * stack: the error's code (or its cause's, for fetch) decides the text.
 */

const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** Codes found on the error, its causes and aggregated errors. */
function codesOf(err: unknown, depth = 0): string[] {
  if (!err || typeof err !== 'object' || depth > 5) return [];
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  const own = typeof e.code === 'string' ? [e.code] : [];
  const agg = Array.isArray(e.errors) ? e.errors.flatMap((x) => codesOf(x, depth + 1)) : [];
  return [...own, ...codesOf(e.cause, depth + 1), ...agg];
}

/** One line for a network/TLS failure talking to `url`, or undefined when it is not one. */
export function describeNetworkError(err: unknown, url?: string): string | undefined {
  const codes = codesOf(err);
  let where = url ?? (err as { url?: string })?.url ?? 'the relay';
  let host = where;
  try {
    const u = new URL(where);
    host = u.host;
    where = u.origin;
  } catch {
    /* not a URL */
  }
  const has = (...c: string[]) => codes.find((x) => c.includes(x));
  if (has('ECONNREFUSED')) return `connection refused: is the relay running at ${where}?`;
  if (codes.some((c) => UNTRUSTED.has(c))) return `certificate not trusted: pass --ca FILE (the relay's CA or its relay-cert.pem) to trust ${host}`;
  if (has('CERT_HAS_EXPIRED')) return `certificate expired: the relay at ${host} presents an expired certificate`;
  if (has('ERR_TLS_CERT_ALTNAME_INVALID')) return `certificate does not name ${host}: use a host name the certificate lists`;
  if (has('ERR_SSL_WRONG_VERSION_NUMBER', 'EPROTO')) return `TLS handshake failed with ${host}: is it an http:// relay? (use http:// in the URL)`;
  if (has('ENOTFOUND', 'EAI_AGAIN')) return `host not found: ${host}`;
  if (has('ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ESOCKETTIMEDOUT')) return `connection timed out: ${where}`;
  if (has('ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE')) return `connection closed by ${where} before it answered`;
  if (has('EHOSTUNREACH', 'ENETUNREACH')) return `no route to ${host}`;
  return undefined;
}
