/** Helpers shared by every options schema (relay, agent, CLI config files). */

/** The part of a zod issue we print (kept structural so core/ takes no dependency). */
export interface SchemaIssue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly keys?: readonly string[];
}

/** Turns schema issues into "path.to.key: message" lines, naming every bad key. */
export function formatIssues(issues: readonly SchemaIssue[], prefix = ''): string[] {
  return issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    if (issue.code === 'unrecognized_keys' && issue.keys) {
      return issue.keys.map((k) => `${path ? `${path}.` : ''}${k}: unknown option`).join('; ');
    }
    return `${path || '(root)'}: ${issue.message}`;
  });
}

/** Freezes plain data recursively; live objects (class instances) are left as they are. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) return value;
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

/** Rejects renamed options with a hint. */
export function renamedOptionHints(input: object, renamed: Record<string, string>): string[] {
  return Object.entries(renamed)
    .filter(([old]) => old in input)
    .map(([old, now]) => `${old}: not an option; use "${now}" instead`);
}
