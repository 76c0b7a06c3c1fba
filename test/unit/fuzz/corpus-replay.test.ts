/**
 * The fuzz targets (test/fuzz/targets.ts) in the unit suite: every seed (captures from
 * ../shared/vectors when present, plus the committed test/fuzz/corpus/) through every target,
 * then random and mutated bytes through each target with fast-check. Each target throws only on
 * a finding (anything but the project's protocol errors, or a broken property), so a passing
 * run means: no crash on any seed, and none on these random inputs.
 */
import fc from 'fast-check';
import { buildSeeds, committedSeeds, seedsFromVectors } from '../../fuzz/seed';
import { TARGETS, joinSessionMessages, splitSessionMessages } from '../../fuzz/targets';

const seeds = buildSeeds();

describe('fuzz seed corpus', () => {
  it('has committed seeds for every target without captures, and capture seeds when ../shared/vectors is there', () => {
    const committed = new Set(committedSeeds().map((s) => s.target));
    for (const t of ['nmf-server', 'nmf-client', 'nbfx-session', 'hyco-listener', 'hyco-service', 'websocket-frames', 'sas-token']) {
      expect(committed).toContain(t);
    }
    const fromVectors = seedsFromVectors();
    if (fromVectors.length > 0) {
      const targets = new Set(fromVectors.map((s) => s.target));
      for (const t of ['nmf-server', 'nmf-client', 'nbfx-session', 'soap-envelope', 'xml-text', 'soap-content-type']) expect(targets).toContain(t);
    }
  });

  it('session framing round-trips', () => {
    const payloads = [Buffer.from('a'), Buffer.alloc(300, 1), Buffer.from([0x80, 0x81])];
    expect(splitSessionMessages(joinSessionMessages(payloads))).toEqual(payloads);
  });

  for (const target of TARGETS) {
    it(`${target.name}: every seed of every target passes`, () => {
      const failures: string[] = [];
      for (const s of seeds) {
        try {
          target.run(s.bytes);
        } catch (err) {
          failures.push(`${s.origin}: ${(err as Error).stack ?? String(err)}`);
        }
      }
      expect(failures).toEqual([]);
    });
  }
});

describe('fuzz targets on random input (fast-check)', () => {
  for (const target of TARGETS) {
    const own = seeds.filter((s) => s.target === target.name).map((s) => s.bytes);
    // Random bytes, and seeds with random bytes spliced in (reaches past the first record).
    const input = own.length
      ? fc.oneof(
          fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
          fc.tuple(fc.constantFrom(...own), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([s, at, ins]) => {
            const p = at % (s.length + 1);
            return Buffer.concat([s.subarray(0, p), Buffer.from(ins), s.subarray(p + ins.length)]);
          }),
        )
      : fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a));
    it(`${target.name}: only protocol errors`, () => {
      fc.assert(
        fc.property(input, (bytes) => {
          target.run(bytes);
        }),
        { numRuns: 150 },
      );
    });
  }
});
