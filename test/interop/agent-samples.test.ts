/**
 * Real WCF clients (Mono 6.8, test/helpers/mono.ts) call the calculator sample (node-soap, SOAP
 * 1.1, agent `module` target) through relay + agent: BasicHttpBinding as is, and WSHttpBinding
 * (SOAP 1.2 + WS-Addressing) translated by the agent. Few calls: Mono sleeps ~100 ms per call.
 */
import path from 'node:path';
import { Harness, token } from '../helpers/harness';
import { buildWcfHarness, monoDescribe, runWcfClient, scenarioResult } from '../helpers/mono';
import type { RelayServer } from '../../src/relay/relay-server';

const suite = monoDescribe('agent-samples');

suite('WCF clients → relay → agent → calculator sample (node-soap)', () => {
  const h = new Harness();
  let relay: RelayServer;

  beforeAll(async () => {
    await buildWcfHarness();
    relay = await h.relay({ entities: [{ path: 'calculator', requiresClientAuthorization: true }] });
    const agent = await h.agent(relay, [
      { path: 'calculator', target: { type: 'module', module: path.resolve(__dirname, '../../samples/calculator/service.ts'), includeExceptionDetail: true } },
    ]);
    await agent.whenReady();
  }, 120_000);
  afterAll(() => h.close());

  it.each(['basic', 'ws'] as const)('%s: request/reply, typed fault, unhandled error, one-way', async (binding) => {
    const results = await runWcfClient({
      binding,
      address: `${relay.url}/calculator`,
      scenario: ['add', 'divide', 'crash', 'notify'],
      headerToken: token(relay, 'calculator'),
      timeoutSeconds: 15,
    });
    if (results.some((r) => r.ok !== true)) console.log(JSON.stringify(results, null, 1));
    expect(scenarioResult(results, 'add')).toMatchObject({ ok: true, result: 5 });
    expect(scenarioResult(results, 'divide')).toMatchObject({
      ok: true,
      result: 3,
      faultType: 'FaultException`1',
      code: binding === 'basic' ? 'DivideByZero' : 'Sender',
      reason: 'Cannot divide by zero',
      detail: { operation: 'Divide', problem: 'division by zero' },
    });
    if (binding === 'ws') {
      // Translated from the SOAP 1.1 service's fault: the Action of [FaultContract(typeof(CalcFault))],
      // which a .NET client needs to raise FaultException<CalcFault> (Mono also matches by element).
      expect(scenarioResult(results, 'divide')).toMatchObject({ action: 'http://example.org/calc/ICalculator/DivideCalcFaultFault' });
    }
    expect(scenarioResult(results, 'crash')).toMatchObject({ ok: true, reason: 'Crash: bang' });
    expect(scenarioResult(results, 'notify')).toMatchObject({ ok: true, observed: true });
  }, 120_000);
});
