/**
 * Per-path call statistics over the last minutes, for the status page: calls per second,
 * errors, and p50/p99 durations. Calls are counted in 10-second buckets; each bucket keeps the
 * durations of its first calls (a bounded sample) for the percentiles. Memory is bounded: at most
 * MAX_PATHS paths (the least recently called go first), WINDOW_MS of buckets per path, and
 * SAMPLE_PER_BUCKET durations per bucket.
 */

const BUCKET_MS = 10_000;
/** The window the errors and percentiles cover. */
export const STATS_WINDOW_MS = 5 * 60_000;
/** The window calls per second are averaged over. */
const RATE_WINDOW_MS = 60_000;
const SAMPLE_PER_BUCKET = 512;
const MAX_PATHS = 1000;

interface Bucket {
  readonly start: number;
  calls: number;
  errors: number;
  readonly durations: number[];
}

export interface PathStats {
  /** Calls per second over the last minute. */
  readonly callsPerSecond: number;
  /** Calls over the window. */
  readonly calls: number;
  /** Calls answered with a status of 400 or more (refusals and failures) over the window. */
  readonly errors: number;
  /** Durations over the window, ms; undefined without calls. */
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
}

export class CallStats {
  readonly #paths = new Map<string, Bucket[]>();
  readonly #now: () => number;
  /** The path of the last call recorded: the map's last key. */
  #last: string | undefined;

  constructor(now: () => number) {
    this.#now = now;
  }

  record(path: string, status: number, ms: number): void {
    const now = this.#now();
    const start = now - (now % BUCKET_MS);
    let buckets = this.#paths.get(path);
    // Re-inserted unless it is the most recent already: the map's order is least recently called first.
    if (!buckets || path !== this.#last) {
      if (buckets) this.#paths.delete(path);
      else {
        buckets = [];
        if (this.#paths.size >= MAX_PATHS) this.#paths.delete(this.#paths.keys().next().value!);
      }
      this.#paths.set(path, buckets);
      this.#last = path;
    }
    let last = buckets[buckets.length - 1];
    if (!last || last.start !== start) {
      last = { start, calls: 0, errors: 0, durations: [] };
      buckets.push(last);
      while (buckets.length > 0 && buckets[0]!.start < start - STATS_WINDOW_MS) buckets.shift();
    }
    last.calls++;
    if (status >= 400 || status === 0) last.errors++;
    if (last.durations.length < SAMPLE_PER_BUCKET) last.durations.push(ms);
  }

  stats(path: string): PathStats {
    const now = this.#now();
    const current = now - (now % BUCKET_MS);
    // The bucket in progress and the full ones before it that the windows cover.
    const buckets = (this.#paths.get(path) ?? []).filter((b) => b.start >= current - STATS_WINDOW_MS);
    let calls = 0;
    let errors = 0;
    let recent = 0;
    const durations: number[] = [];
    for (const b of buckets) {
      calls += b.calls;
      errors += b.errors;
      if (b.start >= current - RATE_WINDOW_MS) recent += b.calls;
      durations.push(...b.durations);
    }
    durations.sort((a, b) => a - b);
    const at = (q: number): number | undefined => (durations.length ? durations[Math.min(durations.length - 1, Math.floor(q * durations.length))] : undefined);
    // The rate window: the last minute's full buckets plus the one in progress.
    const rateSpan = (RATE_WINDOW_MS + (now % BUCKET_MS) + 1) / 1000;
    return { callsPerSecond: recent / rateSpan, calls, errors, p50Ms: at(0.5), p99Ms: at(0.99) };
  }
}
