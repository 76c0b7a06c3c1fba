/**
 * Fuzzing (STYLE.md habit 11): random and mutated input must give frames or a ProtocolError,
 * never another exception and never a hang. Run counts stay modest to keep the suite fast.
 */
import fc from 'fast-check';
import { ProtocolError } from '../../../../src/core/errors';
import { mutatedBytes } from '../../../helpers/mutate';
import { ClientDecoder, ServerDecoder } from '../../../../src/protocol/nmf';
import { loadCaptures } from './fixtures';

const captures = loadCaptures();

/** Pushes `bytes` in chunks of the given sizes; only ProtocolError may escape. */
function survives(make: () => { push(b: Buffer): unknown[]; finish(): boolean }, bytes: Uint8Array, cuts: number[]): boolean {
  const d = make();
  let at = 0;
  try {
    for (const n of cuts) {
      if (at >= bytes.length) break;
      d.push(Buffer.from(bytes.subarray(at, at + n)));
      at += n;
    }
    if (at < bytes.length) d.push(Buffer.from(bytes.subarray(at)));
    d.finish();
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
  }
  return true;
}

const cuts = fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 8 });

describe('NMF decoders under fuzzing', () => {
  it('ServerDecoder: random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), cuts, (b, c) => survives(() => new ServerDecoder(), b, c)), { numRuns: 400 });
  });

  it('ClientDecoder: random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), cuts, (b, c) => survives(() => new ClientDecoder(), b, c)), { numRuns: 400 });
  });

  it('ServerDecoder: random bytes after a valid preamble prefix', () => {
    const prefix = captures[0]!.c2s.subarray(0, 40);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 128 }), cuts, (b, c) => survives(() => new ServerDecoder(), Buffer.concat([prefix, b]), c)),
      { numRuns: 300 },
    );
  });

  it.each(captures)('mutated capture $name (both directions)', ({ c2s, s2c }) => {
    fc.assert(fc.property(mutatedBytes(c2s), cuts, (b, c) => survives(() => new ServerDecoder(), b, c)), { numRuns: 200 });
    fc.assert(fc.property(mutatedBytes(s2c), cuts, (b, c) => survives(() => new ClientDecoder(), b, c)), { numRuns: 200 });
  });
});
