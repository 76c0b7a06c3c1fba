/**
 * Reads a SOAP request body whole, with a size limit, undoing `Content-Encoding: gzip`,
 * `deflate` (zlib-wrapped, or raw as some clients send it) and `br`. The limit applies to the
 * decoded size too, and decoding stops as soon as it is passed: a compression bomb costs at
 * most `maxBytes` of memory. Chunked bodies and `Expect: 100-continue` are Node's business
 * (it answers 100 before the request event, and de-chunks).
 */
import type { IncomingMessage } from 'node:http';
import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import { idleWatch, type Clock, type IdleWatch } from '../../../core/clock';
import { ProtocolError, QuotaExceededError, RelayError } from '../../../core/errors';

export interface ReadBodyOptions {
  /** Largest body accepted, bytes, before and after decoding. */
  readonly maxBytes: number;
  /** Longest silence between body bytes (a stalled caller): RELAY_ERR_BODY_TIMEOUT. Default: none. */
  readonly idle?: { readonly ms: number; readonly clock: Clock };
}

export interface ReadBody {
  readonly body: Buffer;
  /** The Content-Encoding that was undone ('' when none). */
  readonly decoded: string;
  /** Bytes received on the wire. */
  readonly wireBytes: number;
}

/** A caller that stopped sending its body; the connection cannot be reused after it. */
export function bodyTimeout(idleMs: number): RelayError {
  return new RelayError('RELAY_ERR_BODY_TIMEOUT', `The request body stopped arriving: nothing for ${idleMs} ms (limits.bodyIdleTimeoutMs).`);
}

export function tooLarge(maxBytes: number, what = 'The SOAP request'): QuotaExceededError {
  return new QuotaExceededError(
    'RELAY_ERR_BODY_TOO_LARGE',
    `${what} is larger than the relay accepts (${maxBytes} bytes; limits.maxSoapEnvelopeBytes). Send a smaller message or raise the limit.`,
  );
}

/** The decoder for a Content-Encoding value; undefined for identity. Throws for unknown codings. */
function decoderFor(encoding: string, firstByte: number | undefined): Transform | undefined {
  switch (encoding) {
    case '':
    case 'identity':
      return undefined;
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      // RFC 9110 deflate is zlib-wrapped (first byte 0x?8 with CM=8); some clients send raw deflate.
      return firstByte !== undefined && (firstByte & 0x0f) === 8 ? zlib.createInflate() : zlib.createInflateRaw();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      throw new ProtocolError(
        'RELAY_ERR_PROTOCOL_INVALID_MESSAGE',
        `Content-Encoding '${encoding.slice(0, 40)}' is not supported by the relay (use gzip, deflate, br or none).`,
        { httpStatus: 415 },
      );
  }
}

/** Reads and decodes the whole body. Rejects with RELAY_ERR_BODY_TOO_LARGE or a ProtocolError. */
export function readSoapBody(req: IncomingMessage, options: ReadBodyOptions): Promise<ReadBody> {
  const max = options.maxBytes;
  const encoding = String(req.headers['content-encoding'] ?? '').trim().toLowerCase();
  const declared = Number(req.headers['content-length']);
  if (!req.headers['transfer-encoding'] && Number.isFinite(declared) && declared > max) {
    return Promise.reject(tooLarge(max));
  }
  // Validate the coding before reading anything.
  try {
    decoderFor(encoding === 'deflate' ? '' : encoding, undefined)?.destroy();
  } catch (err) {
    return Promise.reject(err);
  }

  return new Promise<ReadBody>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let wire = 0;
    let out = 0;
    let decoder: Transform | undefined;
    let settled = false;
    let watch: IdleWatch | undefined;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      watch?.stop();
      decoder?.destroy();
      req.off('data', onData);
      reject(err);
    };
    const done = (): void => {
      if (settled) return;
      settled = true;
      watch?.stop();
      resolve({ body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, out), decoded: decoder ? encoding : '', wireBytes: wire });
    };
    const collect = (c: Buffer): void => {
      out += c.length;
      if (out > max) return fail(tooLarge(max));
      chunks.push(c);
    };
    const onData = (c: Buffer): void => {
      if (settled) return;
      watch?.touch();
      wire += c.length;
      if (wire > max) return fail(tooLarge(max));
      if (decoder === undefined && encoding !== '' && encoding !== 'identity') {
        decoder = decoderFor(encoding, c[0]);
        if (decoder) {
          decoder.on('data', (d: Buffer) => collect(d));
          decoder.on('end', done);
          decoder.on('error', (err: Error) =>
            fail(new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `The request body is not valid ${encoding} data: ${err.message}.`, { httpStatus: 400 })),
          );
        }
      }
      if (decoder) {
        if (!decoder.write(c)) {
          req.pause();
          decoder.once('drain', () => req.resume());
        }
      } else collect(c);
    };
    req.on('data', onData);
    const idle = options.idle;
    if (idle && !req.complete) watch = idleWatch(idle.clock, idle.ms, () => fail(bodyTimeout(idle.ms)));
    req.on('end', () => {
      if (settled) return;
      watch?.stop();
      if (decoder) decoder.end();
      else done(); // identity, or an empty encoded body
    });
    req.on('error', (err) => fail(err));
    req.on('aborted', () => fail(new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', 'The client aborted the request body.')));
  });
}
