/**
 * SOAP 1.1 calls (1 KiB and 64 KiB bodies) to a node-soap service, directly and through
 * relay + agent, at 1 and 32 connections, measured in the same run: throughput ratio
 * (relayed/direct) and added p50/p99 latency. Each party runs in its own process.
 */
import { createSasToken } from '../src/auth/sas-token';
import { median, runLoad, type LoadResult } from './load';
import { BENCH_KEY, BENCH_KEY_NAME } from './roles';
import { startRole } from './spawn';

function echoEnvelope(size: number): Buffer {
  const head = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Echo xmlns="http://example.org/calc"><text>';
  const tail = '</text></Echo></s:Body></s:Envelope>';
  return Buffer.from(head + 'x'.repeat(Math.max(0, size - head.length - tail.length)) + tail);
}

export async function benchSoapRelay(options: { durationMs?: number; rounds?: number } = {}): Promise<string> {
  const durationMs = options.durationMs ?? 3000;
  const rounds = options.rounds ?? 3;
  const service = await startRole(['soap-service']);
  const relay = await startRole(['relay']);
  const agent = await startRole(['agent', String(relay.info.url), String(service.info.url)]);
  const serviceUrl = String(service.info.url);
  const url = String(relay.info.url);
  const token = createSasToken({ resourceUri: `${url}/bench`, keyName: BENCH_KEY_NAME, key: BENCH_KEY });
  const lines = [
    '| body | conns | direct calls/s | relayed calls/s | ratio | direct p50 µs | relayed p50 µs | added p50 µs | added p99 µs |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const size of [1024, 64 * 1024]) {
    const body = echoEnvelope(size);
    const headers = {
      'Content-Type': 'text/xml; charset=utf-8',
      SOAPAction: '"http://example.org/calc/ICalculator/Echo"',
      'Content-Length': String(body.length),
    };
    for (const connections of [1, 32]) {
      const direct: LoadResult[] = [];
      const relayed: LoadResult[] = [];
      for (let r = 0; r < rounds; r++) {
        direct.push(await runLoad({ url: serviceUrl, method: 'POST', body, headers, connections, durationMs }));
        relayed.push(await runLoad({ url: `${url}/bench`, method: 'POST', body, headers: { ...headers, ServiceBusAuthorization: token }, connections, durationMs }));
      }
      const m = (xs: LoadResult[], k: keyof LoadResult) => median(xs.map((x) => x[k]));
      const d = m(direct, 'callsPerSecond');
      const rl = m(relayed, 'callsPerSecond');
      lines.push(
        `| ${size / 1024} KiB | ${connections} | ${d.toFixed(0)} | ${rl.toFixed(0)} | ${(rl / d).toFixed(2)} | ${m(direct, 'p50Us').toFixed(0)} | ${m(relayed, 'p50Us').toFixed(0)} | ${(m(relayed, 'p50Us') - m(direct, 'p50Us')).toFixed(0)} | ${(m(relayed, 'p99Us') - m(direct, 'p99Us')).toFixed(0)} |`,
      );
      const errors = [...direct, ...relayed].reduce((n, x) => n + x.errors, 0);
      if (errors) lines.push(`  (errors: ${errors})`);
    }
  }
  agent.stop();
  relay.stop();
  service.stop();
  return lines.join('\n');
}
