import { feedAllWays } from '../../../helpers/feed';
import {
  ClientDecoder,
  KnownEncoding,
  Mode,
  ServerDecoder,
  encodeEnd,
  encodePreamble,
  encodePreambleAck,
  encodeSizedEnvelope,
  type ClientFrame,
  type ServerFrame,
} from '../../../../src/protocol/nmf';
import { frameSummary, loadCaptures } from './fixtures';

const captures = loadCaptures();

describe.each(captures)('NMF golden capture $name', ({ name, c2s, s2c }) => {
  const viaByCapture: Record<string, string> = {
    'dotnet-duplex-echo': 'net.tcp://localhost:8898/Demo',
    'mono-nettcp': 'net.tcp://localhost:19082/calc',
  };

  it('server decoder: the same frames whole, split at every offset and byte by byte', () => {
    feedAllWays<ServerFrame, string[]>(() => new ServerDecoder(), c2s, { normalize: frameSummary });
    const frames = new ServerDecoder().push(c2s);
    expect(frames[0]).toEqual({
      type: 'preamble',
      version: { major: 1, minor: 0 },
      mode: Mode.Duplex,
      via: viaByCapture[name],
      encoding: { known: KnownEncoding.Soap12BinarySession, contentType: 'application/soap+msbinsession1' },
    });
    expect(frames[1]).toEqual({ type: 'preambleEnd' });
    expect(frames[frames.length - 1]).toEqual({ type: 'end' });
    expect(frames.slice(2, -1).every((f) => f.type === 'envelope')).toBe(true);
  });

  it('client decoder: ack, envelopes (and End when the peer sent one)', () => {
    feedAllWays<ClientFrame, string[]>(() => new ClientDecoder(), s2c, { normalize: frameSummary });
    const frames = new ClientDecoder().push(s2c);
    expect(frames[0]).toEqual({ type: 'preambleAck' });
    const envelopes = frames.filter((f) => f.type === 'envelope');
    expect(envelopes.length).toBeGreaterThan(0);
    // The Mono service closes without End (nettcp-annotated.md "Shutdown").
    expect(frames[frames.length - 1]!.type).toBe(name === 'mono-nettcp' ? 'envelope' : 'end');
  });

  it('re-encodes both directions to the same bytes', () => {
    const server = new ServerDecoder().push(c2s);
    const out: Buffer[] = [];
    for (const f of server) {
      if (f.type === 'preamble') out.push(encodePreamble({ mode: f.mode, via: f.via, encoding: f.encoding.known ?? f.encoding.contentType, end: false }));
      else if (f.type === 'preambleEnd') out.push(Buffer.from([0x0c]));
      else if (f.type === 'envelope') out.push(...encodeSizedEnvelope(f.payload));
      else if (f.type === 'end') out.push(encodeEnd());
    }
    expect(Buffer.concat(out).toString('hex')).toBe(c2s.toString('hex'));

    const client = new ClientDecoder().push(s2c);
    const back: Buffer[] = [];
    for (const f of client) {
      if (f.type === 'preambleAck') back.push(encodePreambleAck());
      else if (f.type === 'envelope') back.push(...encodeSizedEnvelope(f.payload));
      else if (f.type === 'end') back.push(encodeEnd());
    }
    expect(Buffer.concat(back).toString('hex')).toBe(s2c.toString('hex'));
  });

  it('connection reuse: the same session twice on one connection (End, then a new preamble)', () => {
    const frames = feedAllWays<ServerFrame, string[]>(() => new ServerDecoder(), Buffer.concat([c2s, c2s]), { maxSplits: 64, normalize: frameSummary });
    expect(frames.filter((f) => f.startsWith('preamble '))).toHaveLength(2);
    expect(frames.filter((f) => f === 'end')).toHaveLength(2);
  });
});
