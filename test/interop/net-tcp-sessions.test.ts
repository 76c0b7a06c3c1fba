/**
 * net.tcp sessions with real WCF on both ends (Mono 6.8): a `SessionMode.Required`,
 * `InstanceContextMode.PerSession` service with an `IsTerminating` operation
 * (test/interop/wcf/Session.cs, ICounter) behind the agent's `nettcp` target, called by Mono's
 * WCF client through the relay and directly; the results must be the same. Mono 6.8's duplex
 * client (DuplexChannelFactory over net.tcp) hangs on its first call even directly, so callbacks
 * are covered by the integration suite (test/integration/net-tcp-sessions.test.ts) until
 * Microsoft's client runs here.
 */
import { Harness } from '../helpers/harness';
import { freePort, monoDescribe, runSessionClient, scenarioResult, showFailures, startSessionService, type SessionServiceProcess } from '../helpers/mono';
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
