/**
 * Bugs in the NBFX reader found while writing the fuzz targets (test/fuzz/targets.ts: the
 * nmf-server target bounds the text a decoded envelope expands to), one test each.
 */
import { ProtocolError } from '../../../../src/core/errors';
import { NbfxStreamReader, SessionReader, readNbfx } from '../../../../src/protocol/nbfx';
import { binaryToXml, decodeEnvelope } from '../../../../src/protocol/soap-binary';

/** MB31 encoding (values < 2^14 here). */
const mb31 = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, n >> 7]);

/** A msbinsession1 payload: one 2000-char session string, then <a> with `refs` DictionaryText records naming it. */
function amplifyingPayload(refs: number): Buffer {
  const str = Buffer.from('x'.repeat(2000));
  const entry = Buffer.from([...mb31(str.length), ...str]);
  const table = Buffer.from([...mb31(entry.length), ...entry]);
  const text = Buffer.alloc(refs * 2);
  for (let i = 0; i < refs; i++) text.set([0xaa, 0x01], i * 2); // DictionaryText, key 1 = session id 0
  return Buffer.concat([table, Buffer.from([0x40, 0x01, 0x61]), text, Buffer.from([0x01])]);
}

describe('dictionary amplification is bounded (fuzz finding)', () => {
  it('a 22 KB envelope that named a 2000-char session string 10,000 times decoded to 20 M characters; now refused', () => {
    const payload = amplifyingPayload(10_000);
    expect(payload.length).toBeLessThan(23_000);
    expect(() => binaryToXml(payload, { session: new SessionReader() })).toThrow(ProtocolError);
    expect(() => binaryToXml(payload, { session: new SessionReader() })).toThrow(/expands to more than 16777216 characters/);
  });

  it('the bound is a limit (maxDecodedChars) and applies to the streaming reader too', () => {
    const payload = amplifyingPayload(100);
    const session = new SessionReader();
    expect(decodeEnvelope(payload, { session }).length).toBe(102);
    const body = payload.subarray(payload.length - 204);
    expect(() => readNbfx(body, { session, limits: { maxDecodedChars: 100_000 } })).toThrow(ProtocolError);
    const stream = new NbfxStreamReader({ session, limits: { maxDecodedChars: 100_000 } });
    expect(() => {
      for (let i = 0; i < body.length; i += 7) stream.push(body.subarray(i, i + 7));
    }).toThrow(ProtocolError);
  });
});
