/** lazyChild: a per-call child logger that costs nothing until something is logged. */
import { lazyChild, type Logger } from '../../../src/core/logger';

function recorder(): { logger: Logger; children: Record<string, unknown>[]; lines: unknown[][] } {
  const children: Record<string, unknown>[] = [];
  const lines: unknown[][] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const log = (level: string) => (a: unknown, msg?: string) => void lines.push([level, bindings, a, msg]);
    return { trace: log('trace'), debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: (b) => (children.push(b), make({ ...bindings, ...b })) };
  };
  return { logger: make({}), children, lines };
}

describe('lazyChild', () => {
  it('makes no child until the first line, then one, and logs with its bindings', () => {
    const r = recorder();
    const log = lazyChild(r.logger, { requestId: 'r1' });
    expect(r.children).toEqual([]);
    log.info({ status: 200 }, 'done');
    log.warn('plain message');
    expect(r.children).toEqual([{ requestId: 'r1' }]);
    expect(r.lines).toEqual([
      ['info', { requestId: 'r1' }, { status: 200 }, 'done'],
      ['warn', { requestId: 'r1' }, 'plain message', undefined],
    ]);
    log.child({ part: 2 }).debug('deeper');
    expect(r.lines[2]).toEqual(['debug', { requestId: 'r1', part: 2 }, 'deeper', undefined]);
  });
});
