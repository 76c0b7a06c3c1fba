/**
 * npm run soak [-- --seconds 180] [-- --rate 40] [-- --keep]
 *
 * A bounded soak of the built CLI on loopback: a relay, an agent and a small Node service as
 * child processes (test/helpers/processes.ts), mixed traffic at a fixed rate (HTTP GET, HTTP POST
 * 4 KiB, SOAP 1.1 over HTTP, WebSocket sender streams to a TCP echo, net.tcp SOAP 1.2 calls with
 * our own client), listener churn (a second agent on the same path started and stopped every
 * 20 s) and a relay restart (SIGTERM, same port and store) in the middle.
 *
 * Samples RSS and open fds (/proc/PID/fd; the agent's /$health reports channel states, not
 * handles, so fds stand for handles) of the relay and the agent, prints a table at the start (after
 * a warm-up), every 30 s, before and after the restart and at the end, and exits 1 on any hung call
 * (15 s client deadline), any failure outside the documented outcomes, a connection error while
 * the relay was up, a process that exited unexpectedly or with a non-zero status, or growth beyond
 * RSS end > 2 × start + 50 MiB or fds end > start + 20 (agent: whole run; each relay process: its
 * own life). Bounded: at most seconds × rate calls, 64 in flight, one hour.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import WebSocket from 'ws';
import { NetTcpClient, NmfFaultError, requestEnvelope } from '../test/helpers/net-tcp-client';
import {
  NETWORK_ERRORS,
  agentConfig,
  call,
  describeOutcome,
  freePort,
  isAgentReady,
  makeTempDir,
  procStats,
  relayConfig,
  sleep,
  soapEchoRequest,
  startAgent,
  startRelay,
  startService,
  verdictOf,
  type ManagedProcess,
  type Verdict,
} from '../test/helpers/processes';

const CALL_DEADLINE_MS = 15_000;
const MAX_IN_FLIGHT = 64;
const CHURN_PERIOD_MS = 20_000;
const SAMPLE_EVERY_MS = 30_000;
const MiB = 1024;

/** Every child started, so none outlives this process whatever happens. */
const procs: ManagedProcess[] = [];
function killAll(): void {
  for (const p of procs) if (p.alive) p.signal('SIGKILL');
}
process.once('SIGINT', () => {
  killAll();
  process.exit(130);
});

type Kind = 'get' | 'post' | 'soap' | 'ws' | 'nettcp';
/** The traffic mix, one entry per call in a cycle of ten. */
const MIX: Kind[] = ['get', 'soap', 'post', 'get', 'ws', 'soap', 'get', 'nettcp', 'post', 'get'];

interface Outcome {
  kind: Kind;
  verdict: Verdict;
  start: number;
  end: number;
  detail: string;
}

function arg(name: string, fallback: number, min: number, max: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name}: expected a number from ${min} to ${max}`);
  return n;
}

/** A WebSocket sender stream: `bytes` random bytes in 4 messages, all of them echoed back. */
function wsCall(url: string, bytes: number): Promise<Omit<Outcome, 'kind'>> {
  const start = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (verdict: Verdict, detail: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      resolve({ verdict, start, end: Date.now(), detail: `ws ${detail}` });
    };
    const payload = randomBytes(bytes);
    const got: Buffer[] = [];
    let gotBytes = 0;
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: CALL_DEADLINE_MS });
    const timer = setTimeout(() => finish('hung', `no echo within ${CALL_DEADLINE_MS} ms (${gotBytes}/${bytes} bytes)`), CALL_DEADLINE_MS);
    ws.on('open', () => {
      const quarter = Math.ceil(bytes / 4);
      for (let at = 0; at < bytes; at += quarter) ws.send(payload.subarray(at, at + quarter));
    });
    ws.on('message', (data: Buffer) => {
      got.push(data);
      gotBytes += data.length;
      if (gotBytes >= bytes) finish(Buffer.concat(got).equals(payload) ? 'ok' : 'undocumented', gotBytes === bytes ? 'echo differs' : `echo too long ${gotBytes}`);
    });
    ws.on('unexpected-response', (_req, res: http.IncomingMessage) => {
      res.resume();
      // WebSocket senders: 404 no listener (Azure's behaviour), 502/503/504 as for HTTP.
      const status = res.statusCode ?? 0;
      finish([404, 502, 503, 504].includes(status) ? 'relay-error' : 'undocumented', `upgrade refused ${status}`);
    });
    ws.on('error', (err: NodeJS.ErrnoException) => finish(NETWORK_ERRORS.has(err.code ?? err.message) ? 'network' : 'undocumented', `error ${err.code ?? err.message}`));
    ws.on('close', (code) => {
      // Closed by the relay with a close code (listener gone, relay stopping) is the documented end
      // of a stream; 1006 is the connection dropping.
      finish(code === 1006 ? 'network' : code === 1000 ? 'undocumented' : 'relay-error', `closed ${code} after ${gotBytes}/${bytes} bytes`);
    });
  });
}

/** One net.tcp session: preamble, one SOAP 1.2 Echo call, End. */
async function netTcpCall(port: number, via: string, tag: string): Promise<Omit<Outcome, 'kind'>> {
  const start = Date.now();
  let client: NetTcpClient | undefined;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), CALL_DEADLINE_MS)));
  const work = (async (): Promise<[Verdict, string]> => {
    try {
      client = await NetTcpClient.connect({ port });
      await client.open(via);
      const messageId = `urn:uuid:${randomUUID()}`;
      const reply = await client.call(requestEnvelope({ action: 'urn:resilience/Echo', to: via, body: `<Echo xmlns="urn:resilience"><text>${tag}</text></Echo>`, messageId }), messageId);
      await client.end();
      if (reply.includes(tag) && reply.includes('EchoResponse')) return ['ok', 'reply'];
      if (/Fault/.test(reply) && /RELAY_ERR_/.test(reply)) return ['relay-error', `fault ${/RELAY_ERR_[A-Z0-9_]+/.exec(reply)![0]}`];
      return ['undocumented', `reply ${reply.slice(0, 200)}`];
    } catch (err) {
      if (err instanceof NmfFaultError) return ['relay-error', `NMF fault ${err.fault}`];
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      if (NETWORK_ERRORS.has(code) || code === 'connection closed') return ['network', code];
      return ['undocumented', code];
    }
  })();
  const r = await Promise.race([work, deadline]);
  clearTimeout(timer);
  client?.destroy();
  const [verdict, detail] = r === 'hung' ? (['hung', `no reply within ${CALL_DEADLINE_MS} ms`] as const) : r;
  return { verdict, start, end: Date.now(), detail: `net.tcp ${detail}` };
}

async function health(port: number): Promise<string> {
  const r = await call(`http://127.0.0.1:${port}/$health`, { timeoutMs: 5000 });
  if (r.kind !== 'response') return `- (${r.error ?? r.kind})`;
  try {
    const h = JSON.parse(r.body!.toString('utf8')) as { status: string; paths: Array<{ path: string; connected: boolean }> };
    return `${r.status} ${h.status} ${h.paths.filter((p) => p.connected).length}/${h.paths.length}`;
  } catch {
    return `${r.status}`;
  }
}

interface Sample {
  phase: string;
  t: number;
  relayPid: number;
  relay: { rssKiB: number; fds: number };
  agent: { rssKiB: number; fds: number };
  health: string;
  ok: number;
  failed: number;
}

async function main(): Promise<number> {
  const seconds = arg('seconds', 180, 20, 3600);
  const rate = arg('rate', 40, 1, 500);
  const keep = process.argv.includes('--keep');
  const maxCalls = Math.ceil(seconds * rate);
  const warmupMs = Math.min(15_000, (seconds * 1000) / 8);
  const dir = makeTempDir('soak');
  const problems: string[] = [];
  const out = (s: string) => process.stdout.write(`${s}\n`);

  const [relayPort, netTcpPort, healthPort] = [await freePort(), await freePort(), await freePort()];
  const service = await startService({ dir, echoPort: 0 });
  procs.push(service.proc);
  const relayCfg = relayConfig({
    port: relayPort,
    dir,
    entities: [
      { path: 'soak', requiresClientAuthorization: false },
      { path: 'soak12', requiresClientAuthorization: false },
      { path: 'soak-ws', requiresClientAuthorization: false },
    ],
    extra: {
      netTcp: { port: netTcpPort, host: '127.0.0.1' },
      heartbeat: { intervalMs: 5000, maxMissed: 2 },
      limits: { requestTimeoutMs: 10_000, rendezvousTimeoutMs: 10_000 },
      log: { level: 'info' },
    },
  });
  let relay = await startRelay({ dir, config: relayCfg, keepLines: 2000 });
  procs.push(relay);
  const httpTarget = (soapVersion: string) => ({ type: 'http', url: service.url, soapVersion, timeoutMs: 10_000 });
  const agentExtra = { heartbeat: { intervalMs: 5000 }, reconnect: { initialMs: 100, maxMs: 2000, multiplier: 1.6, jitter: 0.2 }, log: { level: 'info' } };
  const agent = startAgent({
    dir,
    keepLines: 2000,
    config: agentConfig({
      relayPort,
      services: [
        { path: 'soak', target: httpTarget('1.1') },
        { path: 'soak12', target: httpTarget('1.2') },
        { path: 'soak-ws', target: { type: 'tcp', host: '127.0.0.1', port: service.echoPort } },
      ],
      extra: { ...agentExtra, health: { port: healthPort } },
    }),
  });
  procs.push(agent);
  for (const p of ['soak', 'soak12', 'soak-ws']) {
    await agent.waitForLine((l) => isAgentReady(l) && l.path === p, { timeoutMs: 30_000, what: `the agent's channel for ${p}` });
  }

  const base = `http://127.0.0.1:${relayPort}`;
  const outcomes: Outcome[] = [];
  const inFlight = new Set<Promise<void>>();
  let started = 0;
  let skipped = 0;
  const t0 = Date.now();
  const downWindows: Array<[number, number]> = [];

  const one = async (kind: Kind, n: number): Promise<void> => {
    const tag = `s${n}`;
    let o: Omit<Outcome, 'kind'>;
    if (kind === 'ws') o = await wsCall(`ws://127.0.0.1:${relayPort}/$hc/soak-ws?sb-hc-action=connect`, 4096);
    else if (kind === 'nettcp') o = await netTcpCall(netTcpPort, `net.tcp://127.0.0.1:${netTcpPort}/soak12`, tag);
    else {
      const r =
        kind === 'get'
          ? await call(`${base}/soak/hello?${tag}`, { timeoutMs: CALL_DEADLINE_MS, label: `GET ${tag}` })
          : kind === 'post'
            ? await call(`${base}/soak/echo`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: Buffer.alloc(4096, tag), timeoutMs: CALL_DEADLINE_MS, label: `POST ${tag}` })
            : await call(`${base}/soak`, { ...soapEchoRequest(tag), timeoutMs: CALL_DEADLINE_MS, label: `SOAP ${tag}` });
      const expectOk = (b: string) => (kind === 'get' ? b === `hello /hello?${tag}` : kind === 'post' ? b === Buffer.alloc(4096, tag).toString('utf8') : b.includes(`<text>${tag}</text>`));
      o = { verdict: verdictOf(r, expectOk), start: r.start, end: r.end, detail: describeOutcome(r).slice(0, 300) };
    }
    outcomes.push({ kind, ...o });
  };

  const traffic = setInterval(() => {
    if (started >= maxCalls) return;
    if (inFlight.size >= MAX_IN_FLIGHT) {
      skipped++;
      return;
    }
    const n = started++;
    const p = one(MIX[n % MIX.length]!, n).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, 1000 / rate);

  const samples: Sample[] = [];
  const sample = async (phase: string): Promise<Sample> => {
    const s: Sample = {
      phase,
      t: Math.round((Date.now() - t0) / 1000),
      relayPid: relay.pid,
      relay: procStats(relay.pid),
      agent: procStats(agent.pid),
      health: await health(healthPort),
      ok: outcomes.filter((o) => o.verdict === 'ok').length,
      failed: outcomes.filter((o) => o.verdict !== 'ok').length,
    };
    samples.push(s);
    out(row(s));
    return s;
  };
  const row = (s: Sample) =>
    `| ${s.phase} | ${s.t} | ${s.relayPid} | ${(s.relay.rssKiB / MiB).toFixed(1)} | ${s.relay.fds} | ${(s.agent.rssKiB / MiB).toFixed(1)} | ${s.agent.fds} | ${s.health} | ${s.ok} | ${s.failed} |`;

  out(`soak: ${seconds} s at ${rate} calls/s (at most ${maxCalls} calls), mix ${MIX.join(',')}, logs in ${dir}\n`);
  out('| phase | t (s) | relay pid | relay RSS (MiB) | relay fds | agent RSS (MiB) | agent fds | agent /$health | calls ok | calls failed |');
  out('|---|---|---|---|---|---|---|---|---|---|');

  // The timeline: warm-up, start sample, churn throughout, the restart in the middle, the end.
  let done = false;
  let lock: Promise<void> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = lock.then(fn);
    lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  };
  let churns = 0;
  const churn = (async () => {
    await sleep(CHURN_PERIOD_MS / 2);
    while (!done) {
      const second = await exclusive(async () => {
        const a = startAgent({
          dir,
          name: `agent-churn-${++churns}`,
          keepLines: 500,
          config: agentConfig({ relayPort, services: [{ path: 'soak', target: httpTarget('1.1') }], extra: agentExtra }),
        });
        procs.push(a);
        await a.waitForLine(isAgentReady, { timeoutMs: 30_000, what: 'the churn agent connected' }).catch((e: Error) => problems.push(e.message));
        return a;
      });
      await sleep(CHURN_PERIOD_MS / 2);
      await exclusive(async () => {
        const status = await second.stop(15_000);
        if (status.code !== 0) problems.push(`${second.name} exited ${JSON.stringify(status)} on SIGTERM (expected 0)`);
      });
      if (!done) await sleep(CHURN_PERIOD_MS / 2);
    }
  })();

  await sleep(warmupMs);
  const startSample = await sample('start');
  const restartAt = t0 + (seconds * 1000) / 2;
  const endAt = t0 + seconds * 1000;
  let nextSample = Date.now() + SAMPLE_EVERY_MS;
  let beforeRestart: Sample | undefined;
  let afterRestart: Sample | undefined;
  let restarted = false;
  let restartNote = 'no restart';
  while (Date.now() < endAt) {
    if (!restarted && Date.now() >= restartAt) {
      restarted = true;
      beforeRestart = await sample('before restart');
      await exclusive(async () => {
        const downAt = Date.now();
        const old = relay;
        const mark = agent.mark();
        old.signal('SIGTERM');
        const status = await old.waitExit(30_000);
        if (status.code !== 0) problems.push(`relay exited ${JSON.stringify(status)} on SIGTERM (expected 0)`);
        relay = await startRelay({ dir, config: relayCfg, name: 'relay-2', keepLines: 2000 });
        procs.push(relay);
        const upAt = Date.now();
        downWindows.push([downAt, upAt]);
        const back = await agent.waitForLine(isAgentReady, { since: mark, timeoutMs: 30_000, what: 'the agent reconnected after the relay restart' }).catch((e: Error) => {
          problems.push(e.message);
          return undefined;
        });
        restartNote = `relay down ${upAt - downAt} ms (SIGTERM to listening), agent channel back ${back ? `${back.at - upAt} ms` : 'never'} after`;
      });
      await sleep(Math.min(10_000, Math.max(0, endAt - Date.now() - 5000)));
      afterRestart = await sample('after restart');
      nextSample = Date.now() + SAMPLE_EVERY_MS;
    } else if (Date.now() >= nextSample) {
      await sample('run');
      nextSample += SAMPLE_EVERY_MS;
    }
    await sleep(250);
  }
  const endSample = await sample('end');
  done = true;
  clearInterval(traffic);
  await Promise.all(inFlight);
  await churn;

  // Checks.
  const overlapsDown = (o: Outcome) => downWindows.some(([from, to]) => o.start <= to && o.end >= from);
  const byVerdict = (v: Verdict) => outcomes.filter((o) => o.verdict === v);
  const hung = byVerdict('hung');
  const undocumented = byVerdict('undocumented');
  const networkWhileUp = byVerdict('network').filter((o) => !overlapsDown(o));
  if (hung.length) problems.push(`${hung.length} hung calls, e.g. ${hung.slice(0, 3).map((o) => `${o.kind}: ${o.detail}`).join('; ')}`);
  if (undocumented.length) problems.push(`${undocumented.length} undocumented outcomes, e.g. ${undocumented.slice(0, 3).map((o) => `${o.kind}: ${o.detail}`).join('; ')}`);
  if (networkWhileUp.length) problems.push(`${networkWhileUp.length} connection errors while the relay was up, e.g. ${networkWhileUp.slice(0, 3).map((o) => `${o.kind}: ${o.detail}`).join('; ')}`);
  if (!agent.alive) problems.push(`the agent exited: ${JSON.stringify(agent.exitStatus)}`);
  if (!relay.alive) problems.push(`the relay exited: ${JSON.stringify(relay.exitStatus)}`);
  const growth = (who: string, from: Sample, to: Sample, pick: (s: Sample) => { rssKiB: number; fds: number }) => {
    const a = pick(from);
    const b = pick(to);
    if (b.rssKiB > 2 * a.rssKiB + 50 * MiB) problems.push(`${who} RSS grew ${(a.rssKiB / MiB).toFixed(1)} → ${(b.rssKiB / MiB).toFixed(1)} MiB (${from.phase} → ${to.phase})`);
    if (b.fds > a.fds + 20) problems.push(`${who} fds grew ${a.fds} → ${b.fds} (${from.phase} → ${to.phase})`);
  };
  growth('agent', startSample, endSample, (s) => s.agent);
  if (beforeRestart) growth('relay (first process)', startSample, beforeRestart, (s) => s.relay);
  if (afterRestart) growth('relay (after the restart)', afterRestart, endSample, (s) => s.relay);

  const kinds = [...new Set(MIX)].map((k) => {
    const of = outcomes.filter((o) => o.kind === k);
    return `${k} ${of.filter((o) => o.verdict === 'ok').length}/${of.length}`;
  });
  const counts = Object.fromEntries((['ok', 'relay-error', 'network', 'hung', 'undocumented'] as Verdict[]).map((v) => [v, byVerdict(v).length]));
  out('');
  const failures = new Map<string, number>();
  for (const o of outcomes) {
    if (o.verdict === 'ok') continue;
    const key = `${o.kind} ${o.verdict}: ${/RELAY_ERR_[A-Z0-9_]+|E[A-Z]{4,}|NMF fault \S+|closed \d+|upgrade refused \d+|socket hang up|aborted|connection closed/.exec(o.detail)?.[0] ?? o.detail.slice(0, 60)}`;
    failures.set(key, (failures.get(key) ?? 0) + 1);
  }
  out(restartNote);
  out(`failed calls by outcome: ${[...failures].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`).join('; ') || 'none'}`);
  out(`calls: ${outcomes.length} (${JSON.stringify(counts)}; ok per kind: ${kinds.join(', ')}); not started (64 in flight): ${skipped}; churn agents: ${churns}; relay restarts: ${downWindows.length}`);

  for (const p of procs.slice().reverse()) await p.stop(10_000).catch(() => undefined);
  if (problems.length) {
    out(`\nFAILED:\n- ${problems.join('\n- ')}\nlogs kept in ${dir}`);
    return 1;
  }
  out('\nsoak passed: no hung call, every failure documented, no growth beyond the bounds');
  if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  else out(`logs kept in ${dir}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    killAll();
    process.exit(1);
  },
);
