import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ProtocolError } from '../../../../src/core/errors';
import { MAX_SESSION_BYTES, STATIC_DICTIONARY, SessionReader, SessionWriter, staticKey, staticString, stringTableEntrySize } from '../../../../src/protocol/nbfx';
import { decodeEnvelope, encodeEnvelope } from '../../../../src/protocol/soap-binary';
import type { XmlToken } from '../../../../src/protocol/xml/tokens';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('[MC-NBFS] static dictionary', () => {
  const source = JSON.parse(readFileSync(path.join(__dirname, '../../../fixtures/nbfx/nbfs-static-dictionary.json'), 'utf8')) as string[];

  it('is the specification table with the .NET differences applied (and nothing else)', () => {
    const fixes: Record<number, string> = {
      0x1a8: ' http://schemas.xmlsoap.org/ws/2005/02/trust/tlsnego',
      0x3c4: 'actor',
      0x3c6: 'faultcode',
      0x3c8: 'faultstring',
      0x3ca: 'faultactor',
      0x3cc: 'detail',
    };
    expect(STATIC_DICTIONARY).toHaveLength(487);
    STATIC_DICTIONARY.forEach((s, i) => expect(s).toBe(fixes[i * 2] ?? source[i]));
  });

  it('keys used by every SOAP envelope', () => {
    expect([0x00, 0x02, 0x04, 0x06, 0x08, 0x0a, 0x0c, 0x0e, 0x14, 0x1a, 0x84, 0x86, 0xb6, 0x372].map((k) => staticString(k))).toEqual([
      'mustUnderstand', 'Envelope', 'http://www.w3.org/2003/05/soap-envelope', 'http://www.w3.org/2005/08/addressing', 'Header', 'Action', 'To', 'Body',
      'http://www.w3.org/2005/08/addressing/anonymous', 'MessageID', 's', 'Fault', 'a', 'http://www.w3.org/2001/XMLSchema-instance',
    ]);
    expect(staticKey('Envelope')).toBe(2);
    expect(staticKey('Sender')).toBeUndefined();
    expect(staticString(0x3ce)).toBeUndefined();
    expect(staticString(3)).toBeUndefined();
  });
});

describe('[MC-NBFSE] session dictionaries', () => {
  it('SessionReader: ids in table order across envelopes; the table counts against the quota', () => {
    const r = new SessionReader();
    expect(r.readStringTable(hex('04 01 61 01 62 56'))).toBe(5);
    expect(r.readStringTable(hex('00 56'))).toBe(1);
    expect(r.readStringTable(hex('05 04 74657874'))).toBe(6);
    expect([r.lookup(0), r.lookup(1), r.lookup(2), r.lookup(3)]).toEqual(['a', 'b', 'text', undefined]);
    expect(r.bytesUsed).toBe(9);
  });

  it('SessionReader.fork: reads ahead on a copy; the original is unchanged', () => {
    const r = new SessionReader({ maxSessionBytes: 8 });
    r.readStringTable(hex('02 01 61'));
    const f = r.fork();
    expect(f.readStringTable(hex('02 01 62'))).toBe(3);
    expect([f.lookup(0), f.lookup(1), f.bytesUsed]).toEqual(['a', 'b', 4]);
    expect([r.lookup(0), r.lookup(1), r.size, r.bytesUsed]).toEqual(['a', undefined, 1, 2]);
    // The quota goes with the copy.
    expect(() => f.readStringTable(hex('05 04 74657874'))).toThrow(ProtocolError);
    expect(r.readStringTable(hex('05 04 74657874'))).toBe(6);
  });

  it('SessionReader: a table past the quota fails the session for good (as WCF does)', () => {
    const r = new SessionReader({ maxSessionBytes: 6 });
    r.readStringTable(hex('04 01 61 01 62'));
    const err = (() => {
      try {
        r.readStringTable(hex('03 02 6364'));
      } catch (e) {
        return e as ProtocolError;
      }
      throw new Error('no error');
    })();
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.code).toBe('RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE');
    expect(() => r.readStringTable(hex('00'))).toThrow(ProtocolError);
  });

  it.each([
    ['string past the table', '02 05 61'],
    ['table past the envelope', '09 01 61'],
    ['invalid UTF-8', '02 01 ff'],
    ['truncated size', '80'],
  ])('SessionReader: %s is a ProtocolError', (_n, bytes) => {
    expect(() => new SessionReader().readStringTable(hex(bytes))).toThrow(ProtocolError);
  });

  it('a decode error in the body poisons the reader session', () => {
    const r = new SessionReader();
    expect(() => decodeEnvelope(hex('02 01 61 42 07 01'), { session: r })).toThrow(ProtocolError);
    expect(() => decodeEnvelope(hex('00 42 01 01'), { session: r })).toThrow(ProtocolError);
  });

  it('SessionWriter: first-use ids, one table per envelope, never twice, 2048-byte default quota', () => {
    const w = new SessionWriter();
    expect(w.getOrAdd('x')).toBe(0);
    expect(w.getOrAdd('y')).toBe(1);
    expect(w.getOrAdd('x')).toBe(0);
    expect(w.takeStringTable().toString('hex')).toBe('04017801' + '79');
    expect(w.getOrAdd('y')).toBe(1);
    expect(w.takeStringTable().toString('hex')).toBe('00');
    const big = 'z'.repeat(MAX_SESSION_BYTES);
    expect(w.getOrAdd(big)).toBeUndefined();
    expect(stringTableEntrySize('abc')).toBe(4);
  });

  it('SessionWriter: the quota is never exceeded and strings past it are written literally', () => {
    const w = new SessionWriter();
    const doc = (n: number): XmlToken[] => [{ kind: 'startElement', prefix: '', localName: `name-${n}-${'p'.repeat(40)}` }, { kind: 'endElement' }];
    let literal = 0;
    for (let i = 0; i < 100; i++) {
      const [table, body] = encodeEnvelope(doc(i), { session: w });
      if (body![0] === 0x40) literal++;
      expect(table!.length).toBeGreaterThan(0);
    }
    expect(w.bytesUsed).toBeLessThanOrEqual(MAX_SESSION_BYTES);
    expect(literal).toBeGreaterThan(50);
    // What we wrote, a WCF-like reader with the same quota accepts.
    const r = new SessionReader();
    const w2 = new SessionWriter();
    for (let i = 0; i < 100; i++) decodeEnvelope(Buffer.concat(encodeEnvelope(doc(i), { session: w2 })), { session: r });
    expect(r.bytesUsed).toBe(w2.bytesUsed);
  });

  it('SessionWriter: strings of a failed envelope are forgotten', () => {
    const w = new SessionWriter();
    expect(() => encodeEnvelope([{ kind: 'startElement', prefix: '', localName: 'never' }], { session: w })).toThrow(ProtocolError);
    expect(w.size).toBe(0);
    expect(w.lookup('never')).toBeUndefined();
  });
});
