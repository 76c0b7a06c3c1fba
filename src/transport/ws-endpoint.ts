/**
 * A WebSocket endpoint at frame level over an upgraded socket: the few lines of socket glue
 * around the I/O-free frame codec in protocol/websocket. Shared by relay/ (server role on
 * rendezvous and sender sockets) and agent/ (client role on rendezvous sockets).
 *
 * Why not `ws`: rendezvous sockets carry bodies of any size, and a relay must stream them
 * frame by frame (hybrid-connections.md §2.4 item 4, §10 item 3); `ws` assembles whole
 * messages under a maxPayload cap. Control channels (small JSON) still use `ws`.
 *
 * Two ways to consume what arrives:
 *  - 'frames' mode: every frame is reported as header/data/end events (the sender bridge
 *    re-emits them to the other leg, preserving opcode, FIN and fragmentation);
 *  - 'messages' mode: text messages are assembled (bounded) and emitted whole; binary
 *    messages stream as binaryStart/binaryData/binaryEnd; pings are answered; a close frame is
 *    answered and the socket ended.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { ProtocolError, RelayError } from '../core/errors';
import {
  FrameDecoder,
  Opcode,
  decodeClosePayload,
  encodeClosePayload,
  encodeFrame,
  encodeFrameHeader,
  applyMask,
  type FrameHeader,
} from '../protocol/websocket';

export type WsRole = 'server' | 'client';

export interface WsEndpointOptions {
  role: WsRole;
  mode: 'frames' | 'messages';
  /** Largest single frame payload accepted, bytes. Default 16 MiB. */
  maxFramePayloadBytes?: number;
  /** Largest assembled text message (messages mode), bytes. Default 1 MiB. */
  maxTextMessageBytes?: number;
  /**
   * Messages mode: binary messages are assembled too (within maxTextMessageBytes) and emitted
   * whole as `binary`, instead of streamed as binaryStart/binaryData/binaryEnd.
   */
  assembleBinary?: boolean;
}

export interface WsEndpointEvents {
  frameHeader: [header: FrameHeader];
  frameData: [data: Buffer, header: FrameHeader];
  frameEnd: [header: FrameHeader];
  text: [text: string];
  binary: [data: Buffer];
  binaryStart: [];
  binaryData: [data: Buffer];
  binaryEnd: [];
  closeFrame: [code: number | undefined, reason: string];
  closed: [error: Error | undefined];
  drain: [];
}

const MASKED_ROLE: Record<WsRole, boolean> = { server: false, client: true };

export class WsEndpoint extends EventEmitter<WsEndpointEvents> {
  readonly socket: Duplex;
  readonly role: WsRole;
  readonly #mode: 'frames' | 'messages';
  readonly #decoder: FrameDecoder;
  readonly #maxText: number;
  readonly #assembleBinary: boolean;
  #textParts: Buffer[] = [];
  #textBytes = 0;
  /** Opcode of the message being received in messages mode (Text/Binary), or 0. */
  #inMessage = 0;
  /** Control frame payload being assembled (≤125 bytes). */
  #control: Buffer[] = [];
  /** True while we are sending a fragmented binary message. */
  #sendingFragmented = false;
  #closeSent = false;
  #head: Buffer | undefined;
  #started = false;
  #fwdMask: Buffer | undefined;
  #fwdOffset = 0;
  #closed = false;

  constructor(socket: Duplex, head: Buffer | undefined, options: WsEndpointOptions) {
    super();
    this.socket = socket;
    this.role = options.role;
    this.#mode = options.mode;
    this.#maxText = options.maxTextMessageBytes ?? 1024 * 1024;
    this.#assembleBinary = options.assembleBinary === true;
    this.#decoder = new FrameDecoder({
      role: options.role,
      maxFramePayloadBytes: options.maxFramePayloadBytes ?? 16 * 1024 * 1024,
    });
    this.#head = head;
    socket.on('drain', () => this.emit('drain'));
    socket.on('error', (err) => this.#finish(err));
    socket.on('close', () => this.#finish(undefined));
    socket.on('end', () => {
      if (!this.#closed) socket.end();
    });
  }

  /**
   * Starts reading. Call it once every listener is attached: bytes that came with the
   * handshake (`head`) are delivered first, so nothing can be emitted into the void.
   */
  start(): this {
    if (this.#started) return this;
    this.#started = true;
    const head = this.#head;
    this.#head = undefined;
    if (head && head.length) this.#onData(head);
    this.socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    return this;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    let events;
    try {
      events = this.#decoder.push(chunk);
    } catch (err) {
      this.#fail(err);
      return;
    }
    for (const ev of events) {
      if (this.#closed) return;
      try {
        if (this.#mode === 'frames') this.#forwardEvent(ev);
        else this.#messageEvent(ev);
      } catch (err) {
        this.#fail(err);
        return;
      }
    }
  }

  #forwardEvent(ev: ReturnType<FrameDecoder['push']>[number]): void {
    if (ev.type === 'header') this.emit('frameHeader', ev.header);
    else if (ev.type === 'payload') this.emit('frameData', ev.data, ev.header);
    else {
      this.emit('frameEnd', ev.header);
    }
  }

  #messageEvent(ev: ReturnType<FrameDecoder['push']>[number]): void {
    const { opcode } = ev.header;
    if (opcode >= 8) {
      // Control frames (RFC 6455 §5.5): small, never fragmented.
      if (ev.type === 'payload') this.#control.push(ev.data);
      else if (ev.type === 'frameEnd') {
        const payload = Buffer.concat(this.#control);
        this.#control = [];
        this.#onControl(opcode, payload);
      }
      return;
    }
    if (ev.type === 'header') {
      if (opcode === Opcode.Text) {
        this.#inMessage = Opcode.Text;
        this.#textParts = [];
        this.#textBytes = 0;
      } else if (opcode === Opcode.Binary) {
        this.#inMessage = Opcode.Binary;
        if (this.#assembleBinary) {
          this.#textParts = [];
          this.#textBytes = 0;
        } else this.emit('binaryStart');
      }
      return;
    }
    if (ev.type === 'payload') {
      if (this.#inMessage === Opcode.Text || this.#assembleBinary) {
        this.#textBytes += ev.data.length;
        if (this.#textBytes > this.#maxText) {
          throw new ProtocolError('RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE', `${this.#inMessage === Opcode.Text ? 'text' : 'binary'} message over ${this.#maxText} bytes`);
        }
        this.#textParts.push(Buffer.from(ev.data));
      } else if (ev.data.length) {
        this.emit('binaryData', ev.data);
      }
      return;
    }
    // frameEnd of a data frame: the message ends with FIN.
    if (!ev.header.fin) return;
    if (this.#inMessage === Opcode.Text) {
      this.#inMessage = 0;
      const text = Buffer.concat(this.#textParts).toString('utf8');
      this.#textParts = [];
      this.emit('text', text);
    } else if (this.#assembleBinary) {
      this.#inMessage = 0;
      const data = this.#textParts.length === 1 ? this.#textParts[0]! : Buffer.concat(this.#textParts);
      this.#textParts = [];
      this.emit('binary', data);
    } else {
      this.#inMessage = 0;
      this.emit('binaryEnd');
    }
  }

  #onControl(opcode: number, payload: Buffer): void {
    if (opcode === Opcode.Ping) {
      this.#write(encodeFrame({ opcode: Opcode.Pong, payload, mask: MASKED_ROLE[this.role] }));
    } else if (opcode === Opcode.Close) {
      const { code, reason } = decodeClosePayload(payload);
      this.emit('closeFrame', code, reason);
      this.close(code ?? 1000, '');
    }
  }

  #write(buffers: Buffer[]): boolean {
    if (this.#closed || this.socket.destroyed || !this.socket.writable) return false;
    let ok = true;
    // A frame's header and payload in one write (writev): one syscall, and the peer wakes once.
    this.socket.cork();
    for (const b of buffers) if (b.length) ok = this.socket.write(b);
    this.socket.uncork();
    return ok;
  }

  /** Sends a complete text message. */
  sendText(text: string): boolean {
    return this.#write(encodeFrame({ opcode: Opcode.Text, payload: Buffer.from(text, 'utf8'), mask: MASKED_ROLE[this.role] }));
  }

  /** Sends a complete binary message in one frame. */
  sendBinary(data: Buffer): boolean {
    return this.#write(encodeFrame({ opcode: Opcode.Binary, payload: data, mask: MASKED_ROLE[this.role] }));
  }

  /**
   * Streams one binary message as fragments: call writeBinaryFragment for each chunk, then
   * endBinaryMessage (RFC 6455 §5.4: first frame Binary, then Continuation, FIN on the last).
   */
  writeBinaryFragment(chunk: Buffer): boolean {
    const opcode = this.#sendingFragmented ? Opcode.Continuation : Opcode.Binary;
    this.#sendingFragmented = true;
    return this.#write(encodeFrame({ opcode, payload: chunk, fin: false, mask: MASKED_ROLE[this.role] }));
  }

  endBinaryMessage(lastChunk: Buffer = Buffer.alloc(0)): boolean {
    const opcode = this.#sendingFragmented ? Opcode.Continuation : Opcode.Binary;
    this.#sendingFragmented = false;
    return this.#write(encodeFrame({ opcode, payload: lastChunk, fin: true, mask: MASKED_ROLE[this.role] }));
  }

  /** Frames mode: re-emits a frame header received on another leg (masking per our role). */
  forwardHeader(header: FrameHeader): boolean {
    this.#fwdMask = MASKED_ROLE[this.role] ? randomBytes(4) : undefined;
    this.#fwdOffset = 0;
    if (header.opcode === Opcode.Close) this.#closeSent = true;
    return this.#write([
      encodeFrameHeader({ fin: header.fin, opcode: header.opcode, payloadLength: header.payloadLength, mask: this.#fwdMask }),
    ]);
  }

  /** Frames mode: re-emits payload bytes of the frame whose header was forwarded last. */
  forwardData(data: Buffer): boolean {
    if (!this.#fwdMask) return this.#write([data]);
    const masked = applyMask(data, this.#fwdMask, this.#fwdOffset);
    this.#fwdOffset += data.length;
    return this.#write([masked]);
  }

  get closeSent(): boolean {
    return this.#closeSent;
  }

  /** Sends a close frame (once) and ends the socket shortly after. */
  close(code = 1000, reason = ''): void {
    if (this.#closed) return;
    if (!this.#closeSent) {
      this.#closeSent = true;
      this.#write(encodeFrame({ opcode: Opcode.Close, payload: encodeClosePayload(code, reason), mask: MASKED_ROLE[this.role] }));
    }
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), 2000);
    t.unref();
  }

  /** Closes without a handshake. */
  terminate(): void {
    this.socket.destroy();
  }

  #fail(err: unknown): void {
    const e = err instanceof RelayError ? err : new ProtocolError('RELAY_ERR_PROTOCOL_WS_FRAME', String(err));
    this.close(e.wsCloseCode ?? 1002, e.message.slice(0, 120));
    this.#finish(e);
  }

  #finish(err: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.emit('closed', err);
  }
}
