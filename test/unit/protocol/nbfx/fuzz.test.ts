/**
 * Fuzzing the NBFX reader, the session table reader and the stream reader: random and mutated
 * input gives tokens or a ProtocolError, never another exception and never a hang.
 */
import fc from 'fast-check';
import { ProtocolError } from '../../../../src/core/errors';
import { mutatedBytes } from '../../../helpers/mutate';
import { NbfxStreamReader, SessionReader, readNbfx, SessionWriter } from '../../../../src/protocol/nbfx';
import { binaryToXml, decodeEnvelope, encodeEnvelope } from '../../../../src/protocol/soap-binary';
import { ServerDecoder } from '../../../../src/protocol/nmf';
import { loadCaptures } from '../nmf/fixtures';

function onlyProtocolErrors(fn: () => unknown): boolean {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
  }
  return true;
}

/** Sized-envelope payloads from every captured client stream. */
const payloads = loadCaptures().flatMap(({ c2s }) =>
  new ServerDecoder()
    .push(c2s)
    .filter((f) => f.type === 'envelope')
    .map((f) => (f as { payload: Buffer }).payload),
);

/** A session that knows a few strings, so odd keys sometimes resolve. */
function session(): SessionReader {
  const s = new SessionReader();
  s.readStringTable(Buffer.from('0a01610162016301640165', 'hex'));
  return s;
}

describe('NBFX decoders under fuzzing', () => {
  it('readNbfx: random bytes, with and without a session', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (b, withSession) =>
        onlyProtocolErrors(() => readNbfx(b, { session: withSession ? session() : undefined })),
      ),
      { numRuns: 1000 },
    );
  });

  it('readNbfx: random records after a valid element start (reaches deeper states)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0x00, max: 0xbf }), { maxLength: 120 }), (b) =>
        onlyProtocolErrors(() => readNbfx(Buffer.from([0x40, 0x01, 0x61, ...b]), { session: session() })),
      ),
      { numRuns: 1000 },
    );
  });

  it('decodeEnvelope + re-encode: mutated captured payloads', () => {
    const arb = fc.constantFrom(...payloads).chain((p) => mutatedBytes(p));
    fc.assert(
      fc.property(arb, (p) =>
        onlyProtocolErrors(() => {
          const tokens = decodeEnvelope(p, { session: new SessionReader() });
          // Whatever decodes must encode again, and decode to the same XML.
          const again = Buffer.concat(encodeEnvelope(tokens, { session: new SessionWriter() }));
          expect(binaryToXml(again, { session: new SessionReader() })).toBe(binaryToXml(p, { session: new SessionReader() }));
        }),
      ),
      { numRuns: 400 },
    );
  });

  it('NbfxStreamReader: random bytes in random chunks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 30 }), (b, cuts) =>
        onlyProtocolErrors(() => {
          const r = new NbfxStreamReader({ session: session() });
          let at = 0;
          for (const n of cuts) {
            r.push(Buffer.from(b.subarray(at, at + n)));
            at += n;
          }
          r.push(Buffer.from(b.subarray(at)));
          r.end();
        }),
      ),
      { numRuns: 500 },
    );
  });

  it('SessionReader: random string tables', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => onlyProtocolErrors(() => new SessionReader().readStringTable(b))), { numRuns: 500 });
  });
});
