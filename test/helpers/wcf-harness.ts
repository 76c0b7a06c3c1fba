/**
 * Real WCF peers on Mono 6.8 for interop tests and the legacy-calculator sample (no jest globals
 * here: tsconfig.build.json compiles it for the sample; monoDescribe is in ./mono): builds test/interop/wcf/*.cs with mcs (cached by
 * source hash under test/interop/.build/), starts WcfService.exe and runs WcfClient.exe.
 * CLI, output and Mono quirks: test/interop/wcf/README.md.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { onPath, runToEnd } from './exec';
import { freePort, REPO_ROOT } from './processes';

export const WCF_SOURCE_DIR = path.join(REPO_ROOT, 'test', 'interop', 'wcf');
export const WCF_BUILD_ROOT = path.join(REPO_ROOT, 'test', 'interop', '.build');

const COMMON_SOURCES = ['Contract.cs', 'Json.cs'];
const SERVICE_SOURCES = [...COMMON_SOURCES, 'Service.cs'];
const CLIENT_SOURCES = [...COMMON_SOURCES, 'Client.cs'];
const REFERENCES = ['System.ServiceModel.dll', 'System.Runtime.Serialization.dll', 'System.Xml.dll', 'System.Core.dll', 'System.Web.Services.dll'];

/** `tcp-streamed`: NetTcpBinding with TransferMode.Streamed (client only). */
export type WcfBinding = 'basic' | 'basic-https' | 'basic-streamed' | 'ws' | 'ws-https' | 'tcp' | 'tcp-tls' | 'tcp-streamed';

/** True when `mono` and `mcs` are executables on PATH. */
export function monoAvailable(): boolean {
  return onPath('mono') && onPath('mcs');
}

/**
 * False when Mono is missing (the caller skips), except under RELAYBRIDGE_REQUIRE_INTEROP=1 (CI),
 * where a missing Mono throws so that "skipped" cannot pass for "passed".
 */
export function requireMono(): boolean {
  if (monoAvailable()) return true;
  if (process.env.RELAYBRIDGE_REQUIRE_INTEROP === '1') {
    throw new Error(
      'RELAYBRIDGE_REQUIRE_INTEROP=1 but mono/mcs are not on PATH: install the packages listed in test/interop/wcf/README.md',
    );
  }
  return false;
}

export interface WcfHarness {
  serviceExe: string;
  clientExe: string;
}

let building: Promise<WcfHarness> | undefined;

/**
 * Compiles WcfService.exe and WcfClient.exe into test/interop/.build/wcf-<hash>/ unless that
 * directory already holds them (the hash covers the sources and compiler arguments).
 */
export function buildWcfHarness(): Promise<WcfHarness> {
  building ??= build().catch((err: unknown) => {
    building = undefined;
    throw err;
  });
  return building;
}

async function build(): Promise<WcfHarness> {
  const hash = createHash('sha256');
  for (const file of [...new Set([...SERVICE_SOURCES, ...CLIENT_SOURCES])].sort()) {
    hash.update(file).update('\0').update(fs.readFileSync(path.join(WCF_SOURCE_DIR, file))).update('\0');
  }
  hash.update(REFERENCES.join(','));
  const dir = path.join(WCF_BUILD_ROOT, `wcf-${hash.digest('hex').slice(0, 16)}`);
  const serviceExe = path.join(dir, 'WcfService.exe');
  const clientExe = path.join(dir, 'WcfClient.exe');
  if (fs.existsSync(serviceExe) && fs.existsSync(clientExe)) return { serviceExe, clientExe };

  fs.mkdirSync(dir, { recursive: true });
  await Promise.all([compile(SERVICE_SOURCES, serviceExe), compile(CLIENT_SOURCES, clientExe)]);
  return { serviceExe, clientExe };
}

async function compile(sources: string[], out: string, extra: string[] = []): Promise<void> {
  // Compile to a private name, then rename: parallel jest workers never see a half-written exe.
  const tmp = `${out}.${process.pid}.${Date.now()}.tmp`;
  const args = [
    '-nologo',
    '-target:exe',
    '-optimize+',
    `-out:${tmp}`,
    ...REFERENCES.map((r) => `-r:${r}`),
    ...extra,
    ...sources.map((s) => path.join(WCF_SOURCE_DIR, s)),
  ];
  const { code, stdout, stderr } = await runToEnd('mcs', args, 120_000);
  if (code !== 0) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`mcs failed (exit ${code}) building ${path.basename(out)}:\n${stdout}${stderr}`);
  }
  fs.renameSync(tmp, out);
}

export { freePort } from './processes';

/**
 * Loopback endpoint URLs on fresh ports: basic and ws share one HTTP port (paths /calc and
 * /ws/calc; Mono matches HTTP paths by string prefix, so neither may be a prefix of the other),
 * net.tcp gets its own port.
 */
export async function loopbackWcfUrls(): Promise<{ basic: string; ws: string; tcp: string }> {
  const [httpPort, tcpPort] = [await freePort(), await freePort()];
  return {
    basic: `http://127.0.0.1:${httpPort}/calc`,
    ws: `http://127.0.0.1:${httpPort}/ws/calc`,
    tcp: `net.tcp://127.0.0.1:${tcpPort}/calc`,
  };
}

/** One line the service printed: {"event":"call",op,action,to,endpoint,httpHeaders?} or {"event":"notify",msg}. */
export type WcfServiceEvent = Record<string, unknown> & { event: string };

export interface WcfServiceOptions {
  basic?: string;
  ws?: string;
  tcp?: string;
  /** ServiceDebugBehavior.IncludeExceptionDetailInFaults (default true, as in the captures). */
  exceptionDetail?: boolean;
  /** Send a plain FaultException as .NET does (code Sender/Client + its reason) instead of Mono's InternalServiceFault. */
  faultPassthrough?: boolean;
  /** Do not print a "call" event per operation. */
  quiet?: boolean;
  /** Publish metadata (`?wsdl`) on the HTTP base address (default true). */
  metadata?: boolean;
  /** GET ?wsdl once after READY so the first test call does not pay for the HTTP listener's start (default true). */
  warmUp?: boolean;
  readyTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface WcfService {
  basic?: string;
  ws?: string;
  tcp?: string;
  /** `?wsdl` on the HTTP base address (the basic endpoint, else the ws one). */
  wsdlUrl?: string;
  pid: number;
  /** Every event line printed so far, in order. */
  readonly events: WcfServiceEvent[];
  /** Resolves with the first event (already seen or future) matching `pred`. */
  waitForEvent(pred: (e: WcfServiceEvent) => boolean, timeoutMs?: number): Promise<WcfServiceEvent>;
  /** Closes stdin (the service exits), then SIGKILL if it is still running after 3 s. */
  stop(): Promise<void>;
}

export async function startWcfService(opts: WcfServiceOptions): Promise<WcfService> {
  if (!opts.basic && !opts.ws && !opts.tcp) throw new Error('startWcfService: give at least one of basic, ws, tcp');
  const { serviceExe } = await buildWcfHarness();
  const args = [serviceExe];
  if (opts.basic) args.push('--basic', opts.basic);
  if (opts.ws) args.push('--ws', opts.ws);
  if (opts.tcp) args.push('--tcp', opts.tcp);
  if (opts.exceptionDetail === false) args.push('--exception-detail', 'false');
  if (opts.faultPassthrough) args.push('--fault-passthrough');
  if (opts.quiet) args.push('--quiet');
  if (opts.metadata === false) args.push('--metadata', 'false');

  const child = spawn('mono', args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  const events: WcfServiceEvent[] = [];
  const waiters = new Set<{ pred: (e: WcfServiceEvent) => boolean; resolve: (e: WcfServiceEvent) => void }>();
  let stderr = '';
  let exited = false;
  const exitPromise = new Promise<void>((resolve) =>
    child.on('close', () => {
      exited = true;
      resolve();
    }),
  );
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8192)));

  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`WcfService not READY after ${opts.readyTimeoutMs ?? 20_000} ms; stderr: ${stderr}`)),
      opts.readyTimeoutMs ?? 20_000,
    );
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    void exitPromise.then(() => {
      clearTimeout(timer);
      reject(new Error(`WcfService exited before READY (code ${child.exitCode}); stderr: ${stderr}`));
    });
    onLines(child, (line) => {
      if (line.startsWith('READY ')) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice(6)) as Record<string, unknown>);
      } else if (line.startsWith('FAILED ')) {
        clearTimeout(timer);
        reject(new Error(`WcfService: ${line.slice(7)}; stderr: ${stderr}`));
      } else if (line.startsWith('{')) {
        let ev: WcfServiceEvent;
        try {
          ev = JSON.parse(line) as WcfServiceEvent;
        } catch {
          return;
        }
        events.push(ev);
        for (const w of [...waiters]) {
          if (w.pred(ev)) {
            waiters.delete(w);
            w.resolve(ev);
          }
        }
      }
    });
  });

  const stop = async (): Promise<void> => {
    if (exited) return;
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exitPromise;
    clearTimeout(timer);
  };

  let info: Record<string, unknown>;
  try {
    info = await ready;
  } catch (err) {
    child.kill('SIGKILL');
    await exitPromise;
    throw err;
  }
  const wsdlUrl = typeof info.wsdl === 'string' ? info.wsdl : undefined;
  // Without metadata the warm-up GET goes to the HTTP endpoint itself (any answer will do).
  const warmUrl = wsdlUrl ?? opts.basic ?? opts.ws;
  if (warmUrl && opts.warmUp !== false) {
    try {
      const res = await fetch(warmUrl, { signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
    } catch {
      /* warm-up only */
    }
  }

  return {
    basic: opts.basic,
    ws: opts.ws,
    tcp: opts.tcp,
    wsdlUrl,
    pid: child.pid!,
    events,
    waitForEvent(pred, timeoutMs = 10_000) {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          resolve: (e: WcfServiceEvent) => {
            clearTimeout(timer);
            resolve(e);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`no matching WcfService event within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    stop,
  };
}

function onLines(child: ChildProcessWithoutNullStreams, cb: (line: string) => void): void {
  let buf = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      if (line) cb(line);
    }
  });
}

export type WcfScenario =
  | 'add'
  | 'echo'
  | 'process'
  | 'divide'
  | 'fail'
  | 'crash'
  | 'notify'
  | 'two-channels'
  | 'parallel'
  | 'delay'
  | 'import-wsdl'
  | 'restart'
  | 'all';

export interface WcfClientArgs {
  binding: WcfBinding;
  /** Endpoint address (the SOAP `To`; for HTTP also where the request goes). */
  address: string;
  /** Transport destination when it differs from `address` (net.tcp only; see README). */
  via?: string;
  scenario: WcfScenario | WcfScenario[];
  /** add/echo: calls per scenario; parallel: number of channels. */
  count?: number;
  /** echo: text length (Unicode sample with markup characters, repeated). */
  size?: number;
  /** echo/notify: exact text. */
  text?: string;
  /** process: byte[] size (default 70 000). */
  blob?: number;
  /** process: send exactly the Record of the Mono captures (5-byte blob, no Amount/Local). */
  captureRecord?: boolean;
  /** delay: server-side sleep in ms. */
  ms?: number;
  /** Binding Open/Send/Receive/Close timeouts in seconds (default 30). */
  timeoutSeconds?: number;
  /** import-wsdl: where to fetch the WSDL (default address + ?wsdl). */
  wsdl?: string;
  /** HTTP bindings: adds the `ServiceBusAuthorization: TOKEN` HTTP header to every call. */
  headerToken?: string;
  /**
   * An endpoint behavior puts TOKEN on every message (no per-call code): the ServiceBusAuthorization
   * HTTP header on HTTP bindings, a RelayAccessToken SOAP header (BinarySecurityToken) on net.tcp.
   */
  tokenBehavior?: string;
  /** basic-https, tcp-tls (Microsoft's client): a PEM file; the server's certificate must chain to it. */
  ca?: string;
  /** restart: after its first call the client writes PATH.ready and waits for PATH.go. */
  pauseFile?: string;
  /** Kill the client after this long (default 60 s). */
  processTimeoutMs?: number;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
}

export type WcfResult = Record<string, unknown>;

/** Runs WcfClient.exe and resolves with its JSON result lines (one per scenario). */
export async function runWcfClient(args: WcfClientArgs): Promise<WcfResult[]> {
  const { clientExe } = await buildWcfHarness();
  const scenario = Array.isArray(args.scenario) ? args.scenario.join(',') : args.scenario;
  const argv = [clientExe, ...wcfClientArgv(args)];
  const timeoutMs = args.processTimeoutMs ?? 80_000;

  const { code, stdout, stderr } = await runToEnd('mono', argv, timeoutMs, args.env);
  if (code !== 0) throw new Error(`WcfClient (${scenario}) exited with code ${code}; stdout: ${stdout}; stderr: ${stderr.slice(-8192)}`);
  return resultLines(stdout);
}

/**
 * The command line of the calculator client (WcfClient.exe on Mono; the same sources built for
 * Microsoft's client, test/interop/dotnet/CalcClient), after the program.
 */
export function wcfClientArgv(args: WcfClientArgs): string[] {
  const scenario = Array.isArray(args.scenario) ? args.scenario.join(',') : args.scenario;
  const argv = ['--binding', args.binding, '--address', args.address, '--scenario', scenario];
  if (args.via) argv.push('--via', args.via);
  if (args.count !== undefined) argv.push('--count', String(args.count));
  if (args.size !== undefined) argv.push('--size', String(args.size));
  if (args.text !== undefined) argv.push('--text', args.text);
  if (args.blob !== undefined) argv.push('--blob', String(args.blob));
  if (args.captureRecord) argv.push('--capture-record');
  if (args.ms !== undefined) argv.push('--ms', String(args.ms));
  if (args.timeoutSeconds !== undefined) argv.push('--timeout', String(args.timeoutSeconds));
  if (args.headerToken !== undefined) argv.push('--header-token', args.headerToken);
  if (args.wsdl !== undefined) argv.push('--wsdl', args.wsdl);
  if (args.tokenBehavior !== undefined) argv.push('--token-behavior', args.tokenBehavior);
  if (args.ca !== undefined) argv.push('--ca', args.ca);
  if (args.pauseFile !== undefined) argv.push('--pause-file', args.pauseFile);
  if (args.extraArgs) argv.push(...args.extraArgs);
  return argv;
}

/** The JSON result lines (one per scenario) a WCF harness printed; other lines are ignored. */
export function resultLines(stdout: string): WcfResult[] {
  const results: WcfResult[] = [];
  for (const line of stdout.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      results.push(JSON.parse(t) as WcfResult);
    } catch {
      /* not a result line */
    }
  }
  return results;
}

/** The result line of `scenario` (throws when the client printed none). */
export function scenarioResult(results: WcfResult[], scenario: string): WcfResult {
  const r = results.find((x) => x.scenario === scenario);
  if (!r) throw new Error(`no result for scenario ${scenario} in ${JSON.stringify(results)}`);
  return r;
}

/** Prints every result line when any scenario failed, so a red interop test shows why. */
export function showFailures(results: WcfResult[]): void {
  if (results.some((r) => r.ok !== true)) console.log(JSON.stringify(results, null, 1));
}

const SESSION_SOURCES = ['Session.cs', 'Json.cs', 'Service.cs', 'Contract.cs'];
let buildingSessions: Promise<string> | undefined;

/** WcfSession.exe (test/interop/wcf/Session.cs): the sessionful service and its client, built once per source hash. */
export function buildSessionHarness(): Promise<string> {
  buildingSessions ??= (async () => {
    const hash = createHash('sha256');
    for (const file of SESSION_SOURCES) hash.update(file).update('\0').update(fs.readFileSync(path.join(WCF_SOURCE_DIR, file))).update('\0');
    const dir = path.join(WCF_BUILD_ROOT, `session-${hash.digest('hex').slice(0, 16)}`);
    const exe = path.join(dir, 'WcfSession.exe');
    if (fs.existsSync(exe)) return exe;
    fs.mkdirSync(dir, { recursive: true });
    await compile(SESSION_SOURCES, exe, ['-main:RelayBridge.Interop.SessionProgram']);
    return exe;
  })().catch((err: unknown) => {
    buildingSessions = undefined;
    throw err;
  });
  return buildingSessions;
}

export interface SessionServiceProcess {
  /** JSON lines it printed (session-open, session-close, …). */
  readonly events: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Starts `WcfSession.exe serve` with a counter (ICounter) and/or a duplex (ISession) endpoint; resolves once it is ready. */
export async function startSessionService(opts: { counter?: string; tcp?: string }): Promise<SessionServiceProcess> {
  const exe = await buildSessionHarness();
  const args = [exe, 'serve'];
  if (opts.counter) args.push('--counter', opts.counter);
  if (opts.tcp) args.push('--tcp', opts.tcp);
  const child = spawn('mono', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const events: Array<Record<string, unknown>> = [];
  let buf = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4096)));
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`WcfSession serve did not start: ${buf} ${stderr}`)), 60_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line.startsWith('FAILED')) return reject(new Error(line));
        if (!line.startsWith('{')) continue;
        const ev = JSON.parse(line) as Record<string, unknown>;
        events.push(ev);
        if (ev.event === 'ready') {
          clearTimeout(timer);
          resolve();
        }
      }
    });
    void exited.then(() => reject(new Error(`WcfSession serve exited: ${stderr}`)));
  });
  await ready;
  return {
    events,
    async stop() {
      child.stdin.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Runs `WcfSession.exe client` (Mono's WCF client) against `address`; one result per scenario. */
export async function runSessionClient(address: string, scenarios: string[], timeoutSeconds = 20, processTimeoutMs = 300_000): Promise<WcfResult[]> {
  const exe = await buildSessionHarness();
  const { code, stdout, stderr } = await runToEnd('mono', [exe, 'client', '--address', address, '--scenario', scenarios.join(','), '--timeout', String(timeoutSeconds)], processTimeoutMs);
  if (code !== 0) throw new Error(`WcfSession client exited with ${code}: ${stdout} ${stderr}`);
  return resultLines(stdout);
}
