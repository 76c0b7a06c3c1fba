/**
 * One command: relay + agent + the calculator sample (node-soap, run inside the agent as a
 * `module` target), all on this machine; calls it once and prints how to call it again.
 *
 *   npm run sample:calculator            (or: node dist/samples/calculator/run.js [--port 9444] [--once])
 */
import http from 'node:http';
import path from 'node:path';
import { repoRoot } from '../common/paths';
import { runUntilInterrupted, sampleArgs, startSampleStack } from '../common/sample-stack';

const NS = 'http://example.org/calc';

/** A SOAP 1.1 call as a BasicHttpBinding client sends it. */
export function callCalculator(url: string, token: string, op: string, inner: string): Promise<{ status: number; body: string }> {
  const body = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><${op} xmlns="${NS}">${inner}</${op}></s:Body></s:Envelope>`;
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${NS}/ICalculator/${op}"`, ServiceBusAuthorization: token } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const { port, once } = sampleArgs(process.argv.slice(2), 9444);
  const root = repoRoot();
  const stack = await startSampleStack({
    path: 'calculator',
    target: { type: 'module', module: require.resolve('./service') },
    port,
    // NetTcpBinding clients (samples/dotnet-client --binding nettcp) on the next port.
    netTcpPort: port === 0 ? 0 : port + 1,
    dataDir: path.join(root, '.relaybridge'),
  });
  const add = await callCalculator(stack.serviceUrl, stack.token, 'Add', '<a>2</a><b>3</b>');
  const divide = await callCalculator(stack.serviceUrl, stack.token, 'Divide', '<a>1</a><b>0</b>');
  const result = /<(?:\w+:)?AddResult>([^<]*)</.exec(add.body)?.[1];
  const fault = /<faultstring[^>]*>([^<]*)</.exec(divide.body)?.[1];
  const out = [
    '',
    `calculator sample: relay ${stack.relayUrl} → agent → node-soap calculator (module target, wsdl/calculator.wsdl)`,
    `  Add(2, 3)    → HTTP ${add.status}, AddResult = ${result}`,
    `  Divide(1, 0) → HTTP ${divide.status}, typed fault CalcFault: "${fault}"`,
    '',
    'Call it again (SOAP 1.1, as a WCF BasicHttpBinding client):',
    `  curl -s -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: "${NS}/ICalculator/Add"' \\`,
    `    -H 'ServiceBusAuthorization: ${stack.token}' \\`,
    `    -d '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Add xmlns="${NS}"><a>40</a><b>2</b></Add></s:Body></s:Envelope>' \\`,
    `    ${stack.serviceUrl}`,
    `  curl -s -H 'ServiceBusAuthorization: ${stack.token}' '${stack.serviceUrl}?wsdl'`,
    '',
    'Replay the calls recorded from the WCF calculator against it (migration test):',
    `  node dist/src/cli/main.js replay --dir samples/replay/calculator --relay ${stack.relayUrl} --path calculator --key-name ${stack.keyName} --key '${stack.key}'`,
    '',
    'A .NET client (WCF on .NET, BasicHttpBinding and NetTcpBinding): see samples/dotnet-client/README.md',
    `  dotnet run --project samples/dotnet-client -- --address ${stack.serviceUrl} --token '${stack.token}'`,
    ...(stack.netTcpServiceUrl ? [`  dotnet run --project samples/dotnet-client -- --address ${stack.netTcpServiceUrl} --binding nettcp --token '${stack.token}'`] : []),
    '',
    once ? '' : 'Press Ctrl-C to stop.',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  if (once) await stack.stop();
  else runUntilInterrupted(() => stack.stop());
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`calculator sample failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
