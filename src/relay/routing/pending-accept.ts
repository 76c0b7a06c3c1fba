/**
 * A WebSocket sender waiting for a listener to accept (hybrid-connections.md §3.1).
 * The sender's socket is parked (no 101 yet) until the listener dials the accept address:
 * then both legs get their 101 and frames are relayed between them, unmasked and re-emitted
 * with opcode, FIN and fragmentation kept (both legs are clients of the relay, §3.1 step 5).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../../core/clock';
import type { Logger } from '../../core/logger';
import { reasonPhrase } from '../../protocol/hyco';
import { Opcode, buildServerHandshakeResponse } from '../../protocol/websocket';
import { WsEndpoint } from '../../transport/ws-endpoint';
import { writeHttpError } from '../http/raw-response';
import { pump } from '../../core/pump';

export interface PendingAcceptOptions {
  id: string;
  path: string;
  senderKey: string;
  senderProtocols: string[];
  timeoutMs: number;
  maxFramePayloadBytes: number;
  clock: Clock;
  logger: Logger;
  /** `status`: the listener's, for a rejection. */
  onSettled: (p: PendingAccept, result: 'accepted' | 'rejected' | 'timeout' | 'gone', status?: number) => void;
}

export class PendingAccept {
  readonly id: string;
  readonly #sender: Duplex;
  readonly #senderHead: Buffer;
  readonly #o: PendingAcceptOptions;
  #timer: TimerHandle | undefined;
  #settled = false;

  constructor(senderReq: IncomingMessage, senderSocket: Duplex, senderHead: Buffer, options: PendingAcceptOptions) {
    void senderReq;
    this.id = options.id;
    this.#sender = senderSocket;
    this.#senderHead = senderHead;
    this.#o = options;
    this.#timer = options.clock.setTimeout(() => {
      // No rendezvous in time: 504, which .NET maps to TimeoutException (§3.1 step 4).
      this.#settle('timeout');
      writeHttpError(this.#sender, 504, 'Gateway Timeout', 'The listener did not accept the connection in time.');
    }, options.timeoutMs);
    senderSocket.on('close', () => this.#settle('gone'));
    senderSocket.on('error', () => this.#settle('gone'));
  }

  /** The hybrid connection the sender connected to: its accept rendezvous must name it. */
  get path(): string {
    return this.#o.path;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** The listener rejected: 410 to the listener, its status and reason verbatim to the sender. */
  reject(listenerSocket: Duplex, status: number, description: string): void {
    if (this.#settled) return writeHttpError(listenerSocket, 404, 'Not Found', 'This rendezvous is no longer valid.');
    this.#settle('rejected', status);
    writeHttpError(listenerSocket, 410, 'Gone', '');
    const phrase = description.replace(/[\r\n]/g, ' ').slice(0, 512) || reasonPhrase(status);
    writeHttpError(this.#sender, status, phrase, phrase);
  }

  /** The listener accepted: complete both handshakes and bridge frames. */
  accept(listenerSocket: Duplex, listenerHead: Buffer, listenerKey: string, listenerProtocol: string | undefined): void {
    if (this.#settled) return writeHttpError(listenerSocket, 404, 'Not Found', 'This rendezvous is no longer valid.');
    this.#settle('accepted');
    // Both libraries and .NET pick the first protocol the sender offered; echo the listener's choice.
    const protocol = listenerProtocol ?? undefined;
    listenerSocket.write(buildServerHandshakeResponse({ key: listenerKey, protocol }));
    this.#sender.write(buildServerHandshakeResponse({ key: this.#o.senderKey, protocol }));
    const opts = { role: 'server' as const, mode: 'frames' as const, maxFramePayloadBytes: this.#o.maxFramePayloadBytes };
    const a = new WsEndpoint(this.#sender, this.#senderHead, opts);
    const b = new WsEndpoint(listenerSocket, listenerHead, opts);
    bridge(a, b, this.#o.logger);
    bridge(b, a, this.#o.logger);
    a.start();
    b.start();
  }

  /** Drops the pending accept without answering (the caller answers the sender). */
  cancel(): void {
    this.#settle('gone');
  }

  #settle(result: 'accepted' | 'rejected' | 'timeout' | 'gone', status?: number): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#o.clock.clearTimeout(this.#timer);
    this.#o.onSettled(this, result, status);
  }
}

/** Relays frames from one leg to the other with back-pressure; close frames end both. */
function bridge(from: WsEndpoint, to: WsEndpoint, log: Logger): void {
  let closeSeen = false;
  from.on('frameHeader', (h) => {
    if (h.opcode === Opcode.Close) closeSeen = true;
    to.forwardHeader(h);
  });
  pump(from, (f: (data: Buffer) => void) => from.on('frameData', f), (data) => to.forwardData(data), to);
  from.on('frameEnd', (h) => {
    // Once both directions have carried a close frame, the closing handshake is complete.
    if (h.opcode === Opcode.Close && closeSeen && to.closeSent && from.closeSent) {
      from.socket.end();
      to.socket.end();
    }
  });
  from.on('closed', (err) => {
    if (err) log.debug({ err: err.message }, 'websocket leg failed');
    // The other leg ends too; a close frame it already got was forwarded above.
    if (!to.isClosed) {
      if (!to.closeSent && err) to.close(1011, 'peer connection failed');
      else to.socket.end();
    }
  });
}
