/** Round-trip properties on generated documents (fast-check). */
import fc from 'fast-check';
import { NbfxStreamReader, SessionReader, SessionWriter, formatDouble, formatFloat, readNbfx, writeNbfx } from '../../../../src/protocol/nbfx';
import { decodeEnvelope, encodeEnvelope } from '../../../../src/protocol/soap-binary';
import type { XmlToken } from '../../../../src/protocol/xml/tokens';
import { parseXml } from '../../../../src/protocol/xml/text-reader';
import { writeXml } from '../../../../src/protocol/xml/text-writer';

const names = fc.constantFrom('a', 'b', 'Envelope', 'Body', 'item', 'Value', 'x-y', 'naïve', 'データ');
const prefixes = fc.constantFrom('', '', 's', 'a', 'z', 'pre');
const texts = fc.oneof(
  fc.string({ maxLength: 20 }).filter((s) => !s.includes('\r')),
  fc.constantFrom('0', '1', 'true', 'false', '-128', '127', '32768', '-2147483649', '9223372036854775807', '18446744073709551615', '', 'urn:uuid:c92b8486-cefb-4201-8a89-22bcd24b699e', 'http://www.w3.org/2005/08/addressing/anonymous'),
  fc.string({ minLength: 250, maxLength: 300 }),
);

interface Node {
  prefix: string;
  name: string;
  attrs: Array<{ prefix: string; name: string; value: string }>;
  children: Array<Node | string>;
}
const node: fc.Arbitrary<Node> = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.record({
    prefix: prefixes,
    name: names,
    attrs: fc.uniqueArray(fc.record({ prefix: fc.constantFrom('', 'q', 'xml'), name: names, value: texts }), { maxLength: 3, selector: (a) => `${a.prefix}:${a.name}` }),
    children: fc.array(fc.oneof({ depthSize: 'small', withCrossShrink: true }, texts, tie('node')), { maxLength: 4 }),
  }),
})).node;

function tokensOf(n: Node, out: XmlToken[] = []): XmlToken[] {
  out.push({ kind: 'startElement', prefix: n.prefix, localName: n.name });
  for (const a of n.attrs) out.push({ kind: 'attribute', prefix: a.prefix, localName: a.name, value: a.value });
  let lastText = false;
  for (const c of n.children) {
    if (typeof c === 'string') {
      if (lastText || c === '') continue; // adjacent text merges in XML text; keep one per run
      out.push({ kind: 'text', value: c });
      lastText = true;
    } else {
      tokensOf(c, out);
      lastText = false;
    }
  }
  out.push({ kind: 'endElement' });
  return out;
}

/** The document with every generated prefix declared on the root (text XML requires it). */
function declared(d: Node): XmlToken[] {
  const tokens = tokensOf(d);
  const decls: XmlToken[] = ['s', 'a', 'z', 'pre', 'q'].map((p) => ({ kind: 'attribute', prefix: 'xmlns', localName: p, value: `urn:${p}`, isNamespaceDeclaration: true }));
  return [tokens[0]!, ...decls, ...tokens.slice(1)];
}

const asXml = (tokens: XmlToken[]): string => writeXml(tokens, { selfClose: false });

describe('NBFX round-trip properties', () => {
  it('decode(encode(doc)) has the same XML text (static + session dictionaries)', () => {
    fc.assert(
      fc.property(fc.array(node, { minLength: 1, maxLength: 3 }), (docs) => {
        const w = new SessionWriter({ maxSessionBytes: 64 });
        const r = new SessionReader({ maxSessionBytes: 64 });
        for (const d of docs) {
          const tokens = tokensOf(d);
          const payload = Buffer.concat(encodeEnvelope(tokens, { session: w }));
          expect(asXml(decodeEnvelope(payload, { session: r }))).toBe(asXml(tokens));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('encode(decode(bytes)) is byte-identical (typed hints), also through a fresh session', () => {
    fc.assert(
      fc.property(node, fc.boolean(), (d, fold) => {
        const first = Buffer.concat(encodeEnvelope(tokensOf(d), { session: new SessionWriter(), foldEndElement: fold }));
        const again = Buffer.concat(encodeEnvelope(decodeEnvelope(first, { session: new SessionReader() }), { session: new SessionWriter() }));
        expect(again.equals(first)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('the text form survives XML text: parseXml(writeXml(decode(x))) re-encodes to the same XML', () => {
    fc.assert(
      fc.property(node, (d) => {
        const bytes = writeNbfx(declared(d));
        const text = asXml(readNbfx(bytes));
        expect(asXml(readNbfx(writeNbfx(parseXml(text))))).toBe(text);
      }),
      { numRuns: 100 },
    );
  });

  it('the stream reader gives the same tokens for any chunking', () => {
    fc.assert(
      fc.property(node, fc.array(fc.integer({ min: 1, max: 17 }), { maxLength: 40 }), (d, cuts) => {
        const bytes = writeNbfx(tokensOf(d));
        const reader = new NbfxStreamReader();
        const out: XmlToken[] = [];
        let at = 0;
        for (const n of cuts) {
          out.push(...reader.push(bytes.subarray(at, at + n)));
          at += n;
        }
        out.push(...reader.push(bytes.subarray(at)));
        reader.end();
        expect(asXml(out)).toBe(asXml(readNbfx(bytes)));
      }),
      { numRuns: 100 },
    );
  });

  it('float and double text round-trips to the same value (shortest form)', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (f) => {
        const text = formatFloat(f);
        const back = text === 'INF' ? Infinity : text === '-INF' ? -Infinity : Number(text);
        expect(Object.is(Math.fround(back), f)).toBe(true);
        expect(text.replace(/^-/, '').replace(/E.*$/, '').replace('.', '').replace(/^0+/, '').length).toBeLessThanOrEqual(9);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (v) => {
        const text = formatDouble(v);
        const back = text === 'INF' ? Infinity : text === '-INF' ? -Infinity : Number(text);
        expect(Object.is(back, v)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
