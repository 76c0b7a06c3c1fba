/**
 * Real `nats-server` processes for the tests (JetStream on, a free port, storage in a temporary
 * directory; never a shared server). Outside CI a missing `nats-server` skips with a warning;
 * with RELAYBRIDGE_REQUIRE_INTEROP=1 (.ci/run, which installs it from Debian) it fails.
 */
import { requirePeer } from './exec';

export { startNats, startNatsCluster, type NatsServer } from './nats-server';

/** True when `nats-server` is on PATH; throws under RELAYBRIDGE_REQUIRE_INTEROP=1 when it is not. */
export function requireNats(): boolean {
  return requirePeer(['nats-server'], 'apt-get install nats-server') !== undefined;
}

/** `describe` when nats-server is here, else `describe.skip` with a warning naming the suite. */
export function natsDescribe(suiteName: string): jest.Describe {
  if (requireNats()) return describe;
  console.warn(`${suiteName}: SKIPPED, nats-server not on PATH (apt-get install nats-server)`);
  return describe.skip;
}

