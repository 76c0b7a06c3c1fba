/**
 * npm run bench [-- --quick] [-- --only http|soap]: the benchmarks, printed as markdown tables
 * with ratios against direct calls measured in the same run (medians of rounds).
 */
import { benchHttpRelay } from './http-relay';
import { benchSoapRelay } from './soap-relay';

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const only = process.argv[process.argv.indexOf('--only') + 1];
  const opts = quick ? { durationMs: 1000, rounds: 1 } : {};
  if (!only || only === 'http') {
    process.stdout.write('## HTTP through relay + agent vs direct\n\n');
    process.stdout.write(`${await benchHttpRelay(opts)}\n\n`);
  }
  if (!only || only === 'soap') {
    process.stdout.write('## SOAP 1.1 (node-soap service) through relay + agent vs direct\n\n');
    process.stdout.write(`${await benchSoapRelay(opts)}\n\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
