/**
 * Reads a SOAP request body whole, with a size limit, undoing `Content-Encoding: gzip`,
 * `deflate` (zlib-wrapped, or raw as some clients send it) and `br`. The limit applies to the
 * decoded size too, and decoding stops as soon as it is passed: a compression bomb costs at
 * most `maxBytes` of memory. Chunked bodies and `Expect: 100-continue` are Node's business
 * (it answers 100 before the request event, and de-chunks).
 *
 * Before the caller is authorized (`preAuth`), only a head is read: at most `preAuth.maxBytes`
 * decoded, no more than `preAuth.maxRatio` times what came on the wire (a compression bomb
 * stops there), within `preAuth.deadlineMs` of the start. `preAuth.decide` looks at the head
 * (for a RelayAccessToken) and either authorizes the call, after which the rest is read under
 * the full limits, or refuses it, after which nothing more is decoded.
 */
import type { IncomingMessage } from 'node:http';
import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import { idleWatch, type Clock, type IdleWatch } from '../../../core/clock';
import { ProtocolError, QuotaExceededError, RelayError } from '../../../core/errors';
import { bodyTimeout } from '../../http/body';

export interface ReadBodyOptions {
  /** Largest body accepted, bytes, before and after decoding. */
  readonly maxBytes: number;
  /** Longest silence between body bytes (a stalled caller): RELAY_ERR_BODY_TIMEOUT. Default: none. */
  readonly idle?: { readonly ms: number; readonly clock: Clock };
  /** Read only a bounded head until the caller is authorized. */
  readonly preAuth?: PreAuthHead;
}

export interface PreAuthHead {
  /** Most decoded bytes read before a verdict. */
  readonly maxBytes: number;
  /** Largest ratio of decoded to received bytes; past it the head is what was decoded so far. */
  readonly maxRatio: number;
  /** Absolute time for the head, ms from the call (RELAY_ERR_BODY_TIMEOUT). */
  readonly deadlineMs: number;
  readonly clock: Clock;
  /**
   * Looks at the decoded head so far. `final`: nothing more will be read before a verdict (the
   * limit or ratio was reached, or the body ended); `ended`: the head is the whole body. Returns
   * true once the caller is authorized (or, when ended, to have the whole body returned), false
   * to wait for more bytes (only when not final); throws to refuse the call.
   */
  decide(head: Buffer, final: boolean, ended: boolean): boolean;
}

/** An unauthorized caller's body did not arrive in time; the connection cannot be reused after it. */
export function preAuthTimeout(ms: number): RelayError {
  return new RelayError(
    'RELAY_ERR_BODY_TIMEOUT',
    `The request body did not arrive within ${ms} ms before the call was authorized (limits.preAuthBodyTimeoutMs). Send the token in a header, or the body faster.`,
  );
}

export interface ReadBody {
  readonly body: Buffer;
  /** The Content-Encoding that was undone ('' when none). */
  readonly decoded: string;
  /** Bytes received on the wire. */
  readonly wireBytes: number;
}

/** A caller that stopped sending its body; the connection cannot be reused after it. */
export { bodyTimeout };

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
    const pre = options.preAuth;
    /** Still reading the head for a caller that has not authorized. */
    let inHead = pre !== undefined;
    let scannedAt = 0;
    const deadline = pre ? pre.clock.setTimeout(() => fail(preAuthTimeout(pre.deadlineMs)), pre.deadlineMs) : undefined;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      watch?.stop();
      if (pre) pre.clock.clearTimeout(deadline);
      decoder?.destroy();
      req.off('data', onData);
      reject(err);
    };
    const done = (): void => {
      if (settled) return;
      if (inHead && !headVerdict(true)) return;
      settled = true;
      watch?.stop();
      if (pre) pre.clock.clearTimeout(deadline);
      resolve({ body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, out), decoded: decoder ? encoding : '', wireBytes: wire });
    };
    /**
     * Asks preAuth.decide about the head when it must (final) or when it grew by a quarter
     * (at least 1 KiB) since the last look, so a trickled head is scanned O(log n) times, not per
     * chunk. Returns false when the call failed.
     */
    const headVerdict = (ended: boolean): boolean => {
      const p = pre!;
      const final = ended || out >= p.maxBytes || (decoder !== undefined && out > p.maxRatio * wire);
      if (!final && out - scannedAt < Math.max(1024, scannedAt >> 2)) return true;
      scannedAt = out;
      let authorized: boolean;
      try {
        authorized = p.decide(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, out), final, ended);
      } catch (err) {
        fail(err as Error);
        return false;
      }
      if (authorized) {
        inHead = false;
        p.clock.clearTimeout(deadline);
        if (out > max) {
          fail(tooLarge(max));
          return false;
        }
        return true;
      }
      if (final) {
        fail(new RelayError('RELAY_ERR_INTERNAL', 'preAuth.decide neither authorized nor refused a final head.'));
        return false;
      }
      return true;
    };
    const collect = (c: Buffer): void => {
      if (settled) return;
      out += c.length;
      if (inHead) {
        chunks.push(Buffer.from(c));
        headVerdict(false);
        return;
      }
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
