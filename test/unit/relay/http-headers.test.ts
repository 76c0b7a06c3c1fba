import { listenerRequestHeaders, senderResponseHeaders, stripRelayQuery } from '../../../src/relay/http/http-headers';
import { rejectParams } from '../../../src/relay/endpoints/control/upgrade-endpoint';
import { baseListenerId, parseListenerList } from '../../../src/relay/routing/listener-registry';

describe('query handling (live QueryString cases, hybrid-connections.md §1)', () => {
  it.each([
    ['?sb-hc-id=1&custom=value', '?custom=value'],
    ['?sb-hc-whatever=', ''],
    ['?sb-hc-undefined', '?sb-hc-undefined'],
    ['?&&&', '?&&&'],
    ['?a=1&a=2', '?a=1&a=2'],
    ['?x=%2B+y', '?x=%2B+y'],
    ['?api-version=abc', '?api-version=abc'],
    ['?sb-hc-action=connect&sb-hc-token=t&q=1', '?q=1'],
    ['', ''],
  ])('%s → %s', (input, expected) => {
    expect(stripRelayQuery(input)).toBe(expected);
  });
});

describe('request headers for the listener', () => {
  it('strips hop-by-hop and relay credentials, joins repeats, keeps Host, adds Via', () => {
    const out = listenerRequestHeaders(
      ['Host', 'relay.example', 'Connection', 'keep-alive, X-Hop', 'X-Hop', 'gone', 'Content-Length', '5', 'ServiceBusAuthorization', 'SharedAccessSignature x',
        'Authorization', 'Bearer app', 'X-Multi', 'a', 'x-multi', 'b', 'Transfer-Encoding', 'chunked', 'Upgrade', 'h2c'],
      { stripAuthorization: false, viaHost: 'relay.example' },
    );
    expect(out).toEqual({ Host: 'relay.example', Authorization: 'Bearer app', 'X-Multi': 'a, b', Via: '1.1 relay.example' });
  });

  it('strips Authorization when it carried the relay token, and extends an existing Via', () => {
    const out = listenerRequestHeaders(['Authorization', 'SharedAccessSignature x', 'Via', '1.0 proxy'], { stripAuthorization: true, viaHost: 'r' });
    expect(out).toEqual({ Via: '1.0 proxy, 1.1 r' });
  });

  it('drops hop-by-hop headers from listener responses', () => {
    expect(senderResponseHeaders({ 'content-type': 'text/plain', 'Content-Length': '3', connection: 'close', 'transfer-encoding': 'chunked' })).toEqual({
      'content-type': 'text/plain',
    });
  });
});

describe('accept rejects (hybrid-connections.md §3.1)', () => {
  const parse = (search: string) => rejectParams(search, new URLSearchParams(search));
  it('reads the prefixed form anywhere', () => {
    expect(parse('?sb-hc-action=accept&sb-hc-id=1&sb-hc-statusCode=401&sb-hc-statusDescription=Nope')).toEqual({ status: 401, description: 'Nope' });
  });
  it('reads the un-prefixed form only after sb-hc-id', () => {
    expect(parse('?sb-hc-action=accept&sb-hc-id=1&statusCode=403&statusDescription=Denied%20here')).toEqual({ status: 403, description: 'Denied here' });
    expect(parse('?statusCode=403&sb-hc-action=accept&sb-hc-id=1')).toBeUndefined();
  });
  it('is absent on a plain accept', () => {
    expect(parse('?sb-hc-action=accept&sb-hc-id=1')).toBeUndefined();
  });
});

describe('listener pinning', () => {
  it('compares ids without gateway suffixes, case-insensitively', () => {
    expect(baseListenerId('ABC_G17_G30')).toBe('abc');
    expect(parseListenerList(' a, b ,,c')).toEqual(['a', 'b', 'c']);
    expect(parseListenerList(undefined)).toBeUndefined();
  });
});
