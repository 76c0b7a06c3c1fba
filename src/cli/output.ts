/** `-o json|table` for list and show commands. */
import { UsageError } from './spec';

export type OutputFormat = 'json' | 'table';

export function outputFormat(v: unknown, command: string): OutputFormat {
  if (v === undefined || v === 'json') return 'json';
  if (v === 'table') return 'table';
  throw new UsageError(command, `--output: expected json or table, got "${String(v)}"`);
}

/** An object in a cell by its name (a rule's keyName, a listener's id), else as JSON. */
const named = (v: object): string => {
  const o = v as Record<string, unknown>;
  const name = o.keyName ?? o.path ?? o.listenerId;
  return typeof name === 'string' ? name : JSON.stringify(v);
};
const cell = (v: unknown): string => (v === undefined || v === null ? '' : Array.isArray(v) ? v.map(cell).join(',') : typeof v === 'object' ? named(v) : String(v));

function table(rows: ReadonlyArray<Record<string, unknown>>, columns?: readonly string[]): string {
  if (!rows.length) return '(none)\n';
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: readonly string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return `${[line(cols), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n')}\n`;
}

/**
 * A list (`{value: [...]}` or an array) is one table; an object is `field  value` lines, then a
 * table per list field under its name.
 */
export function render(data: unknown, format: OutputFormat): string {
  if (format === 'json') return `${JSON.stringify(data, null, 2)}\n`;
  const list = Array.isArray(data) ? data : Array.isArray((data as { value?: unknown })?.value) ? (data as { value: unknown[] }).value : undefined;
  if (list) return table(list as Array<Record<string, unknown>>);
  if (!data || typeof data !== 'object') return `${cell(data)}\n`;
  const entries = Object.entries(data as Record<string, unknown>);
  const scalars = entries.filter(([, v]) => !Array.isArray(v));
  const w = Math.max(0, ...scalars.map(([k]) => k.length));
  let out = scalars.map(([k, v]) => `${k.padEnd(w)}  ${cell(v)}`).join('\n') + (scalars.length ? '\n' : '');
  for (const [k, v] of entries.filter(([, x]) => Array.isArray(x))) out += `\n${k}:\n${table(v as Array<Record<string, unknown>>)}`;
  return out;
}
