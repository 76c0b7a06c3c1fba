/**
 * Caps on callers that have not yet authorized (SOAP bodies read for a RelayAccessToken, net.tcp
 * connections before their first authorized message, bodies read only for a fault's RelatesTo):
 * at most `perAddress` per caller address and `total` in all. A caller over a cap is refused at
 * once (429/ServerTooBusy) and its connection closed, so slow or parked unauthenticated traffic
 * costs a bounded number of sockets and buffers, and an authorized caller (which never takes a
 * slot) still gets through. Counting only: no timers, no I/O.
 */

/** A held slot; release() is idempotent. */
export interface PreAuthSlot {
  readonly address: string;
  release(): void;
}

export interface PreAuthSlotsOptions {
  /** Slots per caller address. */
  readonly perAddress: number;
  /** Slots in all. */
  readonly total: number;
}

export class PreAuthSlots {
  readonly #perAddress: number;
  readonly #total: number;
  readonly #byAddress = new Map<string, number>();
  #inUse = 0;

  constructor(options: PreAuthSlotsOptions) {
    this.#perAddress = options.perAddress;
    this.#total = options.total;
  }

  /** Slots held now. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Slots held now by one address. */
  heldBy(address: string): number {
    return this.#byAddress.get(address) ?? 0;
  }

  /** A slot for `address`, or undefined when either cap is reached. */
  tryAcquire(address: string): PreAuthSlot | undefined {
    const held = this.#byAddress.get(address) ?? 0;
    if (held >= this.#perAddress || this.#inUse >= this.#total) return undefined;
    this.#byAddress.set(address, held + 1);
    this.#inUse++;
    let released = false;
    return {
      address,
      release: () => {
        if (released) return;
        released = true;
        this.#inUse--;
        const n = (this.#byAddress.get(address) ?? 1) - 1;
        if (n <= 0) this.#byAddress.delete(address);
        else this.#byAddress.set(address, n);
      },
    };
  }
}
