/**
 * Test helper: feed frames to a FrameDecoder whole, split at an offset, or byte by byte, and
 * fold the event stream back into frames while checking its shape (header → payload* →
 * frameEnd, payload bytes adding up to the header's length, one header object per frame).
 */
import { FrameDecoder, type FrameDecoderOptions, type FrameEvent, type FrameHeader } from '../../../../src/protocol/websocket';

export interface DecodedFrame {
  header: FrameHeader;
  payload: Buffer;
  payloadEvents: number;
}

export function foldEvents(events: FrameEvent[]): DecodedFrame[] {
  const frames: DecodedFrame[] = [];
  let current: { header: FrameHeader; parts: Buffer[] } | undefined;
  for (const ev of events) {
    if (ev.type === 'header') {
      if (current) throw new Error('header while a frame is open');
      current = { header: ev.header, parts: [] };
    } else {
      if (!current) throw new Error(`${ev.type} without a header`);
      if (ev.header !== current.header) throw new Error('event header is not the frame header object');
      if (ev.type === 'payload') {
        if (ev.data.length === 0) throw new Error('empty payload event');
        current.parts.push(Buffer.from(ev.data));
      } else {
        const payload = Buffer.concat(current.parts);
        if (payload.length !== current.header.payloadLength) {
          throw new Error(`payload ${payload.length} bytes, header says ${current.header.payloadLength}`);
        }
        frames.push({ header: current.header, payload, payloadEvents: current.parts.length });
        current = undefined;
      }
    }
  }
  if (current) throw new Error('frame left open');
  return frames;
}

export function decodeChunks(chunks: Buffer[], options: FrameDecoderOptions): DecodedFrame[] {
  const d = new FrameDecoder(options);
  const events: FrameEvent[] = [];
  for (const c of chunks) events.push(...d.push(c));
  return foldEvents(events);
}

/** Copies, so that in-place options or bugs can never leak between feeding strategies. */
const copy = (b: Buffer): Buffer => Buffer.from(b);

export function decodeWhole(wire: Buffer, options: FrameDecoderOptions): DecodedFrame[] {
  return decodeChunks([copy(wire)], options);
}

export function decodeSplitAt(wire: Buffer, at: number, options: FrameDecoderOptions): DecodedFrame[] {
  const w = copy(wire);
  return decodeChunks([w.subarray(0, at), w.subarray(at)], options);
}

export function decodeByteByByte(wire: Buffer, options: FrameDecoderOptions): DecodedFrame[] {
  const w = copy(wire);
  const chunks: Buffer[] = [];
  for (let i = 0; i < w.length; i++) chunks.push(w.subarray(i, i + 1));
  return decodeChunks(chunks, options);
}

/** Only what a relay forwards: FIN, opcode, payload. */
export function summary(frames: DecodedFrame[]): { fin: boolean; opcode: number; payload: string }[] {
  return frames.map((f) => ({ fin: f.header.fin, opcode: f.header.opcode, payload: f.payload.toString('hex') }));
}

/**
 * Decodes `wire` whole, split at every offset (or at `offsets`), and byte by byte; asserts all
 * agree and returns the frames.
 */
export function decodeAllWays(wire: Buffer, options: FrameDecoderOptions, offsets?: number[]): DecodedFrame[] {
  const whole = decodeWhole(wire, options);
  const expected = summary(whole);
  const at = offsets ?? Array.from({ length: wire.length + 1 }, (_, i) => i);
  for (const i of at) {
    const got = summary(decodeSplitAt(wire, i, options));
    if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`split at ${i} decodes differently`);
  }
  if (JSON.stringify(summary(decodeByteByByte(wire, options))) !== JSON.stringify(expected)) {
    throw new Error('byte-by-byte decodes differently');
  }
  return whole;
}
