/** Request-body errors shared by the HTTP endpoints. */
import { RelayError } from '../../core/errors';

/** The caller stopped sending its body for `idleMs` (limits.bodyIdleTimeoutMs). */
export function bodyTimeout(idleMs: number): RelayError {
  return new RelayError('RELAY_ERR_BODY_TIMEOUT', `The request body stopped arriving: nothing for ${idleMs} ms (limits.bodyIdleTimeoutMs).`);
}
