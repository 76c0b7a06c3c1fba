/**
 * Authorization: a SAS token, checked against namespace and entity rules for a right
 * (hybrid-connections.md §5). Listen is needed to listen and renew a token, Send to connect
 * or make HTTP requests, Manage for management; Manage includes Send and Listen.
 *
 * Check order (the first failure wins): token present, well-formed, key name known and
 * signature (one answer for both), expiry (with grace), audience, right. The signature is checked before expiry and
 * audience so a forged token learns nothing but "invalid signature".
 */
import { randomBytes } from 'node:crypto';
import { type Clock, nowSeconds } from '../core/clock';
import type { AuthorizationRule, Right } from '../core/entities';
import { AuthError } from '../core/errors';
import { audienceMatches, parseSasToken, verifySasSignature } from './sas-token';

/** Keys tried for a key name no rule has (random, so no token ever matches them). */
const UNKNOWN_RULE_KEYS: readonly string[] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];

/** Default tolerance after `se`, in seconds (the service appears to allow about 5 min). */
export const DEFAULT_TOKEN_GRACE_SECONDS = 300;

/** Does `rule` grant `right`? Manage implies Send and Listen. */
export function ruleGrants(rule: AuthorizationRule, right: Right): boolean {
  return rule.rights.includes(right) || rule.rights.includes('Manage');
}

export interface AuthorizeRequest {
  /** The token text (from {@link extractToken}); undefined when the caller sent none. */
  token: string | undefined;
  /** Entity path the caller wants to use ('' for namespace-level operations). */
  path: string;
  right: Right;
  namespaceRules: readonly AuthorizationRule[];
  /** Rules of the entity at `path` (looked up first). */
  entityRules: readonly AuthorizationRule[];
  /** Host names the relay is reached by (audience check), or '*' for any host. */
  hosts: readonly string[] | '*';
  clock: Clock;
  /** Tolerance after the token's expiry, in seconds. Default 300. */
  graceSeconds?: number;
}

export interface AuthorizeResult {
  /** The rule's key name that signed the token. */
  keyName: string;
  /** Token expiry, unix seconds (without grace). */
  expiresAt: number;
  /** Whether the signing rule is an entity rule or a namespace rule. */
  scope: 'namespace' | 'entity';
}

/**
 * Checks `req.token` for `req.right` on `req.path`.
 * @throws AuthError with code RELAY_ERR_SAS_MISSING, _MALFORMED, _BAD_SIGNATURE (also for an unknown key name),
 *   _EXPIRED, _WRONG_AUDIENCE or RELAY_ERR_AUTH_FORBIDDEN. Messages follow Azure's wording and
 *   never contain a key, signature or the token.
 */
export function authorize(req: AuthorizeRequest): AuthorizeResult {
  if (req.token === undefined || req.token.trim() === '') {
    throw new AuthError(
      'RELAY_ERR_SAS_MISSING',
      'MissingToken: The request has no SharedAccessSignature token. Send one in the ServiceBusAuthorization header, ' +
        'the Authorization header or the sb-hc-token query parameter.',
    );
  }
  const t = parseSasToken(req.token);

  let rule = req.entityRules.find((r) => r.keyName === t.skn);
  let scope: AuthorizeResult['scope'] = 'entity';
  if (!rule) {
    rule = req.namespaceRules.find((r) => r.keyName === t.skn);
    scope = 'namespace';
  }
  // An unknown key name and a wrong signature are one answer (code, message, status), and an
  // unknown name still costs two HMACs, as a rule with two keys does: a prober cannot tell
  // which key names exist, by the reply or by its timing.
  const keys = rule ? (rule.secondaryKey ? [rule.primaryKey, rule.secondaryKey] : [rule.primaryKey]) : UNKNOWN_RULE_KEYS;
  const signed = verifySasSignature(t, keys.length === 1 ? [keys[0]!, keys[0]!] : keys);
  if (!rule || !signed) {
    throw new AuthError('RELAY_ERR_SAS_BAD_SIGNATURE', 'InvalidSignature: The token has an invalid signature.');
  }

  const now = nowSeconds(req.clock);
  const grace = req.graceSeconds ?? DEFAULT_TOKEN_GRACE_SECONDS;
  if (t.se + grace < now) {
    throw new AuthError(
      'RELAY_ERR_SAS_EXPIRED',
      `ExpiredToken: The token is expired. Expiration time: '${new Date(t.se * 1000).toISOString()}', ` +
        `current time: '${new Date(now * 1000).toISOString()}'. Create a new token.`,
    );
  }

  if (!audienceMatches(t, { hosts: req.hosts, path: req.path })) {
    throw new AuthError(
      'RELAY_ERR_SAS_WRONG_AUDIENCE',
      `InvalidAudience: The authorization header contains a token with a wrong audience. ` +
        `The token is for '${printable(t.resource)}', which does not cover '${req.path || '/'}'.`,
    );
  }

  if (!ruleGrants(rule, req.right)) {
    throw new AuthError(
      'RELAY_ERR_AUTH_FORBIDDEN',
      `Unauthorized: The rule '${rule.keyName}' does not grant '${req.right}' ` +
        `(it grants ${rule.rights.join(', ') || 'nothing'}).`,
    );
  }

  return { keyName: rule.keyName, expiresAt: t.se, scope };
}

/** Caller-supplied text echoed in messages: cut short and stripped of control characters. */
function printable(s: string): string {
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}...` : clean;
}

/** A new rule key: 32 random bytes (256 bits), base64 text, as Azure generates them. */
export function generateKey(): string {
  return randomBytes(32).toString('base64');
}

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  let v = headers[name];
  if (v === undefined) {
    // Tolerate callers that did not lower-case header names.
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
    v = key === undefined ? undefined : headers[key];
  }
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined || first.trim() === '' ? undefined : first;
}

/**
 * Finds the caller's token (hybrid-connections.md §1, "Where the token can travel"):
 * the `sb-hc-token` query parameter, else the `ServiceBusAuthorization` header, else the
 * `Authorization` header but only when it starts with "SharedAccessSignature " (otherwise it
 * belongs to the listener's application and passes through). Empty values count as absent.
 * Header names are expected lower-cased (Node's IncomingHttpHeaders).
 */
export function extractToken(o: {
  query?: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
}): { token?: string; source?: 'query' | 'ServiceBusAuthorization' | 'Authorization' } {
  const q = o.query?.get('sb-hc-token');
  if (q !== undefined && q !== null && q.trim() !== '') return { token: q, source: 'query' };
  const sba = header(o.headers, 'servicebusauthorization');
  if (sba !== undefined) return { token: sba, source: 'ServiceBusAuthorization' };
  const auth = header(o.headers, 'authorization');
  if (auth !== undefined && /^\s*SharedAccessSignature\s/i.test(auth)) return { token: auth, source: 'Authorization' };
  return {};
}
