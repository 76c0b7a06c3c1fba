/**
 * HTTP through relay + agent versus direct, measured in the same run (ratios and medians: the
 * machines are noisy). Run: npm run bench  (or node dist/bench/http-relay.js after a build).
 */
import { createSasToken } from '../src/auth/sas-token';
import { median, runLoad, warmUp, type LoadFigure, type LoadResult } from './load';
import { BENCH_KEY, BENCH_KEY_NAME } from './roles';
import { startRole } from './spawn';

export async function benchHttpRelay(options: { durationMs?: number; rounds?: number } = {}): Promise<string> {
  const durationMs = options.durationMs ?? 3000;
  const rounds = options.rounds ?? 3;
  // Service, relay and agent each in their own process; this process only generates load.
  const service = await startRole(['service']);
  const relay = await startRole(['relay']);
  const agent = await startRole(['agent', String(relay.info.url), String(service.info.url)]);
  const serviceUrl = String(service.info.url);
  const url = String(relay.info.url);
  const token = createSasToken({ resourceUri: `${url}/bench`, keyName: BENCH_KEY_NAME, key: BENCH_KEY });
  const lines: string[] = [];
  lines.push('| body | conns | direct calls/s | relayed calls/s | ratio | direct p50 µs | relayed p50 µs | added p50 µs | added p99 µs |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const size of [1024, 64 * 1024]) {
    const body = Buffer.alloc(size, 0x61);
    const warmHeaders = { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) };
    await warmUp(
      [
        { url: `${serviceUrl}/echo`, method: 'POST', body, headers: warmHeaders },
        { url: `${url}/bench/echo`, method: 'POST', body, headers: { ...warmHeaders, ServiceBusAuthorization: token } },
      ],
      durationMs,
    );
    for (const connections of [1, 32]) {
      const direct: LoadResult[] = [];
      const relayed: LoadResult[] = [];
      for (let r = 0; r < rounds; r++) {
        const headers = { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) };
        direct.push(await runLoad({ url: `${serviceUrl}/echo`, method: 'POST', body, headers, connections, durationMs }));
        relayed.push(
          await runLoad({ url: `${url}/bench/echo`, method: 'POST', body, headers: { ...headers, ServiceBusAuthorization: token }, connections, durationMs }),
        );
      }
      const m = (xs: LoadResult[], k: LoadFigure) => median(xs.map((x) => x[k]));
      const d = m(direct, 'callsPerSecond');
      const rl = m(relayed, 'callsPerSecond');
      lines.push(
        `| ${size / 1024} KiB | ${connections} | ${d.toFixed(0)} | ${rl.toFixed(0)} | ${(rl / d).toFixed(2)} | ${m(direct, 'p50Us').toFixed(0)} | ${m(relayed, 'p50Us').toFixed(0)} | ${(m(relayed, 'p50Us') - m(direct, 'p50Us')).toFixed(0)} | ${(m(relayed, 'p99Us') - m(direct, 'p99Us')).toFixed(0)} |`,
      );
      const errors = relayed.reduce((n, x) => n + x.errors, 0);
      if (errors) lines.push(`  (relayed errors: ${errors})`);
    }
  }
  agent.stop();
  relay.stop();
  service.stop();
  return lines.join('\n');
}
