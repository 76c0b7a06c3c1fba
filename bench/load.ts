/**
 * The closed-loop HTTP load of the benchmarks: N keep-alive connections, each sending the next
 * request when the previous answered, for a fixed duration; calls/s and latency percentiles.
 * Every benchmark uses it, so direct and relayed runs are measured the same way.
 *
 * It drives wrk (Debian `wrk`, one thread, a Lua script for the method, headers and body) when
 * wrk is installed: a load generator in C that takes little of the CPU it measures (on two shared
 * cores a Node client spends about as much per call as the relay does). Without wrk, or for a
 * run under a second, it falls back to a Node loop (`generator` says which ran).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { requirePeer } from '../test/helpers/exec';

export interface LoadOptions {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /**
   * A UUID that occurs in `body`, replaced in each request by a fresh one (a SOAP call with its own
   * MessageID each time).
   */
  uniqueInBody?: string;
  connections: number;
  durationMs: number;
  warmupMs?: number;
  /** Called when the measured part begins, after the warm-up (read CPU counters here). */
  onStart?: () => void;
}

export interface LoadResult {
  calls: number;
  errors: number;
  callsPerSecond: number;
  p50Us: number;
  p99Us: number;
  /** Which load generator ran: `wrk` or the `node` loop. */
  generator: 'wrk' | 'node';
}

/**
 * JIT warm-up before the measured rounds: each load once, at 32 connections, for `durationMs`.
 * V8 optimizes a path's code over its first few thousand calls, on compiler threads whose CPU
 * the measured rounds would otherwise count (most at one connection, where few calls are made).
 */
export async function warmUp(loads: Array<Omit<LoadOptions, 'connections' | 'durationMs'>>, durationMs: number): Promise<void> {
  for (const load of loads) await runLoad({ ...load, connections: 32, durationMs, warmupMs: 0 });
}

/** The figures of a LoadResult (medians are taken of these). */
export type LoadFigure = Exclude<keyof LoadResult, 'generator'>;

/** The UUID `uniqueInBody` callers put in their bodies. */
export const BODY_UUID = '00000000-0000-4000-8000-000000000000';

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const wrk = o.durationMs >= 1000 ? requirePeer(['wrk'], 'apt-get install wrk') : undefined;
  return wrk ? runWrkLoad(wrk, o) : runNodeLoad(o);
}

/** What one wrk run reports. */
export interface WrkResult {
  readonly requests: number;
  readonly callsPerSecond: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly errors: number;
}

/** Parses wrk's output (run with --latency). */
export function parseWrk(out: string): WrkResult {
  const unit = (v: string, u: string) => Number(v) * (u === 's' ? 1e6 : u === 'ms' ? 1e3 : 1);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out);
    return m ? unit(m[1]!, m[2]!) : NaN;
  };
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sock ? sock.slice(1).reduce((n, x) => n + Number(x), 0) : 0);
  return { requests, callsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN), p50Us: pct('50'), p99Us: pct('99'), errors };
}

/** A Lua string literal of any bytes (three-digit decimal escapes for everything but plain printable ASCII). */
function luaString(b: Buffer): string {
  let out = '"';
  for (const c of b) out += c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c ? String.fromCharCode(c) : `\\${String(c).padStart(3, '0')}`;
  return `${out}"`;
}

/** wrk's Lua script for a load: method, headers, body, and a fresh UUID per request when asked. */
export function wrkScript(o: Pick<LoadOptions, 'method' | 'headers' | 'body' | 'uniqueInBody'>): string {
  const lines = [`wrk.method = ${luaString(Buffer.from(o.method ?? 'GET'))}`];
  for (const [k, v] of Object.entries(o.headers ?? {})) lines.push(`wrk.headers[${luaString(Buffer.from(k))}] = ${luaString(Buffer.from(v))}`);
  if (o.body) lines.push(`wrk.body = ${luaString(o.body)}`);
  if (o.body && o.uniqueInBody) {
    const at = o.body.indexOf(o.uniqueInBody);
    if (at < 0) throw new Error('uniqueInBody does not occur in the body');
    lines.push(
      `local head, tail = ${luaString(o.body.subarray(0, at))}, ${luaString(o.body.subarray(at + Buffer.byteLength(o.uniqueInBody)))}`,
      'local n, seed = 0, math.random(0, 0x7fffffff)',
      'request = function()',
      '  n = n + 1',
      '  return wrk.format(nil, nil, nil, head .. string.format("%08x-0000-4000-8000-%012x", seed, n) .. tail)',
      'end',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Runs wrk with `args` (one thread, --latency, and the caller's) and parses what it printed. */
export function runWrk(wrk: string, args: readonly string[]): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(wrk, ['-t1', '--latency', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', () => resolve(parseWrk(out)));
  });
}

async function runWrkLoad(wrk: string, o: LoadOptions): Promise<LoadResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-load-'));
  try {
    const script = path.join(dir, 'load.lua');
    fs.writeFileSync(script, wrkScript(o));
    const run = (seconds: number) => runWrk(wrk, [`-c${o.connections}`, `-d${seconds}s`, '-s', script, o.url]);
    if ((o.warmupMs ?? 300) > 0) await run(1);
    const seconds = Math.max(1, Math.round(o.durationMs / 1000));
    o.onStart?.();
    const r = await run(seconds);
    if (Number.isNaN(r.requests)) throw new Error(`wrk gave no result for ${o.url}`);
    return { calls: r.requests - r.errors, errors: r.errors, callsPerSecond: (r.requests - r.errors) / seconds, p50Us: r.p50Us, p99Us: r.p99Us, generator: 'wrk' };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function runNodeLoad(o: LoadOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections, noDelay: true });
  const one = (): Promise<boolean> =>
    new Promise((resolve) => {
      const req = http.request(o.url, { method: o.method ?? 'GET', headers: o.headers, agent }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolve((res.statusCode ?? 0) < 400));
        res.on('error', () => resolve(false));
      });
      req.on('error', () => resolve(false));
      req.end(o.body && o.uniqueInBody ? Buffer.from(o.body.toString('latin1').replace(o.uniqueInBody, randomUUID()), 'latin1') : o.body);
    });
  const clients = Array.from({ length: o.connections }, (): LoadClient => ({ call: one, close: () => undefined }));
  const result = await closedLoop(clients, o);
  agent.destroy();
  return result;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * One keep-alive connection of runLeanHttpLoad: its request encoded once (head and body), a fresh
 * UUID written into a copy per call when asked; an answer is read by its Content-Length (or a
 * chunked body's last chunk). As cheap per call as the lean net.tcp client (bench/net-tcp.ts), so
 * the two protocols can be compared with load generators of the same cost.
 */
class LeanHttpClient {
  readonly #socket: net.Socket;
  readonly #request: Buffer;
  /** Where the UUID to replace sits in #request (-1: none). */
  readonly #idAt: number;
  #buf: Buffer = Buffer.alloc(0);
  #waiting: ((ok: boolean) => void) | undefined;

  private constructor(socket: net.Socket, request: Buffer, idAt: number) {
    this.#socket = socket;
    this.#request = request;
    this.#idAt = idAt;
    socket.setNoDelay(true);
    socket.on('data', (c: Buffer) => this.#onData(c));
    socket.on('error', () => undefined);
    socket.on('close', () => this.#settle(false));
  }

  static async connect(o: LoadOptions): Promise<LeanHttpClient> {
    const url = new URL(o.url);
    const socket = net.connect(Number(url.port || 80), url.hostname);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    const body = o.body ?? Buffer.alloc(0);
    const headers = Object.entries(o.headers ?? {}).filter(([k]) => !/^(content-length|host|connection)$/i.test(k));
    const head = [`${o.method ?? 'GET'} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, ...headers.map(([k, v]) => `${k}: ${v}`), `Content-Length: ${body.length}`, '', ''].join('\r\n');
    const request = Buffer.concat([Buffer.from(head, 'latin1'), body]);
    const idAt = o.uniqueInBody ? request.indexOf(o.uniqueInBody, Buffer.byteLength(head, 'latin1')) : -1;
    if (o.uniqueInBody && idAt < 0) throw new Error('uniqueInBody does not occur in the body');
    return new LeanHttpClient(socket, request, idAt);
  }

  call(): Promise<boolean> {
    return new Promise((resolve) => {
      this.#waiting = resolve;
      if (this.#idAt < 0) {
        this.#socket.write(this.#request);
        return;
      }
      const copy = Buffer.from(this.#request);
      copy.write(randomUUID(), this.#idAt, 'latin1');
      this.#socket.write(copy);
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    const end = this.#buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.#buf.subarray(0, end).toString('latin1');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let total: number;
    if (length) total = end + 4 + Number(length[1]);
    else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const last = this.#buf.indexOf('\r\n0\r\n\r\n', end + 2);
      if (last < 0) return;
      total = last + 7;
    } else total = end + 4;
    if (this.#buf.length < total) return;
    this.#buf = this.#buf.subarray(total);
    this.#settle(status >= 200 && status < 400);
  }

  #settle(ok: boolean): void {
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.(ok);
  }
}

/**
 * runLoad's closed loop with lean Node clients instead of wrk: for comparing with another
 * protocol's lean Node load generator (net.tcp), where both sides must cost the same.
 */
export async function runLeanHttpLoad(o: LoadOptions): Promise<LoadResult> {
  return closedLoop(await Promise.all(Array.from({ length: o.connections }, () => LeanHttpClient.connect(o))), o);
}

/** A connection of a closed loop: one call at a time, true when it was answered well. */
export interface LoadClient {
  call(): Promise<boolean>;
  close(): void;
}

/**
 * The closed loop every Node load generator here runs: each client calls again as soon as its
 * call is answered, for a warm-up (not counted) and then for `durationMs`.
 */
export async function closedLoop(clients: LoadClient[], o: Pick<LoadOptions, 'durationMs' | 'warmupMs' | 'onStart'>): Promise<LoadResult> {
  const loop = async (c: LoadClient, until: number, lat: number[] | undefined, counts: { calls: number; errors: number }) => {
    while (Date.now() < until) {
      const t0 = process.hrtime.bigint();
      const ok = await c.call().catch(() => false);
      if (!lat) continue;
      if (ok) {
        counts.calls++;
        lat.push(Number(process.hrtime.bigint() - t0) / 1000);
      } else counts.errors++;
    }
  };
  const warm = { calls: 0, errors: 0 };
  await Promise.all(clients.map((c) => loop(c, Date.now() + (o.warmupMs ?? 300), undefined, warm)));
  const lat: number[] = [];
  const counts = { calls: 0, errors: 0 };
  o.onStart?.();
  const start = Date.now();
  await Promise.all(clients.map((c) => loop(c, start + o.durationMs, lat, counts)));
  const elapsed = (Date.now() - start) / 1000;
  for (const c of clients) c.close();
  lat.sort((a, b) => a - b);
  const pct = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]! : NaN);
  return { calls: counts.calls, errors: counts.errors, callsPerSecond: counts.calls / elapsed, p50Us: pct(50), p99Us: pct(99), generator: 'node' };
}
