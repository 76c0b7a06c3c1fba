/**
 * npm run bench:scale [-- --quick]: one relay holding many connections at once.
 *
 *   origin ← agent (`http` target, path bench) ⇐ relay ⇒ hyco-ws listener (Microsoft's, path bench-ws, echo)
 *
 * Each kind is opened from a process of its own (the `ws-senders` and `holders` roles), 100
 * dialling at a time, and held:
 *   1. COUNT WebSocket senders on bench-ws, each one message echoed end to end, then idle;
 *   2. COUNT idle HTTP keep-alive connections on bench, each after one relayed GET;
 * then, with all of them still held, a fresh relayed GET and a fresh WebSocket sender's echo.
 * The relay's RSS is read after a full collection before and after each step (its connections'
 * own memory, not the garbage of the calls that opened them), and its open descriptors counted.
 *
 * A WebSocket sender costs the relay two descriptors (the sender's socket and the listener's
 * rendezvous WebSocket) and an HTTP connection one, so 10,000 of each need about 30,000. Every
 * role starts with its soft descriptor limit raised to its hard limit; where the hard limit is
 * lower (a container without CAP_SYS_RESOURCE), COUNT shrinks to fit and the table says so.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';
import { createSasToken } from '../src/auth';
import { procStats } from '../test/helpers/processes';
import { BENCH_KEY, BENCH_KEY_NAME } from './roles';
import { startRole, type Role } from './spawn';

const DIAL_BATCH = 100;

/** The relay's token for a path of the bench relay. */
function tokenFor(relayUrl: string, path: string): string {
  return createSasToken({ resourceUri: `${relayUrl}/${path}`, keyName: BENCH_KEY_NAME, key: BENCH_KEY, expiresInSeconds: 3600 });
}

/** One WebSocket sender on bench-ws: resolves with it once one message came back, or undefined on failure. */
function wsSender(relayUrl: string, token: string, n: number): Promise<WebSocket | undefined> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${relayUrl.replace(/^http/, 'ws')}/$hc/bench-ws?sb-hc-action=connect`, { headers: { ServiceBusAuthorization: token }, perMessageDeflate: false });
    const text = `sender ${n}`;
    ws.once('open', () => ws.send(text));
    ws.once('message', (d: Buffer) => resolve(d.toString() === text ? ws : undefined));
    ws.once('error', () => resolve(undefined));
    ws.once('close', () => resolve(undefined));
  });
}

/** `count` WebSocket senders held open, each after one echo (the `ws-senders` role). */
export async function holdWsSenders(relayUrl: string, count: number): Promise<{ held: number; echoed: number }> {
  const token = tokenFor(relayUrl, 'bench-ws');
  const senders: WebSocket[] = [];
  let echoed = 0;
  for (let i = 0; i < count; i += DIAL_BATCH) {
    const batch = await Promise.all(Array.from({ length: Math.min(DIAL_BATCH, count - i) }, (_, k) => wsSender(relayUrl, token, i + k)));
    for (const ws of batch) {
      if (!ws) continue;
      echoed++;
      senders.push(ws);
    }
  }
  await new Promise((r) => setTimeout(r, 500));
  return { held: senders.filter((ws) => ws.readyState === WebSocket.OPEN).length, echoed };
}

/** `count` keep-alive connections to `url`, one GET answered on each, held (the `holders` role). */
export async function holdKeepAlive(url: string, count: number, headers: Record<string, string>): Promise<{ held: number }> {
  const sockets = await openKeepAlive(url, count, headers);
  await new Promise((r) => setTimeout(r, 500));
  return { held: sockets.filter((s) => !s.destroyed).length };
}

/**
 * `count` keep-alive connections to `url` (DIAL_BATCH dialling at a time), each once its one GET
 * was answered; a connection whose answer is not a 200 is closed (not counted as held).
 */
export async function openKeepAlive(url: string, count: number, headers: Record<string, string>): Promise<net.Socket[]> {
  const u = new URL(url);
  const request = Buffer.from(`GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
  const sockets: net.Socket[] = [];
  const one = () =>
    new Promise<void>((resolve) => {
      const s = net.connect(Number(u.port), u.hostname);
      sockets.push(s);
      s.on('error', () => resolve());
      s.once('data', (d: Buffer) => {
        if (!d.toString('latin1').startsWith('HTTP/1.1 200')) s.destroy();
        resolve();
      });
      s.write(request);
    });
  for (let i = 0; i < count; i += DIAL_BATCH) await Promise.all(Array.from({ length: Math.min(DIAL_BATCH, count - i) }, one));
  return sockets;
}

/** The soft and hard limits on open descriptors of a process (Max open files in /proc/PID/limits). */
function fdLimitOf(pid: number): number {
  const m = /Max open files\s+(\d+|unlimited)/.exec(fs.readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return !m || m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
}

/** One relayed GET on a fresh connection: its status (0 when it failed). */
function freshGet(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
  });
}

export async function benchScale(options: { count?: number } = {}): Promise<string> {
  const wanted = options.count ?? 10_000;
  const roles: Role[] = [];
  try {
    const origin = await startRole(['origin']);
    const relay = await startRole(['relay']);
    roles.push(origin, relay);
    const relayUrl = String(relay.info.url);
    const agent = await startRole(['agent', relayUrl, String(origin.info.url)]);
    const listener = await startRole(['ws-listener', relayUrl]);
    roles.push(agent, listener);
    const relayPid = relay.child.pid!;
    // Two descriptors per WebSocket sender, one per HTTP connection, and a margin for the rest.
    const fdLimit = fdLimitOf(relayPid);
    const count = Math.min(wanted, Math.floor((fdLimit - 200) / 3));
    const getUrl = `${relayUrl}/bench/hello`;
    const getHeaders = { ServiceBusAuthorization: tokenFor(relayUrl, 'bench') };
    // Warm: the relayed paths once each, so first-call memory (code, caches) is not counted.
    if ((await freshGet(getUrl, getHeaders)) !== 200) throw new Error('the relayed GET failed before the bench');
    const warm = await wsSender(relayUrl, tokenFor(relayUrl, 'bench-ws'), -1);
    if (!warm) throw new Error('the WebSocket sender failed before the bench');
    warm.close();

    const sample = async () => {
      await relay.collect();
      const s = procStats(relayPid);
      return { rssKiB: s.rssKiB, fds: s.fds };
    };
    const start = await sample();
    const senders = await startRole(['ws-senders', relayUrl, String(count)]);
    roles.push(senders);
    const afterWs = await sample();
    const holders = await startRole(['holders', getUrl, String(count), JSON.stringify(getHeaders)]);
    roles.push(holders);
    const afterHttp = await sample();
    const get = await freshGet(getUrl, getHeaders);
    const ws = await wsSender(relayUrl, tokenFor(relayUrl, 'bench-ws'), -2);
    ws?.close();

    const perKiB = (a: number, b: number, n: number) => (n > 0 ? ((b - a) / n).toFixed(1) : '-');
    const heldWs = Number(senders.info.held);
    const heldHttp = Number(holders.info.held);
    const lines = [
      '| held at the relay at once | asked | held | relay RSS growth MiB | RSS KiB per connection | relay descriptors |',
      '|---|---|---|---|---|---|',
      `| WebSocket senders (each one echo, then idle) | ${count} | ${heldWs} (echoed ${senders.info.echoed}) | ${((afterWs.rssKiB - start.rssKiB) / 1024).toFixed(1)} | ${perKiB(start.rssKiB, afterWs.rssKiB, heldWs)} | ${afterWs.fds} |`,
      `| + idle HTTP keep-alive connections (each one relayed GET) | ${count} | ${heldHttp} | ${((afterHttp.rssKiB - afterWs.rssKiB) / 1024).toFixed(1)} | ${perKiB(afterWs.rssKiB, afterHttp.rssKiB, heldHttp)} | ${afterHttp.fds} |`,
      '',
      `With all of them held: a relayed GET on a fresh connection ${get === 200 ? 'answered 200' : `failed (${get})`}; a fresh WebSocket sender ${ws ? 'echoed' : 'failed'}.`,
    ];
    if (count < wanted) {
      lines.push(
        '',
        `${count} of each, not ${wanted}: the relay's descriptor limit here is ${fdLimit} (soft raised to hard), and ${wanted} of each need about ${3 * wanted + 200}.`,
      );
    }
    return lines.join('\n');
  } finally {
    for (const r of roles.reverse()) r.stop();
  }
}

if (require.main === module) {
  const quick = process.argv.includes('--quick');
  benchScale(quick ? { count: 1000 } : {}).then(
    (table) => process.stdout.write(`## One relay holding many connections\n\n${table}\n`),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
