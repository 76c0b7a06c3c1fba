/**
 * Real WCF clients on HTTP bindings (Mono 6.8: BasicHttpBinding = SOAP 1.1, WSHttpBinding with
 * security None = SOAP 1.2 + WS-Addressing) calling a real Mono WCF service that sits behind the
 * agent, through the relay's SOAP-over-HTTP endpoint — as through Azure's basicHttpRelay. Few calls
 * per case: Mono's service sleeps ~100 ms per HTTP call.
 */
import { Harness, token } from '../helpers/harness';
import {
  buildWcfHarness,
  loopbackWcfUrls,
  monoDescribe,
  runWcfClient,
  scenarioResult,
  showFailures,
  startWcfService,
  type WcfResult,
  type WcfService,
} from '../helpers/mono';
import type { RelayServer } from '../../src/relay/relay-server';

const suite = monoDescribe('http-relay-wcf');
const BIG = 70_000;
const SCENARIOS = ['add', 'echo', 'process', 'divide', 'fail', 'crash', 'notify'] as const;

function checkScenarios(results: WcfResult[]): void {
  expect(scenarioResult(results, 'add')).toMatchObject({ ok: true, result: 5 });
  expect(scenarioResult(results, 'echo')).toMatchObject({ ok: true, sentLength: BIG, length: BIG + 5 });
  expect(scenarioResult(results, 'process')).toMatchObject({
    ok: true,
    id: 42,
    when: '2024-01-03T03:04:05.0000000Z',
    whenKind: 'Utc',
    blobLength: BIG,
    blobReversed: true,
    tags: ['a', 'b', 'processed'],
    amount: '24691.3578',
  });
  expect(scenarioResult(results, 'divide')).toMatchObject({
    ok: true,
    faultType: 'FaultException`1',
    reason: 'Cannot divide by zero',
    detail: { operation: 'Divide', problem: 'division by zero' },
  });
  expect(scenarioResult(results, 'fail')).toMatchObject({ ok: true });
  expect(scenarioResult(results, 'crash')).toMatchObject({ ok: true });
  expect(scenarioResult(results, 'notify')).toMatchObject({ ok: true, observed: true });
}

suite('WCF HTTP clients → relay (SOAP over HTTP) → agent → Mono WCF service', () => {
  const h = new Harness();
  let relay: RelayServer;
  let service: WcfService;

  beforeAll(async () => {
    await buildWcfHarness();
    const urls = await loopbackWcfUrls();
    service = await startWcfService({ basic: urls.basic, ws: urls.ws, quiet: true });
    h.defer(() => service.stop());
    relay = await h.relay({
      entities: [
        { path: 'basiccalc', requiresClientAuthorization: true },
        { path: 'wscalc', requiresClientAuthorization: false },
        { path: 'offline', requiresClientAuthorization: false },
        { path: 'importcalc', requiresClientAuthorization: false },
      ],
    });
    const agent = await h.agent(relay, [
      { path: 'basiccalc', target: { type: 'http', url: urls.basic, soapVersion: '1.1' } },
      { path: 'wscalc', target: { type: 'http', url: urls.ws, soapVersion: '1.2' } },
      // Mono's own WSDL carries a broken "?xsd=" reference its own importer cannot load, so this
      // path serves the contract's WSDL file from wsdl/ (as the agent does for any target).
      { path: 'importcalc', target: { type: 'http', url: urls.basic, soapVersion: '1.1', wsdl: 'wsdl/calculator.wsdl' } },
    ]);
    await agent.whenReady();
  }, 120_000);
  afterAll(() => h.close());

  it('BasicHttpBinding (SOAP 1.1, token in the ServiceBusAuthorization header): every scenario', async () => {
    const results = await runWcfClient({
      binding: 'basic',
      address: `${relay.url}/basiccalc`,
      headerToken: token(relay, 'basiccalc'),
      scenario: [...SCENARIOS],
      size: BIG,
      timeoutSeconds: 20,
    });
    showFailures(results);
    checkScenarios(results);
  }, 120_000);

  it('WSHttpBinding, security None (SOAP 1.2 + WS-Addressing, To rewritten by the agent): every scenario', async () => {
    const results = await runWcfClient({ binding: 'ws', address: `${relay.url}/wscalc`, scenario: [...SCENARIOS], size: BIG, timeoutSeconds: 20 });
    showFailures(results);
    checkScenarios(results);
  }, 120_000);

  it('imports the relay-rewritten WSDL (HTTP GET + WsdlImporter) and calls through the imported endpoint', async () => {
    const results = await runWcfClient({ binding: 'basic', address: `${relay.url}/importcalc`, scenario: 'import-wsdl', timeoutSeconds: 20 });
    showFailures(results);
    const imported = scenarioResult(results, 'import-wsdl');
    expect(imported).toMatchObject({ ok: true, result: 42, importedAddress: `${relay.url}/importcalc`, importErrors: '' });
  }, 120_000);

  it('no listener online: both bindings get a SOAP fault at once, not a hang', async () => {
    for (const binding of ['basic', 'ws'] as const) {
      const results = await runWcfClient({ binding, address: `${relay.url}/offline`, scenario: 'add', timeoutSeconds: 30 });
      const add = scenarioResult(results, 'add');
      expect(add.ok).toBe(false);
      expect(String(add.faultType)).toContain('FaultException');
      expect(String(add.reason ?? add.message)).toMatch(/listener/i);
    }
  }, 120_000);
});
