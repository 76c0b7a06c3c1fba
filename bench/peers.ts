/**
 * npm run bench:peers [-- --quick]: relaybridge against what a user would pick instead, in one
 * run on this machine, every path to the same Node origin, driven by wrk (one thread):
 *
 *   direct       wrk → origin
 *   2 forwarders wrk → TCP forwarder → TCP forwarder → origin (the floor of any two-hop path)
 *   nginx        wrk → nginx (one reverse-proxy hop, upstream keep-alive) → origin
 *   ssh -R       wrk → sshd (remote forward, an sshd of the benchmark's own) → ssh → origin
 *   Node floor   wrk → a relay + agent of the same libraries with no features (bench/floor.ts) → origin
 *   relaybridge  wrk → relay → agent (`http` target) → origin
 *
 * Workloads: an 18-byte GET, 1 KiB and 64 KiB POSTs (echoed), at 1 and 32 connections. Rounds go
 * round-robin over the paths (the machine drifts); each figure is the median of the rounds.
 * CPU µs per call is the hops' own CPU time (user + system from /proc) over the calls of the
 * window: relay + agent for relaybridge, sshd + ssh for ssh -R, the nginx process, the two
 * forwarders; RSS is theirs at the end of the workload. Then, per path, one 100 MB body streamed
 * up to the origin (MB/s, the hops' RSS growth), and idle keep-alive connections held at the
 * relay (and at the origin alone, for Node's own share): RSS per connection, and whether a fresh
 * call is still answered. Needs wrk, nginx and openssh-server (sshd) installed: a missing peer is
 * left out of the table with a line saying so. No wall-time assertion anywhere: a benchmark is
 * not a test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createSasToken } from '../src/auth/sas-token';
import { median, runWrk, type WrkResult } from './load';
import { BENCH_KEY, BENCH_KEY_NAME } from './roles';
import { openKeepAlive } from './scale';
import { cpuUsOf, startRole, type Role } from './spawn';
import { requirePeer } from '../test/helpers/exec';
import { freePort, procStats } from '../test/helpers/processes';

interface Path {
  readonly name: string;
  /** The URL wrk calls (GET; POSTs go to the same URL). */
  readonly url: string;
  readonly headers: Record<string, string>;
  /** CPU µs the hops of this path have used so far. */
  cpuUs(): number;
  /** The hops' resident memory now, KiB (0 for none). */
  rssKiB(): number;
  /** Where a streamed POST goes (the origin's sink through this path); none for a path that buffers whole bodies. */
  readonly sinkUrl?: string;
}

/** Resident memory of processes together, KiB (procStats; one that is gone counts 0). */
function rssKiBOf(...pids: Array<number | undefined>): number {
  let sum = 0;
  for (const pid of pids) {
    const rss = pid === undefined ? NaN : procStats(pid).rssKiB;
    if (!Number.isNaN(rss)) sum += rss;
  }
  return sum;
}

/**
 * One body of `bytes` POSTed through a path as a stream (64 KiB writes with back-pressure), its
 * answer read: MB/s over the whole exchange, and the largest growth of the hops' RSS while it ran.
 */
async function streamedUpload(p: Path, bytes: number): Promise<{ mbPerSecond: number; rssGrowthKiB: number; arrived: number }> {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const before = p.rssKiB();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, p.rssKiB())), 20);
  const started = process.hrtime.bigint();
  try {
    const arrived = await new Promise<number>((resolve, reject) => {
      const req = http.request(p.sinkUrl!, { method: 'POST', headers: { ...p.headers, 'Content-Type': 'application/octet-stream', 'Content-Length': bytes } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          try {
            resolve(Number((JSON.parse(text) as { bytes?: number }).bytes ?? NaN));
          } catch {
            reject(new Error(`${p.name}: HTTP ${res.statusCode} ${text.slice(0, 200)}`));
          }
        });
      });
      req.on('error', reject);
      let sent = 0;
      const write = () => {
        while (sent < bytes) {
          const n = Math.min(chunk.length, bytes - sent);
          sent += n;
          if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void req.once('drain', write);
        }
        req.end();
      };
      write();
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { mbPerSecond: bytes / 1e6 / seconds, rssGrowthKiB: peak - before, arrived };
  } finally {
    clearInterval(sampler);
  }
}

/**
 * `count` keep-alive connections to `url`, each after one GET answered (bench/scale.ts
 * openKeepAlive), held open: the server's RSS growth per connection once they are all idle, and
 * whether a call on a fresh connection is still answered while they are held.
 */
async function idleConnections(
  url: string,
  headers: Record<string, string>,
  count: number,
  server: Role,
): Promise<{ held: number; perConnectionKiB: number; fresh: number }> {
  // RSS after a full collection, before and after: the connections' own memory, not the garbage
  // of the calls that opened them (or of the workloads before).
  const rssKiB = async () => {
    await server.collect();
    return rssKiBOf(server.child.pid);
  };
  await new Promise((r) => setTimeout(r, 500));
  const before = await rssKiB();
  const sockets = await openKeepAlive(url, count, headers);
  await new Promise((r) => setTimeout(r, 1000));
  const after = await rssKiB();
  const held = sockets.filter((s) => !s.destroyed).length;
  const fresh = await new Promise<number>((resolve) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
  });
  for (const s of sockets) s.destroy();
  return { held, perConnectionKiB: (after - before) / count, fresh };
}

/** The pids of a process and all its descendants (sshd forks a process per connection). */
function treeOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

/** CPU of a process tree, with what its already-exited members used (kept per pid). */
function treeCpu(pid: number, seen: Map<number, number>): number {
  for (const p of treeOf(pid)) {
    const c = cpuUsOf(p);
    if (!Number.isNaN(c)) seen.set(p, c);
  }
  let sum = 0;
  for (const c of seen.values()) sum += c;
  return sum;
}

/** Resolves once something accepts TCP connections on the port (or rejects after `ms`). */
async function listening(port: number, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`${what} did not listen on ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function runPathWrk(wrk: string, p: Path, connections: number, seconds: number, script: string | undefined): Promise<WrkResult> {
  return runWrk(wrk, [`-c${connections}`, `-d${seconds}s`, ...Object.entries(p.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), ...(script ? ['-s', script] : []), p.url]);
}

/** An sshd of the benchmark's own (loopback port, its own keys and config) and `ssh -N -R` to it. */
async function startSshReverse(dir: string, originPort: number): Promise<{ path: Omit<Path, 'name'>; stop(): void } | string> {
  const sshd = requirePeer(['sshd'], 'apt-get install openssh-server', ['/usr/sbin/sshd']);
  const ssh = requirePeer(['ssh'], 'apt-get install openssh-client');
  const keygen = requirePeer(['ssh-keygen'], 'apt-get install openssh-client');
  if (!sshd || !ssh || !keygen) return 'ssh -R: left out, sshd/ssh not installed (Debian: openssh-server, openssh-client)';
  for (const k of ['host_key', 'user_key']) spawnSync(keygen, ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, k)]);
  fs.copyFileSync(path.join(dir, 'user_key.pub'), path.join(dir, 'authorized_keys'));
  const port = await freePort();
  const remote = await freePort();
  fs.writeFileSync(
    path.join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'AllowTcpForwarding yes',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  if (process.getuid?.() === 0) fs.mkdirSync('/run/sshd', { recursive: true }); // privilege separation
  // (its stderr is dropped: it logs every probe connection that closes before the key exchange)
  const daemon = spawn(sshd, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'ignore'] });
  await listening(port, 10_000, 'sshd');
  const client = spawn(
    ssh,
    [
      '-N',
      '-i',
      path.join(dir, 'user_key'),
      '-p',
      String(port),
      '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null',
      '-o', 'BatchMode=yes',
      '-o', 'ExitOnForwardFailure=yes',
      '-o', 'LogLevel=ERROR',
      '-R', `127.0.0.1:${remote}:127.0.0.1:${originPort}`,
      `${os.userInfo().username}@127.0.0.1`,
    ],
    // (its stderr is dropped: when the benchmark stops sshd first, it says so there)
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  await listening(remote, 10_000, 'ssh -R');
  const seen = new Map<number, number>();
  return {
    path: {
      url: `http://127.0.0.1:${remote}/hello`,
      headers: {},
      cpuUs: () => treeCpu(daemon.pid!, seen) + cpuUsOf(client.pid),
      rssKiB: () => rssKiBOf(...treeOf(daemon.pid!), client.pid),
      sinkUrl: `http://127.0.0.1:${remote}/sink`,
    },
    stop: () => {
      client.kill();
      daemon.kill();
    },
  };
}

/** nginx as a one-hop reverse proxy with upstream keep-alive, one worker (master_process off: one process to measure). */
async function startNginx(dir: string, originPort: number): Promise<{ path: Omit<Path, 'name'>; stop(): void } | string> {
  const nginx = requirePeer(['nginx'], 'apt-get install nginx', ['/usr/sbin/nginx']);
  if (!nginx) return 'nginx: left out, not installed (Debian: nginx)';
  const port = await freePort();
  const temp = (n: string) => {
    fs.mkdirSync(path.join(dir, n), { recursive: true });
    return path.join(dir, n);
  };
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    `daemon off; master_process off; worker_processes 1; pid ${path.join(dir, 'nginx.pid')}; error_log ${path.join(dir, 'nginx-error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${temp('cb')}; proxy_temp_path ${temp('pt')}; fastcgi_temp_path ${temp('ft')}; uwsgi_temp_path ${temp('ut')}; scgi_temp_path ${temp('st')};
  upstream origin { server 127.0.0.1:${originPort}; keepalive 64; }
  server { listen 127.0.0.1:${port}; client_max_body_size 0; proxy_request_buffering off; location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
`,
  );
  const child: ChildProcess = spawn(nginx, ['-e', path.join(dir, 'nginx-error.log'), '-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
  await listening(port, 10_000, 'nginx');
  return {
    path: { url: `http://127.0.0.1:${port}/hello`, headers: {}, cpuUs: () => cpuUsOf(child.pid), rssKiB: () => rssKiBOf(child.pid), sinkUrl: `http://127.0.0.1:${port}/sink` },
    stop: () => child.kill(),
  };
}

export async function benchPeers(options: { durationMs?: number; rounds?: number; streamBytes?: number; idleConnections?: number } = {}): Promise<string> {
  const seconds = Math.max(1, Math.round((options.durationMs ?? 3000) / 1000));
  const rounds = options.rounds ?? 3;
  const warmUpSeconds = seconds > 1 ? 3 : 1;
  const wrk = requirePeer(['wrk'], 'apt-get install wrk');
  if (!wrk) return 'left out: wrk is not installed (Debian: wrk)';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaybridge-peers-'));
  const notes: string[] = [];
  const roles: Role[] = [];
  const stops: Array<() => void> = [];
  try {
    const origin = await startRole(['origin']);
    roles.push(origin);
    const originUrl = String(origin.info.url);
    const originPort = Number(new URL(originUrl).port);
    const paths: Path[] = [{ name: 'direct', url: `${originUrl}/hello`, headers: {}, cpuUs: () => 0, rssKiB: () => 0, sinkUrl: `${originUrl}/sink` }];

    const second = await startRole(['forwarder', `${originUrl}/hello`]);
    const first = await startRole(['forwarder', String(second.info.url)]);
    roles.push(second, first);
    paths.push({
      name: '2 forwarders',
      url: String(first.info.url),
      headers: {},
      cpuUs: () => first.cpuUs() + second.cpuUs(),
      rssKiB: () => rssKiBOf(first.child.pid, second.child.pid),
      sinkUrl: new URL('/sink', String(first.info.url)).href,
    });

    for (const [name, start] of [
      ['nginx', startNginx],
      ['ssh -R', startSshReverse],
    ] as const) {
      const peer = await start(dir, originPort);
      if (typeof peer === 'string') notes.push(peer);
      else {
        stops.push(peer.stop);
        paths.push({ name, ...peer.path });
      }
    }

    // The floor of a relay + agent in Node: the same libraries (Node's HTTP server, ws, undici), none of the features.
    const floorRelay = await startRole(['floor-relay']);
    const floorAgent = await startRole(['floor-agent', String(floorRelay.info.url), originUrl]);
    roles.push(floorAgent, floorRelay);
    paths.push({
      name: 'Node floor',
      url: `${String(floorRelay.info.url)}/hello`,
      headers: {},
      cpuUs: () => floorRelay.cpuUs() + floorAgent.cpuUs(),
      rssKiB: () => rssKiBOf(floorRelay.child.pid, floorAgent.child.pid),
    });

    const relay = await startRole(['relay']);
    const agent = await startRole(['agent', String(relay.info.url), originUrl]);
    roles.push(agent, relay);
    const relayUrl = String(relay.info.url);
    const token = createSasToken({ resourceUri: `${relayUrl}/bench`, keyName: BENCH_KEY_NAME, key: BENCH_KEY, expiresInSeconds: 3600 });
    paths.push({
      name: 'relaybridge',
      url: `${relayUrl}/bench/hello`,
      headers: { ServiceBusAuthorization: token },
      cpuUs: () => relay.cpuUs() + agent.cpuUs(),
      rssKiB: () => rssKiBOf(relay.child.pid, agent.child.pid),
      sinkUrl: `${relayUrl}/bench/sink`,
    });

    const post = path.join(dir, 'post.lua');
    fs.writeFileSync(post, `wrk.method = "POST"\nwrk.body = string.rep("a", 1024)\nwrk.headers["Content-Type"] = "application/octet-stream"\n`);
    const post64 = path.join(dir, 'post64.lua');
    fs.writeFileSync(post64, `wrk.method = "POST"\nwrk.body = string.rep("a", 65536)\nwrk.headers["Content-Type"] = "application/octet-stream"\n`);
    const workloads = [
      { name: '18-byte GET', script: undefined },
      { name: '1 KiB POST', script: post },
      { name: '64 KiB POST', script: post64 },
    ];
    const lines = [
      '| workload | conns | path | calls/s | × direct | × ssh -R | p50 µs | p99 µs | added p50 µs | hops CPU µs/call | hops RSS MiB |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
    ];
    for (const w of workloads) {
      for (const connections of [1, 32]) {
        const results = new Map<string, Array<WrkResult & { cpuPerCall: number }>>();
        // A warm-up run per path (JIT, connection pools, cold caches), not counted: Node paths keep
        // getting faster well past their first second.
        for (const p of paths) await runPathWrk(wrk, p, connections, warmUpSeconds, w.script);
        for (let r = 0; r < rounds; r++) {
          for (const p of paths) {
            const before = p.cpuUs();
            const res = await runPathWrk(wrk, p, connections, seconds, w.script);
            const cpuPerCall = (p.cpuUs() - before) / res.requests;
            results.set(p.name, [...(results.get(p.name) ?? []), { ...res, cpuPerCall }]);
          }
        }
        const med = (name: string, k: keyof WrkResult | 'cpuPerCall') => median((results.get(name) ?? []).map((x) => x[k]));
        const direct = med('direct', 'callsPerSecond');
        const ssh = results.has('ssh -R') ? med('ssh -R', 'callsPerSecond') : NaN;
        for (const p of paths) {
          const cps = med(p.name, 'callsPerSecond');
          const errors = (results.get(p.name) ?? []).reduce((n, x) => n + x.errors, 0);
          const cells = [
            w.name,
            String(connections),
            p.name + (errors ? ` (${errors} errors)` : ''),
            cps.toFixed(0),
            (cps / direct).toFixed(2),
            Number.isNaN(ssh) ? '-' : (cps / ssh).toFixed(2),
            med(p.name, 'p50Us').toFixed(0),
            med(p.name, 'p99Us').toFixed(0),
            p.name === 'direct' ? '-' : (med(p.name, 'p50Us') - med('direct', 'p50Us')).toFixed(0),
            p.name === 'direct' ? '-' : med(p.name, 'cpuPerCall').toFixed(1),
            p.name === 'direct' ? '-' : (p.rssKiB() / 1024).toFixed(0),
          ];
          lines.push(`| ${cells.join(' | ')} |`);
        }
      }
    }
    // One 100 MB body streamed up through each path (the origin counts and drops it), after a warm-up.
    const bytes = options.streamBytes ?? 100 * 1000 * 1000;
    const streamed = ['', `| ${(bytes / 1e6).toFixed(0)} MB streamed up | MB/s | × direct | × ssh -R | hops RSS growth MiB |`, '|---|---|---|---|---|'];
    const rates = new Map<string, { mbPerSecond: number; rssGrowthKiB: number }>();
    for (const p of paths) {
      if (!p.sinkUrl) continue;
      try {
        // A tenth of it first, not counted: the first large body through a Node hop is slower.
        await streamedUpload(p, Math.ceil(bytes / 10));
        const r = await streamedUpload(p, bytes);
        if (r.arrived !== bytes) notes.push(`${p.name}: the origin counted ${r.arrived} of ${bytes} streamed bytes`);
        rates.set(p.name, r);
      } catch (err) {
        notes.push(`${p.name}: streamed upload failed: ${(err as Error).message}`);
      }
    }
    const directRate = rates.get('direct')?.mbPerSecond ?? NaN;
    const sshRate = rates.get('ssh -R')?.mbPerSecond ?? NaN;
    for (const [name, r] of rates) {
      streamed.push(`| ${name} | ${r.mbPerSecond.toFixed(0)} | ${(r.mbPerSecond / directRate).toFixed(2)} | ${Number.isNaN(sshRate) ? '-' : (r.mbPerSecond / sshRate).toFixed(2)} | ${name === 'direct' ? '-' : (r.rssGrowthKiB / 1024).toFixed(1)} |`);
    }

    // Idle keep-alive connections: at the relay, and at the origin alone (Node's own share of one).
    const count = options.idleConnections ?? 10_000;
    const idle = ['', `| ${count} idle keep-alive connections at | held | RSS KiB per connection | a fresh call while held |`, '|---|---|---|---|'];
    for (const [name, url, headers, server] of [
      ['relaybridge relay', `${relayUrl}/bench/hello`, { ServiceBusAuthorization: token }, relay],
      ['the Node origin alone', `${originUrl}/hello`, {}, origin],
    ] as const) {
      const r = await idleConnections(url, headers, count, server);
      idle.push(`| ${name} | ${r.held} | ${r.perConnectionKiB.toFixed(1)} | ${r.fresh === 200 ? 'answered 200' : `failed (${r.fresh})`} |`);
    }
    return [...lines, ...streamed, ...idle, ...notes.map((n) => `\n${n}`)].join('\n');
  } finally {
    for (const s of stops) s();
    for (const r of roles) r.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const quick = process.argv.includes('--quick');
  benchPeers(quick ? { durationMs: 1000, rounds: 1, streamBytes: 20 * 1000 * 1000, idleConnections: 1000 } : {}).then(
    (table) => process.stdout.write(`## Against the peers (wrk -t1)\n\n${table}\n`),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
