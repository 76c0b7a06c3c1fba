/**
 * Several relay nodes (npm run bench:cluster): the same relayed HTTP call sent to the node its
 * listener is connected to (same-node) and to another node (cross-node: the command goes to the
 * listener's node over NATS, a small response comes back that way, a large body goes by
 * rendezvous at the sender's node), measured in one run with a real nats-server: calls/s,
 * p50/p99, and the relays' CPU per call (both nodes' CPU summed for either path). The aim:
 * cross-node costs at most 1.3x same-node relay CPU and adds under 1 ms p50.
 *
 *   npm run bench:cluster [-- --quick]
 */
import { createSasToken } from '../src/auth/sas-token';
import { median, runLoad, type LoadResult } from './load';
import { BENCH_KEY, BENCH_KEY_NAME } from './roles';
import { startRole, type Role } from './spawn';
import { startNats } from '../test/helpers/nats-server';

export async function benchCluster(options: { durationMs?: number; rounds?: number } = {}): Promise<string> {
  const durationMs = options.durationMs ?? 3000;
  const rounds = options.rounds ?? 3;
  const nats = await startNats();
  const roles: Role[] = [];
  try {
    const service = await startRole(['service']);
    roles.push(service);
    const a = await startRole(['cluster-relay', nats.url, 'node-a']);
    roles.push(a);
    const b = await startRole(['cluster-relay', nats.url, 'node-b']);
    roles.push(b);
    // The listener is on node B.
    roles.push(await startRole(['agent', String(b.info.url), String(service.info.url)]));
    const urlOf = (r: Role) => String(r.info.url);
    const tokenFor = (r: Role) => createSasToken({ resourceUri: `${urlOf(r)}/bench`, keyName: BENCH_KEY_NAME, key: BENCH_KEY });
    // Node A learns of B's listener from B's heartbeat.
    for (let i = 0; i < 100; i++) {
      const probe = await runLoad({ url: `${urlOf(a)}/bench/echo`, method: 'POST', body: Buffer.from('x'), headers: { ServiceBusAuthorization: tokenFor(a) }, connections: 1, durationMs: 50, warmupMs: 0 });
      if (probe.calls > 0 && probe.errors === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const lines = [
      '| body | conns | same-node calls/s | cross-node calls/s | ratio | p50 µs same / cross | added p50 µs | p99 µs same / cross | relay CPU µs per call same / cross | CPU ratio |',
      '|---|---|---|---|---|---|---|---|---|---|',
    ];
    const cpu = () => a.cpuUs() + b.cpuUs();
    for (const size of [1024, 64 * 1024]) {
      const body = Buffer.alloc(size, 0x61);
      for (const connections of [1, 32]) {
        const same: Array<LoadResult & { cpu: number }> = [];
        const cross: Array<LoadResult & { cpu: number }> = [];
        for (let r = 0; r < rounds; r++) {
          for (const [into, node] of [
            [same, b],
            [cross, a],
          ] as const) {
            const c0 = cpu();
            const res = await runLoad({
              url: `${urlOf(node)}/bench/echo`,
              method: 'POST',
              body,
              headers: { 'Content-Type': 'application/octet-stream', ServiceBusAuthorization: tokenFor(node) },
              connections,
              durationMs,
            });
            into.push({ ...res, cpu: (cpu() - c0) / Math.max(1, res.calls) });
          }
        }
        const m = (xs: Array<LoadResult & { cpu: number }>, k: keyof (LoadResult & { cpu: number })) => median(xs.map((x) => x[k]));
        const [s, c] = [m(same, 'callsPerSecond'), m(cross, 'callsPerSecond')];
        const [cs, cc] = [m(same, 'cpu'), m(cross, 'cpu')];
        lines.push(
          `| ${size / 1024} KiB | ${connections} | ${s.toFixed(0)} | ${c.toFixed(0)} | ${(c / s).toFixed(2)} | ${m(same, 'p50Us').toFixed(0)} / ${m(cross, 'p50Us').toFixed(0)} | ${(m(cross, 'p50Us') - m(same, 'p50Us')).toFixed(0)} | ${m(same, 'p99Us').toFixed(0)} / ${m(cross, 'p99Us').toFixed(0)} | ${cs.toFixed(0)} / ${cc.toFixed(0)} | ${(cc / cs).toFixed(2)} |`,
        );
        const errors = [...same, ...cross].reduce((n, x) => n + x.errors, 0);
        if (errors) lines.push(`  (errors: ${errors})`);
      }
    }
    return lines.join('\n');
  } finally {
    for (const r of roles.reverse()) r.stop();
    await nats.destroy();
  }
}

if (require.main === module) {
  const quick = process.argv.includes('--quick');
  benchCluster(quick ? { durationMs: 1000, rounds: 1 } : {}).then(
    (table) => {
      process.stdout.write(`## Several relay nodes on NATS: same-node vs cross-node calls (HTTP POST through relay + agent)\n\n${table}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
