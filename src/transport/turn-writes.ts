/**
 * Coalesces a control channel's writes within one event-loop turn. Under load one turn handles
 * many calls; writing each call's frames at once costs a syscall per call on this side and a
 * wake-up and a read per call on the peer's. Here the first write of a turn goes out at once (the
 * peer starts on it while this side handles the rest of the turn), and the writes after it in
 * the same turn are held (the socket corked) and go out together, in one write, when the turn
 * ends (setImmediate). A write while no other call is in flight on the channel goes out at once
 * and schedules nothing: one call at a time costs what it did without this.
 */
import type { Duplex } from 'node:stream';

export class TurnWrites {
  readonly #socket: Duplex;
  /** A write went out in this turn and the end of the turn is scheduled. */
  #wrote = false;
  /** Writes are being held (the socket corked) for the end of the turn. */
  #holding = false;
  readonly #endOfTurn = (): void => {
    this.#wrote = false;
    if (this.#holding) {
      this.#holding = false;
      this.#socket.uncork();
    }
  };

  constructor(socket: Duplex) {
    this.#socket = socket;
  }

  /**
   * Runs `write` (the socket writes of one message, e.g. a command and its body, which always go
   * out together). `othersInFlight`: other calls are under way on the channel, so more writes may
   * follow in this turn.
   */
  write(write: () => void, othersInFlight: boolean): void {
    if (this.#holding) return write();
    if (this.#wrote) {
      this.#holding = true;
      this.#socket.cork();
      return write();
    }
    if (othersInFlight) {
      this.#wrote = true;
      setImmediate(this.#endOfTurn);
    }
    this.#socket.cork();
    try {
      write();
    } finally {
      this.#socket.uncork();
    }
  }
}
