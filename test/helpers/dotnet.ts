/**
 * Microsoft's WCF client (dotnet/wcf: System.ServiceModel.NetTcp 10.1.0 on the .NET SDK) for
 * interop tests: builds test/interop/dotnet/<Project> once per source hash (dotnet build, into
 * test/interop/.build/) and runs it. Outside CI a missing `dotnet` skips with a warning; with
 * RELAYBRIDGE_REQUIRE_INTEROP=1 (.ci/run) it fails, as a missing Mono does.
 */
import { spawn } from 'node:child_process';
import { onPath, runToEnd } from './exec';
import { resultLines, wcfClientArgv, type WcfClientArgs, type WcfResult } from './mono';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const DOTNET_SOURCE_DIR = path.resolve(__dirname, '../interop/dotnet');
const BUILD_ROOT = path.resolve(__dirname, '../interop/.build');

/** True when `dotnet` is on PATH; throws under RELAYBRIDGE_REQUIRE_INTEROP=1 when it is not. */
export function requireDotnet(): boolean {
  if (onPath('dotnet')) return true;
  if (process.env.RELAYBRIDGE_REQUIRE_INTEROP === '1') {
    throw new Error('RELAYBRIDGE_REQUIRE_INTEROP=1 but dotnet is not on PATH: install the .NET SDK (10.x)');
  }
  return false;
}

/** `describe` when the .NET SDK is here, else `describe.skip` with a warning naming the suite. */
export function dotnetDescribe(suiteName: string): jest.Describe {
  if (requireDotnet()) return describe;
  console.warn(`${suiteName}: SKIPPED, dotnet not on PATH (the .NET SDK runs Microsoft's WCF client)`);
  return describe.skip;
}

/** dotnet without telemetry or its first-run banner. */
const DOTNET_ENV = { DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1' };

const building = new Map<string, Promise<string>>();

/** The built DLL of test/interop/dotnet/<project> (restored from NuGet and built once per source hash). */
export function buildDotnetProject(project: string): Promise<string> {
  let p = building.get(project);
  if (!p) {
    p = (async () => {
      const dir = path.join(DOTNET_SOURCE_DIR, project);
      const hash = createHash('sha256');
      for (const f of fs.readdirSync(dir).filter((f) => /\.(cs|csproj)$/.test(f)).sort()) hash.update(f).update('\0').update(fs.readFileSync(path.join(dir, f))).update('\0');
      // Sources the project links from elsewhere (<Compile Include="../../wcf/Client.cs" …/>).
      const csproj = fs.readFileSync(path.join(dir, `${project}.csproj`), 'utf8');
      for (const m of csproj.matchAll(/<Compile Include="([^"]+)"/g)) hash.update(m[1]!).update('\0').update(fs.readFileSync(path.resolve(dir, m[1]!))).update('\0');
      const out = path.join(BUILD_ROOT, `dotnet-${project}-${hash.digest('hex').slice(0, 16)}`);
      const dll = path.join(out, `${project}.dll`);
      if (fs.existsSync(dll)) return dll;
      const { code, stdout, stderr } = await runToEnd('dotnet', ['build', path.join(dir, `${project}.csproj`), '-c', 'Release', '-o', out, '-nologo'], 600_000, DOTNET_ENV);
      if (code !== 0) throw new Error(`dotnet build ${project} failed (exit ${code}):\n${stdout.slice(-4000)}${stderr.slice(-2000)}`);
      return dll;
    })();
    p.catch(() => building.delete(project));
    building.set(project, p);
  }
  return p;
}

/** Runs Microsoft's session client against `address`; one JSON result per scenario. */
export async function runDotnetSessionClient(address: string, scenarios: string[], timeoutSeconds = 20): Promise<Array<Record<string, unknown>>> {
  const dll = await buildDotnetProject('SessionClient');
  const { code, stdout, stderr } = await runToEnd('dotnet', [dll, '--address', address, '--scenario', scenarios.join(','), '--timeout', String(timeoutSeconds)], 300_000, DOTNET_ENV);
  if (code !== 0) throw new Error(`SessionClient exited with ${code}: ${stdout} ${stderr}`);
  return stdout
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A session client run interactively: `hold` prints {"event":"open"}, then waits for a line on stdin. */
export async function holdDotnetSession(address: string, timeoutSeconds = 20): Promise<{ opened: Promise<void>; proceed(): Promise<Record<string, unknown>> }> {
  const dll = await buildDotnetProject('SessionClient');
  const child = spawn('dotnet', [dll, '--address', address, '--scenario', 'hold', '--timeout', String(timeoutSeconds)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...DOTNET_ENV },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const closed = new Promise<void>((r) => child.on('close', () => r()));
  const opened = new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.includes('"event":"open"')) resolve();
    });
    void closed.then(() => reject(new Error(`SessionClient ended before the session opened: ${stdout} ${stderr}`)));
  });
  opened.catch(() => undefined);
  return {
    opened,
    async proceed() {
      child.stdin.end('\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), (timeoutSeconds + 30) * 1000);
      await closed;
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.includes('"scenario":"hold"'));
      if (!line) throw new Error(`no result from SessionClient: ${stdout} ${stderr}`);
      return JSON.parse(line) as Record<string, unknown>;
    },
  };
}

/**
 * Runs Microsoft's WCF client on the calculator scenarios (test/interop/dotnet/CalcClient: the
 * sources of Mono's WcfClient.exe built against dotnet/wcf 10.1.0): the same arguments and the
 * same JSON result lines.
 */
export async function runDotnetCalcClient(args: WcfClientArgs): Promise<WcfResult[]> {
  const dll = await buildDotnetProject('CalcClient');
  const { code, stdout, stderr } = await runToEnd('dotnet', [dll, ...wcfClientArgv(args)], args.processTimeoutMs ?? 120_000, { ...DOTNET_ENV, ...args.env });
  if (code !== 0) throw new Error(`CalcClient exited with ${code}: ${stdout} ${stderr.slice(-4000)}`);
  return resultLines(stdout);
}

export interface SoapCoreService {
  /** basicHttp (SOAP 1.1) endpoint. */
  readonly basic: string;
  /** SOAP 1.2 + WS-Addressing endpoint. */
  readonly soap12: string;
  stop(): Promise<void>;
}

/** The ASP.NET Core SoapCore calculator (test/interop/dotnet/SoapCoreService) on a free port; resolves once it listens. */
export async function startSoapCoreService(): Promise<SoapCoreService> {
  const dll = await buildDotnetProject('SoapCoreService');
  const child = spawn('dotnet', [dll, '--port', '0'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...DOTNET_ENV } });
  let out = '';
  child.stderr.resume();
  const ready = await new Promise<{ basic: string; soap12: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`SoapCoreService did not start in 60 s: ${out}`)), 60_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /READY (\{.*\})/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(JSON.parse(m[1]!) as { basic: string; soap12: string });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`SoapCoreService exited with ${code}: ${out}`));
    });
  });
  return {
    ...ready,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin.end();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(kill);
    },
  };
}
