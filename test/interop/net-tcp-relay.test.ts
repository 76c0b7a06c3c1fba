/**
 * Real WCF NetTcpBinding clients (Mono 6.8, security None) calling through the relay's net.tcp
 * endpoint: (a) to a Mono WCF net.tcp service behind the agent (`nettcp` proxy), (b) to a Mono
 * basicHttp service behind the agent (`http` proxy: SOAP 1.2 <-> 1.1 translation), (d) to a Node
 * SOAP service (node-soap calculator sample, `module` target), (c) the reverse bridge (a basicHttp
 * client to the net.tcp service), metadata, and with no listener online. Few calls per case: Mono
 * sleeps ~50 ms per net.tcp receive.
 */
import path from 'node:path';
import { Harness } from '../helpers/harness';
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

const suite = monoDescribe('net-tcp-relay');

const UNICODE = 'h\u00e9llo <&> \u4e16\u754c';
const BIG = 70_000;

function bigText(size: number): string {
  let s = '';
  while (s.length < size) s += `${UNICODE} `;
  return s.slice(0, size);
}

function checkCommon(results: WcfResult[]): void {
  expect(scenarioResult(results, 'add')).toMatchObject({ ok: true, result: 5 });
  const echo = scenarioResult(results, 'echo');
  expect(echo).toMatchObject({ ok: true, sentLength: BIG, length: BIG + 5 });
  expect(echo.head).toBe(`echo:${bigText(BIG)}`.slice(0, 32));
  expect(echo.tail).toBe(bigText(BIG).slice(-32));
  expect(scenarioResult(results, 'process')).toMatchObject({
    ok: true,
    id: 42,
    name: `${UNICODE}!`,
    value: 3,
    when: '2024-01-03T03:04:05.0000000Z',
    whenKind: 'Utc',
    blobLength: BIG,
    blobReversed: true,
    tags: ['a', 'b', 'processed'],
    amount: '24691.3578',
  });
  expect(scenarioResult(results, 'divide')).toMatchObject({
    ok: true,
    result: 3,
    faultType: 'FaultException`1',
    reason: 'Cannot divide by zero',
    detail: { operation: 'Divide', problem: 'division by zero' },
  });
  expect(scenarioResult(results, 'fail')).toMatchObject({ ok: true, reason: 'Fail: boom' });
  expect(scenarioResult(results, 'notify')).toMatchObject({ ok: true, observed: true });
  expect(scenarioResult(results, 'two-channels')).toMatchObject({ ok: true, results: [2, 4, 6, 8, 10] });
}

const SCENARIOS = ['add', 'echo', 'process', 'divide', 'fail', 'notify', 'two-channels'] as const;

suite('WCF NetTcpBinding client → relay net.tcp endpoint → agent → service', () => {
  const h = new Harness();
  let relay: RelayServer;
  let service: WcfService;
  let tcpBase: string;
  let serviceTcp: string;

  beforeAll(async () => {
    await buildWcfHarness();
    const urls = await loopbackWcfUrls();
    service = await startWcfService({ basic: urls.basic, tcp: urls.tcp, quiet: true });
    h.defer(() => service.stop());
    relay = await h.relay({
      netTcp: { port: 0, host: '127.0.0.1' },
      entities: [
        { path: 'tcpcalc', requiresClientAuthorization: false },
        { path: 'httpcalc', requiresClientAuthorization: false },
        { path: 'offline', requiresClientAuthorization: false },
        { path: 'nodecalc', requiresClientAuthorization: false },
      ],
    });
    tcpBase = relay.netTcp!.url;
    serviceTcp = urls.tcp;
    const agent = await h.agent(relay, [
      {
        path: 'tcpcalc',
        // CalculatorService is PerCall: sessionless callers (basicHttp, streamed net.tcp) may share pooled sessions.
        target: { type: 'nettcp', url: urls.tcp, wsdlUrl: `${urls.basic}?wsdl`, oneWayActions: ['http://example.org/calc/ICalculator/Notify'], shareSessions: true },
      },
      { path: 'httpcalc', target: { type: 'http', url: urls.basic, soapVersion: '1.1' } },
      {
        path: 'nodecalc',
        target: { type: 'module', module: path.resolve(__dirname, '../../samples/calculator/service.ts'), includeExceptionDetail: true },
      },
    ]);
    await agent.whenReady();
  }, 120_000);
  afterAll(() => h.close());

  it('(a) Mono net.tcp service behind the agent (nettcp proxy): request/reply, 70 000 chars, DataContract, typed fault, fault, one-way, pooled channels', async () => {
    const results = await runWcfClient({ binding: 'tcp', address: `${tcpBase}/tcpcalc`, scenario: [...SCENARIOS], size: BIG, timeoutSeconds: 20 });
    showFailures(results);
    checkCommon(results);
    // Mono's own typed fault code survives binary -> XML -> binary unchanged.
    expect(scenarioResult(results, 'divide')).toMatchObject({ code: 'DivideByZero' });
  }, 120_000);

  it('(b) Mono basicHttp service behind the agent (http proxy, SOAP 1.2 <-> 1.1): the same scenarios', async () => {
    const results = await runWcfClient({ binding: 'tcp', address: `${tcpBase}/httpcalc`, scenario: [...SCENARIOS], size: BIG, timeoutSeconds: 20 });
    showFailures(results);
    checkCommon(results);
  }, 120_000);

  it('streamed transfer mode (NetTcpBinding TransferMode.Streamed, singleton-unsized) through the relay to the Mono net.tcp service', async () => {
    const results = await runWcfClient({ binding: 'tcp-streamed', address: `${tcpBase}/tcpcalc`, scenario: ['add', 'echo', 'divide'], size: BIG, timeoutSeconds: 20 });
    showFailures(results);
    expect(scenarioResult(results, 'add')).toMatchObject({ ok: true, result: 5 });
    expect(scenarioResult(results, 'echo')).toMatchObject({ ok: true, sentLength: BIG, length: BIG + 5 });
    expect(scenarioResult(results, 'divide')).toMatchObject({ ok: true, result: 3, reason: 'Cannot divide by zero' });
  }, 120_000);

  it('(d) a Node SOAP service behind the agent (node-soap calculator sample, module target): request/reply, typed fault, unhandled error, one-way', async () => {
    const results = await runWcfClient({ binding: 'tcp', address: `${tcpBase}/nodecalc`, scenario: ['add', 'echo', 'divide', 'crash', 'notify'], size: BIG, timeoutSeconds: 20 });
    showFailures(results);
    expect(scenarioResult(results, 'add')).toMatchObject({ ok: true, result: 5 });
    expect(scenarioResult(results, 'echo')).toMatchObject({ ok: true, sentLength: BIG, length: BIG + 5 });
    expect(scenarioResult(results, 'divide')).toMatchObject({
      ok: true,
      result: 3,
      faultType: 'FaultException`1',
      reason: 'Cannot divide by zero',
      detail: { operation: 'Divide', problem: 'division by zero' },
    });
    expect(scenarioResult(results, 'crash')).toMatchObject({ ok: true, reason: 'Crash: bang' });
    expect(scenarioResult(results, 'notify')).toMatchObject({ ok: true, observed: true });
  }, 120_000);

  it('(c) the reverse bridge: Mono basicHttp client → relay HTTP → agent nettcp proxy → Mono net.tcp service', async () => {
    const results = await runWcfClient({ binding: 'basic', address: `${relay.url}/tcpcalc`, scenario: ['add', 'process', 'divide', 'notify'], timeoutSeconds: 20 });
    showFailures(results);
    expect(scenarioResult(results, 'add')).toMatchObject({ ok: true, result: 5 });
    expect(scenarioResult(results, 'process')).toMatchObject({ ok: true, id: 42, blobReversed: true, amount: '24691.3578' });
    expect(scenarioResult(results, 'divide')).toMatchObject({ ok: true, result: 3, reason: 'Cannot divide by zero' });
    expect(scenarioResult(results, 'notify')).toMatchObject({ ok: true, observed: true });
  }, 120_000);

  it('metadata: the WSDL of a net.tcp path names the net.tcp endpoint of the relay (binary encoding, tcp transport)', async () => {
    const res = await fetch(`${relay.url}/tcpcalc?wsdl`);
    expect(res.status).toBe(200);
    const wsdl = await res.text();
    expect(wsdl).toContain(`location="${tcpBase}/tcpcalc"`);
    expect(wsdl).toContain(`Address>${tcpBase}/tcpcalc</`);
    expect(wsdl).not.toContain(serviceTcp);
    expect(wsdl).toContain('http://schemas.microsoft.com/soap/tcp');
    expect(wsdl).toContain('BinaryEncoding');
    // The HTTP-only service gets a net.tcp port added (binding bridging).
    const http = await (await fetch(`${relay.url}/httpcalc?wsdl`)).text();
    expect(http).toContain(`location="${tcpBase}/httpcalc"`);
  }, 120_000);

  it('no listener online: the call fails with a fault at once, not a hang', async () => {
    const results = await runWcfClient({ binding: 'tcp', address: `${tcpBase}/offline`, scenario: 'add', timeoutSeconds: 20 });
    const add = scenarioResult(results, 'add');
    expect(add.ok).toBe(false);
    expect(String(add.faultType)).toContain('FaultException');
    expect(String(add.message)).toContain('No listener');
  }, 120_000);

  it('unknown path: the client gets the EndpointNotFound framing fault', async () => {
    const results = await runWcfClient({ binding: 'tcp', address: `${tcpBase}/nothing-here`, scenario: 'add', timeoutSeconds: 20 });
    const add = scenarioResult(results, 'add');
    expect(add.ok).toBe(false);
    // Mono surfaces the framing fault as a FaultException carrying the fault string.
    expect(`${String(add.error)} ${String(add.message)}`).toContain('EndpointNotFound');
  }, 120_000);
});
