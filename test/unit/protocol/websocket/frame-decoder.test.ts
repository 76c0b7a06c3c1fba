import fc from 'fast-check';
import { ProtocolError } from '../../../../src/core/errors';
import {
  FrameDecoder,
  Opcode,
  applyMask,
  encodeFrame,
  encodeFrameHeader,
  type FrameDecoderOptions,
  type FrameEvent,
} from '../../../../src/protocol/websocket';
import { decodeAllWays, decodeByteByByte, decodeChunks, decodeWhole, foldEvents, summary } from './feed';

const SERVER: FrameDecoderOptions = { role: 'server' };
const CLIENT: FrameDecoderOptions = { role: 'client' };
const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

/** A frame as a single buffer; masked with MASK when `mask` (client → server). */
function frame(o: { fin?: boolean; opcode: number; payload: Buffer | string; mask?: boolean; rsv?: number }): Buffer {
  const payload = typeof o.payload === 'string' ? Buffer.from(o.payload) : o.payload;
  const mask = o.mask ? MASK : undefined;
  const header = encodeFrameHeader({ fin: o.fin ?? true, opcode: o.opcode, payloadLength: payload.length, mask, rsv: o.rsv });
  return Buffer.concat([header, mask ? applyMask(payload, mask, 0) : payload]);
}

function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

function expectFrameError(fn: () => unknown, code: string, wsCloseCode: number, message?: RegExp): ProtocolError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  const err = caught as ProtocolError;
  expect(err.code).toBe(code);
  expect(err.wsCloseCode).toBe(wsCloseCode);
  if (message) expect(err.message).toMatch(message);
  return err;
}
const WS_FRAME = 'RELAY_ERR_PROTOCOL_WS_FRAME';
const TOO_LARGE = 'RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE';

/** Decodes `wire` whole, split at every offset and byte by byte; each must throw the same code. */
function expectViolationAllWays(wire: Buffer, options: FrameDecoderOptions, code: string, closeCode: number, message?: RegExp): void {
  expectFrameError(() => decodeWhole(wire, options), code, closeCode, message);
  expectFrameError(() => decodeByteByByte(wire, options), code, closeCode, message);
  for (let i = 0; i <= wire.length; i++) {
    expectFrameError(() => decodeChunks([wire.subarray(0, i), wire.subarray(i)], options), code, closeCode, message);
  }
}

describe('FrameDecoder: lengths and roles', () => {
  it.each([0, 1, 125, 126, 127, 65535, 65536])('server role (masked), payload %i bytes, whole / every split / byte by byte', (n) => {
    const payload = pattern(n);
    const wire = frame({ opcode: Opcode.Binary, payload, mask: true });
    const offsets = n <= 256 ? undefined : [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 15, 100, 4096, wire.length - 1, wire.length];
    const [f, ...rest] = decodeAllWays(wire, SERVER, offsets);
    expect(rest).toHaveLength(0);
    expect(f!.header).toEqual({ fin: true, rsv: 0, opcode: Opcode.Binary, masked: true, payloadLength: n });
    expect(f!.payload.equals(payload)).toBe(true);
  });

  it.each([0, 1, 125, 126, 65535, 65536])('client role (unmasked), payload %i bytes', (n) => {
    const payload = pattern(n, 3);
    const wire = frame({ opcode: Opcode.Text, payload });
    const offsets = n <= 256 ? undefined : [0, 1, 2, 3, 4, 9, 10, 11, 500, wire.length - 1, wire.length];
    const [f] = decodeAllWays(wire, CLIENT, offsets);
    expect(f!.header).toEqual({ fin: true, rsv: 0, opcode: Opcode.Text, masked: false, payloadLength: n });
    expect(f!.payload.equals(payload)).toBe(true);
  });

  it('zero-length frame gives header + frameEnd only', () => {
    const d = new FrameDecoder(SERVER);
    const events = d.push(frame({ opcode: Opcode.Binary, payload: '', mask: true }));
    expect(events.map((e) => e.type)).toEqual(['header', 'frameEnd']);
    const d2 = new FrameDecoder(CLIENT);
    expect(d2.push(frame({ opcode: Opcode.Ping, payload: '' })).map((e) => e.type)).toEqual(['header', 'frameEnd']);
  });

  it('header is reported as soon as it is complete, before any payload byte', () => {
    const d = new FrameDecoder(SERVER);
    const wire = frame({ opcode: Opcode.Binary, payload: pattern(300), mask: true });
    expect(d.push(wire.subarray(0, 7))).toEqual([]); // 2 + 2 + 3 of 4 mask bytes
    const ev = d.push(wire.subarray(7, 8));
    expect(ev).toEqual([{ type: 'header', header: { fin: true, rsv: 0, opcode: 2, masked: true, payloadLength: 300 } }]);
  });

  it('large lengths: 64-bit length field decodes (limit raised)', () => {
    const n = 5 * 1024 * 1024 + 3;
    const wire = frame({ opcode: Opcode.Binary, payload: pattern(n) });
    const [f] = decodeWhole(wire, { role: 'client', maxFramePayloadBytes: n });
    expect(f!.payload.equals(pattern(n))).toBe(true);
    expect(wire[1]).toBe(127);
  });

  it('accepts a non-minimal length encoding (liberal, like ws)', () => {
    const payload = Buffer.from('hi');
    const wire = Buffer.concat([Buffer.from([0x82, 126, 0, 2]), payload]);
    expect(summary(decodeWhole(wire, CLIENT))).toEqual([{ fin: true, opcode: 2, payload: payload.toString('hex') }]);
  });
});

describe('FrameDecoder: sequences and fragmentation', () => {
  it('several frames in one chunk, including interleaved control frames inside a fragmented message', () => {
    const frames = [
      { fin: false, opcode: Opcode.Text, payload: 'Hel' },
      { opcode: Opcode.Ping, payload: 'p' },
      { fin: false, opcode: Opcode.Continuation, payload: 'lo, ' },
      { opcode: Opcode.Pong, payload: '' },
      { fin: true, opcode: Opcode.Continuation, payload: 'world' },
      { opcode: Opcode.Binary, payload: pattern(200) },
      { fin: false, opcode: Opcode.Binary, payload: '' },
      { fin: true, opcode: Opcode.Continuation, payload: '' },
      { opcode: Opcode.Close, payload: Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65]) },
    ];
    for (const [options, mask] of [
      [SERVER, true],
      [CLIENT, false],
    ] as const) {
      const wire = Buffer.concat(frames.map((f) => frame({ ...f, mask })));
      const got = decodeAllWays(wire, options);
      expect(got.map((f) => [f.header.fin, f.header.opcode])).toEqual(frames.map((f) => [f.fin ?? true, f.opcode]));
      const text = Buffer.concat([got[0]!.payload, got[2]!.payload, got[4]!.payload]).toString();
      expect(text).toBe('Hello, world');
    }
  });

  it('a fragmented message may start again after the previous one finished', () => {
    const wire = Buffer.concat([
      frame({ fin: false, opcode: Opcode.Binary, payload: 'a' }),
      frame({ fin: true, opcode: Opcode.Continuation, payload: 'b' }),
      frame({ fin: false, opcode: Opcode.Text, payload: 'c' }),
      frame({ fin: true, opcode: Opcode.Continuation, payload: 'd' }),
    ]);
    expect(decodeWhole(wire, CLIENT)).toHaveLength(4);
  });

  it('streams: a 10 MiB frame in 64 KiB chunks gives ~160 payload events, each a view of its chunk', () => {
    const n = 10 * 1024 * 1024;
    const payload = pattern(n);
    const wire = frame({ opcode: Opcode.Binary, payload });
    const d = new FrameDecoder(CLIENT);
    const events: FrameEvent[] = [];
    const chunk = 64 * 1024;
    let largest = 0;
    for (let off = 0; off < wire.length; off += chunk) {
      const c = wire.subarray(off, off + chunk);
      for (const ev of d.push(c)) {
        events.push(ev);
        if (ev.type === 'payload') {
          largest = Math.max(largest, ev.data.length);
          expect(ev.data.buffer).toBe(c.buffer); // a view, no copy
        }
      }
    }
    const payloadEvents = events.filter((e) => e.type === 'payload');
    expect(payloadEvents.length).toBeGreaterThanOrEqual(160);
    expect(payloadEvents.length).toBeLessThanOrEqual(161);
    expect(largest).toBeLessThanOrEqual(chunk);
    const [f] = foldEvents(events);
    expect(f!.payload.equals(payload)).toBe(true);
    expect(d.isIdle).toBe(true);
  });

  it('streams masked payloads too (server role), unmasking with the running offset', () => {
    const n = 1024 * 1024 + 7;
    const payload = pattern(n);
    const wire = frame({ opcode: Opcode.Binary, payload, mask: true });
    const chunks: Buffer[] = [];
    for (let off = 0; off < wire.length; off += 65_531) chunks.push(wire.subarray(off, off + 65_531)); // odd size: mask phase drifts
    const d = new FrameDecoder(SERVER);
    const events = chunks.flatMap((c) => d.push(c));
    const payloads = events.filter((e) => e.type === 'payload');
    expect(payloads.length).toBe(chunks.length);
    expect(Math.max(...payloads.map((e) => (e.type === 'payload' ? e.data.length : 0)))).toBeLessThanOrEqual(65_531);
    expect(foldEvents(events)[0]!.payload.equals(payload)).toBe(true);
    // the caller's chunks are left masked (not modified) by default
    expect(Buffer.concat(chunks).equals(wire)).toBe(true);
  });

  it('unmaskInPlace unmasks into the caller buffer (a view, no copy)', () => {
    const payload = pattern(1000);
    const wire = frame({ opcode: Opcode.Binary, payload, mask: true });
    const d = new FrameDecoder({ role: 'server', unmaskInPlace: true });
    const events = d.push(wire);
    const p = events.find((e) => e.type === 'payload');
    expect(p?.type === 'payload' && p.data.buffer === wire.buffer).toBe(true);
    expect(foldEvents(events)[0]!.payload.equals(payload)).toBe(true);
  });

  it('isIdle tracks frame and message boundaries', () => {
    const d = new FrameDecoder(CLIENT);
    expect(d.isIdle).toBe(true);
    d.push(frame({ fin: false, opcode: Opcode.Binary, payload: 'a' }));
    expect(d.isIdle).toBe(false);
    d.push(frame({ opcode: Opcode.Continuation, payload: 'b' }).subarray(0, 2));
    expect(d.isIdle).toBe(false);
    d.push(Buffer.from('b'));
    expect(d.isIdle).toBe(true);
  });
});

describe('FrameDecoder: protocol violations → ProtocolError (RFC 6455)', () => {
  it('§5.1: server role rejects an unmasked frame', () => {
    expectViolationAllWays(frame({ opcode: Opcode.Binary, payload: 'x' }), SERVER, WS_FRAME, 1002, /not masked/);
  });

  it('§5.1: client role rejects a masked frame', () => {
    expectViolationAllWays(frame({ opcode: Opcode.Binary, payload: 'x', mask: true }), CLIENT, WS_FRAME, 1002, /is masked/);
  });

  it.each([1, 2, 4, 7])('§5.2: RSV=%i without a negotiated extension', (rsv) => {
    expectViolationAllWays(frame({ opcode: Opcode.Text, payload: 'x', rsv }), CLIENT, WS_FRAME, 1002, /reserved bits/);
  });

  it.each([3, 4, 5, 6, 7, 11, 12, 13, 14, 15])('§5.2: unknown opcode %i', (opcode) => {
    expectViolationAllWays(frame({ opcode, payload: '' }), CLIENT, WS_FRAME, 1002, /unknown opcode/);
  });

  it.each([Opcode.Close, Opcode.Ping, Opcode.Pong])('§5.5: fragmented control frame (opcode %i)', (opcode) => {
    expectViolationAllWays(frame({ fin: false, opcode, payload: '' }), CLIENT, WS_FRAME, 1002, /fragmented control/);
  });

  it('§5.5: control frame payload over 125 bytes (16-bit length form)', () => {
    const wire = Buffer.concat([encodeFrameHeader({ fin: true, opcode: Opcode.Ping, payloadLength: 126 }), pattern(126)]);
    expectViolationAllWays(wire, CLIENT, WS_FRAME, 1002, /control frame payload/);
  });

  it('maxControlPayloadBytes lowers the control limit', () => {
    const wire = frame({ opcode: Opcode.Ping, payload: pattern(10) });
    expectFrameError(() => decodeWhole(wire, { role: 'client', maxControlPayloadBytes: 9 }), WS_FRAME, 1002, /exceeds 9/);
    expect(decodeWhole(wire, { role: 'client', maxControlPayloadBytes: 10 })).toHaveLength(1);
  });

  it('§5.2: 64-bit length with the most significant bit set', () => {
    const wire = Buffer.from([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1]);
    expectViolationAllWays(wire, CLIENT, WS_FRAME, 1002, /most significant bit/);
  });

  it('§10.4: payload over maxFramePayloadBytes → FRAME_TOO_LARGE / 1009, before buffering', () => {
    const header = encodeFrameHeader({ fin: true, opcode: Opcode.Binary, payloadLength: 1001, mask: MASK });
    expectViolationAllWays(header, { role: 'server', maxFramePayloadBytes: 1000 }, TOO_LARGE, 1009, /exceeds 1000/);
    // 2^53-ish lengths are caught from the header alone
    const huge = Buffer.from([0x82, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expectFrameError(() => new FrameDecoder(CLIENT).push(huge), TOO_LARGE, 1009);
    // default limit is 16 MiB
    const over = encodeFrameHeader({ fin: true, opcode: Opcode.Binary, payloadLength: 16 * 1024 * 1024 + 1 });
    expectFrameError(() => new FrameDecoder(CLIENT).push(over), TOO_LARGE, 1009);
    const at = encodeFrameHeader({ fin: true, opcode: Opcode.Binary, payloadLength: 16 * 1024 * 1024 });
    expect(new FrameDecoder(CLIENT).push(at).map((e) => e.type)).toEqual(['header']);
  });

  it('§5.4: continuation frame without a started message', () => {
    expectViolationAllWays(frame({ opcode: Opcode.Continuation, payload: 'x', mask: true }), SERVER, WS_FRAME, 1002, /continuation frame without/);
    const afterComplete = Buffer.concat([
      frame({ fin: false, opcode: Opcode.Text, payload: 'a' }),
      frame({ fin: true, opcode: Opcode.Continuation, payload: 'b' }),
      frame({ fin: true, opcode: Opcode.Continuation, payload: 'c' }),
    ]);
    expectViolationAllWays(afterComplete, CLIENT, WS_FRAME, 1002, /continuation frame without/);
  });

  it('§5.4: a new data frame while a fragmented message is open', () => {
    for (const opcode of [Opcode.Text, Opcode.Binary]) {
      const wire = Buffer.concat([
        frame({ fin: false, opcode: Opcode.Binary, payload: 'a', mask: true }),
        frame({ opcode: Opcode.Ping, payload: '', mask: true }),
        frame({ fin: true, opcode, payload: 'b', mask: true }),
      ]);
      expectViolationAllWays(wire, SERVER, WS_FRAME, 1002, /fragmented message is open/);
    }
  });

  it('after an error the decoder stays failed', () => {
    const d = new FrameDecoder(SERVER);
    const err = expectFrameError(() => d.push(frame({ opcode: Opcode.Binary, payload: 'x' })), WS_FRAME, 1002);
    expect(d.error).toBe(err);
    let again: unknown;
    try {
      d.push(frame({ opcode: Opcode.Binary, payload: 'x', mask: true }));
    } catch (e) {
      again = e;
    }
    expect(again).toBe(err);
    expect(() => d.push(Buffer.alloc(0))).toThrow(err);
  });

  it('rejects invalid options', () => {
    expect(() => new FrameDecoder({ role: 'peer' as 'server' })).toThrow(/role/);
    expect(() => new FrameDecoder({ role: 'server', maxFramePayloadBytes: -1 })).toThrow(/maxFramePayloadBytes/);
    expect(() => new FrameDecoder({ role: 'server', maxControlPayloadBytes: 126 })).toThrow(/maxControlPayloadBytes/);
  });
});

describe('FrameDecoder: encode → decode round trips', () => {
  it('encodeFrame (client, masked) → server decoder; encodeFrame (server) → client decoder', () => {
    const cases = [
      { fin: true, opcode: Opcode.Text, payload: Buffer.from('héllo wörld') },
      { fin: false, opcode: Opcode.Binary, payload: pattern(70_000) },
      { fin: true, opcode: Opcode.Continuation, payload: pattern(126) },
      { fin: true, opcode: Opcode.Ping, payload: pattern(125) },
      { fin: true, opcode: Opcode.Pong, payload: Buffer.alloc(0) },
    ];
    for (const mask of [true, false]) {
      const wire = Buffer.concat(cases.flatMap((c) => encodeFrame({ ...c, mask })));
      const got = decodeAllWays(wire, { role: mask ? 'server' : 'client' }, [0, 1, 2, 5, 17, 40, 41, 1000, wire.length]);
      expect(got.map((f) => ({ fin: f.header.fin, opcode: f.header.opcode, masked: f.header.masked, payload: f.payload }))).toEqual(
        cases.map((c) => ({ ...c, masked: mask })),
      );
    }
  });

  it('property: any frame sequence decodes identically whole, split anywhere, and chunked randomly', () => {
    const dataFrame = fc.record({
      kind: fc.constantFrom('single', 'fragmented'),
      opcode: fc.constantFrom(Opcode.Text, Opcode.Binary),
      parts: fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 4 }),
    });
    const control = fc.record({ opcode: fc.constantFrom(Opcode.Ping, Opcode.Pong, Opcode.Close), payload: fc.uint8Array({ maxLength: 125 }) });
    const seq = fc.array(fc.oneof(dataFrame, control), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(seq, fc.boolean(), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }), (items, mask, sizes) => {
        const expected: { fin: boolean; opcode: number; payload: string }[] = [];
        const bufs: Buffer[] = [];
        for (const it of items) {
          if ('parts' in it) {
            const parts = it.kind === 'single' ? [Buffer.concat(it.parts.map((p) => Buffer.from(p)))] : it.parts.map((p) => Buffer.from(p));
            parts.forEach((p, i) => {
              const fin = i === parts.length - 1;
              const opcode = i === 0 ? it.opcode : Opcode.Continuation;
              expected.push({ fin, opcode, payload: p.toString('hex') });
              bufs.push(...encodeFrame({ fin, opcode, payload: p, mask }));
            });
          } else {
            const p = Buffer.from(it.payload);
            expected.push({ fin: true, opcode: it.opcode, payload: p.toString('hex') });
            bufs.push(...encodeFrame({ opcode: it.opcode, payload: p, mask }));
          }
        }
        const wire = Buffer.concat(bufs);
        const options: FrameDecoderOptions = { role: mask ? 'server' : 'client' };
        expect(summary(decodeWhole(wire, options))).toEqual(expected);
        const chunks: Buffer[] = [];
        for (let off = 0, k = 0; off < wire.length; k++) {
          const n = sizes[k % sizes.length]!;
          chunks.push(wire.subarray(off, off + n));
          off += n;
        }
        expect(summary(decodeChunks(chunks, options))).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe('FrameDecoder fuzz: arbitrary bytes → events or ProtocolError only', () => {
  const run = (options: FrameDecoderOptions, chunks: Uint8Array[]): void => {
    const d = new FrameDecoder(options);
    try {
      for (const c of chunks) d.push(Buffer.from(c));
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      expect([1002, 1009]).toContain(err.wsCloseCode);
    }
  };

  it('random byte chunks, both roles, small limits', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<FrameDecoderOptions>(SERVER, CLIENT, { role: 'server', maxFramePayloadBytes: 64 }, { role: 'client', maxFramePayloadBytes: 0 }),
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }),
        run,
      ),
      { numRuns: 3000 },
    );
  });

  it('mutated valid frames', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.uint8Array({ maxLength: 200 }),
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 4 }),
        fc.nat(),
        (mask, payload, flips, cut) => {
          const wire = Buffer.concat(encodeFrame({ opcode: Opcode.Binary, payload: Buffer.from(payload), mask }));
          for (const f of flips) wire[f.at % wire.length] = f.value;
          const at = cut % (wire.length + 1);
          run({ role: mask ? 'server' : 'client' }, [wire.subarray(0, at), wire.subarray(at)]);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
