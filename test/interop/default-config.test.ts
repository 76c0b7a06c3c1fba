/**
 * The default agent config against real Mono WCF services, where a wrong guess used to hang:
 * - an `http` target with no `soapVersion` in front of a basicHttp service that publishes no
 *   metadata: a net.tcp (SOAP 1.2) client's calls are translated once the agent learns the
 *   service's version from its empty 415 (before, nothing went back and each call hung 60 s);
 * - a `nettcp` target with a `wsdlUrl` and no `oneWayActions`: a basicHttp client's one-way call
 *   is acknowledged because the WSDL marks it one-way (before, it waited 60 s).
 * Few calls per case: Mono sleeps ~100 ms per HTTP call and ~50 ms per net.tcp receive.
 */
import { Harness } from '../helpers/harness';
import { buildWcfHarness, loopbackWcfUrls, monoDescribe, runWcfClient, scenarioResult, showFailures, startWcfService } from '../helpers/mono';
import type { RelayServer } from '../../src/relay/relay-server';

const suite = monoDescribe('default-config');

suite('default agent config against Mono services (no hand-set SOAP version or one-way list)', () => {
  const h = new Harness();
  let relay: RelayServer;
  let tcpBase: string;

  beforeAll(async () => {
    await buildWcfHarness();
    const bare = await loopbackWcfUrls();
    const full = await loopbackWcfUrls();
    const noMeta = await startWcfService({ basic: bare.basic, quiet: true, metadata: false });
    h.defer(() => noMeta.stop());
    expect(noMeta.wsdlUrl).toBeUndefined();
    const tcpSvc = await startWcfService({ basic: full.basic, tcp: full.tcp, quiet: true });
    h.defer(() => tcpSvc.stop());
    relay = await h.relay({
      netTcp: { port: 0, host: '127.0.0.1' },
      entities: [
        { path: 'bare', requiresClientAuthorization: false },
        { path: 'tcpwsdl', requiresClientAuthorization: false },
      ],
    });
    tcpBase = relay.netTcp!.url;
    const agent = await h.agent(relay, [
      { path: 'bare', target: { type: 'http', url: bare.basic } },
      { path: 'tcpwsdl', target: { type: 'nettcp', url: full.tcp, wsdlUrl: `${full.basic}?wsdl` } },
    ]);
    await agent.whenReady();
  }, 120_000);
  afterAll(() => h.close());

  it('net.tcp client → basicHttp service without metadata, default soapVersion: request/reply, typed fault, one-way', async () => {
    const results = await runWcfClient({ binding: 'tcp', address: `${tcpBase}/bare`, scenario: ['add', 'divide', 'notify'], timeoutSeconds: 20 });
    showFailures(results);
    expect(scenarioResult(results, 'add')).toMatchObject({ ok: true, result: 5 });
    expect(scenarioResult(results, 'divide')).toMatchObject({ ok: true, result: 3, reason: 'Cannot divide by zero' });
    expect(scenarioResult(results, 'notify')).toMatchObject({ ok: true, observed: true });
  }, 120_000);

  it('basicHttp client → nettcp target with a WSDL and no oneWayActions: the one-way call is acknowledged', async () => {
    const results = await runWcfClient({ binding: 'basic', address: `${relay.url}/tcpwsdl`, scenario: ['add', 'notify'], timeoutSeconds: 20 });
    showFailures(results);
    expect(scenarioResult(results, 'add')).toMatchObject({ ok: true, result: 5 });
    expect(scenarioResult(results, 'notify')).toMatchObject({ ok: true, observed: true });
  }, 120_000);
});
