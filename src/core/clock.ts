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

/**
 * The real clock; timers are unref'd so they never keep a process alive on their own (a library's
 * timeouts must not stop its user's process from exiting). A long-running component whose only
 * pending work can be such a timer (an agent waiting to reconnect) holds the process with
 * holdProcess() from its start() to its stop().
 */
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

/** The longest delay a Node timer takes (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Keeps the Node event loop (and so the process) alive until the returned release function is
 * called: one ref'd timer that does nothing. Releasing twice is harmless.
 */
export function holdProcess(): () => void {
  let handle: NodeJS.Timeout | undefined = setInterval(() => undefined, MAX_TIMER_MS);
  return () => {
    if (handle) clearInterval(handle);
    handle = undefined;
  };
}

/** Seconds since the epoch, as SAS `se` uses. */
export function nowSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}

/** A watch that calls `onIdle` once `ms` pass without a touch() (e.g. a body that stops arriving). */
export interface IdleWatch {
  /** Something arrived: start the wait again. */
  touch(): void;
  /** Done waiting: onIdle will not be called. */
  stop(): void;
}

/** Starts an IdleWatch at once. */
export function idleWatch(clock: Clock, ms: number, onIdle: () => void): IdleWatch {
  let handle: TimerHandle | undefined = clock.setTimeout(onIdle, ms);
  return {
    touch: () => {
      clock.clearTimeout(handle);
      handle = clock.setTimeout(onIdle, ms);
    },
    stop: () => {
      clock.clearTimeout(handle);
      handle = undefined;
    },
  };
}
