/** npm run bench: every benchmark, printed as markdown tables (ratios against direct calls). */
import { benchHttpRelay } from './http-relay';

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  process.stdout.write('## HTTP through relay + agent vs direct (median of rounds)\n\n');
  process.stdout.write(`${await benchHttpRelay(quick ? { durationMs: 1000, rounds: 1 } : {})}\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
