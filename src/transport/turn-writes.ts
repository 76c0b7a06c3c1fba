/**
 * A control channel's socket writes through a TurnGate (core/turn-gate.ts): a busy turn's
 * messages after the first are held with the socket corked and go out in one write at the turn's
 * end. Each message's own writes (a command and its body) always go out together.
 */
import type { Duplex } from 'node:stream';
import { TurnGate } from '../core/turn-gate';

export class TurnWrites {
  readonly #socket: Duplex;
  readonly #gate: TurnGate;

  constructor(socket: Duplex) {
    this.#socket = socket;
    this.#gate = new TurnGate(() => socket.uncork());
  }

  /** Runs `write` (the socket writes of one message). `othersInFlight`: see TurnGate.admit. */
  write(write: () => void, othersInFlight: boolean): void {
    const how = this.#gate.admit(othersInFlight);
    if (how !== 'now') {
      if (how === 'begin') this.#socket.cork();
      return write();
    }
    this.#socket.cork();
    try {
      write();
    } finally {
      this.#socket.uncork();
    }
  }
}
