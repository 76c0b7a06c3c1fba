/**
 * A list of chunks with consume(n): returns a view (no copy) when the n bytes lie in one
 * chunk, and copies only when they span chunks (ws Receiver.consume style).
 */
export class ByteQueue {
  #chunks: Buffer[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** Byte at offset i from the head (no consumption). */
  peekByte(i: number): number {
    for (const c of this.#chunks) {
      if (i < c.length) return c[i]!;
      i -= c.length;
    }
    throw new RangeError('ByteQueue.peekByte past end');
  }

  /** Copies the first n bytes without consuming (n small; used for headers). */
  peek(n: number): Buffer {
    if (n > this.#length) throw new RangeError('ByteQueue.peek past end');
    const first = this.#chunks[0]!;
    if (n <= first.length) return first.subarray(0, n);
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    for (const c of this.#chunks) {
      const take = Math.min(c.length, n - off);
      c.copy(out, off, 0, take);
      off += take;
      if (off === n) break;
    }
    return out;
  }

  /** Removes and returns the first n bytes. */
  consume(n: number): Buffer {
    if (n > this.#length) throw new RangeError('ByteQueue.consume past end');
    this.#length -= n;
    const first = this.#chunks[0];
    if (n === 0 || first === undefined) return Buffer.alloc(0);
    if (n === first.length) return this.#chunks.shift()!;
    if (n < first.length) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.#chunks[0]!;
      const take = Math.min(c.length, n - off);
      c.copy(out, off, 0, take);
      off += take;
      if (take === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(take);
    }
    return out;
  }

  /** Removes up to n bytes as a list of views (no copy). */
  consumeChunks(n: number): Buffer[] {
    const out: Buffer[] = [];
    while (n > 0 && this.#chunks.length) {
      const c = this.#chunks[0]!;
      if (c.length <= n) {
        out.push(this.#chunks.shift()!);
        n -= c.length;
        this.#length -= c.length;
      } else {
        out.push(c.subarray(0, n));
        this.#chunks[0] = c.subarray(n);
        this.#length -= n;
        n = 0;
      }
    }
    return out;
  }

  clear(): void {
    this.#chunks = [];
    this.#length = 0;
  }
}
