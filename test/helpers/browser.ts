/**
 * A real browser for the tests of pages: Debian's `chromium`, driven by playwright-core (no
 * downloaded browser). Outside CI a missing chromium skips with a warning; with
 * RELAYBRIDGE_REQUIRE_INTEROP=1 (.ci/run, which installs it from Debian) it fails.
 */
import fs from 'node:fs';
import path from 'node:path';

const CANDIDATES = ['chromium', 'chromium-browser'];

/** The chromium executable on PATH, or undefined; throws under RELAYBRIDGE_REQUIRE_INTEROP=1 when there is none. */
export function chromiumPath(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const name of CANDIDATES) {
      const file = path.join(dir, name);
      try {
        fs.accessSync(file, fs.constants.X_OK);
        return file;
      } catch {
        /* next */
      }
    }
  }
  if (process.env.RELAYBRIDGE_REQUIRE_INTEROP === '1') {
    throw new Error('RELAYBRIDGE_REQUIRE_INTEROP=1 but chromium is not on PATH: apt-get install chromium');
  }
  return undefined;
}

/** `describe` when chromium is here, else `describe.skip` with a warning naming the suite. */
export function browserDescribe(suiteName: string): jest.Describe {
  if (chromiumPath()) return describe;
  console.warn(`${suiteName}: SKIPPED, chromium not on PATH (apt-get install chromium)`);
  return describe.skip;
}
