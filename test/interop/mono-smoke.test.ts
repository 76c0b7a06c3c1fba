/**
 * Smoke test of the real-WCF harness (Mono 6.8), no relay involved: WcfClient.exe against
 * WcfService.exe over BasicHttpBinding, WSHttpBinding (security None) and NetTcpBinding (security
 * None). Later interop tests put the relay between the same two programs.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  buildWcfHarness,
  freePort,
  loopbackWcfUrls,
  requireMono,
  runWcfClient,
  scenarioResult,
  startWcfService,
  type WcfBinding,
  type WcfResult,
  type WcfService,
} from '../helpers/mono';

const HAVE_MONO = requireMono();
if (!HAVE_MONO) {
  console.warn('mono-smoke: SKIPPED, mono/mcs not on PATH (install: see test/interop/wcf/README.md)');
}
const suite = HAVE_MONO ? describe : describe.skip;

const FIXTURE = path.resolve(__dirname, '../fixtures/soap/mono-basichttp-process-datacontract');
const UNICODE = 'h\u00e9llo <&> \u4e16\u754c';
const BIG = 70_000;

function bigText(size: number): string {
  let s = '';
  while (s.length < size) s += `${UNICODE} `;
  return s.slice(0, size);
}

function checkAll(results: WcfResult[], binding: WcfBinding): void {
  expect(results.map((r) => r.scenario)).toEqual(['add', 'echo', 'process', 'divide', 'fail', 'crash', 'notify', 'two-channels']);
  for (const r of results) expect(r).toMatchObject({ binding, ok: true });

  expect(scenarioResult(results, 'add').result).toBe(5);

  const echo = scenarioResult(results, 'echo');
  expect(echo.sentLength).toBe(BIG);
  expect(echo.length).toBe(BIG + 5);
  expect(echo.head).toBe(`echo:${bigText(BIG)}`.slice(0, 32));
  expect(echo.tail).toBe(bigText(BIG).slice(-32));

  expect(scenarioResult(results, 'process')).toMatchObject({
    id: 42,
    name: `${UNICODE}!`,
    value: 3,
    when: '2024-01-03T03:04:05.0000000Z',
    whenKind: 'Utc',
    localKind: 'Local',
    blobLength: BIG,
    blobReversed: true,
    tags: ['a', 'b', 'processed'],
    amount: '24691.3578',
  });
  const p = scenarioResult(results, 'process');
  // Local time: the sent local DateTime plus one day, same wall clock and offset.
  expect(String(p.local).slice(0, 19)).toBe('2024-06-02T12:30:00');
  expect(String(p.local).slice(27)).toBe(String(p.localSent).slice(27));

  expect(scenarioResult(results, 'divide')).toMatchObject({
    result: 3,
    faultType: 'FaultException`1',
    code: 'DivideByZero',
    codeNs: 'http://example.org/calc/faults',
    reason: 'Cannot divide by zero',
    detail: { operation: 'Divide', problem: 'division by zero' },
  });
  // Mono (exception detail on): a plain FaultException becomes InternalServiceFault + ExceptionDetail.
  expect(scenarioResult(results, 'fail')).toMatchObject({
    faultType: 'FaultException`1',
    code: 'InternalServiceFault',
    reason: 'Fail: boom',
    exceptionDetail: { type: 'System.ServiceModel.FaultException', message: 'Fail: boom' },
  });
  expect(scenarioResult(results, 'crash')).toMatchObject({
    faultType: 'FaultException`1',
    code: 'InternalServiceFault',
    reason: 'Crash: bang',
    exceptionDetail: { type: 'System.InvalidOperationException', message: 'Crash: bang' },
  });
  expect(scenarioResult(results, 'notify').observed).toBe(true);
  expect(scenarioResult(results, 'two-channels').results).toEqual([2, 4, 6, 8, 10]);
}

const TITLE = HAVE_MONO
  ? 'Mono 6.8 WCF harness: real client against real service (no relay)'
  : 'Mono 6.8 WCF harness (SKIPPED: mono/mcs not installed, see test/interop/wcf/README.md)';

suite(TITLE, () => {
  let service: WcfService;
  let urls: { basic: string; ws: string; tcp: string };

  beforeAll(async () => {
    await buildWcfHarness();
    urls = await loopbackWcfUrls();
    service = await startWcfService(urls);
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
  });

  it('serves WSDL on the HTTP base address', async () => {
    expect(service.wsdlUrl).toBe(`${urls.basic}?wsdl`);
    const res = await fetch(service.wsdlUrl!);
    expect(res.status).toBe(200);
    const wsdl = await res.text();
    expect(wsdl).toContain('wsdl:definitions');
    expect(wsdl).toContain(urls.basic);
  });

  it.each<[WcfBinding, 'basic' | 'ws' | 'tcp']>([
    ['basic', 'basic'],
    ['ws', 'ws'],
    ['tcp', 'tcp'],
  ])('%s: every scenario (70 000-char echo, DataContract, faults, one-way, two channels)', async (binding, key) => {
    // No relaybridge code is on this path (Mono client straight to Mono service). Mono 6.8's own
    // client/service pair has been seen to stall for good mid-session (2 of ~8 full runs, always a
    // different scenario, both sides idle), so a stalled run is killed and tried once more.
    const run = () => runWcfClient({ binding, address: urls[key], scenario: 'all', size: BIG, processTimeoutMs: 45_000 });
    const results = await run().catch((err: Error) => {
      console.warn(`mono-smoke ${binding}: Mono stalled (${err.message.slice(0, 80)}…); one retry`);
      return run();
    });
    checkAll(results, binding);
    const sent = scenarioResult(results, 'notify').sent;
    await service.waitForEvent((e) => e.event === 'notify' && e.msg === sent);
  }, 150_000);

  it('same envelopes as the Mono captures (fixture mono-basichttp-process-datacontract), both ways', async () => {
    const request = fs.readFileSync(path.join(FIXTURE, 'request.xml'));
    const response = fs.readFileSync(path.join(FIXTURE, 'response.xml'));
    // The real service answers the captured request with the captured response.
    const res = await fetch(urls.basic, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"http://example.org/calc/ICalculator/Process"' },
      body: request,
    });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(response)).toBe(true);
    // The real client sends the captured request and accepts the captured response.
    let seen: Buffer | undefined;
    const fake = http.createServer((req, out) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen = Buffer.concat(chunks);
        out.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(response);
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = fake.address() as AddressInfo;
      const [r] = await runWcfClient({ binding: 'basic', address: `http://127.0.0.1:${port}/calc`, scenario: 'process', captureRecord: true });
      expect(seen?.toString('utf8')).toBe(request.toString('utf8'));
      expect(r).toMatchObject({ ok: true, id: 42, blobLength: 5, blobReversed: true });
    } finally {
      await new Promise((resolve) => fake.close(resolve));
    }
  }, 120_000);

  it('net.tcp: a service behind a relay accepts a foreign To (client Via = the real endpoint)', async () => {
    const foreign = 'net.tcp://relay.example:9352/calc';
    const [r] = await runWcfClient({ binding: 'tcp', address: foreign, via: urls.tcp, scenario: 'add', timeoutSeconds: 10 });
    expect(r).toMatchObject({ ok: true, result: 5 });
    await service.waitForEvent((e) => e.event === 'call' && e.op === 'Add' && e.to === foreign);
  }, 120_000);

  it.each<[WcfBinding, 'basic' | 'ws']>([
    ['basic', 'basic'],
    ['ws', 'ws'],
  ])('%s: --header-token sends the ServiceBusAuthorization HTTP header', async (binding, key) => {
    const token = `SharedAccessSignature sr=test&sig=${binding}&se=1&skn=k`;
    const [r] = await runWcfClient({ binding, address: urls[key], scenario: 'add', headerToken: token });
    expect(r).toMatchObject({ ok: true, result: 5 });
    const ev = await service.waitForEvent(
      (e) => e.event === 'call' && (e.httpHeaders as Record<string, string> | undefined)?.ServiceBusAuthorization === token,
    );
    expect(ev.to).toBe(urls[key]);
  }, 120_000);

  it('no listener: the client reports an error quickly', async () => {
    const port = await freePort();
    const results = await runWcfClient({
      binding: 'tcp',
      address: `net.tcp://127.0.0.1:${port}/calc`,
      scenario: 'add',
      timeoutSeconds: 3,
    });
    expect(results[0]).toMatchObject({ scenario: 'add', ok: false });
    expect(results[0].error).toMatch(/SocketException|EndpointNotFoundException/);
  }, 120_000);

  it('--fault-passthrough: a plain FaultException keeps its code and reason (as on .NET)', async () => {
    const port = await freePort();
    const other = await startWcfService({ basic: `http://127.0.0.1:${port}/calc`, faultPassthrough: true, quiet: true });
    try {
      const [r] = await runWcfClient({ binding: 'basic', address: other.basic!, scenario: 'fail' });
      expect(r).toMatchObject({ ok: true, faultType: 'FaultException', code: 'Client', reason: 'Fail: boom' });
    } finally {
      await other.stop();
    }
  }, 120_000);
});
