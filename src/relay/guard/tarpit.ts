/**
 * A tarpit for refused callers that have not authorized (HAProxy's `http-request tarpit`): the
 * refusal (401, 404, 429 …) is written at once, with `Connection: close`, but the relay does not
 * close the connection for `holdMs`. A client that reads its answer and hangs up (any real
 * client, told `Connection: close`) frees the socket at once; a hostile loop that waits for the
 * relay's close before it reconnects is slowed to one attempt per `holdMs` per connection, so it
 * can no longer make the relay accept and refuse thousands of connections a second (which, by
 * filling the accept queue, delays every caller that opens a new connection).
 *
 * Bounded: at most `maxHeld` sockets (past it, a refusal closes at once, as without a tarpit);
 * a held socket's input is read and dropped, and more than `maxInputBytes` of it closes it.
 * Holding costs a file descriptor and a few KiB per socket: an idle socket is cheap in Node.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../../core/clock';
import { endSocket } from '../http/raw-response';

export interface TarpitOptions {
  /** How long a refused connection is kept open after its answer, ms; 0 turns the tarpit off. */
  readonly holdMs: number;
  /** Most sockets held at once. */
  readonly maxHeld: number;
  readonly clock: Clock;
  /** Input a held socket may send before it is closed, bytes. Default 64 KiB. */
  readonly maxInputBytes?: number;
}

export class Tarpit {
  readonly #o: TarpitOptions;
  readonly #held = new Map<Duplex, TimerHandle>();

  constructor(options: TarpitOptions) {
    this.#o = options;
  }

  /** Sockets held now. */
  get size(): number {
    return this.#held.size;
  }

  /**
   * Writes `response` (a whole HTTP response with `Connection: close`) and holds the socket:
   * closed when the client hangs up, after holdMs, or at once when the tarpit is full or off.
   */
  refuse(socket: Duplex, response: string | Buffer): void {
    if (!this.#hold(socket, response)) return;
    const maxInput = this.#o.maxInputBytes ?? 64 * 1024;
    let input = 0;
    // Whatever the caller sends now is read and dropped (a paused socket would hide its hang-up).
    socket.removeAllListeners('data');
    socket.on('data', (chunk: Buffer) => {
      input += chunk.length;
      if (input > maxInput) socket.destroy();
    });
    socket.on('end', () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.resume();
  }

  /**
   * The same for a request the HTTP server is parsing (its parser reads the socket itself): the
   * response is written on the socket, the request is paused (its unread body backs up into the
   * caller's TCP window, bounded), and the socket is held as above. The server never writes on
   * it again: the request's own response is never ended.
   */
  refuseRequest(req: IncomingMessage, response: string | Buffer): void {
    if (this.#hold(req.socket, response)) req.pause();
  }

  /**
   * Writes `response` and keeps `socket` until holdMs; false when it was not kept (gone already,
   * or answered and ended at once because the tarpit is off, full, or holds it already).
   */
  #hold(socket: Duplex, response: string | Buffer): boolean {
    if (socket.destroyed || !socket.writable) return false;
    const o = this.#o;
    if (o.holdMs <= 0 || this.#held.size >= o.maxHeld || this.#held.has(socket)) {
      endSocket(socket, response);
      return false;
    }
    socket.write(response);
    const timer = o.clock.setTimeout(() => socket.destroy(), o.holdMs);
    this.#held.set(socket, timer);
    socket.once('close', () => {
      o.clock.clearTimeout(timer);
      this.#held.delete(socket);
    });
    return true;
  }

  /** Shutdown: every held socket closed. */
  close(): void {
    for (const [socket, timer] of this.#held) {
      this.#o.clock.clearTimeout(timer);
      socket.destroy();
    }
    this.#held.clear();
  }
}
