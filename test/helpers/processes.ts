/**
 * The built CLI (`node dist/src/cli/main.js relay|agent --config …`) and small Node services as
 * real child processes, for the resilience suite and `npm run soak`: YAML configs in a temp dir,
 * free loopback ports, pino JSON log lines captured (and copied to a file per process), waits for
 * a log line, signals, exit codes, and one HTTP call with a client-side deadline whose outcome is
 * classified against the documented failure behaviour.
 *
 * No jest globals here: `bench/soak.ts` imports this file and `tsconfig.build.json` compiles it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { createSasToken } from '../../src/auth/sas-token';

export const ROOT_KEY_NAME = 'RootManageSharedAccessKey';
export const ROOT_KEY = 'cmVzaWxpZW5jZS1yb290LWtleS1ub3Qtc2VjcmV0LTA5ODc=';

/** The repository root (this file runs from test/helpers or from dist/test/helpers). */
export const REPO_ROOT = ((): string => {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'relaybridge') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('relaybridge package.json not found above ' + __dirname);
    dir = up;
  }
})();
/** The CLI under test; RELAYBRIDGE_CLI points the suite and the soak at another build (e.g. an older commit's). */
export const CLI = process.env.RELAYBRIDGE_CLI ?? path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

/** A free TCP port on 127.0.0.1 (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `relaybridge-${prefix}-`));
}

export function writeYaml(dir: string, name: string, data: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, YAML.stringify(data));
  return file;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One line a child wrote: pino JSON fields when it was JSON, `raw` always. */
export interface LogLine {
  raw: string;
  stream: 'stdout' | 'stderr';
  /** Arrival time in this process (Date.now()). */
  at: number;
  level?: number;
  msg?: string;
  [field: string]: unknown;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process whose output lines are kept, copied to `logFile`, and can be waited for. */
export class ManagedProcess {
  readonly child: ChildProcess;
  /** The kept lines (the last `keepLines`; `dropped` older ones were let go). */
  readonly lines: LogLine[] = [];
  dropped = 0;
  readonly #keepLines: number;
  readonly logFile: string;
  readonly name: string;
  exitStatus: ExitStatus | undefined;
  readonly #events = new EventEmitter();
  readonly #log: fs.WriteStream;

  constructor(name: string, args: string[], o: { dir: string; env?: NodeJS.ProcessEnv; keepLines?: number }) {
    this.name = name;
    this.#keepLines = o.keepLines ?? Infinity;
    this.logFile = path.join(o.dir, `${name}.log`);
    this.#log = fs.createWriteStream(this.logFile, { flags: 'a' });
    this.#events.setMaxListeners(1000);
    this.child = spawn(process.execPath, args, { cwd: o.dir, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#read(this.child.stdout!, 'stdout');
    this.#read(this.child.stderr!, 'stderr');
    this.child.once('exit', (code, signal) => {
      this.exitStatus = { code, signal };
      this.#log.write(`# ${name} exited: code ${code} signal ${signal}\n`);
      this.#events.emit('exit');
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.exitStatus === undefined;
  }

  /** The index of the next line: pass as `since` to wait only for later lines. */
  mark(): number {
    return this.dropped + this.lines.length;
  }

  #read(stream: NodeJS.ReadableStream, which: 'stdout' | 'stderr'): void {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.#log.write(which === 'stderr' ? chunk.replace(/^(?=.)/gm, '[stderr] ') : chunk);
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const raw = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!raw.trim()) continue;
        let line: LogLine = { raw, stream: which, at: Date.now() };
        if (raw.startsWith('{')) {
          try {
            line = { ...(JSON.parse(raw) as Record<string, unknown>), raw, stream: which, at: line.at };
          } catch {
            /* not JSON */
          }
        }
        this.lines.push(line);
        if (this.lines.length > this.#keepLines) {
          const drop = Math.ceil(this.#keepLines / 2);
          this.lines.splice(0, drop);
          this.dropped += drop;
        }
        this.#events.emit('line', line);
      }
    });
  }

  /** Resolves with the first line from index `since` on that matches; rejects on timeout or exit. */
  waitForLine(match: (l: LogLine) => boolean, o: { since?: number; timeoutMs?: number; what?: string } = {}): Promise<LogLine> {
    const what = o.what ?? 'a log line';
    const found = this.lines.slice(Math.max(0, (o.since ?? 0) - this.dropped)).find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const done = (err: Error | undefined, line?: LogLine) => {
        clearTimeout(timer);
        this.#events.off('line', onLine);
        this.#events.off('exit', onExit);
        if (err) reject(err);
        else resolve(line!);
      };
      const onLine = (l: LogLine) => {
        if (match(l)) done(undefined, l);
      };
      const onExit = () => done(new Error(`${this.name} exited (${JSON.stringify(this.exitStatus)}) while waiting for ${what}`));
      const timer = setTimeout(() => done(new Error(`${this.name}: timed out after ${o.timeoutMs ?? 20_000} ms waiting for ${what}`)), o.timeoutMs ?? 20_000);
      this.#events.on('line', onLine);
      if (!this.alive) return onExit();
      this.#events.once('exit', onExit);
    });
  }

  signal(sig: NodeJS.Signals): void {
    if (this.alive) process.kill(this.pid, sig);
  }

  /** Resolves with the exit status; rejects after `timeoutMs`. */
  waitExit(timeoutMs = 20_000): Promise<ExitStatus> {
    if (this.exitStatus) return Promise.resolve(this.exitStatus);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not exit within ${timeoutMs} ms`)), timeoutMs);
      this.#events.once('exit', () => {
        clearTimeout(timer);
        resolve(this.exitStatus!);
      });
    });
  }

  /** SIGCONT (in case it is stopped), SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<ExitStatus> {
    if (!this.alive) return this.exitStatus!;
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    try {
      return await this.waitExit(graceMs);
    } catch {
      this.signal('SIGKILL');
      return this.waitExit(graceMs);
    }
  }

  /** The last `n` lines, for failure messages. */
  tail(n = 60): string {
    return this.lines
      .slice(-n)
      .map((l) => l.raw)
      .join('\n');
  }

  closeLog(): Promise<void> {
    return new Promise((r) => this.#log.end(() => r()));
  }
}

/** `relaybridge <role> --config <file>` from dist/ as a child process. */
export function spawnCli(role: 'relay' | 'agent', configFile: string, o: { dir: string; name?: string; args?: string[]; keepLines?: number }): ManagedProcess {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  return new ManagedProcess(o.name ?? role, [CLI, role, '--config', configFile, ...(o.args ?? [])], { dir: o.dir, keepLines: o.keepLines });
}

/** Relay config for loopback tests: a file store, debug logs, short heartbeats and timeouts. */
export function relayConfig(o: { port: number; dir: string; entities: Array<Record<string, unknown>>; extra?: Record<string, unknown> }): Record<string, unknown> {
  return {
    port: o.port,
    host: '127.0.0.1',
    publicUrl: `http://127.0.0.1:${o.port}`,
    store: { type: 'file', path: path.join(o.dir, 'relay-store.json') },
    namespaceRules: [{ keyName: ROOT_KEY_NAME, primaryKey: ROOT_KEY, rights: ['Manage', 'Listen', 'Send'] }],
    entities: o.entities,
    limits: { requestTimeoutMs: 8000, rendezvousTimeoutMs: 5000 },
    heartbeat: { intervalMs: 500, maxMissed: 2 },
    log: { level: 'debug' },
    ...o.extra,
  };
}

/** Agent config for loopback tests: short backoff and heartbeat, debug logs. */
export function agentConfig(o: { relayPort: number; services: Array<Record<string, unknown>>; keyName?: string; key?: string; extra?: Record<string, unknown> }): Record<string, unknown> {
  return {
    relayUrl: `http://127.0.0.1:${o.relayPort}`,
    keyName: o.keyName ?? ROOT_KEY_NAME,
    key: o.key ?? ROOT_KEY,
    services: o.services,
    reconnect: { initialMs: 100, maxMs: 1000, multiplier: 1.6, jitter: 0.2 },
    heartbeat: { intervalMs: 500 },
    log: { level: 'debug' },
    ...o.extra,
  };
}

/** Starts a relay and waits until it listens (its `relay listening on` line). */
export async function startRelay(o: { dir: string; config: Record<string, unknown>; name?: string; timeoutMs?: number; keepLines?: number }): Promise<ManagedProcess> {
  const file = writeYaml(o.dir, `${o.name ?? 'relay'}.yaml`, o.config);
  const relay = spawnCli('relay', file, { dir: o.dir, name: o.name ?? 'relay', keepLines: o.keepLines });
  await relay.waitForLine((l) => /relay listening on/.test(l.raw), { timeoutMs: o.timeoutMs ?? 30_000, what: 'relay listening' });
  return relay;
}

export function startAgent(o: { dir: string; config: Record<string, unknown>; name?: string; keepLines?: number }): ManagedProcess {
  const file = writeYaml(o.dir, `${o.name ?? 'agent'}.yaml`, o.config);
  return spawnCli('agent', file, { dir: o.dir, name: o.name ?? 'agent', keepLines: o.keepLines });
}

/** The agent's line for a control channel that is connected (CLI `agent channel ready`, channel `listening on the relay`). */
export const isAgentReady = (l: LogLine): boolean => typeof l.msg === 'string' && /agent channel ready|listening on the relay|connected to the relay/i.test(l.msg);

// ---------------------------------------------------------------------------------------------
// A small HTTP/SOAP service as its own process (so it can be killed -9). Routes:
//   GET  /hello…  → 200 text "hello <url>"
//   POST application/soap+xml → SOAP 1.2 EchoResponse (RelatesTo = the MessageID) with the request's <text>
//   POST with SOAPAction → SOAP 1.1 EchoResponse with the request's <text>
//   GET  /half    → 200, Content-Length 2000, writes 1000 bytes, prints "half-sent", then waits
//   GET  /slow?ms=N → 200 after N ms
//   other POST    → echo of the body
// Prints "service listening <port>" once listening; with a second argument also runs a TCP echo
// server on that port and prints "echo listening <port>".
// ---------------------------------------------------------------------------------------------
const SERVICE_JS = `
const http = require('node:http');
const port = Number(process.argv[2] || 0);
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    if (req.method === 'POST' && String(req.headers['content-type']).startsWith('application/soap+xml')) {
      const text = (/<text[^>]*>([^<]*)</.exec(body) || [])[1] || '';
      const id = (/<(?:[\\w.-]+:)?MessageID[^>]*>([^<]*)</.exec(body) || [])[1] || '';
      res.writeHead(200, { 'Content-Type': 'application/soap+xml; charset=utf-8' });
      res.end('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="1">urn:resilience/EchoResponse</a:Action><a:RelatesTo>' + id + '</a:RelatesTo></s:Header><s:Body><EchoResponse xmlns="urn:resilience"><text>' + text + '</text></EchoResponse></s:Body></s:Envelope>');
    } else if (req.method === 'POST' && req.headers.soapaction !== undefined) {
      const text = (/<text>([^<]*)<\\/text>/.exec(body) || [])[1] || '';
      res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' });
      res.end('<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><EchoResponse xmlns="urn:resilience"><text>' + text + '</text></EchoResponse></s:Body></s:Envelope>');
    } else if (req.url.startsWith('/half')) {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '2000' });
      res.write(Buffer.alloc(1000, 'x'), () => process.stdout.write('half-sent\\n'));
    } else if (req.url.startsWith('/slow')) {
      const ms = Number(new URL(req.url, 'http://x').searchParams.get('ms') || 1000);
      setTimeout(() => { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('slow ' + ms); }, ms);
    } else if (req.method === 'POST') {
      res.writeHead(200, { 'Content-Type': req.headers['content-type'] || 'application/octet-stream' });
      res.end(body);
    } else {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('hello ' + req.url);
    }
  });
});
server.keepAliveTimeout = 30000;
server.listen(port, '127.0.0.1', () => process.stdout.write('service listening ' + server.address().port + '\\n'));
if (process.argv[3] !== undefined) {
  const echo = require('node:net').createServer((s) => { s.on('error', () => {}); s.pipe(s); });
  echo.listen(Number(process.argv[3]), '127.0.0.1', () => process.stdout.write('echo listening ' + echo.address().port + '\\n'));
}
process.on('SIGTERM', () => process.exit(0));
`;

/** Starts the service on `port` (0: any) and waits until it listens; resolves with its port too. */
export async function startService(o: {
  dir: string;
  port?: number;
  name?: string;
  /** Also a TCP echo server on this port (0: any). */
  echoPort?: number;
}): Promise<{ proc: ManagedProcess; port: number; url: string; echoPort?: number }> {
  const script = path.join(o.dir, 'service.js');
  if (!fs.existsSync(script)) fs.writeFileSync(script, SERVICE_JS);
  const args = [script, String(o.port ?? 0), ...(o.echoPort !== undefined ? [String(o.echoPort)] : [])];
  const proc = new ManagedProcess(o.name ?? 'service', args, { dir: o.dir });
  const portOf = async (what: string) => {
    const line = await proc.waitForLine((l) => l.raw.startsWith(`${what} listening `), { timeoutMs: 20_000, what: `${what} listening` });
    return Number(/(\d+)$/.exec(line.raw)![1]);
  };
  const port = await portOf('service');
  const echoPort = o.echoPort !== undefined ? await portOf('echo') : undefined;
  return { proc, port, url: `http://127.0.0.1:${port}`, echoPort };
}

// ---------------------------------------------------------------------------------------------
// Calls and their outcomes
// ---------------------------------------------------------------------------------------------

export interface CallOutcome {
  /** Date.now() when the call started and ended. */
  start: number;
  end: number;
  /** 'response': a complete response; 'error': the request or response failed; 'hung': no end before the deadline. */
  kind: 'response' | 'error' | 'hung';
  status?: number;
  headers?: http.IncomingHttpHeaders;
  body?: Buffer;
  /** Error code (ECONNREFUSED, ECONNRESET, …) or message. */
  error?: string;
  /** Headers had arrived before the error. */
  gotHeaders?: boolean;
  label?: string;
}

/** One HTTP call on a fresh connection, ended by the client after `timeoutMs` at the latest (then `hung`). */
export function call(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number; label?: string } = {},
): Promise<CallOutcome> {
  const start = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    let gotHeaders = false;
    const finish = (r: Omit<CallOutcome, 'start' | 'end'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ start, end: Date.now(), label: o.label, gotHeaders, ...r });
    };
    const req = http.request(url, { method: o.method ?? 'GET', headers: o.headers, agent: false }, (res) => {
      gotHeaders = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        // 'end' after 'aborted' would be a truncated body; Node emits 'error' for those instead.
        if (res.complete) finish({ kind: 'response', status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) });
        else finish({ kind: 'error', status: res.statusCode, error: 'incomplete body' });
      });
      res.on('aborted', () => finish({ kind: 'error', status: res.statusCode, error: 'aborted' }));
      res.on('error', (err: NodeJS.ErrnoException) => finish({ kind: 'error', status: res.statusCode, error: err.code ?? err.message }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish({ kind: 'error', error: err.code ?? err.message }));
    const timer = setTimeout(() => {
      finish({ kind: 'hung' });
      req.destroy();
    }, o.timeoutMs ?? 15_000);
    req.end(o.body);
  });
}

export const SOAP_ACTION = 'urn:resilience/Echo';

export function soapEchoRequest(text: string): { method: string; headers: Record<string, string>; body: string } {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${SOAP_ACTION}"` },
    body: `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Echo xmlns="urn:resilience"><text>${text}</text></Echo></s:Body></s:Envelope>`,
  };
}

/** Connection-level failures a caller may see while the relay itself is down or restarting. */
export const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'socket hang up', 'aborted', 'incomplete body']);

/** What an outcome is, against the documented failure behaviour (README "Failure behaviour"). */
export type Verdict = 'ok' | 'relay-error' | 'network' | 'hung' | 'undocumented';

/** The RELAY_ERR_… code of a relay-side error response (JSON `relayCode`, or a SOAP fault's `Relaybridge-Error`). */
export function relayErrorCode(r: CallOutcome): string | undefined {
  if (r.kind !== 'response' || !r.body) return undefined;
  const header = r.headers?.['relaybridge-error'];
  const text = r.body.toString('utf8');
  if (r.status === 500 && typeof header === 'string' && /^RELAY_ERR_/.test(header) && /Fault/.test(text)) return header;
  if (r.status !== undefined && r.status >= 400) {
    try {
      // The relay's JSON errors carry `relayCode`; the agent's own (x-relaybridge-error) carry it as `code`.
      const error = (JSON.parse(text) as { error?: { relayCode?: unknown; code?: unknown } }).error;
      for (const code of [error?.relayCode, error?.code]) if (typeof code === 'string' && /^RELAY_ERR_/.test(code)) return code;
    } catch {
      /* not JSON */
    }
    // A SOAP fault without the header still names the code in its Subcode / faultcode.
    const m = /RELAY_ERR_[A-Z0-9_]+/.exec(text);
    if (m && /Fault/.test(text)) return m[0];
  }
  return undefined;
}

/**
 * ok: 200 and `isOk(body)`; relay-error: a documented relay error (502/503/504 JSON with a
 * RELAY_ERR code, or a SOAP fault with one); network: a connection-level error (documented only
 * while the relay is down: the caller checks the time window); hung: the client deadline passed.
 */
export function verdictOf(r: CallOutcome, isOk: (body: string) => boolean): Verdict {
  if (r.kind === 'hung') return 'hung';
  if (r.kind === 'error') return NETWORK_ERRORS.has(r.error ?? '') ? 'network' : 'undocumented';
  if (r.status === 200 && isOk(r.body!.toString('utf8'))) return 'ok';
  const code = relayErrorCode(r);
  if (code && (r.status === 500 || r.status === 502 || r.status === 503 || r.status === 504)) return 'relay-error';
  return 'undocumented';
}

export function describeOutcome(r: CallOutcome): string {
  const body = r.body ? r.body.toString('utf8').slice(0, 200) : '';
  return `${r.label ?? ''} ${r.kind} status=${r.status ?? '-'} error=${r.error ?? '-'} +${r.end - r.start}ms ${body}`.trim();
}

/** A management API call with a Manage token of the root rule (as `relaybridge hc|rule` does). */
export async function manage(relayPort: number, method: string, resource: string, body?: unknown): Promise<{ status: number; text: string }> {
  const base = `http://127.0.0.1:${relayPort}`;
  const token = createSasToken({ resourceUri: base, keyName: ROOT_KEY_NAME, key: ROOT_KEY, expiresInSeconds: 300 });
  const r = await call(`${base}/$management/${resource}`, {
    method,
    headers: { Authorization: token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (r.kind !== 'response') throw new Error(`management ${method} ${resource}: ${describeOutcome(r)}`);
  return { status: r.status!, text: r.body!.toString('utf8') };
}

// ---------------------------------------------------------------------------------------------
// Process figures from /proc
// ---------------------------------------------------------------------------------------------

export interface ProcStats {
  rssKiB: number;
  fds: number;
}

/** RSS and open file descriptors of `pid` (Linux /proc); NaN where unavailable. */
export function procStats(pid: number): ProcStats {
  let rssKiB = NaN;
  let fds = NaN;
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m) rssKiB = Number(m[1]);
  } catch {
    /* gone */
  }
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    /* gone */
  }
  return { rssKiB, fds };
}
