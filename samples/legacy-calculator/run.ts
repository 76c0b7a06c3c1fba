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
 * service and client are the interop harness's (test/helpers/wcf-harness.ts builds them); the
 * client is copied into .relaybridge/legacy-calculator/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startRecorder } from '../../src/cli/commands/record';
import { buildWcfHarness, freePort, monoAvailable, startWcfService } from '../../test/helpers/wcf-harness';
import { repoRoot } from '../common/paths';
import { runUntilInterrupted, sampleArgs, startSampleStack } from '../common/sample-stack';

const MONO_PACKAGES = 'mono-mcs mono-runtime libmono-system-servicemodel4.0a-cil libmono-system-runtime-serialization4.0-cil libmono-system-xml4.0-cil';

async function main(): Promise<void> {
  const { port } = sampleArgs(process.argv.slice(2), 9444);
  const root = repoRoot();
  const data = path.join(root, '.relaybridge');
  const build = path.join(data, 'legacy-calculator');
  const recorded = path.join(data, 'recorded');
  if (!monoAvailable()) throw new Error(`needs Mono (mono, mcs): apt-get install -y ${MONO_PACKAGES}`);
  // The interop harness's WCF calculator and client (test/interop/wcf), compiled once by source
  // hash; the client is copied where the README's command finds it.
  const harness = await buildWcfHarness();
  fs.mkdirSync(build, { recursive: true });
  const clientExe = path.join(build, 'WcfClient.exe');
  fs.copyFileSync(harness.clientExe, clientExe);

  const legacyUrl = `http://127.0.0.1:${await freePort()}/calc`;
  const legacy = await startWcfService({ basic: legacyUrl, quiet: true });
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
