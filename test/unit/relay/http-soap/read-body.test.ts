/** Whole-body reads with decoding and limits (src/relay/endpoints/http-soap/read-body.ts). */
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import zlib from 'node:zlib';
import { readSoapBody } from '../../../../src/relay/endpoints/http-soap/read-body';
import { RelayError } from '../../../../src/core/errors';

function fakeRequest(body: Buffer, headers: Record<string, string>, chunk = 1000): IncomingMessage {
  const s = new PassThrough();
  Object.assign(s, { headers });
  setImmediate(() => {
    for (let i = 0; i < body.length; i += chunk) s.write(body.subarray(i, i + chunk));
    s.end();
  });
  return s as unknown as IncomingMessage;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as RelayError).code;
  }
  return 'resolved';
}

describe('readSoapBody', () => {
  const text = Buffer.from('<s:Envelope>'.padEnd(50_000, 'x'));

  it.each([
    ['identity', (b: Buffer) => b],
    ['gzip', zlib.gzipSync],
    ['x-gzip', zlib.gzipSync],
    ['deflate', zlib.deflateSync],
    ['deflate', zlib.deflateRawSync],
    ['br', zlib.brotliCompressSync],
  ])('reads and decodes %s', async (encoding, encode) => {
    const wire = encode(text);
    const got = await readSoapBody(fakeRequest(wire, encoding === 'identity' ? {} : { 'content-encoding': encoding }, 7), { maxBytes: 60_000 });
    expect(got.body.equals(text)).toBe(true);
    expect(got.wireBytes).toBe(wire.length);
    expect(got.decoded).toBe(encoding === 'identity' ? '' : encoding);
  });

  it('refuses a declared length over the limit before reading', async () => {
    expect(await code(readSoapBody(fakeRequest(text, { 'content-length': String(text.length) }), { maxBytes: 1000 }))).toBe('RELAY_ERR_BODY_TOO_LARGE');
  });

  it('stops a chunked body and a compression bomb at the limit', async () => {
    expect(await code(readSoapBody(fakeRequest(text, { 'transfer-encoding': 'chunked' }), { maxBytes: 1000 }))).toBe('RELAY_ERR_BODY_TOO_LARGE');
    const bomb = zlib.gzipSync(Buffer.alloc(20 * 1024 * 1024));
    expect(await code(readSoapBody(fakeRequest(bomb, { 'content-encoding': 'gzip' }), { maxBytes: 100_000 }))).toBe('RELAY_ERR_BODY_TOO_LARGE');
  });

  it('refuses unknown codings (415) and corrupt data', async () => {
    let caught: RelayError | undefined;
    await readSoapBody(fakeRequest(text, { 'content-encoding': 'compress' }), { maxBytes: 100_000 }).catch((e: RelayError) => (caught = e));
    expect(caught?.code).toBe('RELAY_ERR_PROTOCOL_INVALID_MESSAGE');
    expect(caught?.httpStatus).toBe(415);
    expect(await code(readSoapBody(fakeRequest(Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' }), { maxBytes: 100_000 }))).toBe('RELAY_ERR_PROTOCOL_INVALID_MESSAGE');
  });

  it('reads an empty body', async () => {
    const got = await readSoapBody(fakeRequest(Buffer.alloc(0), { 'content-encoding': 'gzip' }), { maxBytes: 10 });
    expect(got.body.length).toBe(0);
  });
});
