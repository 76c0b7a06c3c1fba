/** Fuzzing input: a captured byte string with a few bytes overwritten, inserted or removed. */
import fc from 'fast-check';

export function mutatedBytes(base: Buffer): fc.Arbitrary<Buffer> {
  const edit = fc.record({ at: fc.nat({ max: base.length - 1 }), byte: fc.integer({ min: 0, max: 255 }), op: fc.constantFrom('set', 'insert', 'delete') });
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    const out = [...base];
    for (const e of edits) {
      const i = Math.min(e.at, out.length - 1);
      if (e.op === 'set') out[i] = e.byte;
      else if (e.op === 'insert') out.splice(i, 0, e.byte);
      else out.splice(i, 1);
    }
    return Buffer.from(out);
  });
}
