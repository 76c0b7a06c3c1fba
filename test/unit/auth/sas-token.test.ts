import { createHmac } from 'node:crypto';
import {
  audienceMatches,
  createSasToken,
  MAX_SAS_TOKEN_LENGTH,
  parseSasToken,
  verifySasSignature,
  type ParsedSasToken,
} from '../../../src/auth/sas-token';
import { type Clock, systemClock } from '../../../src/core/clock';
import { AuthError, ConfigError } from '../../../src/core/errors';

const NOW_S = 1_700_000_000;
const clockAt = (seconds: number): Clock => ({ ...systemClock, now: () => seconds * 1000 });
const clock = clockAt(NOW_S);
const KEY = 'c2VjcmV0LWtleS10ZXh0LW5vdC1kZWNvZGVkLWJ5LWhtYWM=';

/** Signs exactly like the spec says, independently of the code under test. */
function hmac(sr: string, se: string | number, key = KEY): string {
  return createHmac('sha256', key).update(`${sr}\n${se}`).digest('base64');
}

function expectMalformed(token: string, maxLength?: number): AuthError {
  let caught: unknown;
  try {
    parseSasToken(token, maxLength);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AuthError);
  expect((caught as AuthError).code).toBe('RELAY_ERR_SAS_MALFORMED');
  expect((caught as AuthError).httpStatus).toBe(401);
  return caught as AuthError;
}

describe('createSasToken', () => {
  it('has the documented shape and signs sr + "\\n" + se with the UTF-8 bytes of the key text', () => {
    const uri = 'http://ns.example.com/hyco';
    const token = createSasToken({ resourceUri: uri, keyName: 'RootManageSharedAccessKey', key: KEY, clock });
    const se = NOW_S + 3600;
    const sr = encodeURIComponent(uri);
    expect(token).toBe(
      `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(hmac(sr, se))}&se=${se}&skn=RootManageSharedAccessKey`,
    );
  });

  it('uses expiresInSeconds', () => {
    const t = parseSasToken(createSasToken({ resourceUri: 'http://ns/a', keyName: 'k', key: KEY, expiresInSeconds: 60, clock }));
    expect(t.se).toBe(NOW_S + 60);
  });

  it('defaults to the system clock', () => {
    const t = parseSasToken(createSasToken({ resourceUri: 'http://ns/a', keyName: 'k', key: KEY }));
    expect(Math.abs(t.se - (Math.floor(Date.now() / 1000) + 3600))).toBeLessThanOrEqual(1);
  });

  it('rejects empty inputs with a ConfigError naming the field, never echoing the key', () => {
    expect(() => createSasToken({ resourceUri: '', keyName: 'k', key: KEY })).toThrow(/resourceUri/);
    expect(() => createSasToken({ resourceUri: 'http://ns', keyName: '', key: KEY })).toThrow(ConfigError);
    expect(() => createSasToken({ resourceUri: 'http://ns', keyName: 'k', key: '' })).toThrow(/key:/);
    expect(() => createSasToken({ resourceUri: 'http://ns', keyName: 'k', key: KEY, expiresInSeconds: NaN })).toThrow(
      /expiresInSeconds/,
    );
  });

  it('handles non-ASCII key text as UTF-8', () => {
    const key = 'clé-ключ-🔑';
    const t = parseSasToken(createSasToken({ resourceUri: 'http://ns/a', keyName: 'k', key, clock }));
    expect(t.sig).toBe(hmac(t.sr, t.se, key));
    expect(verifySasSignature(t, [key])).toBe(true);
  });
});

describe('parseSasToken + verifySasSignature', () => {
  it('round-trips', () => {
    const uri = 'http://localhost:9443/team/orders';
    const raw = createSasToken({ resourceUri: uri, keyName: 'send-rule', key: KEY, clock });
    const t = parseSasToken(raw);
    expect(t).toEqual<ParsedSasToken>({
      raw,
      sr: encodeURIComponent(uri),
      resource: uri,
      sig: hmac(encodeURIComponent(uri), NOW_S + 3600),
      se: NOW_S + 3600,
      skn: 'send-rule',
    });
    expect(verifySasSignature(t, [KEY])).toBe(true);
    expect(verifySasSignature(t, ['other'])).toBe(false);
    expect(verifySasSignature(t, ['other', KEY])).toBe(true);
    expect(verifySasSignature(t, [])).toBe(false);
    expect(verifySasSignature(t, [''])).toBe(false);
  });

  it('accepts the parameters in any order (service-bus-sas.md shows sig&se&skn&sr)', () => {
    const sr = encodeURIComponent('http://ns/hyco');
    const sig = encodeURIComponent(hmac(sr, 1234567890));
    const t = parseSasToken(`SharedAccessSignature sig=${sig}&se=1234567890&skn=rule&sr=${sr}`);
    expect(t).toMatchObject({ sr, resource: 'http://ns/hyco', se: 1234567890, skn: 'rule' });
    expect(verifySasSignature(t, [KEY])).toBe(true);
  });

  it('compares the prefix and field names case-insensitively and ignores surrounding blanks', () => {
    const sr = encodeURIComponent('http://ns/hyco');
    const sig = encodeURIComponent(hmac(sr, 99));
    const t = parseSasToken(`  sharedaccesssignature  SR=${sr}&Sig=${sig}&SE=99&skn=rule  `);
    expect(verifySasSignature(t, [KEY])).toBe(true);
  });

  it('verifies against sr as written: lower-case escapes (.NET Framework HttpUtility) are kept', () => {
    const sr = 'http%3a%2f%2fns.example.com%2fhyco%2f';
    const sig = encodeURIComponent(hmac(sr, 99));
    const t = parseSasToken(`SharedAccessSignature sr=${sr}&sig=${sig}&se=99&skn=rule`);
    expect(t.sr).toBe(sr);
    expect(t.resource).toBe('http://ns.example.com/hyco/');
    expect(verifySasSignature(t, [KEY])).toBe(true);
    // Re-encoding would have changed the case and broken the signature.
    const upper = parseSasToken(`SharedAccessSignature sr=${sr.toUpperCase()}&sig=${sig}&se=99&skn=rule`);
    expect(verifySasSignature(upper, [KEY])).toBe(false);
  });

  it('percent-decodes skn (.NET encodes it) and sig (Python leaves / in it)', () => {
    const sr = encodeURIComponent('http://ns/hyco');
    const sig = hmac(sr, 99);
    const t = parseSasToken(`SharedAccessSignature sr=${sr}&sig=${sig.replace(/\+/g, '%2B').replace(/=/g, '%3D')}&se=99&skn=my%2Drule%2e1`);
    expect(t.skn).toBe('my-rule.1');
    expect(t.sig).toBe(sig);
    expect(verifySasSignature(t, [KEY])).toBe(true);
  });

  it('rejects a tampered se, sr or signature', () => {
    const t = parseSasToken(createSasToken({ resourceUri: 'http://ns/hyco', keyName: 'k', key: KEY, clock }));
    expect(verifySasSignature({ ...t, se: t.se + 1 }, [KEY])).toBe(false);
    expect(verifySasSignature({ ...t, sr: encodeURIComponent('http://ns/other') }, [KEY])).toBe(false);
    expect(verifySasSignature({ ...t, sig: t.sig.slice(0, -2) }, [KEY])).toBe(false);
    const flipped = `${t.sig[0] === 'A' ? 'B' : 'A'}${t.sig.slice(1)}`;
    expect(verifySasSignature({ ...t, sig: flipped }, [KEY])).toBe(false);
  });

  it('ignores unknown fields and empty segments', () => {
    const raw = createSasToken({ resourceUri: 'http://ns/hyco', keyName: 'k', key: KEY, clock });
    const t = parseSasToken(`${raw}&&extra=1&`);
    expect(verifySasSignature(t, [KEY])).toBe(true);
  });

  describe('malformed tokens throw RELAY_ERR_SAS_MALFORMED', () => {
    const good = { sr: 'http%3A%2F%2Fns%2Fhyco', sig: 'abc%3D', se: '99', skn: 'rule' };
    const build = (fields: Record<string, string>): string =>
      `SharedAccessSignature ${Object.entries(fields)
        .map(([k, v]) => `${k}=${v}`)
        .join('&')}`;

    it.each(['sr', 'sig', 'se', 'skn'])('missing %s', (field) => {
      const fields: Record<string, string> = { ...good };
      delete fields[field];
      expect(expectMalformed(build(fields)).message).toContain(`'${field}' is missing`);
    });

    it.each(['sr', 'sig', 'se', 'skn'])('empty %s', (field) => {
      expectMalformed(build({ ...good, [field]: '' }));
    });

    it.each(['abc', '-1', '1.5', '1e9', '0x10', '01', ' 1', '99999999999999999999'])('se = %j', (se) => {
      expectMalformed(build({ ...good, se }));
    });

    it.each([
      ['empty', ''],
      ['blank', '   '],
      ['garbage', 'not a token at all'],
      ['Bearer', 'Bearer eyJhbGciOi.x.y'],
      ['prefix only', 'SharedAccessSignature'],
      ['prefix glued to fields', 'SharedAccessSignaturesr=a&sig=b&se=1&skn=c'],
      ['no "="', 'SharedAccessSignature sr&sig&se&skn'],
      ['"=" first', 'SharedAccessSignature =x&sr=a&sig=b&se=1&skn=c'],
      ['duplicate sr', `${build(good)}&sr=${good.sr}`],
      ['duplicate field, other case', `${build(good)}&SKN=other`],
      ['bad escape in sr', build({ ...good, sr: 'http%3' })],
      ['bad escape in sig', build({ ...good, sig: '%E0%A4%A' })],
      ['bad escape in skn', build({ ...good, skn: '%zz' })],
    ])('%s', (_name, token) => {
      expectMalformed(token);
    });

    it('a non-string', () => {
      expectMalformed(42 as unknown as string);
    });

    it('longer than the limit (default 4096, or the one given)', () => {
      const long = build({ ...good, sr: encodeURIComponent(`http://ns/${'a'.repeat(MAX_SAS_TOKEN_LENGTH)}`) });
      expect(expectMalformed(long).message).toContain('4096');
      expect(() => parseSasToken(long, 1 << 16)).not.toThrow();
      expectMalformed(build(good), 20);
    });

    it('messages never repeat the signature', () => {
      const sig = encodeURIComponent(hmac('x', 1));
      const err = expectMalformed(`SharedAccessSignature sig=${sig}&se=zz&skn=rule&sr=x`);
      expect(err.message).not.toContain(sig);
      expect(err.message).not.toContain(decodeURIComponent(sig));
    });
  });
});

describe('audienceMatches', () => {
  const tokenFor = (resourceUri: string): ParsedSasToken =>
    parseSasToken(createSasToken({ resourceUri, keyName: 'k', key: KEY, clock }));
  const NS = ['ns.example.com', 'localhost', '127.0.0.1'];

  it.each<[string, string, boolean]>([
    // hyco-ws / hyco-https createRelayToken shapes
    ['http://localhost:9443/hyco', 'hyco', true],
    ['http://ns.example.com:443/hyco', 'hyco', true],
    ['http://ns.example.com/hyco', 'hyco', true],
    // .NET NormalizeAudience: trailing slash, host lower-cased
    ['http://ns.example.com/hyco/', 'hyco', true],
    // namespace scope (README pattern, management tokens)
    ['http://ns.example.com/', 'hyco', true],
    ['http://ns.example.com', 'team/orders', true],
    ['http://ns.example.com/', '', true],
    // schemes are ignored, $hc stripped once
    ['sb://ns.example.com/hyco', 'hyco', true],
    ['wss://ns.example.com:443/$hc/hyco', 'hyco', true],
    ['https://ns.example.com/$HC/hyco?sb-hc-action=listen#x', 'hyco', true],
    ['http://ns.example.com/$hc', 'hyco', true],
    ['http://ns.example.com/$hc/$hc/hyco', 'hyco', false],
    ['http://ns.example.com/$hcx/hyco', 'hyco', false],
    // case-insensitive host and path
    ['HTTP://NS.EXAMPLE.COM/HyCo', 'hyco', true],
    ['http://ns.example.com/hyco', 'HYCO', true],
    // prefix at a / boundary only
    ['http://ns.example.com/team', 'team/orders', true],
    ['http://ns.example.com/team/', 'team/orders', true],
    ['http://ns.example.com/te', 'team', false],
    ['http://ns.example.com/team/orders', 'team', false],
    ['http://ns.example.com/hyco/sub', 'hyco', false],
    ['http://ns.example.com/other', 'hyco', false],
    ['http://ns.example.com/hyco', '', false],
    // host
    ['http://evil.example.com/hyco', 'hyco', false],
    ['http://127.0.0.1:8080/hyco', 'hyco', true],
    ['http://user@ns.example.com/hyco', 'hyco', true],
    ['/hyco', 'hyco', false],
  ])('%s covers %j: %s', (uri, path, expected) => {
    expect(audienceMatches(tokenFor(uri), { hosts: NS, path })).toBe(expected);
  });

  it("accepts any host with hosts: '*', still checking the path", () => {
    expect(audienceMatches(tokenFor('http://anything:1/hyco'), { hosts: '*', path: 'hyco' })).toBe(true);
    expect(audienceMatches(tokenFor('/hyco'), { hosts: '*', path: 'hyco' })).toBe(true);
    expect(audienceMatches(tokenFor('http://anything/other'), { hosts: '*', path: 'hyco' })).toBe(false);
  });

  it('ignores ports and case in the hosts list, and brackets of IPv6 literals', () => {
    expect(audienceMatches(tokenFor('http://localhost/hyco'), { hosts: ['LOCALHOST:9443'], path: 'hyco' })).toBe(true);
    expect(audienceMatches(tokenFor('http://[::1]:9443/hyco'), { hosts: ['::1'], path: 'hyco' })).toBe(true);
    expect(audienceMatches(tokenFor('http://[::1]/hyco'), { hosts: ['[::1]:80'], path: 'hyco' })).toBe(true);
    expect(audienceMatches(tokenFor('http://[::2]/hyco'), { hosts: ['::1'], path: 'hyco' })).toBe(false);
  });

  it('reads sr written with lower-case escapes (docs Python / .NET Framework)', () => {
    const sr = 'http%3a%2f%2fns.example.com%2fhyco';
    const t = parseSasToken(`SharedAccessSignature sr=${sr}&sig=x&se=1&skn=k`);
    expect(audienceMatches(t, { hosts: NS, path: 'hyco' })).toBe(true);
  });
});
