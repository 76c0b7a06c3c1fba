import { createHmac } from 'node:crypto';
import { authorize, extractToken, generateKey, ruleGrants, type AuthorizeRequest } from '../../../src/auth/rules';
import { createSasToken } from '../../../src/auth/sas-token';
import { type Clock, systemClock } from '../../../src/core/clock';
import type { AuthorizationRule, Right } from '../../../src/core/entities';
import { AuthError, type ErrorCode } from '../../../src/core/errors';

const NOW_S = 1_700_000_000;
const clockAt = (seconds: number): Clock => ({ ...systemClock, now: () => seconds * 1000 });
const clock = clockAt(NOW_S);

const ROOT: AuthorizationRule = {
  keyName: 'RootManageSharedAccessKey',
  primaryKey: 'cm9vdC1wcmltYXJ5LWtleS10ZXh0LTMyLWJ5dGVzLi4uLg==',
  secondaryKey: 'cm9vdC1zZWNvbmRhcnkta2V5LXRleHQtMzItYnl0ZXMuLg==',
  rights: ['Manage', 'Listen', 'Send'],
};
const SEND: AuthorizationRule = { keyName: 'sender', primaryKey: 'send-key', rights: ['Send'] };
const LISTEN: AuthorizationRule = { keyName: 'listener', primaryKey: 'listen-key', rights: ['Listen'] };
const MANAGE_ONLY: AuthorizationRule = { keyName: 'manager', primaryKey: 'manage-key', rights: ['Manage'] };
const ENTITY_SEND: AuthorizationRule = { keyName: 'hyco-send', primaryKey: 'entity-send-key', rights: ['Send'] };
/** An entity rule whose name shadows a namespace rule. */
const SHADOW: AuthorizationRule = { keyName: 'sender', primaryKey: 'entity-shadow-key', rights: ['Send', 'Listen'] };

const HOST = 'ns.example.com';
const base = (over: Partial<AuthorizeRequest> = {}): AuthorizeRequest => ({
  token: undefined,
  path: 'hyco',
  right: 'Send',
  namespaceRules: [ROOT, SEND, LISTEN, MANAGE_ONLY],
  entityRules: [ENTITY_SEND],
  hosts: [HOST, 'localhost'],
  clock,
  ...over,
});
const tok = (rule: AuthorizationRule, resourceUri = `https://${HOST}/hyco`, o: { key?: string; ttl?: number; at?: number } = {}) =>
  createSasToken({
    resourceUri,
    keyName: rule.keyName,
    key: o.key ?? rule.primaryKey,
    expiresInSeconds: o.ttl ?? 3600,
    clock: clockAt(o.at ?? NOW_S),
  });

function failure(req: AuthorizeRequest): AuthError {
  try {
    authorize(req);
  } catch (err) {
    expect(err).toBeInstanceOf(AuthError);
    return err as AuthError;
  }
  throw new Error('authorize() did not throw');
}
function expectCode(req: AuthorizeRequest, code: ErrorCode): AuthError {
  const err = failure(req);
  expect(err.code).toBe(code);
  // Never leak the key, the signature or the token.
  for (const secret of [ROOT.primaryKey, ROOT.secondaryKey!, SEND.primaryKey, SHADOW.primaryKey, ENTITY_SEND.primaryKey]) {
    expect(err.message).not.toContain(secret);
  }
  if (req.token) {
    const sig = /sig=([^&]+)/.exec(req.token)?.[1];
    if (sig) {
      expect(err.message).not.toContain(sig);
      expect(err.message).not.toContain(decodeURIComponent(sig));
    }
    expect(err.message).not.toContain(req.token);
  }
  return err;
}

describe('ruleGrants', () => {
  it.each<[Right[], Right, boolean]>([
    [['Send'], 'Send', true],
    [['Send'], 'Listen', false],
    [['Send'], 'Manage', false],
    [['Listen'], 'Listen', true],
    [['Listen'], 'Send', false],
    [['Manage'], 'Manage', true],
    [['Manage'], 'Send', true],
    [['Manage'], 'Listen', true],
    [['Send', 'Listen'], 'Manage', false],
  ])('%j grants %s: %s', (rights, right, expected) => {
    expect(ruleGrants({ keyName: 'k', primaryKey: 'x', rights }, right)).toBe(expected);
  });
});

describe('authorize', () => {
  it('accepts a namespace-rule token for its right and reports key name, expiry and scope', () => {
    expect(authorize(base({ token: tok(SEND), right: 'Send' }))).toEqual({
      keyName: 'sender',
      expiresAt: NOW_S + 3600,
      scope: 'namespace',
    });
    expect(authorize(base({ token: tok(LISTEN), right: 'Listen' })).keyName).toBe('listener');
  });

  it('accepts an entity-rule token with scope "entity"', () => {
    expect(authorize(base({ token: tok(ENTITY_SEND) }))).toEqual({
      keyName: 'hyco-send',
      expiresAt: NOW_S + 3600,
      scope: 'entity',
    });
  });

  it('looks a key name up among entity rules first', () => {
    const req = base({ entityRules: [SHADOW], right: 'Listen' });
    expect(authorize({ ...req, token: tok(SHADOW) }).scope).toBe('entity');
    // Signed with the namespace rule's key of the same name: the entity rule wins, so it fails.
    expectCode({ ...req, token: tok(SEND), right: 'Send' }, 'RELAY_ERR_SAS_BAD_SIGNATURE');
  });

  it('accepts the secondary key', () => {
    expect(authorize(base({ token: tok(ROOT, undefined, { key: ROOT.secondaryKey }) })).keyName).toBe(ROOT.keyName);
  });

  it('Manage implies Send and Listen', () => {
    for (const right of ['Send', 'Listen', 'Manage'] as const) {
      expect(authorize(base({ token: tok(MANAGE_ONLY), right })).keyName).toBe('manager');
    }
  });

  it('accepts a namespace-scope token for any entity, and for namespace-level operations', () => {
    const t = tok(ROOT, `http://${HOST}/`);
    expect(authorize(base({ token: t, path: 'team/orders', right: 'Listen' })).scope).toBe('namespace');
    expect(authorize(base({ token: t, path: '', right: 'Manage' })).keyName).toBe(ROOT.keyName);
  });

  it('RELAY_ERR_SAS_MISSING without a token (401)', () => {
    const err = expectCode(base({ token: undefined }), 'RELAY_ERR_SAS_MISSING');
    expect(err.httpStatus).toBe(401);
    expect(err.message).toMatch(/ServiceBusAuthorization/);
    expectCode(base({ token: '' }), 'RELAY_ERR_SAS_MISSING');
    expectCode(base({ token: '  ' }), 'RELAY_ERR_SAS_MISSING');
  });

  it('RELAY_ERR_SAS_MALFORMED for a malformed token', () => {
    expectCode(base({ token: 'Bearer abc' }), 'RELAY_ERR_SAS_MALFORMED');
    expectCode(base({ token: tok(SEND).replace(/&se=\d+/, '') }), 'RELAY_ERR_SAS_MALFORMED');
    expectCode(base({ token: tok(SEND).replace(/&se=\d+/, '&se=soon') }), 'RELAY_ERR_SAS_MALFORMED');
    expectCode(base({ token: `${tok(SEND)}&sr=x`.padEnd(5000, 'x') }), 'RELAY_ERR_SAS_MALFORMED');
  });

  it('an unknown key name gets exactly the answer of a bad signature (code, message, status)', () => {
    const unknown = expectCode(base({ token: tok({ ...SEND, keyName: 'nobody' }) }), 'RELAY_ERR_SAS_BAD_SIGNATURE');
    const wrong = expectCode(base({ token: tok(SEND, undefined, { key: 'wrong' }) }), 'RELAY_ERR_SAS_BAD_SIGNATURE');
    expect(unknown.message).toBe(wrong.message);
    expect(unknown.message).not.toContain('nobody');
    expect(unknown.httpStatus).toBe(wrong.httpStatus);
    expect(unknown.wsCloseCode).toBe(wrong.wsCloseCode);
    // Key names are matched exactly.
    expectCode(base({ token: tok({ ...SEND, keyName: 'SENDER' }) }), 'RELAY_ERR_SAS_BAD_SIGNATURE');
  });

  it('RELAY_ERR_SAS_BAD_SIGNATURE for a wrong key, with the Azure wording', () => {
    const err = expectCode(base({ token: tok(SEND, undefined, { key: 'wrong' }) }), 'RELAY_ERR_SAS_BAD_SIGNATURE');
    expect(err.message).toBe('InvalidSignature: The token has an invalid signature.');
    expect(err.httpStatus).toBe(401);
    expect(err.wsCloseCode).toBe(1008);
  });

  it('RELAY_ERR_SAS_BAD_SIGNATURE when sr or se was changed after signing', () => {
    const t = tok(SEND);
    expectCode(base({ token: t.replace(/se=(\d+)/, (_m, se: string) => `se=${Number(se) + 86400}`) }), 'RELAY_ERR_SAS_BAD_SIGNATURE');
    expectCode(base({ token: t.replace('hyco', 'other') }), 'RELAY_ERR_SAS_BAD_SIGNATURE');
  });

  it('checks the signature before expiry and audience', () => {
    const stale = tok(SEND, `http://${HOST}/other`, { key: 'wrong', at: NOW_S - 86400 });
    expectCode(base({ token: stale }), 'RELAY_ERR_SAS_BAD_SIGNATURE');
  });

  it('RELAY_ERR_SAS_EXPIRED beyond the grace period (default 300 s), accepted within it', () => {
    const expiredAt = (secondsAgo: number) => tok(SEND, undefined, { ttl: -secondsAgo });
    expect(authorize(base({ token: expiredAt(1) })).expiresAt).toBe(NOW_S - 1);
    expect(authorize(base({ token: expiredAt(300) })).keyName).toBe('sender');
    const err = expectCode(base({ token: expiredAt(301) }), 'RELAY_ERR_SAS_EXPIRED');
    expect(err.message).toMatch(/^ExpiredToken: /);
    expect(err.message).toContain(new Date((NOW_S - 301) * 1000).toISOString());
    expect(err.httpStatus).toBe(401);
  });

  it('honours graceSeconds', () => {
    const justExpired = tok(SEND, undefined, { ttl: -1 });
    expectCode(base({ token: justExpired, graceSeconds: 0 }), 'RELAY_ERR_SAS_EXPIRED');
    expect(authorize(base({ token: tok(SEND, undefined, { ttl: 0 }), graceSeconds: 0 })).keyName).toBe('sender');
    expect(authorize(base({ token: tok(SEND, undefined, { ttl: -3000 }), graceSeconds: 3600 })).keyName).toBe('sender');
  });

  it('RELAY_ERR_SAS_WRONG_AUDIENCE when sr does not cover the path (403)', () => {
    const err = expectCode(base({ token: tok(SEND, `http://${HOST}/other`) }), 'RELAY_ERR_SAS_WRONG_AUDIENCE');
    expect(err.message).toMatch(/^InvalidAudience: The authorization header contains a token with a wrong audience\./);
    expect(err.httpStatus).toBe(403);
    expectCode(base({ token: tok(SEND, 'http://elsewhere.example.com/hyco') }), 'RELAY_ERR_SAS_WRONG_AUDIENCE');
    expectCode(base({ token: tok(SEND, `http://${HOST}/hyco`), path: '' }), 'RELAY_ERR_SAS_WRONG_AUDIENCE');
    expect(authorize(base({ token: tok(SEND, 'http://elsewhere.example.com/hyco'), hosts: '*' })).keyName).toBe('sender');
  });

  it('RELAY_ERR_AUTH_FORBIDDEN when the rule lacks the right (403)', () => {
    const err = expectCode(base({ token: tok(SEND), right: 'Listen' }), 'RELAY_ERR_AUTH_FORBIDDEN');
    expect(err.message).toContain("'Listen'");
    expect(err.httpStatus).toBe(403);
    expectCode(base({ token: tok(LISTEN), right: 'Send' }), 'RELAY_ERR_AUTH_FORBIDDEN');
    expectCode(base({ token: tok(SEND), right: 'Manage' }), 'RELAY_ERR_AUTH_FORBIDDEN');
    expectCode(base({ token: tok(ENTITY_SEND), right: 'Listen' }), 'RELAY_ERR_AUTH_FORBIDDEN');
  });

  it('accepts tokens made like the .NET client (lower-case escapes, trailing slash, encoded skn)', () => {
    const sr = `http%3a%2f%2f${HOST}%2fhyco%2f`;
    const se = NOW_S + 600;
    const sig = createHmac('sha256', LISTEN.primaryKey).update(`${sr}\n${se}`).digest('base64');
    const token = `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${se}&skn=listener`;
    expect(authorize(base({ token, right: 'Listen' }))).toEqual({ keyName: 'listener', expiresAt: se, scope: 'namespace' });
  });

  it('accepts sb:// and $hc resource URIs', () => {
    expect(authorize(base({ token: tok(LISTEN, `sb://${HOST}/hyco`), right: 'Listen' })).keyName).toBe('listener');
    expect(authorize(base({ token: tok(LISTEN, `wss://${HOST}:443/$hc/hyco?sb-hc-action=listen`), right: 'Listen' })).keyName).toBe('listener');
  });
});

describe('interop with the real hyco-https / hyco-ws createRelayToken', () => {
  type CreateRelayToken = (uri: string, keyName: string, key: string, expirySeconds?: number) => string;
  const hycoHttps = require('hyco-https') as { createRelayToken: CreateRelayToken };
  const hycoWs = require('hyco-ws') as { createRelayToken: CreateRelayToken };
  const rule: AuthorizationRule = { keyName: 'rule', primaryKey: 'key', rights: ['Listen', 'Send'] };
  const now = systemClock; // hyco reads the real time

  it.each<[string, string, string]>([
    ['http://localhost:9443/$hc/hyco', 'localhost', 'hyco'],
    ['http://localhost:9443/hyco', 'localhost', 'hyco'],
    ['https://ns.servicebus.windows.net:443/$hc/hyco?sb-hc-action=listen', 'ns.servicebus.windows.net', 'hyco'],
    ['https://ns.servicebus.windows.net/hyco', 'ns.servicebus.windows.net', 'hyco'],
    ['http://ns:443/hyco', 'ns', 'hyco'],
    ['http://ns.servicebus.windows.net', 'ns.servicebus.windows.net', 'team/orders'],
    ['http://127.0.0.1:9443/$hc/team', '127.0.0.1', 'team/orders'],
  ])('%s (host %s, path %s)', (uri, host, path) => {
    for (const lib of [hycoHttps, hycoWs]) {
      const token = lib.createRelayToken(uri, rule.keyName, rule.primaryKey);
      const result = authorize({
        token,
        path,
        right: 'Listen',
        namespaceRules: [rule],
        entityRules: [],
        hosts: [host],
        clock: now,
      });
      expect(result.keyName).toBe('rule');
      expect(Math.abs(result.expiresAt - (Math.floor(Date.now() / 1000) + 3600))).toBeLessThanOrEqual(2);
    }
  });

  it('rejects a hyco token for another path, and one signed with another key', () => {
    const other = hycoHttps.createRelayToken('http://localhost:9443/$hc/other', 'rule', 'key');
    const req = { path: 'hyco', right: 'Send' as const, namespaceRules: [rule], entityRules: [], hosts: ['localhost'], clock: now };
    expect(() => authorize({ ...req, token: other })).toThrow(expect.objectContaining({ code: 'RELAY_ERR_SAS_WRONG_AUDIENCE' }));
    const forged = hycoHttps.createRelayToken('http://localhost:9443/$hc/hyco', 'rule', 'not-the-key');
    expect(() => authorize({ ...req, token: forged })).toThrow(expect.objectContaining({ code: 'RELAY_ERR_SAS_BAD_SIGNATURE' }));
  });

  it('produces byte-identical tokens to hyco for the same URI and time', () => {
    jest.useFakeTimers({ now: new Date(NOW_S * 1000) });
    try {
      const theirs = hycoHttps.createRelayToken('http://localhost:9443/$hc/hyco', 'rule', 'key', 600);
      const ours = createSasToken({ resourceUri: 'http://localhost:9443/hyco', keyName: 'rule', key: 'key', expiresInSeconds: 600, clock });
      expect(ours).toBe(theirs);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('generateKey', () => {
  it('returns 32 random bytes as base64 text', () => {
    const a = generateKey();
    const b = generateKey();
    expect(a).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a, 'base64')).toHaveLength(32);
    expect(a).not.toBe(b);
  });
});

describe('extractToken', () => {
  const T = (n: number) => `SharedAccessSignature sr=x&sig=${n}&se=1&skn=k`;

  it('prefers the sb-hc-token query, then ServiceBusAuthorization, then a SAS Authorization header', () => {
    const query = new URLSearchParams({ 'sb-hc-token': T(1) });
    const all = { servicebusauthorization: T(2), authorization: T(3) };
    expect(extractToken({ query, headers: all })).toEqual({ token: T(1), source: 'query' });
    expect(extractToken({ query: new URLSearchParams('a=1'), headers: all })).toEqual({ token: T(2), source: 'ServiceBusAuthorization' });
    expect(extractToken({ headers: { authorization: T(3) } })).toEqual({ token: T(3), source: 'Authorization' });
  });

  it('decodes the query parameter', () => {
    const query = new URLSearchParams(`sb-hc-token=${encodeURIComponent(T(1))}`);
    expect(extractToken({ query, headers: {} }).token).toBe(T(1));
  });

  it('leaves a non-SAS Authorization header to the application', () => {
    expect(extractToken({ headers: { authorization: 'Bearer abc' } })).toEqual({});
    expect(extractToken({ headers: { authorization: 'Basic dXNlcjpwYXNz' } })).toEqual({});
    expect(extractToken({ headers: { authorization: 'SharedAccessSignatureX sr=1' } })).toEqual({});
    expect(extractToken({ headers: { authorization: 'sharedaccesssignature sr=1' } })).toEqual({
      token: 'sharedaccesssignature sr=1',
      source: 'Authorization',
    });
  });

  it('takes ServiceBusAuthorization whatever it holds (the relay reports it as malformed)', () => {
    expect(extractToken({ headers: { servicebusauthorization: 'junk' } })).toEqual({ token: 'junk', source: 'ServiceBusAuthorization' });
  });

  it('treats empty values as absent and takes the first of repeated headers', () => {
    expect(extractToken({ query: new URLSearchParams('sb-hc-token='), headers: { servicebusauthorization: '' } })).toEqual({});
    expect(extractToken({ headers: { servicebusauthorization: [T(4), T(5)] } })).toEqual({ token: T(4), source: 'ServiceBusAuthorization' });
    expect(extractToken({ headers: { servicebusauthorization: undefined, authorization: [T(6)] } })).toEqual({
      token: T(6),
      source: 'Authorization',
    });
  });

  it('finds headers whose names were not lower-cased', () => {
    expect(extractToken({ headers: { ServiceBusAuthorization: T(7) } })).toEqual({ token: T(7), source: 'ServiceBusAuthorization' });
  });

  it('returns {} when there is nothing', () => {
    expect(extractToken({ headers: {} })).toEqual({});
  });
});
