/** The WCF harness on Mono (./wcf-harness) and the jest side of it: a suite that needs Mono. */
import { requireMono } from './wcf-harness';

export * from './wcf-harness';

/**
 * `describe` when Mono is here, else `describe.skip` with a warning naming the suite (and a throw
 * from requireMono() when RELAYBRIDGE_REQUIRE_INTEROP=1, so CI cannot skip).
 */
export function monoDescribe(suiteName: string): jest.Describe {
  if (requireMono()) return describe;
  console.warn(`${suiteName}: SKIPPED, mono/mcs not on PATH (see test/interop/wcf/README.md)`);
  return describe.skip;
}

