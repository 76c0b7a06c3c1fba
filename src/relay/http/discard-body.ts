/**
 * What is left of a request body the relay answered without reading it (refused: too large, not
 * authorized, unknown path, bad envelope). It is read and dropped, so the answer reaches the caller
 * and the connection can carry the next request, but only up to LINGER_BYTES or LINGER_MS; past
 * that the connection is closed once the answer is out (a "lingering close", as nginx does).
 * Closing at once could make the kernel reset a connection with unread data and lose the answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock, TimerHandle } from '../../core/clock';

/** Most of an unread request body dropped to keep its connection, bytes. */
export const LINGER_BYTES = 1024 * 1024;
/** Longest time spent dropping it, ms. */
export const LINGER_MS = 5000;

export function discardRequestBody(req: IncomingMessage, res: ServerResponse, clock: Clock): void {
  if (req.complete) return;
  let dropped = 0;
  const close = (): void => {
    clock.clearTimeout(timer);
    req.off('data', onData);
    if (res.writableFinished) req.socket?.destroy();
    else res.once('finish', () => req.socket?.destroy());
  };
  const onData = (c: Buffer): void => {
    dropped += c.length;
    if (dropped > LINGER_BYTES) close();
  };
  const timer: TimerHandle = clock.setTimeout(close, LINGER_MS);
  req.on('data', onData);
  req.once('end', () => clock.clearTimeout(timer));
  req.once('close', () => clock.clearTimeout(timer));
  req.resume();
}
