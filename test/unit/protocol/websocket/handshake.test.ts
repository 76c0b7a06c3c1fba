import { ProtocolError } from '../../../../src/core/errors';
import {
  buildServerHandshakeResponse,
  computeAcceptKey,
  generateClientKey,
  validateClientHandshake,
} from '../../../../src/protocol/websocket';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const good = (extra: Record<string, string | string[] | undefined> = {}): Record<string, string | string[] | undefined> => ({
  host: 'server.example.com',
  upgrade: 'websocket',
  connection: 'Upgrade',
  'sec-websocket-key': KEY,
  'sec-websocket-version': '13',
  ...extra,
});

function expect400(headers: Record<string, string | string[] | undefined>, message: RegExp): void {
  let caught: unknown;
  try {
    validateClientHandshake(headers);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  expect((caught as ProtocolError).httpStatus).toBe(400);
  expect((caught as ProtocolError).message).toMatch(message);
}

describe('computeAcceptKey (RFC 6455 §1.3)', () => {
  it('matches the RFC example', () => {
    expect(computeAcceptKey(KEY)).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });
});

describe('generateClientKey', () => {
  it('is base64 of 16 random bytes and validates', () => {
    const k = generateClientKey();
    expect(Buffer.from(k, 'base64').length).toBe(16);
    expect(k).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(generateClientKey()).not.toBe(k);
    expect(validateClientHandshake(good({ 'sec-websocket-key': k })).key).toBe(k);
  });
});

describe('validateClientHandshake (RFC 6455 §4.2.1)', () => {
  it('accepts a valid handshake, case-insensitively', () => {
    expect(validateClientHandshake(good())).toEqual({ key: KEY, protocols: [] });
    expect(validateClientHandshake(good({ upgrade: 'WebSocket', connection: 'keep-alive, Upgrade' })).key).toBe(KEY);
    expect(validateClientHandshake(good({ connection: 'upgrade' })).key).toBe(KEY);
  });

  it('returns offered subprotocols in order (string or repeated-header array)', () => {
    expect(validateClientHandshake(good({ 'sec-websocket-protocol': 'chat, superchat' })).protocols).toEqual(['chat', 'superchat']);
    expect(validateClientHandshake(good({ 'sec-websocket-protocol': ['a', 'b, c'] })).protocols).toEqual(['a', 'b', 'c']);
    expect(validateClientHandshake(good({ 'sec-websocket-protocol': 'a,a' })).protocols).toEqual(['a']);
  });

  it('rejects a missing or wrong Upgrade header', () => {
    expect400(good({ upgrade: undefined }), /Upgrade/);
    expect400(good({ upgrade: 'h2c' }), /Upgrade/);
  });

  it('rejects a Connection header without upgrade', () => {
    expect400(good({ connection: undefined }), /Connection/);
    expect400(good({ connection: 'keep-alive' }), /Connection/);
  });

  it('rejects versions other than 13', () => {
    expect400(good({ 'sec-websocket-version': undefined }), /Version/);
    expect400(good({ 'sec-websocket-version': '8' }), /Version/);
    expect400(good({ 'sec-websocket-version': '13, 8' }), /Version/);
  });

  it('rejects a key that is not base64 of 16 bytes', () => {
    for (const key of [undefined, '', 'abc', Buffer.alloc(15).toString('base64'), Buffer.alloc(17).toString('base64'), `${KEY}, ${KEY}`, '!GhlIHNhbXBsZSBub25jZQ==']) {
      expect400(good({ 'sec-websocket-key': key }), /Key/);
    }
    expect400(good({ 'sec-websocket-key': [KEY, KEY] }), /Key/);
  });

  it('rejects invalid subprotocol tokens', () => {
    expect400(good({ 'sec-websocket-protocol': 'a b' }), /subprotocol/);
    expect400(good({ 'sec-websocket-protocol': 'a;b' }), /subprotocol/);
  });

  it('uses the code RELAY_ERR_PROTOCOL_INVALID_MESSAGE', () => {
    expect(() => validateClientHandshake({})).toThrow(ProtocolError);
    try {
      validateClientHandshake({});
    } catch (err) {
      expect((err as ProtocolError).code).toBe('RELAY_ERR_PROTOCOL_INVALID_MESSAGE');
    }
  });
});

describe('buildServerHandshakeResponse (RFC 6455 §4.2.2)', () => {
  it('builds the 101 head', () => {
    expect(buildServerHandshakeResponse({ key: KEY })).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
    );
  });

  it('adds the chosen protocol and extra headers', () => {
    expect(buildServerHandshakeResponse({ key: KEY, protocol: 'chat', extraHeaders: { 'X-Relay': 'rb' } })).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\nX-Relay: rb\r\n\r\n',
    );
  });

  it('refuses header injection', () => {
    expect(() => buildServerHandshakeResponse({ key: KEY, protocol: 'a\r\nX: y' })).toThrow(ProtocolError);
    expect(() => buildServerHandshakeResponse({ key: KEY, extraHeaders: { 'X-A': 'v\r\nX-B: w' } })).toThrow(ProtocolError);
    expect(() => buildServerHandshakeResponse({ key: KEY, extraHeaders: { 'X A': 'v' } })).toThrow(ProtocolError);
  });
});
