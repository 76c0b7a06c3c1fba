/**
 * net.tcp sessions with real WCF on both ends: Mono 6.8 `ServiceHost` services behind the agent's
 * `nettcp` target (test/interop/wcf/Session.cs), called through the relay and directly, with the
 * same results required:
 * - a `SessionMode.Required`, `PerSession` counter with an `IsTerminating` operation (ICounter),
 *   driven by Mono's WCF client;
 * - a duplex service (ISession: `CallbackContract` with one-way callbacks during an operation and
 *   from a timer, and a two-way callback), driven by Microsoft's WCF client
 *   (test/interop/dotnet/SessionClient: System.ServiceModel.NetTcp 10.1.0), also while the agent,
 *   the service or the relay goes away mid-session. Mono 6.8's own duplex client hangs on its
 *   first call even directly, so it does not drive the duplex service.
 */
import { dotnetDescribe, holdDotnetSession, runDotnetSessionClient } from '../helpers/dotnet';
import { randomUUID } from 'node:crypto';
import { Harness, request } from '../helpers/harness';
import { freePort, monoAvailable, monoDescribe, requireMono, runSessionClient, scenarioResult, showFailures, startSessionService, type SessionServiceProcess } from '../helpers/mono';
import type { RelayServer } from '../../src/relay/relay-server';

const suite = monoDescribe('net-tcp-sessions');

/**
 * The direct run, the baseline the relay is compared with. A scenario that timed out
 * (TimeoutException: Mono 6.8 at times never acknowledges the preamble of a connection opened
 * while others open or close, and never answers End) is run again on its own, up to twice: that
 * is the service's quirk, met here without the relay (through the relay the agent retries such a
 * preamble itself). The other scenarios keep their first results.
 */
async function directBaseline<R extends { scenario?: unknown; ok?: unknown; error?: unknown }>(scenarios: readonly string[], run: (scenarios: string[]) => Promise<R[]>): Promise<R[]> {
  let results = await run([...scenarios]);
  for (let attempt = 0; attempt < 2; attempt++) {
    const timedOut = results.filter((r) => r.ok !== true && /TimeoutException/.test(String(r.error))).map((r) => String(r.scenario));
    if (timedOut.length === 0) break;
    console.warn(`direct run: Mono left ${timedOut.join(', ')} unanswered (TimeoutException); running ${timedOut.length === 1 ? 'it' : 'them'} again`);
    const again = await run(timedOut);
    results = results.map((r) => again.find((x) => x.scenario === r.scenario) ?? r);
  }
  return results;
}
const SCENARIOS = ['counter-interleaved', 'counter-close-reopen', 'counter-terminating', 'counter-concurrent'];

/**
 * Mono's client process, run again once when it hangs past every WCF timeout it was given (45 s
 * per operation): a client that ignores its own timeouts is Mono's fault whatever the peer does.
 * Which run hung is said, so a pattern would show.
 */
async function monoClientRun(which: string, address: string, scenarios: string[] = SCENARIOS): Promise<Awaited<ReturnType<typeof runSessionClient>>> {
  try {
    return await runSessionClient(address, scenarios, 45, 200_000);
  } catch (err) {
    console.warn(`${which}: Mono's client process hung past its own timeouts (${(err as Error).message.slice(0, 300)}); running it again`);
    return runSessionClient(address, scenarios, 45, 200_000);
  }
}

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
    // 45 s per call: room for the agent to retry a preamble Mono leaves unanswered (5 s each).
    const viaRelay = await monoClientRun('through the relay', `${relay.netTcp!.url}/counter`);
    const straight = await directBaseline(SCENARIOS, (scenarios) => monoClientRun('direct', direct, scenarios));
    showFailures(viaRelay);
    showFailures(straight);
    for (const results of [straight, viaRelay]) {
      expect(scenarioResult(results, 'counter-interleaved')).toMatchObject({ ok: true, a: [1, 2, 3], b: [1, 2, 3], distinct: true, stable: true });
      expect(scenarioResult(results, 'counter-close-reopen')).toMatchObject({ ok: true, afterReopen: 1 });
      expect(scenarioResult(results, 'counter-concurrent')).toMatchObject({ ok: true, sessions: ['1,2,3', '1,2,3', '1,2,3'] });
      expect(scenarioResult(results, 'counter-terminating')).toMatchObject({ ok: true, newSession: 1 });
    }
    expect(scenarioResult(viaRelay, 'counter-terminating').afterTerminate).toBe(scenarioResult(straight, 'counter-terminating').afterTerminate);
    // Every service session the relay opened was ended when its client's session ended.
    const opened = service.events.filter((e) => e.event === 'session-open').length;
    const closed = () => service.events.filter((e) => e.event === 'session-close').length;
    for (let i = 0; i < 100 && closed() < opened; i++) await new Promise((r) => setTimeout(r, 100));
    expect(closed()).toBe(opened);
  }, 900_000);

  it('sessionless callers (SOAP 1.2 and 1.1 over HTTP) each get a service session of their own, as a new proxy does directly', async () => {
    const ns = 'urn:relaybridge:sessions';
    const action = `${ns}/ICounter/Increment`;
    const soap12 = () =>
      request(`${relay.url}/counter`, {
        method: 'POST',
        headers: { 'Content-Type': `application/soap+xml; charset=utf-8; action="${action}"` },
        body: `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="1">${action}</a:Action><a:MessageID>urn:uuid:${randomUUID()}</a:MessageID><a:To s:mustUnderstand="1">${relay.url}/counter</a:To></s:Header><s:Body><Increment xmlns="${ns}"/></s:Body></s:Envelope>`,
      }).then((r) => Number(/<IncrementResult>(\d+)</.exec(r.body.toString())?.[1]));
    const soap11 = () =>
      request(`${relay.url}/counter`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${action}"` },
        body: `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Increment xmlns="${ns}"/></s:Body></s:Envelope>`,
      }).then((r) => Number(/<IncrementResult>(\d+)</.exec(r.body.toString())?.[1]));
    // Directly, a new proxy (a new session) starts from 1 (counter-close-reopen above): so does every caller here.
    expect([await soap12(), await soap12(), await soap11()]).toEqual([1, 1, 1]);
    expect(await Promise.all([soap12(), soap11(), soap12()])).toEqual([1, 1, 1]);
  }, 120_000);
});

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
    // 45 s per call: room for the agent to retry a preamble Mono leaves unanswered (5 s each).
    // Directly no agent retries: 20 s is plenty for a call Mono answers at all.
    const straight = await directBaseline(DUPLEX, (scenarios) => runDotnetSessionClient(direct, scenarios, 20));
    const viaRelay = await runDotnetSessionClient(`${relay.netTcp!.url}/session`, DUPLEX, 45);
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
