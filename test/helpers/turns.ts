/** Helpers for tests of writes coalesced per event-loop turn (core/turn-gate.ts). */
import type { Duplex } from 'node:stream';

/** Resolves once the current turn has ended (after its setImmediate callbacks). */
export const turnEnd = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Resolves when `ok()` holds (polled every 5 ms; the test's timeout bounds it). */
export async function until(ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise((r) => setTimeout(r, 5));
}

/**
 * Counts the writes a net.Socket hands to the kernel from now on: each chunk it sends (one write,
 * or one writev of what was corked) passes its _writeGeneric once.
 */
export function countWrites(socket: Duplex): () => number {
  let writes = 0;
  const s = socket as unknown as { _writeGeneric: (...a: unknown[]) => unknown };
  const original = s._writeGeneric.bind(socket);
  s._writeGeneric = (...a: unknown[]) => {
    writes++;
    return original(...a);
  };
  return () => writes;
}
