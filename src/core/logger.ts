/** The logging surface relaybridge needs: a pino-compatible subset. Inject any pino logger. */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => {};

/** A logger that discards everything (default in tests and for library users who pass none). */
export const noopLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => noopLogger,
};

/** Keys whose values must never reach a log line. Used for pino's `redact` in cli/. */
export const REDACT_PATHS: readonly string[] = [
  'sig',
  'token',
  'key',
  'primaryKey',
  'secondaryKey',
  'headers.authorization',
  'headers.serviceBusAuthorization',
  'headers["servicebusauthorization"]',
  'headers["sb-hc-token"]',
  '*.token',
  '*.primaryKey',
  '*.secondaryKey',
];

/** Removes SAS material from a URL or header value before it is logged. */
export function redactSecrets(text: string): string {
  return text
    .replace(/(sig=)[^&\s"]+/gi, '$1[redacted]')
    .replace(/(sb-hc-token=)[^&\s"]+/gi, '$1[redacted]')
    .replace(/(SharedAccessSignature\s+)\S+/gi, '$1[redacted]');
}

/**
 * A child logger made on first use: for per-call loggers on hot paths, where most calls log
 * nothing and creating a pino child (its bindings serialized) would cost on every call.
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  let child: Logger | undefined;
  const get = (): Logger => (child ??= parent.child(bindings));
  const fn = (level: 'trace' | 'debug' | 'info' | 'warn' | 'error'): LogFn =>
    ((a: object | string, msg?: string) => (typeof a === 'string' ? get()[level](a) : get()[level](a, msg))) as LogFn;
  return { trace: fn('trace'), debug: fn('debug'), info: fn('info'), warn: fn('warn'), error: fn('error'), child: (b) => get().child(b) };
}

/**
 * A warning that a hostile or broken peer can trigger at will (a failed TLS handshake), written
 * at most once per `intervalMs` per key (a client address), with how many were suppressed since
 * the last line, so the log says it happened without becoming the attacker's amplifier.
 */
export class ThrottledWarning {
  readonly #seen = new Map<string, { at: number; suppressed: number }>();

  constructor(
    readonly intervalMs: number,
    readonly now: () => number,
    readonly maxKeys = 10_000,
  ) {}

  /** Writes `msg` to `log.warn` unless `key` had a line within the interval (then it counts it). */
  warn(log: Logger, key: string, obj: Record<string, unknown>, msg: string): void {
    const now = this.now();
    const entry = this.#seen.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    if (!entry && this.#seen.size >= this.maxKeys) this.#seen.clear();
    log.warn({ ...obj, ...(entry?.suppressed ? { suppressed: entry.suppressed } : {}) }, msg);
    this.#seen.set(key, { at: now, suppressed: 0 });
  }
}
