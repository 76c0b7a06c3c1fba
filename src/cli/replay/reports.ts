/**
 * Replay results for CI: a summary per operation (the SOAP action of each case), JUnit XML (one
 * testsuite per operation, one testcase per case, the diff in the failure) and JSON.
 */
import type { CaseResult, ReplaySummary } from './replay';

export interface OperationSummary {
  readonly operation: string;
  readonly cases: number;
  readonly passed: number;
  readonly failed: number;
  readonly ms: number;
}

/** Cases grouped by operation, in the order operations first appear. */
export function byOperation(results: readonly CaseResult[]): OperationSummary[] {
  const groups = new Map<string, CaseResult[]>();
  for (const r of results) {
    const list = groups.get(r.operation) ?? [];
    list.push(r);
    groups.set(r.operation, list);
  }
  return [...groups].map(([operation, list]) => {
    const passed = list.filter((r) => r.outcome === 'pass').length;
    return { operation, cases: list.length, passed, failed: list.length - passed, ms: list.reduce((n, r) => n + r.ms, 0) };
  });
}

const xmlEscape = (s: string): string =>
  // Characters XML 1.0 cannot hold at all are dropped; markup is escaped.
  s.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

/** JUnit XML as CI systems read it (Jenkins, GitLab, GitHub actions' reporters). */
export function junitReport(summary: ReplaySummary, name: string): string {
  const ops = byOperation(summary.results);
  const total = summary.results.length;
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlEscape(name)}" tests="${total}" failures="${summary.results.filter((r) => r.outcome === 'mismatch').length}" errors="${summary.results.filter((r) => r.outcome === 'error').length}" time="${seconds(summary.results.reduce((n, r) => n + r.ms, 0))}">`,
  ];
  for (const op of ops) {
    const cases = summary.results.filter((r) => r.operation === op.operation);
    out.push(
      `  <testsuite name="${xmlEscape(op.operation)}" tests="${op.cases}" failures="${cases.filter((r) => r.outcome === 'mismatch').length}" errors="${cases.filter((r) => r.outcome === 'error').length}" time="${seconds(op.ms)}">`,
    );
    for (const r of cases) {
      const head = `    <testcase classname="${xmlEscape(op.operation)}" name="${xmlEscape(r.name)}" time="${seconds(r.ms)}"`;
      if (r.outcome === 'pass') {
        out.push(`${head}/>`);
        continue;
      }
      const tag = r.outcome === 'error' ? 'error' : 'failure';
      const message = r.details[0] ?? r.outcome;
      out.push(`${head}>`, `      <${tag} message="${xmlEscape(message)}">${xmlEscape(r.details.join('\n'))}</${tag}>`, '    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}

/** The same as JSON: totals, per operation, and every case with its diff. */
export function jsonReport(summary: ReplaySummary): string {
  return `${JSON.stringify(
    {
      passed: summary.passed,
      failed: summary.failed,
      total: summary.results.length,
      operations: byOperation(summary.results),
      cases: summary.results.map((r) => ({ name: r.name, operation: r.operation, outcome: r.outcome, status: r.status, expectedStatus: r.expectedStatus, ms: r.ms, details: r.details })),
    },
    null,
    2,
  )}\n`;
}
