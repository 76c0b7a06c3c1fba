/**
 * Coalescing a busy event-loop turn's outgoing messages on one connection (a control channel, the
 * NATS connection between relay nodes). Under load one turn handles many calls; sending each
 * call's message at once costs a write syscall per call on this side and a wake-up and a read per
 * call on the peer's. With a gate, the first message of a turn goes out at once (the peer starts
 * on it while this side handles the rest of the turn); the messages after it in the same turn are
 * held and go out together, in one write, when the turn ends (setImmediate), in order.
 *
 * The gate decides; its owner holds and releases (corks a socket and uncorks it, or queues
 * messages and sends them all).
 */
export class TurnGate {
  /** A message went out in this turn and the end of the turn is scheduled. */
  #sent = false;
  /** Messages are being held for the end of the turn. */
  #holding = false;
  readonly #release: () => void;
  readonly #endOfTurn = (): void => {
    this.#sent = false;
    if (this.#holding) {
      this.#holding = false;
      this.#release();
    }
  };

  /** `release`: sends what was held since the last `hold` answer began a hold. */
  constructor(release: () => void) {
    this.#release = release;
  }

  /**
   * How the next message goes: `now`, or `hold` (it joins the turn's held messages; `begin` on the
   * first of them, when the owner starts holding). `othersInFlight`: other calls are under way,
   * so more messages may follow in this turn; without them a message goes out at once and
   * nothing is scheduled.
   */
  admit(othersInFlight: boolean): 'now' | 'begin' | 'hold' {
    if (this.#holding) return 'hold';
    if (this.#sent) {
      this.#holding = true;
      return 'begin';
    }
    if (othersInFlight) {
      this.#sent = true;
      setImmediate(this.#endOfTurn);
    }
    return 'now';
  }
}
