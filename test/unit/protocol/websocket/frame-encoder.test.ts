import { Opcode, applyMask, encodeFrame, encodeFrameHeader, generateMask } from '../../../../src/protocol/websocket';

const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

describe('encodeFrameHeader (RFC 6455 §5.2)', () => {
  it('RFC 6455 §5.7 examples', () => {
    // A single-frame unmasked text message "Hello"
    expect(encodeFrameHeader({ fin: true, opcode: Opcode.Text, payloadLength: 5 }).toString('hex')).toBe('8105');
    // A single-frame masked text message "Hello"
    const masked = Buffer.concat([
      encodeFrameHeader({ fin: true, opcode: Opcode.Text, payloadLength: 5, mask: MASK }),
      applyMask(Buffer.from('Hello'), MASK, 0),
    ]);
    expect(masked.toString('hex')).toBe('818537fa213d7f9f4d5158');
    // A fragmented unmasked text message "Hel" + "lo"
    expect(encodeFrameHeader({ fin: false, opcode: Opcode.Text, payloadLength: 3 }).toString('hex')).toBe('0103');
    expect(encodeFrameHeader({ fin: true, opcode: Opcode.Continuation, payloadLength: 2 }).toString('hex')).toBe('8002');
    // Unmasked Ping / masked Pong with "Hello"
    expect(encodeFrameHeader({ fin: true, opcode: Opcode.Ping, payloadLength: 5 }).toString('hex')).toBe('8905');
    expect(encodeFrameHeader({ fin: true, opcode: Opcode.Pong, payloadLength: 5, mask: MASK }).toString('hex')).toBe('8a8537fa213d');
    // 256 bytes binary message in a single unmasked frame
    expect(encodeFrameHeader({ fin: true, opcode: Opcode.Binary, payloadLength: 256 }).toString('hex')).toBe('827e0100');
    // 64KiB binary message in a single unmasked frame
    expect(encodeFrameHeader({ fin: true, opcode: Opcode.Binary, payloadLength: 65536 }).toString('hex')).toBe('827f0000000000010000');
  });

  it.each([
    [0, 2],
    [125, 2],
    [126, 4],
    [65535, 4],
    [65536, 10],
    [2 ** 32 + 5, 10],
  ])('length %i uses the minimal %i-byte header', (len, size) => {
    const h = encodeFrameHeader({ fin: true, opcode: Opcode.Binary, payloadLength: len });
    expect(h.length).toBe(size);
    if (size === 10) {
      expect(h.readUInt32BE(2)).toBe(Math.floor(len / 2 ** 32));
      expect(h.readUInt32BE(6)).toBe(len % 2 ** 32);
    }
    expect(encodeFrameHeader({ fin: true, opcode: Opcode.Binary, payloadLength: len, mask: MASK }).length).toBe(size + 4);
  });

  it('rejects invalid arguments', () => {
    expect(() => encodeFrameHeader({ fin: true, opcode: 16, payloadLength: 0 })).toThrow(RangeError);
    expect(() => encodeFrameHeader({ fin: true, opcode: 1, payloadLength: -1 })).toThrow(RangeError);
    expect(() => encodeFrameHeader({ fin: true, opcode: 1, payloadLength: 1.5 })).toThrow(RangeError);
    expect(() => encodeFrameHeader({ fin: true, opcode: 1, payloadLength: 2 ** 53 })).toThrow(RangeError);
    expect(() => encodeFrameHeader({ fin: true, opcode: 1, payloadLength: 0, mask: Buffer.alloc(3) })).toThrow(RangeError);
    expect(() => encodeFrameHeader({ fin: true, opcode: 1, payloadLength: 0, rsv: 8 })).toThrow(RangeError);
  });
});

describe('encodeFrame', () => {
  it('returns [header, payload]; unmasked payload is passed through untouched', () => {
    const payload = Buffer.from('abc');
    const [h, p] = encodeFrame({ opcode: Opcode.Binary, payload });
    expect(h!.toString('hex')).toBe('8203');
    expect(p).toBe(payload);
    expect(encodeFrame({ opcode: Opcode.Binary, payload, fin: false })[0]![0]).toBe(0x02);
  });

  it('mask: random key, payload masked into a copy, caller buffer unchanged', () => {
    const payload = Buffer.from('hello world');
    const [h, p] = encodeFrame({ opcode: Opcode.Text, payload, mask: true });
    expect(h!.length).toBe(6);
    expect(h![1]! & 0x80).toBe(0x80);
    const key = h!.subarray(2, 6);
    expect(p).not.toBe(payload);
    expect(payload.toString()).toBe('hello world');
    expect(applyMask(p!, key, 0).toString()).toBe('hello world');
  });

  it('§5.5: refuses fragmented or oversized control frames', () => {
    expect(() => encodeFrame({ opcode: Opcode.Ping, payload: Buffer.alloc(126) })).toThrow(RangeError);
    expect(() => encodeFrame({ opcode: Opcode.Close, payload: Buffer.alloc(0), fin: false })).toThrow(RangeError);
    expect(() => encodeFrame({ opcode: Opcode.Pong, payload: Buffer.alloc(125) })).not.toThrow();
  });
});

describe('applyMask / generateMask (§5.3)', () => {
  it('is its own inverse and does not modify its input', () => {
    const data = Buffer.from('The quick brown fox');
    const copy = Buffer.from(data);
    const masked = applyMask(data, MASK, 0);
    expect(data.equals(copy)).toBe(true);
    expect(applyMask(masked, MASK, 0).equals(data)).toBe(true);
  });

  it('offset continues the mask phase: masking in pieces equals masking whole', () => {
    const data = Buffer.from(Array.from({ length: 103 }, (_, i) => i));
    const whole = applyMask(data, MASK, 0);
    for (const cuts of [[1], [2, 7], [3, 4, 5, 50], [0, 101]]) {
      const pieces: Buffer[] = [];
      let start = 0;
      for (const c of [...cuts, data.length]) {
        pieces.push(applyMask(data.subarray(start, c), MASK, start));
        start = c;
      }
      expect(Buffer.concat(pieces).equals(whole)).toBe(true);
    }
  });

  it('generateMask gives 4 fresh bytes', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const k = generateMask();
      expect(k.length).toBe(4);
      keys.add(k.toString('hex'));
    }
    expect(keys.size).toBeGreaterThan(4990);
  });

  it('rejects a mask that is not 4 bytes', () => {
    expect(() => applyMask(Buffer.alloc(1), Buffer.alloc(2), 0)).toThrow(RangeError);
  });
});
