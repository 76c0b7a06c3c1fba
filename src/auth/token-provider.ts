/**
 * Token providers: where a client (the agent, a sender) gets its SAS token from.
 * A provider is asked again before the previous token expires (renewal).
 */
import type { Clock } from '../core/clock';
import { createSasToken } from './sas-token';

/** Returns a token for `audience` (a resource URI) valid for about `validForSeconds`. */
export type TokenProvider = (audience: string, validForSeconds: number) => Promise<string>;

/** Signs a fresh token on every call with the rule `keyName` / `key`. */
export function sasTokenProvider(keyName: string, key: string, clock?: Clock): TokenProvider {
  return async (audience, validForSeconds) =>
    createSasToken({ resourceUri: audience, keyName, key, expiresInSeconds: validForSeconds, clock });
}

/** Always returns the same, pre-made token (its audience and expiry are whatever it says). */
export function staticTokenProvider(token: string): TokenProvider {
  return async () => token;
}
