/**
 * The README's "Calling through the relay from .NET", as written: the calculator sample runs
 * (`node dist/samples/calculator/run.js`, what `npm run sample:calculator` starts), and the two
 * `dotnet run --project samples/dotnet-client …` commands it prints run through bash from the
 * checkout: Microsoft's WCF client over BasicHttpBinding and NetTcpBinding, the token added by an
 * endpoint behavior, a typed fault and a one-way call through the relay.
 */
import { runToEnd } from '../helpers/exec';
import { dotnetDescribe } from '../helpers/dotnet';
import { printedCommands, startSample } from '../helpers/samples';

dotnetDescribe('dotnet-sample')('the .NET client sample against the calculator sample, as the README says', () => {
  it('runs the dotnet commands the sample prints: BasicHttpBinding and NetTcpBinding', async () => {
    const sample = await startSample('calculator');
    try {
      const commands = printedCommands(sample.out(), 'dotnet run --project samples/dotnet-client');
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
      await sample.stop();
    }
  }, 400_000);
});
