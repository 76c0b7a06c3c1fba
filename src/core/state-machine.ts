/**
 * An explicit state with a transition table: one field instead of a set of flags, and every
 * change checked against the table (anything else is a bug and throws). Used by the agent's
 * listener channel, the relay's net.tcp connection and its session carrier, and the agent's
 * net.tcp service session.
 */

/** Allowed next states of each state; a state with none is final. */
export type TransitionTable<S extends string> = Readonly<Record<S, readonly S[]>>;

export class StateMachine<S extends string> {
  readonly #name: string;
  readonly #table: TransitionTable<S>;
  #state: S;

  constructor(name: string, initial: S, table: TransitionTable<S>) {
    this.#name = name;
    this.#table = table;
    this.#state = initial;
  }

  get state(): S {
    return this.#state;
  }

  /** True when the state is one of `states`. */
  is(...states: S[]): boolean {
    return states.includes(this.#state);
  }

  /** True when the table allows `next` from the current state. */
  can(next: S): boolean {
    return this.#table[this.#state].includes(next);
  }

  /** Moves to `next`; returns the state it left. Throws on a move the table does not allow. */
  to(next: S): S {
    const from = this.#state;
    if (!this.#table[from].includes(next)) throw new Error(`${this.#name}: illegal transition ${from} → ${next}`);
    this.#state = next;
    return from;
  }
}
