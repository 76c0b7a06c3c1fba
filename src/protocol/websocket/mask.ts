/**
 * RFC 6455 §5.3 client-to-server masking: octet i of the transformed data is octet i of the
 * original XOR octet (i MOD 4) of the masking key. Masking and unmasking are the same
 * operation. `offset` lets a frame's payload be processed in pieces as it streams.
 */
import { randomFillSync } from 'node:crypto';

/**
 * Returns a new buffer with `data` masked (or unmasked) by `mask`.
 *
 * @param data   bytes of one frame's payload
 * @param mask   the frame's 4-byte masking key
 * @param offset how many bytes of this frame's payload came before `data` (default 0)
 */
export function applyMask(data: Buffer, mask: Buffer, offset = 0): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  maskInto(data, mask, offset, out);
  return out;
}

/** Masks `data` into `out` (which may be `data` itself, for in-place unmasking). */
export function maskInto(data: Uint8Array, mask: Uint8Array, offset: number, out: Uint8Array): void {
  if (mask.length !== 4) throw new RangeError('WebSocket mask must be 4 bytes');
  if (!Number.isInteger(offset) || offset < 0) throw new RangeError('mask offset must be a non-negative integer');
  // Rotate the key so index 0 of `data` lines up with key octet (offset MOD 4).
  const s = offset & 3;
  const m0 = mask[s]!;
  const m1 = mask[(s + 1) & 3]!;
  const m2 = mask[(s + 2) & 3]!;
  const m3 = mask[(s + 3) & 3]!;
  const n = data.length;
  const whole = n - (n & 3);
  let i = 0;
  for (; i < whole; i += 4) {
    out[i] = data[i]! ^ m0;
    out[i + 1] = data[i + 1]! ^ m1;
    out[i + 2] = data[i + 2]! ^ m2;
    out[i + 3] = data[i + 3]! ^ m3;
  }
  const rot = [m0, m1, m2, m3];
  for (let k = 0; i < n; i++, k++) out[i] = data[i]! ^ rot[k]!;
}

const POOL_BYTES = 8 * 1024;
let pool: Buffer | undefined;
let poolOffset = POOL_BYTES;

/**
 * A fresh 4-byte masking key. RFC 6455 §5.3: "The masking key MUST be derived from a strong
 * source of entropy" and be unpredictable per frame; keys are drawn from a crypto-filled pool
 * (as ws does) to avoid one randomBytes call per frame.
 */
export function generateMask(): Buffer {
  if (pool === undefined || poolOffset + 4 > POOL_BYTES) {
    pool ??= Buffer.allocUnsafe(POOL_BYTES);
    randomFillSync(pool);
    poolOffset = 0;
  }
  // Copy: the pool is refilled later, and a frame keeps its key.
  const key = Buffer.from(pool.subarray(poolOffset, poolOffset + 4));
  poolOffset += 4;
  return key;
}
