/**
 * A real browser for the tests of pages: Debian's `chromium`, driven by playwright-core (no
 * downloaded browser). Outside CI a missing chromium skips with a warning; with
 * RELAYBRIDGE_REQUIRE_INTEROP=1 (.ci/run, which installs it from Debian) it fails.
 */
import { requirePeer } from './exec';

/** The chromium executable on PATH, or undefined; throws under RELAYBRIDGE_REQUIRE_INTEROP=1 when there is none. */
export function chromiumPath(): string | undefined {
  return requirePeer(['chromium', 'chromium-browser'], 'apt-get install chromium');
}

/** `describe` when chromium is here, else `describe.skip` with a warning naming the suite. */
export function browserDescribe(suiteName: string): jest.Describe {
  if (chromiumPath()) return describe;
  console.warn(`${suiteName}: SKIPPED, chromium not on PATH (apt-get install chromium)`);
  return describe.skip;
}
