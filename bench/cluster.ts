/**
 * Several relay nodes (npm run bench:cluster): the same relayed HTTP call sent to the node its
 * listener is connected to (same-node) and to another node (cross-node: the command goes to the
 * listener's node over NATS, a small response comes back that way, a large body goes by
 * rendezvous at the sender's node), measured in one run with a real nats-server: calls/s,
 * p50/p99, and the relays' CPU per call (both nodes' CPU summed for either path). The aim:
 * cross-node costs at most 1.3x same-node relay CPU and adds under 1 ms p50.
 *
 * In the same run, the floor of the NATS hop itself: two Node processes with the same NATS
 * client exchanging what a cross-node call exchanges (one message A→B with the request, one
 * B→A with the response, the same sizes, each sent from its own event-loop turn at A as an HTTP
 * request would send it), doing nothing else. Their CPU per call is the least a cross-node call
 * can add over a same-node one with this engine and client, whatever the relay does.
 *
 *   npm run bench:cluster [-- --quick]
 */
import { createSasToken } from '../src/auth/sas-token';
import { median, runLoad, warmUp, type LoadFigure, type LoadResult } from './load';
import { BENCH_KEY, BENCH_KEY_NAME } from './roles';
import { startRole, type Role } from './spawn';
import { startNats } from '../test/helpers/nats-server';
import { CROSS_NODE_INLINE_BYTES } from '../src/relay/cluster/cluster';

/** Bytes a cross-node call adds around its body on the NATS hop (the command's JSON and frame). */
const HOP_OVERHEAD_BYTES = 320;

/**
 * One side of the NATS hop floor (roles `nats-hop NATS echo|call`). `echo` answers every message
 * on `bench.hop.b` with one of the same size on `bench.hop.a`. `call` waits for a line
 * `go MS CONNS SIZE` on stdin, then keeps CONNS calls in flight for MS ms (each next call sent
 * from a fresh turn, as a node sends one per HTTP request) and prints {"calls":n}.
 */
export async function natsHop(natsUrl: string, mode: string, say: (o: object) => void): Promise<void> {
  const { connect } = await import('@nats-io/transport-node');
  const nc = await connect({ servers: natsUrl });
  if (mode === 'echo') {
    nc.subscribe('bench.hop.b', { callback: (err: Error | null, msg: { data: Uint8Array }) => (err ? undefined : nc.publish('bench.hop.a', msg.data)) });
    await nc.flush();
    say({ ready: true });
    return;
  }
  let calls = 0;
  let running = false;
  let payload = new Uint8Array(0);
  const send = () => {
    if (running) nc.publish('bench.hop.b', payload);
  };
  nc.subscribe('bench.hop.a', {
    callback: () => {
      calls++;
      setImmediate(send);
    },
  });
  await nc.flush();
  process.stdin.on('data', (d: Buffer) => {
    const m = /go (\d+) (\d+) (\d+)/.exec(d.toString());
    if (!m) return;
    const [ms, conns, size] = [Number(m[1]), Number(m[2]), Number(m[3])];
    payload = new Uint8Array(size).fill(0x61);
    calls = 0;
    running = true;
    for (let i = 0; i < conns; i++) setImmediate(send);
    setTimeout(() => {
      running = false;
      // Let the calls in flight come back before the next round.
      setTimeout(() => say({ calls }), 200);
    }, ms);
  });
  say({ ready: true });
}

/** Runs the hop floor for one load: CPU µs of both hop processes per call. */
async function hopFloor(echo: Role, caller: Role, size: number, connections: number, durationMs: number): Promise<number> {
  const c0 = echo.cpuUs() + caller.cpuUs();
  const calls = Number((await caller.ask(`go ${durationMs} ${connections} ${size + HOP_OVERHEAD_BYTES}`, /"calls":(\d+)/))[1]);
  return (echo.cpuUs() + caller.cpuUs() - c0) / Math.max(1, calls);
}

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
      '| body | conns | same-node calls/s | cross-node calls/s | ratio | p50 µs same / cross | added p50 µs | p99 µs same / cross | relay CPU µs per call same / cross | CPU ratio | NATS hop floor µs per call | floor CPU ratio |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ];
    const echo = await startRole(['nats-hop', nats.url, 'echo']);
    roles.push(echo);
    const caller = await startRole(['nats-hop', nats.url, 'call']);
    roles.push(caller);
    const cpu = () => a.cpuUs() + b.cpuUs();
    // JIT warm-up of every path first (load.ts warmUp; at one connection node A's compiler threads
    // took ~170 µs of its CPU per call in a first 4 s window of cross-node calls, ~10 µs by the third).
    for (const size of [1024, 64 * 1024]) {
      await warmUp(
        [b, a].map((node) => ({
          url: `${urlOf(node)}/bench/echo`,
          method: 'POST',
          body: Buffer.alloc(size, 0x61),
          headers: { 'Content-Type': 'application/octet-stream', ServiceBusAuthorization: tokenFor(node) },
        })),
        durationMs,
      );
      if (size <= CROSS_NODE_INLINE_BYTES) await hopFloor(echo, caller, size, 32, durationMs);
    }
    for (const size of [1024, 64 * 1024]) {
      const body = Buffer.alloc(size, 0x61);
      for (const connections of [1, 32]) {
        const same: Array<LoadResult & { cpu: number }> = [];
        const cross: Array<LoadResult & { cpu: number }> = [];
        const hop: number[] = [];
        for (let r = 0; r < rounds; r++) {
          // The floor of bodies that travel over NATS; a larger body goes by rendezvous at the sender's node.
          if (size <= CROSS_NODE_INLINE_BYTES) hop.push(await hopFloor(echo, caller, size, connections, durationMs));
          for (const [into, node] of [
            [same, b],
            [cross, a],
          ] as const) {
            let c0 = 0;
            const res = await runLoad({
              onStart: () => (c0 = cpu()),
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
        const m = (xs: Array<LoadResult & { cpu: number }>, k: LoadFigure | 'cpu') => median(xs.map((x) => x[k]));
        const [s, c] = [m(same, 'callsPerSecond'), m(cross, 'callsPerSecond')];
        const [cs, cc] = [m(same, 'cpu'), m(cross, 'cpu')];
        const h = hop.length ? median(hop) : NaN;
        // floor CPU ratio: same-node relay CPU plus the bare hop, over same-node (the least cross-node can be).
        lines.push(
          `| ${size / 1024} KiB | ${connections} | ${s.toFixed(0)} | ${c.toFixed(0)} | ${(c / s).toFixed(2)} | ${m(same, 'p50Us').toFixed(0)} / ${m(cross, 'p50Us').toFixed(0)} | ${(m(cross, 'p50Us') - m(same, 'p50Us')).toFixed(0)} | ${m(same, 'p99Us').toFixed(0)} / ${m(cross, 'p99Us').toFixed(0)} | ${cs.toFixed(0)} / ${cc.toFixed(0)} | ${(cc / cs).toFixed(2)} | ${hop.length ? h.toFixed(0) : '- (rendezvous)'} | ${hop.length ? ((cs + h) / cs).toFixed(2) : '-'} |`,
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
