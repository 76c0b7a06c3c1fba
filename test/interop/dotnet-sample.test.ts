/**
 * The README's "Calling through the relay from .NET", as written: the calculator sample runs
 * (`node dist/samples/calculator/run.js`, what `npm run sample:calculator` starts), and the two
 * `dotnet run --project samples/dotnet-client …` commands it prints run through bash from the
 * checkout: Microsoft's WCF client over BasicHttpBinding and NetTcpBinding, the token added by an
 * endpoint behavior, a typed fault and a one-way call through the relay.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import { runToEnd } from '../helpers/exec';
import { dotnetDescribe } from '../helpers/dotnet';

const REPO = path.resolve(__dirname, '../..');
const SAMPLE = path.join(REPO, 'dist', 'samples', 'calculator', 'run.js');

dotnetDescribe('dotnet-sample')('the .NET client sample against the calculator sample, as the README says', () => {
  it('runs the dotnet commands the sample prints: BasicHttpBinding and NetTcpBinding', async () => {
    if (!fs.existsSync(SAMPLE)) throw new Error(`${SAMPLE} is missing: run npm run build first`);
    const sample = spawn(process.execPath, [SAMPLE, '--port', '0'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    sample.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    sample.stderr.resume();
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the calculator sample did not start: ${out}`)), 60_000);
        const tick = setInterval(() => {
          if (!out.includes('Press Ctrl-C to stop.')) return;
          clearInterval(tick);
          clearTimeout(timer);
          resolve();
        }, 50);
        sample.once('exit', (code) => {
          clearInterval(tick);
          clearTimeout(timer);
          reject(new Error(`the calculator sample exited with ${code}: ${out}`));
        });
      });
      const commands = out
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.startsWith('dotnet run --project samples/dotnet-client'));
      expect(commands).toHaveLength(2);
      expect(commands[1]).toContain('--binding nettcp');
      for (const command of commands) {
        const run = await runToEnd('bash', ['-c', command], 300_000, { DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1' });
        const text = run.stdout;
        expect({ command, code: run.code, stderr: run.stderr.slice(-2000) }).toMatchObject({ code: 0 });
        expect(text).toContain('Add(2, 3) = 5');
        expect(text).toContain('Divide(1, 0) → FaultException<CalcFault>: Cannot divide by zero (operation Divide, division by zero)');
        expect(text).toMatch(/one-way, seen by the service: True/);
      }
    } finally {
      const exited = new Promise((r) => sample.once('exit', r));
      if (sample.exitCode === null) sample.kill('SIGTERM');
      await exited;
    }
  }, 400_000);
});
