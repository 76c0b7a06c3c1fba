import { ProtocolError } from '../../../../src/core/errors';
import { decodeClosePayload, encodeClosePayload } from '../../../../src/protocol/websocket';

function expectCloseError(p: Buffer, wsCloseCode: number, message: RegExp): void {
  let caught: unknown;
  try {
    decodeClosePayload(p);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  expect((caught as ProtocolError).code).toBe('RELAY_ERR_PROTOCOL_WS_FRAME');
  expect((caught as ProtocolError).wsCloseCode).toBe(wsCloseCode);
  expect((caught as ProtocolError).message).toMatch(message);
}

describe('close payload (RFC 6455 §5.5.1, §7.4)', () => {
  it('round trips code and reason', () => {
    for (const [code, reason] of [
      [1000, ''],
      [1001, 'going away'],
      [1011, 'NameRenewalFailed'],
      [3000, 'ünïcödé ✓'],
      [4999, 'x'],
    ] as const) {
      expect(decodeClosePayload(encodeClosePayload(code, reason))).toEqual({ code, reason });
    }
    expect(encodeClosePayload(1000, 'ok').toString('hex')).toBe('03e86f6b');
  });

  it('empty payload: no code (1005 semantics)', () => {
    expect(encodeClosePayload().length).toBe(0);
    expect(decodeClosePayload(Buffer.alloc(0))).toEqual({ reason: '' });
    expect(decodeClosePayload(Buffer.alloc(0)).code).toBeUndefined();
  });

  it('long reasons are cut to 123 bytes at a character boundary', () => {
    const p = encodeClosePayload(1000, 'é'.repeat(100));
    expect(p.length).toBe(2 + 122);
    expect(decodeClosePayload(p).reason).toBe('é'.repeat(61));
    expect(encodeClosePayload(1000, 'a'.repeat(200)).length).toBe(125);
  });

  it('encode rejects codes that must not be sent, and a reason without a code', () => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 1000.5]) {
      expect(() => encodeClosePayload(code)).toThrow(RangeError);
    }
    expect(() => encodeClosePayload(undefined, 'why')).toThrow(TypeError);
  });

  it('decode: valid code ranges', () => {
    for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
      const p = Buffer.alloc(2);
      p.writeUInt16BE(code);
      expect(decodeClosePayload(p)).toEqual({ code, reason: '' });
    }
  });

  it('decode: a 1-byte body is invalid (1002)', () => {
    expectCloseError(Buffer.from([0x03]), 1002, /1 byte/);
  });

  it('decode: invalid codes (1002)', () => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535]) {
      const p = Buffer.alloc(2);
      p.writeUInt16BE(code);
      expectCloseError(p, 1002, /invalid close code/);
    }
  });

  it('decode: invalid UTF-8 reason (1007)', () => {
    expectCloseError(Buffer.from([0x03, 0xe8, 0xff]), 1007, /UTF-8/);
    expectCloseError(Buffer.from([0x03, 0xe8, 0xce, 0xba, 0xe1, 0xbd]), 1007, /UTF-8/); // truncated sequence
    expectCloseError(Buffer.from([0x03, 0xe8, 0xed, 0xa0, 0x80]), 1007, /UTF-8/); // surrogate
  });

  it('decode: over 125 bytes (1002)', () => {
    expectCloseError(Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.alloc(124, 0x61)]), 1002, /longer than 125/);
  });
});
