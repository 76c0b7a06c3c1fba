/**
 * The legacy side of the migration walk-through (README, "Walk-through: from a WCF service to a
 * Node one"): the WCF calculator on Mono (test/interop/wcf: Service.cs, the ICalculator contract
 * the Node calculator sample implements) behind relay + agent, at the same relay address as the
 * calculator sample, with `relaybridge record` between the agent and the service: every call a
 * client makes lands in .relaybridge/recorded/ (emptied at start), ready to replay against the
 * replacement.
 *
 *   npm run sample:legacy-calculator      (or: node dist/samples/legacy-calculator/run.js [--port 9444])
 *
 * Needs Mono (`mono`, `mcs`; the Debian packages are in test/interop/wcf/README.md). The WCF
 * service and client are compiled into .relaybridge/legacy-calculator/.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startRecorder } from '../../src/cli/commands/record';
import { repoRoot } from '../common/paths';
import { runUntilInterrupted, sampleArgs, startSampleStack } from '../common/sample-stack';

const REFERENCES = ['System.ServiceModel.dll', 'System.Runtime.Serialization.dll', 'System.Xml.dll', 'System.Core.dll', 'System.Web.Services.dll'];
const MONO_PACKAGES = 'mono-mcs mono-runtime libmono-system-servicemodel4.0a-cil libmono-system-runtime-serialization4.0-cil libmono-system-xml4.0-cil';

function compile(sourceDir: string, sources: string[], out: string): void {
  const args = ['-nologo', '-target:exe', '-optimize+', `-out:${out}`, ...REFERENCES.map((r) => `-r:${r}`), ...sources.map((s) => path.join(sourceDir, s))];
  const run = spawnSync('mcs', args, { encoding: 'utf8' });
  if (run.error) throw new Error(`mcs: ${run.error.message}. Install Mono: apt-get install -y ${MONO_PACKAGES}`);
  if (run.status !== 0) throw new Error(`mcs failed building ${path.basename(out)}:\n${run.stdout}${run.stderr}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Starts WcfService.exe with a BasicHttpBinding endpoint; resolves once it says READY. It exits when its stdin closes. */
function startWcfService(exe: string, url: string): Promise<{ stop: () => Promise<void> }> {
  const child = spawn('mono', [exe, '--basic', url, '--quiet'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8').on('data', (d: string) => process.stderr.write(`[legacy service] ${d}`));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the WCF service did not start within 30 s: ${out}`)), 30_000);
    child.once('error', (err) => reject(new Error(`mono: ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`the WCF service exited with ${code}: ${out}`)));
    child.stdout.on('data', (d: string) => {
      out += d;
      if (!out.includes('READY')) return;
      clearTimeout(timer);
      child.stdout.resume();
      resolve({
        stop: async () => {
          child.stdin.end();
          const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(kill);
        },
      });
    });
  });
}

async function main(): Promise<void> {
  const { port } = sampleArgs(process.argv.slice(2), 9444);
  const root = repoRoot();
  const data = path.join(root, '.relaybridge');
  const build = path.join(data, 'legacy-calculator');
  const recorded = path.join(data, 'recorded');
  const sources = path.join(root, 'test', 'interop', 'wcf');
  fs.mkdirSync(build, { recursive: true });
  const serviceExe = path.join(build, 'WcfService.exe');
  const clientExe = path.join(build, 'WcfClient.exe');
  compile(sources, ['Contract.cs', 'Json.cs', 'Service.cs'], serviceExe);
  compile(sources, ['Contract.cs', 'Json.cs', 'Client.cs'], clientExe);

  const legacyUrl = `http://127.0.0.1:${await freePort()}/calc`;
  const legacy = await startWcfService(serviceExe, legacyUrl);
  fs.rmSync(recorded, { recursive: true, force: true });
  const recorder = await startRecorder({ target: legacyUrl, dir: recorded, listen: '127.0.0.1:0' }, (line) => process.stdout.write(`[record] ${line}\n`));
  const stack = await startSampleStack({
    path: 'calculator',
    target: { type: 'http', url: recorder.url },
    port,
    netTcpPort: port === 0 ? 0 : port + 1,
    dataDir: data,
  });
  const rel = (p: string) => path.relative(process.cwd(), p) || '.';
  const out = [
    '',
    `legacy calculator: relay ${stack.relayUrl} → agent → relaybridge record → WCF service on Mono (${legacyUrl})`,
    `  every call is recorded into ${rel(recorded)}/`,
    '',
    "Call it with the legacy WCF client (Mono's System.ServiceModel, BasicHttpBinding):",
    `  mono ${rel(clientExe)} --binding basic --address ${stack.serviceUrl} --header-token '${stack.token}' --scenario add,echo,divide,notify`,
    '',
    'Then stop this (Ctrl-C), start the replacement on the same address (npm run sample:calculator) and replay:',
    `  node dist/src/cli/main.js replay --dir ${rel(recorded)} --relay ${stack.relayUrl} --path calculator --key-name ${stack.keyName} --key '${stack.key}'`,
    '',
    'Press Ctrl-C to stop.',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  runUntilInterrupted(async () => {
    await stack.stop();
    await recorder.stop();
    await legacy.stop();
  });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`legacy calculator sample failed: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
