/** Public base URL for metadata (src/relay/endpoints/http-soap/public-url.ts). */
import { formatBase, parseForwarded, publicBase } from '../../../../src/relay/endpoints/http-soap/public-url';

const base = (headers: Record<string, string>, config: { publicUrl?: string; tls?: boolean } = {}): string =>
  formatBase(publicBase(headers, { publicUrl: config.publicUrl, tls: config.tls ?? false }));

describe('publicBase', () => {
  it('uses Host and the relay\'s own scheme by default', () => {
    expect(base({ host: 'relay:9443' })).toBe('http://relay:9443');
    expect(base({ host: 'relay:443' }, { tls: true })).toBe('https://relay');
    expect(base({ host: '[::1]:8080' })).toBe('http://[::1]:8080');
    expect(base({})).toBe('http://localhost');
  });

  it('uses publicUrl (with its path) over Host', () => {
    expect(base({ host: '10.0.0.1:9443' }, { publicUrl: 'https://relay.example.com/gw/' })).toBe('https://relay.example.com/gw');
    expect(base({ host: 'x' }, { publicUrl: 'https://relay.example.com:8443' })).toBe('https://relay.example.com:8443');
  });

  it('uses X-Forwarded-* (first value of each list) over publicUrl', () => {
    expect(
      base({ host: 'internal', 'x-forwarded-proto': 'https, http', 'x-forwarded-host': 'a.example.com, b', 'x-forwarded-port': '8443', 'x-forwarded-prefix': '/p/q/' }, { publicUrl: 'http://configured' }),
    ).toBe('https://a.example.com:8443/p/q');
    expect(base({ host: 'internal:9443', 'x-forwarded-proto': 'https' })).toBe('https://internal:9443');
    expect(base({ host: 'internal', 'x-forwarded-host': 'a.example.com:443', 'x-forwarded-proto': 'https' })).toBe('https://a.example.com');
  });

  it('uses RFC 7239 Forwarded over X-Forwarded-*', () => {
    expect(base({ host: 'i', forwarded: 'for=1.1.1.1;proto=https;host="f.example.com:9000", proto=http', 'x-forwarded-host': 'x' })).toBe('https://f.example.com:9000');
    expect(parseForwarded('For="[2001:db8::1]";Proto=HTTPS;host=h')).toEqual({ for: '[2001:db8::1]', proto: 'HTTPS', host: 'h' });
  });

  it('ignores malformed forwarded values', () => {
    expect(base({ host: 'relay', 'x-forwarded-host': 'bad host/evil', 'x-forwarded-proto': 'gopher', 'x-forwarded-port': 'x', 'x-forwarded-prefix': '/a b' })).toBe('http://relay');
  });
});
