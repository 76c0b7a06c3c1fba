import fc from 'fast-check';
import { ProtocolError } from '../../../../src/core/errors';
import {
  HYCO_LIMITS,
  InvalidCommandError,
  parseListenerMessage,
  parseServiceMessage,
  serializeAccept,
  serializeRenewToken,
  serializeRequest,
  serializeResponse,
  type AcceptCommand,
  type RequestCommand,
  type ResponseCommand,
} from '../../../../src/protocol/hyco';

function expectProtocolError(fn: () => unknown, code: string, message?: RegExp): ProtocolError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  const err = caught as ProtocolError;
  expect(err.code).toBe(code);
  if (message) expect(err.message).toMatch(message);
  return err;
}
const INVALID = 'RELAY_ERR_PROTOCOL_INVALID_MESSAGE';
const TOO_LARGE = 'RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE';
const HEADERS_TOO_LARGE = 'RELAY_ERR_PROTOCOL_HEADERS_TOO_LARGE';

describe('hyco serialisation: exact JSON shapes', () => {
  it('accept: field order address, id, connectHeaders, remoteEndpoint', () => {
    const text = serializeAccept({
      address: 'wss://relay/$hc/hyco?sb-hc-action=accept&sb-hc-id=ID',
      id: 'ID',
      connectHeaders: { 'Sec-WebSocket-Key': 'k', Host: 'h' },
      remoteEndpoint: { address: '203.0.113.7', port: 62917 },
    });
    expect(text).toBe(
      '{"accept":{"address":"wss://relay/$hc/hyco?sb-hc-action=accept&sb-hc-id=ID","id":"ID",' +
        '"connectHeaders":{"Sec-WebSocket-Key":"k","Host":"h"},"remoteEndpoint":{"address":"203.0.113.7","port":62917}}}',
    );
  });

  it('accept without remoteEndpoint omits it', () => {
    expect(serializeAccept({ address: 'a', id: 'i', connectHeaders: {} })).toBe(
      '{"accept":{"address":"a","id":"i","connectHeaders":{}}}',
    );
  });

  it('request: full form in live-capture order', () => {
    const text = serializeRequest({
      address: 'wss://r/$hc/p?sb-hc-action=request&sb-hc-id=X',
      id: 'X',
      requestTarget: '/p/x?q=1',
      method: 'POST',
      remoteEndpoint: { address: '::1', port: 1 },
      requestHeaders: { 'Content-Type': 'text/plain' },
      body: true,
    });
    expect(text).toBe(
      '{"request":{"address":"wss://r/$hc/p?sb-hc-action=request&sb-hc-id=X","id":"X","requestTarget":"/p/x?q=1",' +
        '"method":"POST","remoteEndpoint":{"address":"::1","port":1},"requestHeaders":{"Content-Type":"text/plain"},"body":true}}',
    );
  });

  it('request: address-only form omits method AND body', () => {
    const text = serializeRequest({ address: 'wss://r/a', id: 'X' });
    expect(text).toBe('{"request":{"address":"wss://r/a","id":"X"}}');
    expect(text).not.toMatch(/method|body/);
    // even if a caller passes a body flag without a method, the form stays address-only
    expect(serializeRequest({ address: 'wss://r/a', id: 'X', body: true })).toBe('{"request":{"address":"wss://r/a","id":"X"}}');
  });

  it('request: full form always carries body (default false) so .NET does not see address-only', () => {
    expect(serializeRequest({ address: 'a', id: 'i', method: 'GET' })).toBe(
      '{"request":{"address":"a","id":"i","method":"GET","body":false}}',
    );
  });

  it('response: statusCode as number; statusDescription optional', () => {
    expect(
      serializeResponse({ requestId: 'r', statusCode: 200, statusDescription: 'OK', responseHeaders: { a: 'b' }, body: true }),
    ).toBe('{"response":{"requestId":"r","statusCode":200,"statusDescription":"OK","responseHeaders":{"a":"b"},"body":true}}');
    expect(serializeResponse({ requestId: 'r', statusCode: 204, responseHeaders: {}, body: false })).toBe(
      '{"response":{"requestId":"r","statusCode":204,"responseHeaders":{},"body":false}}',
    );
  });

  it('renewToken', () => {
    expect(serializeRenewToken('SharedAccessSignature sr=x&sig=y')).toBe(
      '{"renewToken":{"token":"SharedAccessSignature sr=x&sig=y"}}',
    );
  });

  it('serialisers never emit prototype-sensitive header keys', () => {
    const headers = JSON.parse('{"__proto__":"x","constructor":"y","ok":"z"}') as Record<string, string>;
    expect(serializeResponse({ requestId: 'r', statusCode: 200, responseHeaders: headers, body: false })).toBe(
      '{"response":{"requestId":"r","statusCode":200,"responseHeaders":{"ok":"z"},"body":false}}',
    );
  });
});

describe('hyco round trips (serialize → parse)', () => {
  it('accept', () => {
    const c: AcceptCommand = {
      type: 'accept',
      address: 'wss://relay:9443/$hc/p/sfx?x=1&sb-hc-action=accept&sb-hc-id=abc',
      id: 'abc',
      connectHeaders: { 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13' },
      remoteEndpoint: { address: '127.0.0.1', port: 50000 },
    };
    const { type: _t, ...rest } = c;
    expect(parseServiceMessage(serializeAccept(rest))).toEqual(c);
  });

  it('request (full and address-only)', () => {
    const full: RequestCommand = {
      type: 'request',
      address: 'wss://r/$hc/p?sb-hc-action=request&sb-hc-id=1',
      id: '1',
      requestTarget: '/p',
      method: 'PUT',
      remoteEndpoint: { address: '10.0.0.1', port: 8080 },
      requestHeaders: { 'X-A': '1, 2' },
      body: true,
    };
    const { type: _t, ...rest } = full;
    expect(parseServiceMessage(serializeRequest(rest))).toEqual(full);
    expect(parseServiceMessage(serializeRequest({ address: 'wss://r/x', id: '2' }))).toEqual({
      type: 'request',
      address: 'wss://r/x',
      id: '2',
    });
  });

  it('response (with and without description)', () => {
    const r: ResponseCommand = {
      type: 'response',
      requestId: 'id-1',
      statusCode: 418,
      statusDescription: "I'm a teapot",
      responseHeaders: { 'content-type': 'text/plain', 'set-cookie': 'a=1' },
      body: true,
    };
    const { type: _t, ...rest } = r;
    expect(parseListenerMessage(serializeResponse(rest))).toEqual(r);
    const r2 = parseListenerMessage(serializeResponse({ requestId: 'x', statusCode: 201, responseHeaders: {}, body: false }));
    expect(r2).toEqual({ type: 'response', requestId: 'x', statusCode: 201, responseHeaders: {}, body: false });
    expect(Object.hasOwn(r2, 'statusDescription')).toBe(false);
  });

  it('renewToken', () => {
    expect(parseListenerMessage(serializeRenewToken('tok'))).toEqual({ type: 'renewToken', token: 'tok' });
  });

  it('property: arbitrary valid responses round-trip', () => {
    const headerName = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/).filter((n) => !['__proto__', 'constructor', 'prototype'].includes(n));
    const headerValue = fc.stringMatching(/^[\x20-\x7e\t]{0,40}$/);
    const response = fc.record(
      {
        requestId: fc.string({ minLength: 1 }),
        statusCode: fc.integer({ min: 100, max: 999 }),
        statusDescription: headerValue,
        responseHeaders: fc.dictionary(headerName, headerValue, { maxKeys: 10 }),
        body: fc.boolean(),
      },
      { requiredKeys: ['requestId', 'statusCode', 'responseHeaders', 'body'] },
    );
    fc.assert(
      fc.property(response, (r) => {
        expect(parseListenerMessage(serializeResponse(r))).toEqual({ type: 'response', ...r });
      }),
    );
  });
});

describe('hyco live-capture samples (hybrid-connections.md §2.1)', () => {
  it('accept with \\/ escapes', () => {
    const text =
      '{"accept":{"address":"wss:\\/\\/g3-prod-by3-003-sb.servicebus.windows.net\\/$hc\\/hyco?sb-hc-action=accept&sb-hc-id=5b0a3b1c-ID",' +
      '"id":"5b0a3b1c-ID","connectHeaders":{"Sec-WebSocket-Key":"dGhlIHNhbXBsZSBub25jZQ==","Sec-WebSocket-Version":"13",' +
      '"Connection":"Upgrade","Upgrade":"websocket","Host":"ns.servicebus.windows.net:443","User-Agent":"test"},' +
      '"remoteEndpoint":{"address":"203.0.113.7","port":62917}}}';
    expect(parseServiceMessage(text)).toEqual({
      type: 'accept',
      address: 'wss://g3-prod-by3-003-sb.servicebus.windows.net/$hc/hyco?sb-hc-action=accept&sb-hc-id=5b0a3b1c-ID',
      id: '5b0a3b1c-ID',
      connectHeaders: {
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version': '13',
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        Host: 'ns.servicebus.windows.net:443',
        'User-Agent': 'test',
      },
      remoteEndpoint: { address: '203.0.113.7', port: 62917 },
    });
  });

  it('request with \\/ escapes', () => {
    const text =
      '{"request":{"address":"wss:\\/\\/g12-prod-sn3-010-sb.servicebus.windows.net\\/$hc\\/yesclientauth?sb-hc-action=request&sb-hc-id=c126_G12",' +
      '"id":"c126_G12","requestTarget":"\\/yesclientauth","method":"POST",' +
      '"remoteEndpoint":{"address":"203.0.113.7","port":62915},' +
      '"requestHeaders":{"Content-Type":"application\\/json; charset=utf-8","Accept-Encoding":"gzip",' +
      '"Host":"gorelay.servicebus.windows.net","User-Agent":"Go-http-client\\/1.1","Via":"1.1 gorelay.servicebus.windows.net"},"body":true}}';
    expect(parseServiceMessage(text)).toEqual({
      type: 'request',
      address: 'wss://g12-prod-sn3-010-sb.servicebus.windows.net/$hc/yesclientauth?sb-hc-action=request&sb-hc-id=c126_G12',
      id: 'c126_G12',
      requestTarget: '/yesclientauth',
      method: 'POST',
      remoteEndpoint: { address: '203.0.113.7', port: 62915 },
      requestHeaders: {
        'Content-Type': 'application/json; charset=utf-8',
        'Accept-Encoding': 'gzip',
        Host: 'gorelay.servicebus.windows.net',
        'User-Agent': 'Go-http-client/1.1',
        Via: '1.1 gorelay.servicebus.windows.net',
      },
      body: true,
    });
  });

  it('address-only request from the service', () => {
    const msg = parseServiceMessage('{"request":{"address":"wss:\\/\\/ns\\/$hc\\/p?sb-hc-action=request&sb-hc-id=1","id":"1"}}');
    expect(msg).toEqual({ type: 'request', address: 'wss://ns/$hc/p?sb-hc-action=request&sb-hc-id=1', id: '1' });
    expect(msg.type === 'request' && msg.method === undefined && msg.body === undefined).toBe(true);
  });

  it('hyco-https response shape (lowercased names, body flag)', () => {
    expect(
      parseListenerMessage(
        '{"response":{"requestId":"c126_G12","statusCode":200,"statusDescription":"OK","responseHeaders":{"content-type":"text/plain"},"body":true}}',
      ),
    ).toEqual({
      type: 'response',
      requestId: 'c126_G12',
      statusCode: 200,
      statusDescription: 'OK',
      responseHeaders: { 'content-type': 'text/plain' },
      body: true,
    });
  });
});

describe('hyco tolerance', () => {
  it('statusCode "200" (doc example) is accepted', () => {
    const r = parseListenerMessage('{"response":{"requestId":"x","statusCode":"200","responseHeaders":{},"body":false}}');
    expect(r).toMatchObject({ type: 'response', statusCode: 200 });
  });

  it('statusCode 999 and 100 pass through', () => {
    for (const s of [100, 450, 502, 504, 999]) {
      expect(parseListenerMessage(serializeResponse({ requestId: 'x', statusCode: s, responseHeaders: {}, body: false }))).toMatchObject({
        statusCode: s,
      });
    }
  });

  it('null statusDescription means absent', () => {
    const r = parseListenerMessage('{"response":{"requestId":"x","statusCode":201,"statusDescription":null,"responseHeaders":{},"body":false}}');
    expect(r).toEqual({ type: 'response', requestId: 'x', statusCode: 201, responseHeaders: {}, body: false });
  });

  it('missing or null responseHeaders is an empty map', () => {
    expect(parseListenerMessage('{"response":{"requestId":"x","statusCode":200,"body":false}}')).toMatchObject({ responseHeaders: {} });
    expect(parseListenerMessage('{"response":{"requestId":"x","statusCode":200,"responseHeaders":null,"body":false}}')).toMatchObject({
      responseHeaders: {},
    });
  });

  it('numeric header values are coerced to strings', () => {
    const r = parseListenerMessage('{"response":{"requestId":"x","statusCode":200,"responseHeaders":{"x-n":42},"body":false}}');
    expect(r).toMatchObject({ responseHeaders: { 'x-n': '42' } });
  });

  it('unknown fields inside a command are ignored', () => {
    expect(parseListenerMessage('{"renewToken":{"token":"t","future":1}}')).toEqual({ type: 'renewToken', token: 't' });
  });

  it('unknown commands become {type:"unknown"}', () => {
    expect(parseListenerMessage('{"injectFault":{"delay":"00:00:01"}}')).toEqual({ type: 'unknown', name: 'injectFault' });
    expect(parseServiceMessage('{"somethingNew":42}')).toEqual({ type: 'unknown', name: 'somethingNew' });
    // commands meant for the other direction are unknown on this side
    expect(parseListenerMessage(serializeAccept({ address: 'a', id: 'i', connectHeaders: {} }))).toEqual({
      type: 'unknown',
      name: 'accept',
    });
    expect(parseServiceMessage(serializeRenewToken('t'))).toEqual({ type: 'unknown', name: 'renewToken' });
  });
});

describe('hyco malformed input → ProtocolError', () => {
  const response = (fields: string) => `{"response":{${fields}}}`;

  it('bad JSON', () => {
    expectProtocolError(() => parseListenerMessage('{"response":'), INVALID, /not valid JSON/);
    expectProtocolError(() => parseServiceMessage(''), INVALID, /not valid JSON/);
    expectProtocolError(() => parseServiceMessage('hello'), INVALID);
  });

  it('non-object top level', () => {
    for (const t of ['[]', '[{"response":{}}]', '42', 'null', '"s"', 'true']) {
      expectProtocolError(() => parseListenerMessage(t), INVALID, /must be a JSON object/);
      expectProtocolError(() => parseServiceMessage(t), INVALID, /must be a JSON object/);
    }
  });

  it('zero or two top-level keys', () => {
    expectProtocolError(() => parseListenerMessage('{}'), INVALID, /exactly one top-level key/);
    expectProtocolError(
      () => parseListenerMessage('{"renewToken":{"token":"a"},"response":{"requestId":"x","statusCode":200,"body":false}}'),
      INVALID,
      /exactly one top-level key, got 2/,
    );
  });

  it('command body not an object', () => {
    expectProtocolError(() => parseListenerMessage('{"response":[]}'), INVALID, /response must be an object/);
    expectProtocolError(() => parseServiceMessage('{"accept":"x"}'), INVALID, /accept must be an object/);
    expectProtocolError(() => parseServiceMessage('{"request":null}'), INVALID, /request must be an object/);
  });

  it('missing required fields', () => {
    expectProtocolError(() => parseListenerMessage(response('"statusCode":200,"body":true')), INVALID, /requestId is required/);
    expectProtocolError(() => parseListenerMessage(response('"requestId":"x","body":true')), INVALID, /statusCode is required/);
    expectProtocolError(() => parseListenerMessage(response('"requestId":"x","statusCode":200')), INVALID, /body is required/);
    expectProtocolError(() => parseListenerMessage('{"renewToken":{}}'), INVALID, /token is required/);
    expectProtocolError(() => parseServiceMessage('{"accept":{"id":"i","connectHeaders":{}}}'), INVALID, /address is required/);
    expectProtocolError(() => parseServiceMessage('{"accept":{"address":"a","connectHeaders":{}}}'), INVALID, /id is required/);
    expectProtocolError(() => parseServiceMessage('{"accept":{"address":"a","id":"i"}}'), INVALID, /connectHeaders is required/);
    expectProtocolError(() => parseServiceMessage('{"request":{"id":"i"}}'), INVALID, /address is required/);
  });

  it('wrong field types', () => {
    expectProtocolError(() => parseListenerMessage(response('"requestId":5,"statusCode":200,"body":true')), INVALID, /requestId must be a string/);
    expectProtocolError(() => parseListenerMessage(response('"requestId":"","statusCode":200,"body":true')), INVALID, /must not be empty/);
    expectProtocolError(() => parseListenerMessage(response('"requestId":"x","statusCode":200,"body":"true"')), INVALID, /body must be a boolean/);
    expectProtocolError(
      () => parseListenerMessage(response('"requestId":"x","statusCode":200,"statusDescription":7,"body":true')),
      INVALID,
      /statusDescription must be a string/,
    );
    expectProtocolError(
      () => parseListenerMessage(response('"requestId":"x","statusCode":200,"responseHeaders":[],"body":true')),
      INVALID,
      /responseHeaders must be an object/,
    );
    expectProtocolError(() => parseListenerMessage('{"renewToken":{"token":["a"]}}'), INVALID, /token must be a string/);
    expectProtocolError(() => parseServiceMessage('{"request":{"address":"a","id":"i","method":1}}'), INVALID, /method must be a string/);
    expectProtocolError(() => parseServiceMessage('{"request":{"address":"a","id":"i","body":1}}'), INVALID, /body must be a boolean/);
    expectProtocolError(() => parseServiceMessage('{"request":{"address":"a","id":"i","requestTarget":{}}}'), INVALID, /requestTarget/);
    expectProtocolError(() => parseServiceMessage('{"request":{"address":"a","id":"i","method":"GE T"}}'), INVALID, /method must be an HTTP token/);
    expectProtocolError(
      () => parseServiceMessage('{"accept":{"address":"a","id":"i","connectHeaders":{},"remoteEndpoint":{"address":"x","port":"80"}}}'),
      INVALID,
      /port must be an integer/,
    );
    expectProtocolError(
      () => parseServiceMessage('{"accept":{"address":"a","id":"i","connectHeaders":{},"remoteEndpoint":{"address":"x","port":70000}}}'),
      INVALID,
      /port must be an integer/,
    );
    expectProtocolError(
      () => parseServiceMessage('{"accept":{"address":"a","id":"i","connectHeaders":{},"remoteEndpoint":[]}}'),
      INVALID,
      /remoteEndpoint must be an object/,
    );
  });

  it('statusCode: 99, 1000, "abc", 200.5, "", true are rejected', () => {
    for (const s of ['99', '1000', '"abc"', '200.5', '""', 'true', '"2e2"', '" 200"', '{}', '-200']) {
      expectProtocolError(
        () => parseListenerMessage(response(`"requestId":"x","statusCode":${s},"responseHeaders":{},"body":false`)),
        INVALID,
        /statusCode/,
      );
    }
  });

  it('header values: strings (or numbers) only, no control characters', () => {
    for (const v of ['true', 'null', '[]', '{}', '["a","b"]']) {
      expectProtocolError(
        () => parseListenerMessage(response(`"requestId":"x","statusCode":200,"responseHeaders":{"h":${v}},"body":false`)),
        INVALID,
        /must be a string/,
      );
    }
    expectProtocolError(
      () => parseListenerMessage(response('"requestId":"x","statusCode":200,"responseHeaders":{"h":"a\\r\\nX-Injected: 1"},"body":false')),
      INVALID,
      /control characters/,
    );
    expectProtocolError(
      () => parseListenerMessage(response('"requestId":"x","statusCode":200,"statusDescription":"OK\\r\\nX: y","responseHeaders":{},"body":false')),
      INVALID,
      /statusDescription contains control characters/,
    );
  });

  it('header names must be HTTP tokens', () => {
    for (const n of ['', 'a b', 'a:b', 'ä', '0: Sec-WebSocket-Extensions', 'x\\n']) {
      expectProtocolError(
        () => parseServiceMessage(`{"request":{"address":"a","id":"i","method":"GET","requestHeaders":{"${n}":"v"},"body":false}}`),
        INVALID,
        /invalid header name/,
      );
    }
  });

  it('header count and total size limits', () => {
    const many: Record<string, string> = {};
    for (let i = 0; i <= HYCO_LIMITS.maxHeaderCount; i++) many[`h${i}`] = 'v';
    expectProtocolError(
      () => parseListenerMessage(serializeResponse({ requestId: 'x', statusCode: 200, responseHeaders: many, body: false })),
      HEADERS_TOO_LARGE,
      /more than 256 headers/,
    );
    const big = { a: 'x'.repeat(HYCO_LIMITS.maxHeaderBytes) };
    expectProtocolError(
      () => parseListenerMessage(serializeResponse({ requestId: 'x', statusCode: 200, responseHeaders: big, body: false })),
      HEADERS_TOO_LARGE,
      /exceeds 32768 bytes/,
    );
    const justFits = { a: 'x'.repeat(HYCO_LIMITS.maxHeaderBytes - 1) };
    expect(parseListenerMessage(serializeResponse({ requestId: 'x', statusCode: 200, responseHeaders: justFits, body: false }))).toMatchObject({
      type: 'response',
    });
    // limits can be overridden per call
    expectProtocolError(
      () => parseListenerMessage(serializeResponse({ requestId: 'x', statusCode: 200, responseHeaders: { a: 'b', c: 'd' }, body: false }), { maxHeaderCount: 1 }),
      HEADERS_TOO_LARGE,
      /more than 1 headers/,
    );
  });

  it('oversize text → FRAME_TOO_LARGE before parsing', () => {
    const pad = 'x'.repeat(HYCO_LIMITS.maxControlMessageBytes);
    const err = expectProtocolError(() => parseListenerMessage(`{"renewToken":{"token":"${pad}"}}`), TOO_LARGE);
    expect(err.wsCloseCode).toBe(1009);
    // not even JSON: the size check comes first
    expectProtocolError(() => parseServiceMessage('{'.repeat(HYCO_LIMITS.maxControlMessageBytes + 1)), TOO_LARGE);
    // multi-byte characters count as UTF-8 bytes
    const euro = '€'.repeat(Math.ceil(HYCO_LIMITS.maxControlMessageBytes / 3));
    expect(euro.length).toBeLessThan(HYCO_LIMITS.maxControlMessageBytes);
    expectProtocolError(() => parseListenerMessage(`{"renewToken":{"token":"${euro}"}}`), TOO_LARGE);
    // the limit is an option
    expectProtocolError(() => parseListenerMessage(serializeRenewToken('abcdef'), { maxControlMessageBytes: 10 }), TOO_LARGE);
  });

  it('errors carry the 1008 close code and a 400 status', () => {
    const err = expectProtocolError(() => parseListenerMessage('nope'), INVALID);
    expect(err.wsCloseCode).toBe(1008);
    expect(err.httpStatus).toBe(400);
  });
});

describe('hyco prototype pollution', () => {
  afterEach(() => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('__proto__ in responseHeaders does not pollute Object.prototype', () => {
    const msg = parseListenerMessage(
      '{"response":{"requestId":"x","statusCode":200,"body":false,"responseHeaders":{"__proto__":{"polluted":1}}}}',
    );
    expect(msg.type).toBe('response');
    const r = msg as ResponseCommand;
    expect(Object.keys(r.responseHeaders)).toEqual([]);
    expect(Object.getPrototypeOf(r.responseHeaders)).toBe(Object.prototype);
    expect((r.responseHeaders as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('__proto__ / constructor / prototype header names are dropped, the rest kept', () => {
    const msg = parseServiceMessage(
      '{"accept":{"address":"a","id":"i","connectHeaders":{"__proto__":"x","constructor":"y","prototype":"z","Host":"h"}}}',
    ) as AcceptCommand;
    expect(Object.keys(msg.connectHeaders)).toEqual(['Host']);
    expect(Object.getPrototypeOf(msg.connectHeaders)).toBe(Object.prototype);
    expect(typeof msg.connectHeaders.constructor).toBe('function'); // the inherited one, untouched
  });

  it('__proto__ inside a command body is ignored', () => {
    const msg = parseListenerMessage('{"renewToken":{"__proto__":{"token":"evil","polluted":1}}}'.replace('}}}', '},"token":"t"}}'));
    expect(msg).toEqual({ type: 'renewToken', token: 't' });
    expectProtocolError(() => parseListenerMessage('{"renewToken":{"__proto__":{"token":"evil"}}}'), INVALID, /token is required/);
  });

  it('__proto__ as the command name is an unknown command', () => {
    expect(parseListenerMessage('{"__proto__":{"polluted":1}}')).toEqual({ type: 'unknown', name: '__proto__' });
    expect(parseServiceMessage('{"constructor":{"prototype":{"polluted":1}}}')).toEqual({ type: 'unknown', name: 'constructor' });
  });
});

describe('hyco fuzz: arbitrary text → value or ProtocolError, never anything else', () => {
  const check = (text: string): void => {
    for (const parse of [parseListenerMessage, parseServiceMessage]) {
      try {
        const v = parse(text);
        expect(typeof v.type).toBe('string');
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
      }
    }
  };

  it('arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), check), { numRuns: 2000 });
  });

  it('arbitrary JSON values', () => {
    fc.assert(fc.property(fc.json(), check), { numRuns: 2000 });
  });

  it('structured near-misses of every command', () => {
    const anyValue = fc.oneof(fc.jsonValue(), fc.constant(undefined));
    const cmd = fc.record(
      {
        address: anyValue,
        id: anyValue,
        requestId: anyValue,
        statusCode: fc.oneof(anyValue, fc.integer(), fc.integer().map(String)),
        statusDescription: anyValue,
        token: anyValue,
        method: anyValue,
        body: fc.oneof(anyValue, fc.boolean()),
        connectHeaders: fc.oneof(anyValue, fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.jsonValue()))),
        requestHeaders: fc.oneof(anyValue, fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.jsonValue()))),
        responseHeaders: fc.oneof(anyValue, fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.jsonValue()))),
        remoteEndpoint: fc.oneof(anyValue, fc.record({ address: anyValue, port: anyValue })),
      },
      { requiredKeys: [] },
    );
    const name = fc.constantFrom('accept', 'request', 'response', 'renewToken', 'injectFault', '__proto__');
    fc.assert(fc.property(name, cmd, (n, body) => check(JSON.stringify({ [n]: body }))), { numRuns: 3000 });
  });
});

describe('hyco: a bad command that names its request is identifiable (answer it, keep the channel)', () => {
  const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`X-H${i}`, 'v']));

  it('request with too many headers → InvalidCommandError with id, address, body and 431', () => {
    const text = serializeRequest({ address: 'wss://r/$hc/p?sb-hc-action=request&sb-hc-id=7', id: '7', method: 'POST', requestTarget: '/p', requestHeaders: many(300), body: true });
    const err = expectProtocolError(() => parseServiceMessage(text), HEADERS_TOO_LARGE, /more than 256 headers/) as InvalidCommandError;
    expect(err).toBeInstanceOf(InvalidCommandError);
    expect(err).toMatchObject({ command: 'request', id: '7', address: 'wss://r/$hc/p?sb-hc-action=request&sb-hc-id=7', body: true, addressOnly: false, httpStatus: 431 });
  });

  it('request with a bad field but a good id → InvalidCommandError 400', () => {
    const err = expectProtocolError(() => parseServiceMessage('{"request":{"address":"a","id":"9","method":"G T","body":false}}'), INVALID) as InvalidCommandError;
    expect(err).toBeInstanceOf(InvalidCommandError);
    expect(err).toMatchObject({ id: '9', body: false, httpStatus: 400 });
  });

  it('accept with too many connect headers → InvalidCommandError naming the accept', () => {
    const text = serializeAccept({ address: 'wss://r/$hc/p?sb-hc-action=accept&sb-hc-id=a1', id: 'a1', connectHeaders: many(257) });
    const err = expectProtocolError(() => parseServiceMessage(text), HEADERS_TOO_LARGE) as InvalidCommandError;
    expect(err).toMatchObject({ command: 'accept', id: 'a1', address: 'wss://r/$hc/p?sb-hc-action=accept&sb-hc-id=a1' });
  });

  it('no usable id, not JSON, or not an object → a plain ProtocolError (the frame is dropped)', () => {
    for (const text of ['{"request":{"address":"a","id":7,"method":"GET"}}', '{"request":{"address":"a","method":"GET"}}', 'not json', '[1]', '{"request":5}']) {
      let caught: unknown;
      try {
        parseServiceMessage(text);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ProtocolError);
      expect(caught).not.toBeInstanceOf(InvalidCommandError);
    }
  });

  it('the relay-side limit (HYCO_LIMITS) is the one the codec applies: 256 headers pass, 257 do not', () => {
    const ok = serializeRequest({ address: 'a', id: '1', method: 'GET', requestHeaders: many(HYCO_LIMITS.maxHeaderCount), body: false });
    expect(parseServiceMessage(ok)).toMatchObject({ type: 'request', id: '1' });
    const bad = serializeRequest({ address: 'a', id: '1', method: 'GET', requestHeaders: many(HYCO_LIMITS.maxHeaderCount + 1), body: false });
    expectProtocolError(() => parseServiceMessage(bad), HEADERS_TOO_LARGE);
  });
});
