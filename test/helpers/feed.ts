/**
 * Feeds a byte stream to any push-style decoder three ways (STYLE.md habit 9): whole, split at
 * every offset into two chunks, and byte by byte; and checks that every way yields the same
 * output. `normalize` merges outputs whose split points legitimately differ (e.g. streamed data
 * frames), so only the meaning is compared.
 */

/** A decoder that takes chunks and returns what each chunk completed. */
export interface PushDecoder<T> {
  push(chunk: Buffer): T[];
}

export type DecoderFactory<T> = () => PushDecoder<T>;

/** Feeds the chunks in order to a new decoder and returns everything it produced. */
export function feedChunks<T>(make: DecoderFactory<T>, chunks: readonly Buffer[], finish?: (d: PushDecoder<T>) => T[] | void): T[] {
  const decoder = make();
  const out: T[] = [];
  for (const c of chunks) out.push(...decoder.push(c));
  const tail = finish?.(decoder);
  if (tail) out.push(...tail);
  return out;
}

/** The whole input as one chunk. */
export function wholeChunks(bytes: Buffer): Buffer[] {
  return [bytes];
}

/** Two chunks split at `offset` (copies, so decoders cannot rely on shared memory). */
export function splitChunks(bytes: Buffer, offset: number): Buffer[] {
  return [Buffer.from(bytes.subarray(0, offset)), Buffer.from(bytes.subarray(offset))];
}

/** One chunk per byte. */
export function byteChunks(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) out.push(Buffer.from([bytes[i]!]));
  return out;
}

/** Every way to feed `bytes`: whole, each split offset 1..n-1, byte by byte (labelled). */
export function* allFeeds(bytes: Buffer, maxSplits = Infinity): Generator<{ name: string; chunks: Buffer[] }> {
  yield { name: 'whole', chunks: wholeChunks(bytes) };
  const step = Math.max(1, Math.ceil((bytes.length - 1) / maxSplits));
  for (let i = 1; i < bytes.length; i += step) yield { name: `split@${i}`, chunks: splitChunks(bytes, i) };
  yield { name: 'byte-by-byte', chunks: byteChunks(bytes) };
}

export interface FeedAllOptions<T, N> {
  /** Maps a decoder's output to the form compared across feeds (default: identity). */
  readonly normalize?: (out: T[]) => N;
  /** Called after the last chunk (e.g. decoder.finish()); its return value is appended. */
  readonly finish?: (d: PushDecoder<T>) => T[] | void;
  /** At most this many split offsets (evenly spread) for long inputs. Default: every offset. */
  readonly maxSplits?: number;
}

/**
 * Feeds `bytes` every way, asserts (with jest's expect) that all normalised outputs equal the
 * whole-input one, and returns it.
 */
export function feedAllWays<T, N = T[]>(make: DecoderFactory<T>, bytes: Buffer, options: FeedAllOptions<T, N> = {}): N {
  const normalize = options.normalize ?? ((out: T[]) => out as unknown as N);
  let expected: N | undefined;
  for (const { name, chunks } of allFeeds(bytes, options.maxSplits)) {
    const got = normalize(feedChunks(make, chunks, options.finish));
    if (expected === undefined) expected = got;
    else {
      try {
        expect(got).toEqual(expected);
      } catch (err) {
        throw new Error(`feed "${name}" differs from whole-input decoding:\n${(err as Error).message}`);
      }
    }
  }
  return expected!;
}
