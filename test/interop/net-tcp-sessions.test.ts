/**
 * net.tcp sessions with real WCF on both ends: a Mono 6.8 `ServiceHost` duplex service behind the
 * agent's `nettcp` target (test/interop/wcf/Session.cs ISession: `SessionMode.Required`,
 * `PerSession`, an `IsTerminating` operation, a `CallbackContract` with one-way callbacks during an
 * operation and from a timer, and a two-way callback), driven by Microsoft's WCF client
 * (test/interop/dotnet/SessionClient: System.ServiceModel.NetTcp 10.1.0) through the relay and
 * directly, with the same results required; and the session's fate when the service or the relay
 * goes away mid-session. Mono 6.8's own duplex client hangs on its first call even directly, so it
 * does not drive these.
 */
import { dotnetDescribe, holdDotnetSession, runDotnetSessionClient } from '../helpers/dotnet';
import { Harness } from '../helpers/harness';
import { freePort, monoAvailable, requireMono, scenarioResult, showFailures, startSessionService, type SessionServiceProcess } from '../helpers/mono';
import type { RelayServer } from '../../src/relay/relay-server';

// Mono hosts the service, .NET runs the client: both are required in CI (RELAYBRIDGE_REQUIRE_INTEROP=1).
const dotnetSuite = requireMono() ? dotnetDescribe('net-tcp-sessions (Microsoft client)') : describe.skip;
if (!monoAvailable()) console.warn('net-tcp-sessions: SKIPPED, mono/mcs not on PATH (the service runs on Mono)');
const DUPLEX = ['interleaved', 'close-reopen', 'terminating', 'progress', 'later', 'ask', 'concurrent'];

dotnetSuite('net.tcp duplex sessions, Microsoft WCF client and Mono service, through the relay and directly', () => {
  const h = new Harness();
  let relay: RelayServer;
  let service: SessionServiceProcess;
  let direct: string;

  beforeAll(async () => {
    direct = `net.tcp://127.0.0.1:${await freePort()}/session`;
    service = await startSessionService({ tcp: direct });
    h.defer(() => service.stop());
    relay = await h.relay({ netTcp: { port: 0, host: '127.0.0.1' }, entities: [{ path: 'session', requiresClientAuthorization: false }] });
    const agent = await h.agent(relay, [{ path: 'session', target: { type: 'nettcp', url: direct } }]);
    await agent.whenReady();
  }, 120_000);
  afterAll(() => h.close());

  it('callbacks during and after operations, two-way callbacks, isolation: the same results as direct', async () => {
    const straight = await runDotnetSessionClient(direct, DUPLEX);
    const viaRelay = await runDotnetSessionClient(`${relay.netTcp!.url}/session`, DUPLEX);
    showFailures(straight);
    showFailures(viaRelay);
    for (const results of [straight, viaRelay]) {
      expect(scenarioResult(results, 'interleaved')).toMatchObject({ ok: true, a: [1, 2, 3], b: [1, 2, 3], distinct: true, stable: true });
      expect(scenarioResult(results, 'close-reopen')).toMatchObject({ ok: true, afterReopen: 1 });
      expect(scenarioResult(results, 'terminating')).toMatchObject({ ok: true, newSession: 1 });
      expect(scenarioResult(results, 'progress')).toMatchObject({ ok: true, sum: 5, callbacks: ['progress:2'] });
      expect(scenarioResult(results, 'later')).toMatchObject({ ok: true, own: true, callbacks: 1 });
      expect(scenarioResult(results, 'ask')).toMatchObject({ ok: true, answer: 'answer to life' });
      expect(scenarioResult(results, 'concurrent')).toMatchObject({ ok: true, sessions: ['1,2,3 own', '1,2,3 own', '1,2,3 own'] });
    }
    expect(scenarioResult(viaRelay, 'terminating').afterTerminate).toBe(scenarioResult(straight, 'terminating').afterTerminate);
  }, 600_000);
});

dotnetSuite('net.tcp sessions when something goes away mid-session (Microsoft WCF client)', () => {
  const h = new Harness();
  afterAll(() => h.close());

  /** A Mono duplex service behind an agent and a relay of their own (each case takes one away). */
  async function setup() {
    const direct = `net.tcp://127.0.0.1:${await freePort()}/session`;
    const service = await startSessionService({ tcp: direct });
    h.defer(() => service.stop());
    const relay = await h.relay({ netTcp: { port: 0, host: '127.0.0.1' }, entities: [{ path: 'session', requiresClientAuthorization: false }] });
    const agent = await h.agent(relay, [{ path: 'session', target: { type: 'nettcp', url: direct } }]);
    await agent.whenReady();
    return { direct, service, relay, agent };
  }

  /** Holds a session at `address`, takes something away, and returns the next call's outcome. */
  async function holdThen(address: string, takeAway: () => Promise<void>): Promise<Record<string, unknown>> {
    const client = await holdDotnetSession(address, 20);
    await client.opened;
    await takeAway();
    return client.proceed();
  }

  it('the service dying: the next call fails at once, through the relay as directly', async () => {
    const a = await setup();
    const straight = await holdThen(a.direct, () => a.service.stop());
    const b = await setup();
    const viaRelay = await holdThen(`${b.relay.netTcp!.url}/session`, () => b.service.stop());
    for (const r of [straight, viaRelay]) expect(r).toMatchObject({ ok: true, first: 1, failed: true });
    // Bounded well inside the client's 20 s SendTimeout: the channel faults, it does not wait.
    expect(viaRelay.ms as number).toBeLessThan(10_000);
  }, 300_000);

  it('the agent going away: the next call fails at once (the relay kills the session with an NMF fault), never a hang', async () => {
    const a = await setup();
    const afterAgent = await holdThen(`${a.relay.netTcp!.url}/session`, () => a.agent.stop());
    expect(afterAgent).toMatchObject({ ok: true, first: 1, failed: true });
    expect(afterAgent.ms as number).toBeLessThan(10_000);
  }, 300_000);

  it('the relay going away: the next call fails at once, never a hang', async () => {
    const b = await setup();
    const afterRelay = await holdThen(`${b.relay.netTcp!.url}/session`, () => b.relay.close());
    expect(afterRelay).toMatchObject({ ok: true, first: 1, failed: true });
    expect(afterRelay.ms as number).toBeLessThan(10_000);
  }, 300_000);
});
