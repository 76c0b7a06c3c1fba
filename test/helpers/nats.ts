/**
 * Real `nats-server` processes for the tests (JetStream on, a free port, storage in a temporary
 * directory; never a shared server). Outside CI a missing `nats-server` skips with a warning;
 * with RELAYBRIDGE_REQUIRE_INTEROP=1 (.ci/run, which installs it from Debian) it fails.
 */
import { onPath } from './exec';

export { startNats, startNatsCluster, type NatsServer } from './nats-server';

/** True when `nats-server` is on PATH; throws under RELAYBRIDGE_REQUIRE_INTEROP=1 when it is not. */
export function requireNats(): boolean {
  if (onPath('nats-server')) return true;
  if (process.env.RELAYBRIDGE_REQUIRE_INTEROP === '1') {
    throw new Error('RELAYBRIDGE_REQUIRE_INTEROP=1 but nats-server is not on PATH: apt-get install nats-server');
  }
  return false;
}

/** `describe` when nats-server is here, else `describe.skip` with a warning naming the suite. */
export function natsDescribe(suiteName: string): jest.Describe {
  if (requireNats()) return describe;
  console.warn(`${suiteName}: SKIPPED, nats-server not on PATH (apt-get install nats-server)`);
  return describe.skip;
}

