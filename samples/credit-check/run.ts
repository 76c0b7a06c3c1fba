/**
 * One command: the classic case. A credit-check service that must stay on-premises (a `soap`
 * package service on a loopback port, never exposed), an agent that dials out to the relay, and a
 * "cloud" SOAP client that calls the relay; all in one process on this machine.
 *
 *   npm run sample:credit-check          (or: node dist/samples/credit-check/run.js [--port 9445] [--once])
 */
import path from 'node:path';
import { createClientAsync } from 'soap';
import { repoRoot } from '../common/paths';
import { runUntilInterrupted, sampleArgs, startSampleStack } from '../common/sample-stack';
import { startCreditCheckService, wsdl } from './service';

async function main(): Promise<void> {
  const { port, once } = sampleArgs(process.argv.slice(2), 9445);
  const root = repoRoot();
  const onPrem = await startCreditCheckService();
  const stack = await startSampleStack({
    path: 'credit-check',
    // soapVersion 'auto': the agent reads the service's ?wsdl and translates SOAP 1.2 callers to 1.1.
    target: { type: 'http', url: onPrem.url },
    port,
    dataDir: path.join(root, '.relaybridge'),
  });
  const stop = async () => {
    await stack.stop();
    await onPrem.close();
  };

  // The "cloud" application: a SOAP client built from the WSDL, pointed at the relay.
  const client = await createClientAsync(wsdl, { endpoint: stack.serviceUrl });
  client.addHttpHeader('ServiceBusAuthorization', stack.token);
  const [result] = (await client.CheckCreditAsync({ customerId: 'C-1001', amount: 12500 })) as [{ CheckCreditResult: Record<string, unknown> }];
  const d = result.CheckCreditResult;

  const soap12 = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="1">http://example.org/creditcheck/ICreditCheck/CheckCredit</a:Action><a:MessageID>urn:uuid:6f1c8f7e-0000-4000-8000-000000000001</a:MessageID><a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo><a:To s:mustUnderstand="1">${stack.serviceUrl}</a:To></s:Header><s:Body><CheckCredit xmlns="http://example.org/creditcheck"><customerId>C-1002</customerId><amount>9000</amount></CheckCredit></s:Body></s:Envelope>`;
  const out = [
    '',
    `credit-check sample: cloud client → relay ${stack.relayUrl} → agent (outbound only) → on-premises service ${onPrem.url}`,
    `  CheckCredit(C-1001, 12500) → approved=${d.Approved} score=${d.Score} limit=${d.Limit} (${d.Reason})`,
    '',
    'Call it again, SOAP 1.1 (BasicHttpBinding style):',
    `  curl -s -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: "http://example.org/creditcheck/ICreditCheck/CheckCredit"' \\`,
    `    -H 'ServiceBusAuthorization: ${stack.token}' \\`,
    `    -d '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><CheckCredit xmlns="http://example.org/creditcheck"><customerId>C-1003</customerId><amount>500</amount></CheckCredit></s:Body></s:Envelope>' \\`,
    `    ${stack.serviceUrl}`,
    'or SOAP 1.2 + WS-Addressing (WSHttpBinding style; the agent translates it for the SOAP 1.1 service):',
    `  curl -s -H 'Content-Type: application/soap+xml; charset=utf-8' -H 'ServiceBusAuthorization: ${stack.token}' \\`,
    `    -d '${soap12}' \\`,
    `    ${stack.serviceUrl}`,
    '',
    once ? '' : 'Press Ctrl-C to stop.',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  if (once) await stop();
  else runUntilInterrupted(stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`credit-check sample failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}

