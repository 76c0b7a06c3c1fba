import { readFileSync } from 'node:fs';
import path from 'node:path';
import { NbfxStreamReader, readNbfx, SessionReader, SessionWriter } from '../../../../src/protocol/nbfx';
import { binaryToXml, createSoapStringPolicy, decodeEnvelope, encodeEnvelope, xmlToBinary } from '../../../../src/protocol/soap-binary';
import { ClientDecoder, KnownEncoding, Mode, ServerDecoder, encodeEnd, encodePreamble, encodeUnsizedEnvelope } from '../../../../src/protocol/nmf';
import { writeXml } from '../../../../src/protocol/xml/text-writer';
import { feedAllWays } from '../../../helpers/feed';
import { loadCaptures } from '../nmf/fixtures';

const FIXTURES = path.join(__dirname, '../../../fixtures/nbfx');
const load = <T>(file: string): T => JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as T;

interface Expected {
  c2s: string[];
  s2c: string[];
}

/** The sized-envelope payloads of each direction of a captured session. */
function payloads(c2s: Buffer, s2c: Buffer): { c2s: Buffer[]; s2c: Buffer[] } {
  const pick = (frames: Array<{ type: string; payload?: Buffer }>): Buffer[] => frames.filter((f) => f.type === 'envelope').map((f) => f.payload!);
  return { c2s: pick(new ServerDecoder().push(c2s)), s2c: pick(new ClientDecoder().push(s2c)) };
}

const captures = loadCaptures();
const expectedByCapture: Record<string, Expected> = {
  'dotnet-duplex-echo': load<Expected>('dotnet-duplex-echo.expected.json'),
  'mono-nettcp': load<Expected>('mono-nettcp.expected.json'),
};
/** Captures whose text form re-encodes exactly with the WCF-like string policy (see envelope.ts). */
const exactFromText: Record<string, boolean> = { 'dotnet-duplex-echo': true, 'mono-nettcp': false };

describe.each(captures)('binary envelopes of capture $name', ({ name, c2s, s2c }) => {
  const streams = payloads(c2s, s2c);
  const expected = expectedByCapture[name]!;

  describe.each(['c2s', 's2c'] as const)('direction %s', (dir) => {
    const messages = streams[dir];

    it('decodes every envelope to the expected XML (one session dictionary per direction)', () => {
      const session = new SessionReader();
      expect(messages.map((p) => binaryToXml(p, { session }))).toEqual(expected[dir]);
    });

    it('re-encodes the decoded tokens (typed hints) to the same bytes with a fresh writer session', () => {
      const reader = new SessionReader();
      const writer = new SessionWriter();
      for (const p of messages) {
        const tokens = decodeEnvelope(p, { session: reader });
        expect(Buffer.concat(encodeEnvelope(tokens, { session: writer })).toString('hex')).toBe(p.toString('hex'));
      }
    });

    it('XML text -> binary -> XML text is the identity, and exact bytes where the capture allows', () => {
      const writer = new SessionWriter();
      const reader = new SessionReader();
      for (const [i, p] of messages.entries()) {
        const bytes = Buffer.concat(xmlToBinary(expected[dir][i]!, { session: writer }));
        if (exactFromText[name]) expect(bytes.toString('hex')).toBe(p.toString('hex'));
        expect(binaryToXml(bytes, { session: reader })).toBe(expected[dir][i]);
      }
    });

    it('streams each NBFX body split at every offset and byte by byte to the same tokens', () => {
      const session = new SessionReader();
      for (const p of messages) {
        const offset = session.readStringTable(p);
        const body = p.subarray(offset);
        const xml = feedAllWays(() => new NbfxStreamReader({ session }), body, {
          normalize: (tokens) => writeXml(tokens, { selfClose: false }),
          finish: (d) => (d as NbfxStreamReader).end(),
        });
        expect(xml).toBe(writeXml(readNbfx(body, { session }), { selfClose: false }));
      }
    });
  });
});

describe('NBFSE session messages (pynettcp capture)', () => {
  const data = load<{ expected_session_strings: string[]; messages: Array<{ hex: string }> }>('nbfse-session-messages.json');
  const expected = load<{ messages: string[] }>('nbfse-session-messages.expected.json').messages;
  const messages = data.messages.map((m) => Buffer.from(m.hex, 'hex'));

  it('the first table adds the six strings, the next two add none and reuse them', () => {
    const session = new SessionReader();
    expect(messages.map((p) => binaryToXml(p, { session }))).toEqual(expected);
    expect(Array.from({ length: session.size }, (_, i) => session.lookup(i))).toEqual(data.expected_session_strings);
    expect(messages[1]![0]).toBe(0x00);
  });

  it('XML text re-encodes to the same bytes (a:Action and a:To as literal text, as this writer sent them)', () => {
    const writer = new SessionWriter();
    const policy = createSoapStringPolicy({ headerTextAsDictionary: false });
    expect(expected.map((xml) => Buffer.concat(xmlToBinary(xml, { session: writer, policy })).toString('hex'))).toEqual(data.messages.map((m) => m.hex));
  });

  it('tokens re-encode to the same bytes', () => {
    const reader = new SessionReader();
    const writer = new SessionWriter();
    for (const p of messages) {
      expect(Buffer.concat(encodeEnvelope(decodeEnvelope(p, { session: reader }), { session: writer })).equals(p)).toBe(true);
    }
  });
});

describe('streamed mode: singleton-unsized NMF carrying msbin1 NBFX split across chunks', () => {
  const { c2s } = load<Expected>('dotnet-duplex-echo.expected.json');
  it.each([1, 7, 64])('chunks of %i bytes split records; the streamed tokens give the same XML', (size) => {
    const body = Buffer.concat(xmlToBinary(c2s[0]!)); // no session: application/soap+msbin1
    const chunks: Buffer[] = [];
    for (let i = 0; i < body.length; i += size) chunks.push(body.subarray(i, i + size));
    const wire = Buffer.concat([
      encodePreamble({ mode: Mode.SingletonUnsized, via: 'net.tcp://localhost/s', encoding: KnownEncoding.Soap12Binary }),
      ...encodeUnsizedEnvelope(chunks),
      encodeEnd(),
    ]);
    const server = new ServerDecoder();
    const reader = new NbfxStreamReader();
    const tokens = [];
    for (let i = 0; i < wire.length; i += 5) {
      for (const f of server.push(wire.subarray(i, i + 5))) if (f.type === 'envelopeData') tokens.push(...reader.push(f.data));
    }
    reader.end();
    expect(writeXml(tokens, { selfClose: false })).toBe(c2s[0]);
  });
});
