import fc from 'fast-check';
import { ProtocolError } from '../../../../src/core/errors';
import {
  ClientDecoder,
  ClientState,
  FaultString,
  KnownEncoding,
  MAX_INT31,
  Mode,
  ServerDecoder,
  ServerState,
  UpgradeProtocol,
  decodeMultiByteInt31,
  encodeDataChunk,
  encodeEnd,
  encodeFault,
  encodePreamble,
  encodePreambleAck,
  encodePreambleEnd,
  encodeSizedEnvelope,
  encodeUnsizedEnvelope,
  encodeUpgradeRequest,
  encodeUpgradeResponse,
  encodeMultiByteInt31,
  isKnownFaultString,
  sizeOfMultiByteInt31,
  type ServerFrame,
} from '../../../../src/protocol/nmf';
import { feedAllWays } from '../../../helpers/feed';
import { frameSummary } from './fixtures';

const VIA = 'net.tcp://relay.example/svc';
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function thrown(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return err as ProtocolError;
  }
  throw new Error('expected a ProtocolError');
}

describe('MultiByteInt31 ([MC-NMF] §2.2.2)', () => {
  it.each([
    [0, '00'],
    [127, '7f'],
    [128, '8001'],
    [148, '9401'],
    [163, 'a301'],
    [16383, 'ff7f'],
    [16384, '808001'],
    [65536, '808004'],
    [0x1fffff, 'ffff7f'],
    [0x200000, '80808001'],
    [0x0fffffff, 'ffffff7f'],
    [0x10000000, '8080808001'],
    [MAX_INT31, 'ffffffff07'],
  ])('%i <-> %s', (value, encoded) => {
    expect(encodeMultiByteInt31(value).toString('hex')).toBe(encoded);
    expect(sizeOfMultiByteInt31(value)).toBe(encoded.length / 2);
    expect(decodeMultiByteInt31(hex(encoded), 0)).toEqual({ value, length: encoded.length / 2 });
  });

  it('refuses a 5th octet past 2^31-1 and reports incomplete input', () => {
    expect(thrown(() => decodeMultiByteInt31(hex('ffffffff08'), 0)).code).toBe('RELAY_ERR_PROTOCOL_INVALID_MESSAGE');
    expect(decodeMultiByteInt31(hex('ffff'), 0)).toBeUndefined();
    expect(() => encodeMultiByteInt31(MAX_INT31 + 1)).toThrow(RangeError);
    expect(() => encodeMultiByteInt31(-1)).toThrow(RangeError);
  });

  it('accepts non-minimal forms, as WCF does', () => {
    expect(decodeMultiByteInt31(hex('8100'), 0)).toEqual({ value: 1, length: 2 });
  });

  it('round-trips every int31 (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: MAX_INT31 }), (v) => decodeMultiByteInt31(encodeMultiByteInt31(v), 0)?.value === v), { numRuns: 500 });
  });
});

describe('encoders', () => {
  it('write the duplex preamble of wcf-wire.md §1.6 and the one-byte records', () => {
    expect(encodePreamble({ mode: Mode.Duplex, via: 'net.tcp://localhost:8898/Demo', encoding: KnownEncoding.Soap12BinarySession }).toString('hex')).toBe(
      '0001000102021d' + Buffer.from('net.tcp://localhost:8898/Demo').toString('hex') + '03080c',
    );
    expect(encodePreambleAck().toString('hex')).toBe('0b');
    expect(encodeUpgradeResponse().toString('hex')).toBe('0a');
    expect(encodeEnd().toString('hex')).toBe('07');
    expect(encodePreambleEnd().toString('hex')).toBe('0c');
  });

  it('maps known content types to the Known Encoding record and others to Extensible Encoding', () => {
    expect(encodePreamble({ mode: Mode.Duplex, via: 'x:y', encoding: 'application/soap+msbinsession1' }).subarray(-3).toString('hex')).toBe('03080c');
    const ext = encodePreamble({ mode: Mode.Duplex, via: 'x:y', encoding: 'application/soap+msbinsession1+gzip' });
    expect(ext.subarray(10, 12).toString('hex')).toBe('0423');
  });

  it('puts Preamble End after the upgrade only when asked (it travels inside TLS)', () => {
    const p = encodePreamble({ mode: Mode.Duplex, via: 'x:y', encoding: KnownEncoding.Soap12BinarySession, upgrade: UpgradeProtocol.SslTls });
    expect(p.subarray(-21).toString('hex')).toBe('0913' + Buffer.from('application/ssl-tls').toString('hex'));
  });

  it('returns [header, payload] without copying the payload, and faults as string records', () => {
    const payload = Buffer.alloc(200, 1);
    const [header, body] = encodeSizedEnvelope(payload);
    expect(header!.toString('hex')).toBe('06c801');
    expect(body).toBe(payload);
    expect(encodeSizedEnvelope([Buffer.from([0]), Buffer.from([1, 2])]).map((b) => b.toString('hex'))).toEqual(['0603', '00', '0102']);
    expect(() => encodeSizedEnvelope(Buffer.alloc(0))).toThrow(RangeError);
    expect(encodeFault(FaultString.EndpointNotFound).subarray(0, 2).toString('hex')).toBe('0847');
    expect(Buffer.concat(encodeUnsizedEnvelope([Buffer.from('ab'), Buffer.alloc(0), Buffer.from('c')])).toString('hex')).toBe('05026162016300');
    expect(encodeDataChunk(Buffer.alloc(0))).toEqual([]);
  });

  it('fault strings are the framing fault URIs', () => {
    expect(FaultString.MaxMessageSizeExceededFault).toBe('http://schemas.microsoft.com/ws/2006/05/framing/faults/MaxMessageSizeExceededFault');
    expect(isKnownFaultString(FaultString.ServerTooBusy)).toBe(true);
    expect(isKnownFaultString('urn:other')).toBe(false);
  });
});

const preamble = (mode: Mode, extra: Buffer[] = []): Buffer =>
  Buffer.concat([encodePreamble({ mode, via: VIA, encoding: KnownEncoding.Soap12BinarySession }), ...extra]);

describe('ServerDecoder', () => {
  it('decodes the preamble, envelopes and End, and goes back to reading a preamble (pooling)', () => {
    const bytes = Buffer.concat([preamble(Mode.Duplex), ...encodeSizedEnvelope(Buffer.from('hello')), encodeEnd()]);
    const d = new ServerDecoder();
    const frames = d.push(bytes);
    expect(frames.map((f) => f.type)).toEqual(['preamble', 'preambleEnd', 'envelope', 'end']);
    expect(d.state).toBe(ServerState.ReadingVersionRecord);
    expect(d.finish()).toBe(true);
  });

  it('pauses at an Upgrade Request and hands over the bytes that follow in the same segment', () => {
    const clientHello = hex('160301');
    const bytes = Buffer.concat([encodePreamble({ mode: Mode.Duplex, via: VIA, encoding: KnownEncoding.Soap12BinarySession, upgrade: UpgradeProtocol.SslTls }), clientHello]);
    const d = new ServerDecoder();
    expect(d.push(bytes).map((f) => f.type)).toEqual(['preamble', 'upgradeRequest']);
    expect(d.state).toBe(ServerState.AwaitingUpgrade);
    expect(d.push(hex('0203'))).toEqual([]);
    expect(Buffer.concat(d.takeBufferedBytes()).toString('hex')).toBe('1603010203');
    d.upgradeComplete();
    // Decrypted: Preamble End, then an envelope.
    expect(d.push(Buffer.concat([encodePreambleEnd(), ...encodeSizedEnvelope(Buffer.from('x'))])).map((f) => f.type)).toEqual(['preambleEnd', 'envelope']);
    expect(() => d.upgradeComplete()).toThrow(ProtocolError);
  });

  it('singleton-unsized: chunks of one message, then End, then another preamble', () => {
    const one = Buffer.concat([preamble(Mode.SingletonUnsized), ...encodeUnsizedEnvelope([Buffer.from('ab'), Buffer.from('cde')]), encodeEnd()]);
    const frames = feedAllWays<ServerFrame, string[]>(() => new ServerDecoder(), Buffer.concat([one, one]), { normalize: frameSummary });
    expect(frames.filter((f) => !f.startsWith('preamble'))).toEqual([
      'envelopeStart', 'envelopeData data=6162636465', 'envelopeEnd', 'end',
      'envelopeStart', 'envelopeData data=6162636465', 'envelopeEnd', 'end',
    ]);
  });

  it('simplex: envelopes then End, and nothing after', () => {
    const d = new ServerDecoder();
    expect(d.push(Buffer.concat([preamble(Mode.Simplex), ...encodeSizedEnvelope(Buffer.from('a')), encodeEnd()])).map((f) => f.type)).toEqual(['preamble', 'preambleEnd', 'envelope', 'end']);
    expect(d.finish()).toBe(true);
    expect(thrown(() => d.push(hex('00'))).nmfFault).toBe(FaultString.InvalidRecordSequence);
  });

  it('singleton-sized: raw data until the connection ends', () => {
    const d = new ServerDecoder();
    const frames = [...d.push(preamble(Mode.SingletonSized)), ...d.push(Buffer.from('raw'))];
    expect(frames.map((f) => f.type)).toEqual(['preamble', 'preambleEnd', 'envelopeData']);
    expect(d.finish()).toBe(true);
  });

  it('reports an abort when the peer closes mid-session or mid-record', () => {
    const d = new ServerDecoder();
    d.push(Buffer.concat([preamble(Mode.Duplex), hex('0605ab')]));
    expect(d.finish()).toBe(false);
  });

  it.each([
    ['unsupported version', hex('000200'), FaultString.UnsupportedVersion],
    ['unsupported mode', hex('0001000105'), FaultString.UnsupportedMode],
    ['record out of order', hex('0102'), FaultString.InvalidRecordSequence],
    ['empty Via', hex('00010001020200'), FaultString.InvalidRecordSequence],
    ['unknown known-encoding', Buffer.concat([hex('0001000102'), hex('0203782f79'), hex('0309')]), FaultString.ContentTypeInvalid],
    ['zero-size envelope', Buffer.concat([preamble(Mode.Duplex), hex('0600')]), FaultString.InvalidRecordSequence],
    ['Unsized Envelope in duplex mode', Buffer.concat([preamble(Mode.Duplex), hex('05')]), FaultString.InvalidRecordSequence],
    ['Sized Envelope in singleton-unsized mode', Buffer.concat([preamble(Mode.SingletonUnsized), hex('0601')]), FaultString.InvalidRecordSequence],
    ['Upgrade Request in simplex mode', Buffer.concat([encodePreamble({ mode: Mode.Simplex, via: VIA, encoding: 8, end: false }), encodeUpgradeRequest('application/ssl-tls')]), FaultString.InvalidRecordSequence],
    ['invalid UTF-8 in the Via', hex('00010001020201ff'), FaultString.InvalidRecordSequence],
  ])('%s -> fault', (_name, bytes, fault) => {
    const err = thrown(() => new ServerDecoder().push(bytes));
    expect(err.nmfFault).toBe(fault);
  });

  it('checks Via, content type and message size limits before buffering the bytes', () => {
    const viaHeader = Buffer.concat([hex('0001000102'), hex('02'), encodeMultiByteInt31(2049)]);
    expect(thrown(() => new ServerDecoder().push(viaHeader)).nmfFault).toBe(FaultString.ViaTooLong);
    const ok = Buffer.concat([hex('0001000102'), hex('02'), encodeMultiByteInt31(100)]);
    expect(thrown(() => new ServerDecoder({ limits: { maxViaBytes: 99 } }).push(ok)).code).toBe('RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE');
    const ct = Buffer.concat([hex('0001000102'), hex('0203782f79'), hex('04'), encodeMultiByteInt31(257)]);
    expect(thrown(() => new ServerDecoder().push(ct)).nmfFault).toBe(FaultString.ContentTypeTooLong);
    const big = Buffer.concat([preamble(Mode.Duplex), hex('06'), encodeMultiByteInt31(65537)]);
    const err = thrown(() => new ServerDecoder({ limits: { maxMessageBytes: 65536 } }).push(big));
    expect(err.nmfFault).toBe(FaultString.MaxMessageSizeExceededFault);
    const unsized = Buffer.concat([preamble(Mode.SingletonUnsized), hex('05'), ...encodeDataChunk(Buffer.alloc(6)), encodeMultiByteInt31(5)]);
    expect(thrown(() => new ServerDecoder({ limits: { maxMessageBytes: 10 } }).push(unsized)).nmfFault).toBe(FaultString.MaxMessageSizeExceededFault);
  });

  it('accepts envelopes over 64 KiB (3-byte sizes) arriving in many reads', () => {
    const payload = Buffer.alloc(70_000, 7);
    const bytes = Buffer.concat([preamble(Mode.Duplex), ...encodeSizedEnvelope(payload), encodeEnd()]);
    const d = new ServerDecoder();
    const frames: ServerFrame[] = [];
    for (let i = 0; i < bytes.length; i += 1000) frames.push(...d.push(bytes.subarray(i, i + 1000)));
    const env = frames.find((f) => f.type === 'envelope');
    expect(env?.type === 'envelope' && env.payload.equals(payload)).toBe(true);
  });

  it('partialEnvelope: the first bytes of a Sized Envelope still arriving, without consuming them', () => {
    const payload = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
    const bytes = Buffer.concat([preamble(Mode.Duplex), ...encodeSizedEnvelope(payload)]);
    const d = new ServerDecoder();
    expect(d.partialEnvelope(100)).toBeUndefined();
    const at = bytes.length - payload.length + 3000;
    expect(d.push(bytes.subarray(0, at)).map((f) => f.type)).toEqual(['preamble', 'preambleEnd']);
    expect(d.partialEnvelope(100)).toEqual(payload.subarray(0, 100));
    expect(d.partialEnvelope(10_000)).toEqual(payload.subarray(0, 3000));
    const env = d.push(bytes.subarray(at)).find((f) => f.type === 'envelope');
    expect(env?.type === 'envelope' && env.payload.equals(payload)).toBe(true);
    expect(d.partialEnvelope(100)).toBeUndefined();
  });

  it('Extensible Encoding is reported with its content type', () => {
    const bytes = encodePreamble({ mode: Mode.Duplex, via: VIA, encoding: 'application/soap+msbinsession1+gzip' });
    const first = new ServerDecoder().push(bytes)[0];
    expect(first).toMatchObject({ type: 'preamble', encoding: { contentType: 'application/soap+msbinsession1+gzip' } });
  });

  it('stays failed after an error', () => {
    const d = new ServerDecoder();
    const err = thrown(() => d.push(hex('ff')));
    expect(thrown(() => d.push(hex('00'))).message).toBe(err.message);
    expect(d.state).toBe(ServerState.Failed);
  });
});

describe('ClientDecoder', () => {
  it('ack, envelopes, End, then the ack of the next preamble on the pooled connection', () => {
    const d = new ClientDecoder();
    const frames = d.push(Buffer.concat([encodePreambleAck(), ...encodeSizedEnvelope(Buffer.from('r')), encodeEnd(), encodePreambleAck()]));
    expect(frames.map((f) => f.type)).toEqual(['preambleAck', 'envelope', 'end', 'preambleAck']);
  });

  it('a Fault record is terminal, before or after the ack', () => {
    const d = new ClientDecoder();
    expect(d.push(encodeFault(FaultString.EndpointNotFound))).toEqual([{ type: 'fault', fault: FaultString.EndpointNotFound }]);
    expect(d.state).toBe(ClientState.Faulted);
    expect(d.finish()).toBe(true);
    const e = new ClientDecoder();
    expect(e.push(Buffer.concat([encodePreambleAck(), encodeFault(FaultString.ServerTooBusy)])).map((f) => f.type)).toEqual(['preambleAck', 'fault']);
  });

  it('caps the fault string at 256 bytes', () => {
    const long = Buffer.concat([hex('08'), encodeMultiByteInt31(300)]);
    expect(thrown(() => new ClientDecoder().push(long)).code).toBe('RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE');
  });

  it('pauses after an Upgrade Response and resumes after upgradeComplete()', () => {
    const d = new ClientDecoder();
    expect(d.push(Buffer.concat([encodeUpgradeResponse(), hex('160303')])).map((f) => f.type)).toEqual(['upgradeResponse']);
    expect(Buffer.concat(d.takeBufferedBytes()).toString('hex')).toBe('160303');
    d.upgradeComplete();
    expect(d.push(encodePreambleAck())).toEqual([{ type: 'preambleAck' }]);
  });

  it('singleton-unsized replies arrive as chunks', () => {
    const d = new ClientDecoder({ mode: Mode.SingletonUnsized });
    const frames = d.push(Buffer.concat([encodePreambleAck(), ...encodeUnsizedEnvelope([Buffer.from('ab')]), encodeEnd()]));
    expect(frames.map((f) => f.type)).toEqual(['preambleAck', 'envelopeStart', 'envelopeData', 'envelopeEnd', 'end']);
  });

  it.each([
    ['garbage before the ack', hex('06')],
    ['empty envelope', hex('0b0600')],
    ['Unsized Envelope in duplex', hex('0b05')],
  ])('%s -> ProtocolError', (_n, bytes) => {
    expect(thrown(() => new ClientDecoder().push(bytes)).nmfFault).toBe(FaultString.InvalidRecordSequence);
  });
});
