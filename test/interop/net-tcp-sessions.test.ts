/**
 * net.tcp sessions with real WCF on both ends: Mono 6.8 `ServiceHost` services behind the agent's
 * `nettcp` target (test/interop/wcf/Session.cs), called through the relay and directly, with the
 * same results required:
 * - a `SessionMode.Required`, `PerSession` counter with an `IsTerminating` operation (ICounter),
 *   driven by Mono's WCF client;
 * - a duplex service (ISession: `CallbackContract` with one-way callbacks during an operation and
 *   from a timer, and a two-way callback), driven by Microsoft's WCF client
 *   (test/interop/dotnet/SessionClient: System.ServiceModel.NetTcp 10.1.0). Mono 6.8's own duplex
 *   client hangs on its first call even directly, so it does not drive this one.
 */
import { dotnetDescribe, runDotnetSessionClient } from '../helpers/dotnet';
import { Harness } from '../helpers/harness';
import { freePort, monoAvailable, monoDescribe, runSessionClient, scenarioResult, showFailures, startSessionService, type SessionServiceProcess } from '../helpers/mono';
import type { RelayServer } from '../../src/relay/relay-server';

const suite = monoDescribe('net-tcp-sessions');
const SCENARIOS = ['counter-interleaved', 'counter-close-reopen', 'counter-terminating', 'counter-concurrent'];

suite('net.tcp sessions, Mono WCF client and service, through the relay and directly', () => {
  const h = new Harness();
  let relay: RelayServer;
  let service: SessionServiceProcess;
  let direct: string;

  beforeAll(async () => {
    direct = `net.tcp://127.0.0.1:${await freePort()}/counter`;
    service = await startSessionService({ counter: direct });
    h.defer(() => service.stop());
    relay = await h.relay({ netTcp: { port: 0, host: '127.0.0.1' }, entities: [{ path: 'counter', requiresClientAuthorization: false }] });
    const agent = await h.agent(relay, [{ path: 'counter', target: { type: 'nettcp', url: direct } }]);
    await agent.whenReady();
  }, 120_000);
  afterAll(() => h.close());

  it('each client session is its own service session: the same results as calling the service directly', async () => {
    const viaRelay = await runSessionClient(`${relay.netTcp!.url}/counter`, SCENARIOS);
    const straight = await runSessionClient(direct, SCENARIOS);
    showFailures(viaRelay);
    showFailures(straight);
    for (const results of [straight, viaRelay]) {
      expect(scenarioResult(results, 'counter-interleaved')).toMatchObject({ ok: true, a: [1, 2, 3], b: [1, 2, 3], distinct: true, stable: true });
      expect(scenarioResult(results, 'counter-close-reopen')).toMatchObject({ ok: true, afterReopen: 1 });
      expect(scenarioResult(results, 'counter-concurrent')).toMatchObject({ ok: true, sessions: ['1,2,3', '1,2,3', '1,2,3'] });
      expect(scenarioResult(results, 'counter-terminating')).toMatchObject({ ok: true, newSession: 1 });
    }
    // What a client sees after IsTerminating is the same both ways.
    expect(scenarioResult(viaRelay, 'counter-terminating').afterTerminate).toBe(scenarioResult(straight, 'counter-terminating').afterTerminate);
    // Every service session the relay opened was ended when its client's session ended.
    const opened = service.events.filter((e) => e.event === 'session-open').length;
    const closed = () => service.events.filter((e) => e.event === 'session-close').length;
    for (let i = 0; i < 100 && closed() < opened; i++) await new Promise((r) => setTimeout(r, 100));
    expect(closed()).toBe(opened);
  }, 240_000);
});

const dotnetSuite = monoAvailable() ? dotnetDescribe('net-tcp-sessions (Microsoft client)') : describe.skip;
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
