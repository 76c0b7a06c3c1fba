/**
 * Capped exponential backoff with jitter (grpc-js BackoffTimeout style):
 * delay(n) = min(maxMs, initialMs * multiplier^n) * (1 ± jitter).
 */
export interface BackoffOptions {
  /** First delay, ms. Default 500. */
  initialMs?: number;
  /** Growth factor per attempt. Default 1.6. */
  multiplier?: number;
  /** Cap, ms. Default 30000. */
  maxMs?: number;
  /** Relative jitter in [0,1]. Default 0.2. */
  jitter?: number;
  /** Random source in [0,1). Default Math.random. */
  random?: () => number;
}

export class Backoff {
  readonly #initialMs: number;
  readonly #multiplier: number;
  readonly #maxMs: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.#initialMs = options.initialMs ?? 500;
    this.#multiplier = options.multiplier ?? 1.6;
    this.#maxMs = options.maxMs ?? 30_000;
    this.#jitter = options.jitter ?? 0.2;
    this.#random = options.random ?? Math.random;
  }

  /** Attempts made since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The configured cap, ms. */
  get maxMs(): number {
    return this.#maxMs;
  }

  /**
   * The next delay in ms; advances the attempt counter. `capMs` replaces the cap for this
   * delay (e.g. a longer one after a refused credential), default the configured maxMs.
   */
  next(capMs: number = this.#maxMs): number {
    // The exponent is bounded so a retry loop that runs for years never overflows to Infinity.
    const growth = this.#multiplier ** Math.min(this.#attempt, 1000);
    const base = Math.min(capMs, this.#initialMs * (Number.isFinite(growth) ? growth : Number.MAX_VALUE));
    this.#attempt++;
    const spread = base * this.#jitter * (this.#random() * 2 - 1);
    return Math.max(0, Math.round(base + spread));
  }

  reset(): void {
    this.#attempt = 0;
  }
}
