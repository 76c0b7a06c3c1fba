/**
 * HTTP through relay + agent versus direct, measured in the same run (ratios and medians: the
 * machines are noisy). Run: npm run bench  (or node dist/bench/http-relay.js after a build).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAgent } from '../src/agent/agent';
import { createSasToken } from '../src/auth/sas-token';
import { createRelayServer } from '../src/relay/relay-server';
import { median, runLoad, type LoadResult } from './load';

const KEY_NAME = 'bench';
const KEY = 'YmVuY2gta2V5LW5vdC1zZWNyZXQ=';

export async function benchHttpRelay(options: { durationMs?: number; rounds?: number } = {}): Promise<string> {
  const durationMs = options.durationMs ?? 3000;
  const rounds = options.rounds ?? 3;
  const service = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('Content-Type', 'application/octet-stream');
      res.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', () => r()));
  const serviceUrl = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
  const relay = createRelayServer({
    port: 0,
    host: '127.0.0.1',
    metrics: false,
    namespaceRules: [{ keyName: KEY_NAME, primaryKey: KEY, rights: ['Manage', 'Listen', 'Send'] }],
    entities: [{ path: 'bench', requiresClientAuthorization: true }],
  });
  const { url } = await relay.listen();
  const agent = createAgent({ relayUrl: url, keyName: KEY_NAME, key: KEY, services: [{ path: 'bench', target: { type: 'http', url: serviceUrl } }] });
  agent.start();
  await agent.whenReady();
  const token = createSasToken({ resourceUri: `${url}/bench`, keyName: KEY_NAME, key: KEY });

  const lines: string[] = [];
  lines.push('| body | conns | direct calls/s | relayed calls/s | ratio | direct p50 µs | relayed p50 µs | added p50 µs | added p99 µs |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const size of [1024, 64 * 1024]) {
    const body = Buffer.alloc(size, 0x61);
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
      const m = (xs: LoadResult[], k: keyof LoadResult) => median(xs.map((x) => x[k]));
      const d = m(direct, 'callsPerSecond');
      const rl = m(relayed, 'callsPerSecond');
      lines.push(
        `| ${size / 1024} KiB | ${connections} | ${d.toFixed(0)} | ${rl.toFixed(0)} | ${(rl / d).toFixed(2)} | ${m(direct, 'p50Us').toFixed(0)} | ${m(relayed, 'p50Us').toFixed(0)} | ${(m(relayed, 'p50Us') - m(direct, 'p50Us')).toFixed(0)} | ${(m(relayed, 'p99Us') - m(direct, 'p99Us')).toFixed(0)} |`,
      );
      const errors = relayed.reduce((n, x) => n + x.errors, 0);
      if (errors) lines.push(`  (relayed errors: ${errors})`);
    }
  }
  await agent.stop();
  await relay.close();
  await new Promise<void>((r) => service.close(() => r()));
  return lines.join('\n');
}
