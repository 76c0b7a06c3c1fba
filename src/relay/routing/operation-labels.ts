/**
 * Bounded metrics labels for SOAP operations. Actions come from callers, so each path keeps at
 * most MAX_OPERATIONS_PER_PATH distinct labels; later ones count as `(other)` and Prometheus
 * series stay bounded whatever clients send.
 */
export const MAX_OPERATIONS_PER_PATH = 200;
export const OTHER_OPERATION = '(other)';
/** Label of SOAP calls with no action (SOAPAction "" and no wsa:Action). */
export const NO_ACTION = '(none)';

export class OperationLabels {
  readonly #byPath = new Map<string, Set<string>>();
  readonly #max: number;

  constructor(maxPerPath = MAX_OPERATIONS_PER_PATH) {
    this.#max = maxPerPath;
  }

  label(path: string, action: string | undefined): string {
    const op = action === undefined || action === '' ? NO_ACTION : action;
    let seen = this.#byPath.get(path);
    if (!seen) {
      seen = new Set();
      this.#byPath.set(path, seen);
    }
    if (seen.has(op)) return op;
    if (seen.size >= this.#max) return OTHER_OPERATION;
    seen.add(op);
    return op;
  }
}
