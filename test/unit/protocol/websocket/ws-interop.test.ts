/**
 * Cross-check against the `ws` library (8.x): frames written by ws's Sender decode with our
 * FrameDecoder, and our encodeFrame output is accepted by ws's Receiver. Tests may import ws;
 * src/protocol may not.
 */
import type { Writable } from 'node:stream';
import * as wsModule from 'ws';
import { Opcode, encodeClosePayload, encodeFrame, type FrameDecoderOptions } from '../../../../src/protocol/websocket';
import { decodeAllWays, decodeWhole } from './feed';

interface SenderFrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
  generateMask?: (mask: Buffer) => void;
}
/** ws's internal Sender and Receiver (lib/sender.js, lib/receiver.js); @types/ws does not declare them. */
interface WsInternals {
  Sender: { frame(data: Buffer, o: SenderFrameOptions): (Buffer | string)[] };
  Receiver: new (o: { isServer: boolean; maxPayload: number }) => Writable;
}
const { Sender, Receiver } = wsModule as unknown as WsInternals;
const senderFrame = Sender.frame.bind(Sender);

function wsFrame(data: Buffer, o: { fin?: boolean; opcode: number; mask: boolean; key?: number[] }): Buffer {
  const parts = senderFrame(data, {
    fin: o.fin ?? true,
    opcode: o.opcode,
    mask: o.mask,
    readOnly: true, // never mask the caller's buffer in place
    rsv1: false,
    ...(o.key ? { generateMask: (m: Buffer) => m.set(o.key!) } : {}),
  });
  return Buffer.concat(parts.map((p) => Buffer.from(p)));
}

function pattern(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + 17) & 0xff;
  return b;
}

describe('ws Sender → our FrameDecoder', () => {
  it.each([0, 1, 125, 126, 65535, 65536, 200_000])('masked (client → server) payload of %i bytes', (n) => {
    const payload = pattern(n);
    const wire = wsFrame(payload, { opcode: Opcode.Binary, mask: true });
    const options: FrameDecoderOptions = { role: 'server' };
    const frames = n <= 200 ? decodeAllWays(wire, options) : decodeAllWays(wire, options, [1, 2, 5, 9, 13, 14, 1000, wire.length - 1]);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.header).toEqual({ fin: true, rsv: 0, opcode: Opcode.Binary, masked: true, payloadLength: n });
    expect(frames[0]!.payload.equals(payload)).toBe(true);
  });

  it('masked with a fixed key, and unmasked (server → client)', () => {
    const payload = Buffer.from('Hello');
    const masked = wsFrame(payload, { opcode: Opcode.Text, mask: true, key: [0x37, 0xfa, 0x21, 0x3d] });
    expect(masked.toString('hex')).toBe('818537fa213d7f9f4d5158'); // RFC 6455 §5.7
    expect(decodeWhole(masked, { role: 'server' })[0]!.payload.toString()).toBe('Hello');
    const plain = wsFrame(payload, { opcode: Opcode.Text, mask: false });
    expect(decodeWhole(plain, { role: 'client' })[0]!.payload.toString()).toBe('Hello');
  });

  it('a fragmented message with control frames in between', () => {
    const wire = Buffer.concat([
      wsFrame(Buffer.from('frag-1 '), { fin: false, opcode: Opcode.Text, mask: true }),
      wsFrame(Buffer.from('ping'), { opcode: Opcode.Ping, mask: true }),
      wsFrame(Buffer.from('frag-2'), { fin: true, opcode: Opcode.Continuation, mask: true }),
      wsFrame(encodeClosePayload(1001, 'bye'), { opcode: Opcode.Close, mask: true }),
    ]);
    const frames = decodeAllWays(wire, { role: 'server' });
    expect(frames.map((f) => [f.header.fin, f.header.opcode, f.payload.toString('latin1')])).toEqual([
      [false, Opcode.Text, 'frag-1 '],
      [true, Opcode.Ping, 'ping'],
      [true, Opcode.Continuation, 'frag-2'],
      [true, Opcode.Close, encodeClosePayload(1001, 'bye').toString('latin1')],
    ]);
  });
});

interface Received {
  messages: { data: Buffer; isBinary: boolean }[];
  pings: Buffer[];
  pongs: Buffer[];
  closes: { code: number; reason: string }[];
  errors: (Error & { code?: string })[];
}

/** Writes `chunks` into a ws Receiver and collects what it emits. */
async function wsReceive(chunks: Buffer[], isServer: boolean): Promise<Received> {
  const r = new Receiver({ isServer, maxPayload: 0 });
  const got: Received = { messages: [], pings: [], pongs: [], closes: [], errors: [] };
  r.on('message', (data: Buffer, isBinary: boolean) => got.messages.push({ data: Buffer.from(data), isBinary }));
  r.on('ping', (d: Buffer) => got.pings.push(Buffer.from(d)));
  r.on('pong', (d: Buffer) => got.pongs.push(Buffer.from(d)));
  r.on('conclude', (code: number, reason: Buffer) => got.closes.push({ code, reason: reason.toString() }));
  r.on('error', (err: Error) => got.errors.push(err));
  for (const c of chunks) {
    await new Promise<void>((resolve) => r.write(c, () => resolve()));
  }
  await new Promise((resolve) => setImmediate(resolve));
  return got;
}

describe('our encodeFrame → ws Receiver', () => {
  it.each([0, 1, 125, 126, 65535, 65536, 300_000])('masked client frame of %i bytes is accepted by a server Receiver', async (n) => {
    const payload = pattern(n);
    const got = await wsReceive(encodeFrame({ opcode: Opcode.Binary, payload, mask: true }), true);
    expect(got.errors).toEqual([]);
    expect(got.messages).toHaveLength(1);
    expect(got.messages[0]!.isBinary).toBe(true);
    expect(got.messages[0]!.data.equals(payload)).toBe(true);
  });

  it('unmasked server frames are accepted by a client Receiver', async () => {
    const got = await wsReceive(encodeFrame({ opcode: Opcode.Text, payload: Buffer.from('héllo') }), false);
    expect(got.errors).toEqual([]);
    expect(got.messages).toEqual([{ data: Buffer.from('héllo'), isBinary: false }]);
  });

  it('fragmented message, ping, pong and close, byte by byte', async () => {
    const frames = [
      ...encodeFrame({ fin: false, opcode: Opcode.Binary, payload: Buffer.from('abc'), mask: true }),
      ...encodeFrame({ opcode: Opcode.Ping, payload: Buffer.from('p1'), mask: true }),
      ...encodeFrame({ fin: false, opcode: Opcode.Continuation, payload: pattern(1000), mask: true }),
      ...encodeFrame({ fin: true, opcode: Opcode.Continuation, payload: Buffer.alloc(0), mask: true }),
      ...encodeFrame({ opcode: Opcode.Pong, payload: Buffer.alloc(0), mask: true }),
      ...encodeFrame({ opcode: Opcode.Close, payload: encodeClosePayload(1000, 'done'), mask: true }),
    ];
    const wire = Buffer.concat(frames);
    const bytes = Array.from({ length: wire.length }, (_, i) => wire.subarray(i, i + 1));
    const got = await wsReceive(bytes, true);
    expect(got.errors).toEqual([]);
    expect(got.messages).toHaveLength(1);
    expect(got.messages[0]!.data.equals(Buffer.concat([Buffer.from('abc'), pattern(1000)]))).toBe(true);
    expect(got.pings.map((p) => p.toString())).toEqual(['p1']);
    expect(got.pongs).toHaveLength(1);
    expect(got.closes).toEqual([{ code: 1000, reason: 'done' }]);
  });

  it('sanity: ws rejects what we reject (unmasked frame to a server)', async () => {
    const got = await wsReceive(encodeFrame({ opcode: Opcode.Binary, payload: Buffer.from('x') }), true);
    expect(got.errors[0]?.code).toBe('WS_ERR_EXPECTED_MASK');
  });
});
