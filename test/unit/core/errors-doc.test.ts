/**
 * Keeps docs/errors.md and the exported ERROR_CODES registry in step, both ways (fastify
 * test/internals/errors.test.js does the same for Errors.md). The registry is read at run time,
 * so a code added to src/core/errors.ts fails this test until it is documented.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ERROR_CODES, type WireForms } from '../../../src/core/errors';

interface Row {
  code: string;
  meaning: string;
  whatToDo: string;
  cells: number;
  line: number;
}

const DOC = path.join(__dirname, '..', '..', '..', 'docs', 'errors.md');

/** Rows of the `| code | meaning | what to do |` table (cells split on unescaped `|`). */
function readRows(text: string): Row[] {
  const rows: Row[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!/^\|\s*`RELAY_ERR_/.test(line)) return;
    const cells = line
      .trim()
      .replace(/^\||\|$/g, '')
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
    rows.push({ code: cells[0]!.replace(/`/g, ''), meaning: cells[1] ?? '', whatToDo: cells[2] ?? '', cells: cells.length, line: i + 1 });
  });
  return rows;
}

describe('docs/errors.md', () => {
  const text = fs.readFileSync(DOC, 'utf8');
  const rows = readRows(text);
  const documented = rows.map((r) => r.code);
  const registry = Object.keys(ERROR_CODES);

  it('has the table header', () => {
    expect(text).toMatch(/^\| code \| meaning \| what to do \|$/m);
  });

  it('documents every code in ERROR_CODES', () => {
    const missing = registry.filter((c) => !documented.includes(c));
    expect(missing).toEqual([]);
  });

  it('documents no code that ERROR_CODES lacks', () => {
    const extra = documented.filter((c) => !registry.includes(c));
    expect(extra).toEqual([]);
  });

  it('has one row per code, with three cells', () => {
    const dups = documented.filter((c, i) => documented.indexOf(c) !== i);
    expect(dups).toEqual([]);
    const bad = rows.filter((r) => r.cells !== 3 || !/^RELAY_ERR_[A-Z0-9_]+$/.test(r.code));
    expect(bad.map((r) => `line ${r.line}: ${r.code} (${r.cells} cells)`)).toEqual([]);
  });

  it('says what each code means and what to do', () => {
    const empty = rows.filter((r) => r.meaning.length < 10 || r.whatToDo.length < 10).map((r) => `${r.code} (line ${r.line})`);
    expect(empty).toEqual([]);
  });

  it('names the registry default where it names an HTTP status', () => {
    const wrong = rows.flatMap((r) => {
      const named = /^\(HTTP (\d{3})\)/.exec(r.meaning)?.[1];
      const actual = (ERROR_CODES as Record<string, WireForms>)[r.code]?.httpStatus;
      if (named === undefined) return actual === undefined ? [] : [`${r.code}: registry says HTTP ${actual}, the row names none`];
      return Number(named) === actual ? [] : [`${r.code}: row says HTTP ${named}, registry says ${actual ?? 'none'}`];
    });
    expect(wrong).toEqual([]);
  });
});
