/**
 * npm run bench:hostile [-- --seconds 20] [-- --counts 0,2000,5000] [-- --kinds K,…] [-- --tarpit-ms 0] [-- --quick]
 *
 * Isolation under hostile connections, on loopback only: how callers that do nothing wrong fare
 * while thousands of connections that never authenticate hold or churn the relay. Four processes
 * besides this one: the relay (with net.tcp), the agent, an HTTP service, the attackers, and the
 * victims, so no load generator shares the relay's event loop.
 *
 * Attackers (one process, lowest CPU priority, reconnecting each connection `reconnectMs` after
 * it closes, spread over 100 loopback source addresses as a botnet would be), in equal parts:
 * - slowloris heads: a request line and a header every 5 s, never the blank line;
 * - slow unauthenticated SOAP bodies: full headers, no token, 16 bytes of envelope every 2 s;
 * - garbage net.tcp preambles: a preamble record cut short, a byte every 2 s;
 * - tokenless WebSocket upgrades to /$hc/ (answered 401 and closed, then again).
 * Victims: 2 loops on keep-alive connections and 2 that open a connection per call, each a
 * relayed GET with a valid token, for the phase's duration.
 *
 * Per phase (hostile connections held): victims' calls, p50 and p99 per kind and the ratio to
 * the phase without attackers, and the relay's peak RSS and CPU. Time per phase is bounded.
 */
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { createSasToken } from '../src/auth/sas-token';
import { BENCH_KEY, BENCH_KEY_NAME } from './roles';
import { startRole, type Role } from './spawn';
import { procStats } from '../test/helpers/processes';

/** Source addresses attackers spread over (127.1.N.1): under the relay's per-address cap at 5,000. */
const SOURCE_ADDRESSES = 100;

type Kind = 'slowloris' | 'slow-soap' | 'nettcp-preamble' | 'ws-flood' | 'ws-flood-eager';
/** The default mix; `ws-flood-eager` (hangs up as soon as it is answered, then reconnects) is opt-in: the floor of accept + refuse. */
const KINDS: readonly Kind[] = ['slowloris', 'slow-soap', 'nettcp-preamble', 'ws-flood'];
const ALL_KINDS: readonly Kind[] = [...KINDS, 'ws-flood-eager'];

/** The attackers' process: keeps `count` hostile connections open, reporting how many every second. */
export async function runAttackers(relayUrl: string, netTcpUrl: string, count: number, reconnectMs: number, kinds: readonly Kind[] = KINDS): Promise<void> {
  try {
    os.setPriority(19); // a CPU budget: the attackers get what the relay and the victims leave
  } catch {
    /* not permitted: run at normal priority */
  }
  const relay = new URL(relayUrl);
  const nt = new URL(netTcpUrl.replace(/^net\.tcp:/i, 'http:'));
  let open = 0;
  let dials = 0;
  let stopped = false;
  const sockets = new Set<net.Socket>();
  const dial = (i: number): void => {
    if (stopped) return;
    const kind = kinds[i % kinds.length]!;
    const localAddress = `127.1.${i % SOURCE_ADDRESSES}.1`;
    const port = kind === 'nettcp-preamble' ? Number(nt.port) : Number(relay.port);
    dials++;
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    sockets.add(socket);
    let timer: NodeJS.Timeout | undefined;
    let counted = false;
    socket.on('connect', () => {
      counted = true;
      open++;
      const every = (ms: number, bytes: () => string | Buffer): void => {
        timer = setInterval(() => socket.write(bytes()), ms);
      };
      switch (kind) {
        case 'slowloris':
          socket.write(`GET /bench/x HTTP/1.1\r\nHost: ${relay.host}\r\n`);
          every(5000, () => `X-Slow-${Math.floor(Math.random() * 1e6)}: y\r\n`);
          break;
        case 'slow-soap':
          socket.write(
            `POST /bench HTTP/1.1\r\nHost: ${relay.host}\r\nContent-Type: text/xml; charset=utf-8\r\nSOAPAction: "urn:bench/Echo"\r\nContent-Length: 1000000\r\n\r\n` +
              '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>',
          );
          every(2000, () => '<x>aaaaaaaaa</x>');
          break;
        case 'nettcp-preamble':
          // Version 1.0, mode duplex, a Via record announcing 127 bytes, then one byte at a time.
          socket.write(Buffer.from([0x00, 0x01, 0x00, 0x01, 0x02, 0x02, 0x7f]));
          every(2000, () => 'a');
          break;
        case 'ws-flood':
        case 'ws-flood-eager':
          socket.write(
            `GET /$hc/bench?sb-hc-action=listen HTTP/1.1\r\nHost: ${relay.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
              'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
          );
          break;
      }
    });
    let refusals = 0;
    socket.on('data', () => {
      // The eager flood does not wait for the relay's close: answered, it hangs up and dials again.
      if (kind === 'ws-flood-eager' && refusals++ === 0) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (timer) clearInterval(timer);
      sockets.delete(socket);
      if (counted) open--;
      if (kind === 'ws-flood-eager') setImmediate(() => dial(i));
      else setTimeout(() => dial(i), reconnectMs + Math.random() * reconnectMs).unref();
    });
  };
  // Ramp up in steps, so the relay's accept queue is not the thing measured.
  for (let i = 0; i < count; i++) {
    dial(i);
    if (i % 200 === 199) await new Promise((r) => setTimeout(r, 50));
  }
  process.stdout.write(`${JSON.stringify({ started: count })}\n`);
  setInterval(() => process.stdout.write(`${JSON.stringify({ open, dials })}\n`), 1000).unref();
  process.stdin.on('end', () => {
    stopped = true;
    for (const s of sockets) s.destroy();
  });
}

interface VictimResult {
  calls: number;
  errors: number;
  p50Us: number;
  p99Us: number;
}

/** The victims' process: keep-alive and connection-per-call loops of relayed GETs for `seconds`. */
export async function runVictims(url: string, token: string, seconds: number): Promise<{ keepAlive: VictimResult; newConnection: VictimResult }> {
  const keepAliveAgent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  const one = (fresh: boolean): Promise<boolean> =>
    new Promise((resolve) => {
      const headers: Record<string, string> = { ServiceBusAuthorization: token };
      if (fresh) headers.Connection = 'close';
      const req = http.get(`${url}/bench/x`, { headers, agent: fresh ? false : keepAliveAgent, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve((res.statusCode ?? 0) < 400));
        res.on('error', () => resolve(false));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
    });
  const until = Date.now() + seconds * 1000;
  const loop = async (fresh: boolean, lat: number[], counts: { errors: number }): Promise<void> => {
    while (Date.now() < until) {
      const t0 = process.hrtime.bigint();
      const ok = await one(fresh);
      const us = Number(process.hrtime.bigint() - t0) / 1000;
      if (ok) lat.push(us);
      else counts.errors++;
    }
  };
  const summarize = (lat: number[], errors: number): VictimResult => {
    lat.sort((a, b) => a - b);
    const pct = (p: number): number => (lat.length ? lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]! : NaN);
    return { calls: lat.length, errors, p50Us: pct(50), p99Us: pct(99) };
  };
  const ka: number[] = [];
  const nc: number[] = [];
  const kaErr = { errors: 0 };
  const ncErr = { errors: 0 };
  await Promise.all([loop(false, ka, kaErr), loop(false, ka, kaErr), loop(true, nc, ncErr), loop(true, nc, ncErr)]);
  keepAliveAgent.destroy();
  return { keepAlive: summarize(ka, kaErr.errors), newConnection: summarize(nc, ncErr.errors) };
}

function rssMiB(pid: number | undefined): number {
  return pid === undefined ? NaN : procStats(pid).rssKiB / 1024;
}

interface Phase {
  hostile: number;
  held: number;
  victims: { keepAlive: VictimResult; newConnection: VictimResult };
  peakRssMiB: number;
  relayCpuPct: number;
  /** New hostile connections per second during the phase (reconnects). */
  connectsPerSecond: number;
}

export async function benchHostile(options: { seconds?: number; counts?: number[]; reconnectMs?: number; kinds?: readonly Kind[]; tarpitMs?: number } = {}): Promise<string> {
  const seconds = options.seconds ?? 20;
  const counts = options.counts ?? [0, 2000, 5000];
  const reconnectMs = options.reconnectMs ?? 250;
  const service = await startRole(['service']);
  const relay = await startRole(['hostile-relay', ...(options.tarpitMs !== undefined ? [String(options.tarpitMs)] : [])]);
  const agent = await startRole(['agent', String(relay.info.url), String(service.info.url)]);
  const url = String(relay.info.url);
  const token = createSasToken({ resourceUri: `${url}/bench`, keyName: BENCH_KEY_NAME, key: BENCH_KEY, expiresInSeconds: 3600 });
  const phases: Phase[] = [];
  try {
    for (const hostile of counts) {
      let attackers: Role | undefined;
      let held = 0;
      let dials = 0;
      if (hostile > 0) {
        attackers = await startRole(['attackers', url, String(relay.info.netTcp), String(hostile), String(reconnectMs), (options.kinds ?? KINDS).join(',')]);
        attackers.child.stdout!.on('data', (c: Buffer) => {
          for (const line of c.toString().split('\n')) {
            const m = /"open":(\d+),"dials":(\d+)/.exec(line);
            if (m) {
              held = Number(m[1]);
              dials = Number(m[2]);
            }
          }
        });
        // Let the attackers reach their count (bounded).
        const settleUntil = Date.now() + 15_000;
        while (held < hostile * 0.9 && Date.now() < settleUntil) await new Promise((r) => setTimeout(r, 250));
      }
      let peak = rssMiB(relay.child.pid);
      const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(relay.child.pid))), 250);
      const cpu0 = relay.cpuUs();
      const dials0 = dials;
      const t0 = Date.now();
      const victims = await startRole(['victims', url, token, String(seconds)]);
      const wall = (Date.now() - t0) * 1000;
      const cpu = relay.cpuUs() - cpu0;
      clearInterval(sampler);
      victims.stop();
      const heldAtEnd = held;
      const connectsPerSecond = ((dials - dials0) * 1000) / (wall / 1000);
      attackers?.stop();
      phases.push({
        hostile,
        held: heldAtEnd,
        victims: victims.info as unknown as Phase['victims'],
        peakRssMiB: peak,
        relayCpuPct: (cpu / wall) * 100,
        connectsPerSecond,
      });
      // Let the relay shed the attackers' connections before the next phase.
      await new Promise((r) => setTimeout(r, 3000));
    }
  } finally {
    agent.stop();
    relay.stop();
    service.stop();
  }
  const base = phases[0]!;
  const ms = (us: number): string => (us / 1000).toFixed(1);
  const lines = [
    `${seconds} s per phase; relay tarpit ${options.tarpitMs ?? 'default (10 s)'}${options.tarpitMs !== undefined ? ' ms' : ''}; attackers (${(options.kinds ?? KINDS).join(', ')}) reconnect ${reconnectMs}–${2 * reconnectMs} ms after a close, from ${SOURCE_ADDRESSES} loopback addresses, at CPU priority 19; ${os.cpus().length} cores shared by all processes.`,
    '',
    '| hostile conns (held) | hostile connects/s | keep-alive calls | keep-alive p50 ms | keep-alive p99 ms | p99 × | new-conn calls | new-conn p50 ms | new-conn p99 ms | p99 × | errors | relay peak RSS MiB | relay CPU % |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const p of phases) {
    const ka = p.victims.keepAlive;
    const nc = p.victims.newConnection;
    lines.push(
      `| ${p.hostile} (${p.held}) | ${p.connectsPerSecond.toFixed(0)} | ${ka.calls} | ${ms(ka.p50Us)} | ${ms(ka.p99Us)} | ${(ka.p99Us / base.victims.keepAlive.p99Us).toFixed(2)} | ${nc.calls} | ${ms(nc.p50Us)} | ${ms(nc.p99Us)} | ${(nc.p99Us / base.victims.newConnection.p99Us).toFixed(2)} | ${ka.errors + nc.errors} | ${p.peakRssMiB.toFixed(0)} | ${p.relayCpuPct.toFixed(0)} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const quick = process.argv.includes('--quick');
  const seconds = Number(arg('--seconds') ?? (quick ? 5 : 20));
  const counts = (arg('--counts') ?? (quick ? '0,500' : '0,2000,5000')).split(',').map(Number);
  const reconnectMs = Number(arg('--reconnect-ms') ?? 250);
  // --kinds slowloris,ws-flood: only those attackers (to see what each costs).
  const kinds = (arg('--kinds')?.split(',') ?? KINDS) as Kind[];
  const unknown = kinds.filter((k) => !ALL_KINDS.includes(k));
  if (unknown.length) throw new Error(`--kinds: unknown ${unknown.join(', ')} (known: ${ALL_KINDS.join(', ')})`);
  process.stdout.write('## Callers that do nothing wrong, while hostile connections hold the relay\n\n');
  // --tarpit-ms 0: the relay without its tarpit (limits.tarpitMs), for an A/B.
  const tarpit = arg('--tarpit-ms');
  process.stdout.write(`${await benchHostile({ seconds, counts, reconnectMs, kinds, tarpitMs: tarpit === undefined ? undefined : Number(tarpit) })}\n`);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  });
}
