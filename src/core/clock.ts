/** Time source. Everything time-dependent (heartbeats, backoff, SAS expiry, timeouts) reads a Clock. */
export interface TimerHandle {
  unref?(): unknown;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle | undefined): void;
}

/** The real clock; timers are unref'd so they never keep a process alive on their own. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => {
    if (h) clearTimeout(h as NodeJS.Timeout);
  },
  setInterval: (fn, ms) => {
    const t = setInterval(fn, ms);
    t.unref();
    return t;
  },
  clearInterval: (h) => {
    if (h) clearInterval(h as NodeJS.Timeout);
  },
};

/** Seconds since the epoch, as SAS `se` uses. */
export function nowSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}
