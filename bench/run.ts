/**
 * npm run bench [-- --quick] [-- --only peers|scale|http|soap|nettcp|sessions]: the benchmarks, printed as markdown tables
 * with ratios against direct calls measured in the same run (medians of rounds).
 */
import { benchHttpRelay } from './http-relay';
import { benchPeers } from './peers';
import { benchScale } from './scale';
import { benchSoapRelay } from './soap-relay';
import { benchCodecs, benchNetTcp, benchNetTcpSessions } from './net-tcp';

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  // Without --only every section runs (indexOf's -1 would otherwise pick argv[0], the node binary).
  const at = process.argv.indexOf('--only');
  const only = at >= 0 ? process.argv[at + 1] : undefined;
  const opts = quick ? { durationMs: 1000, rounds: 1 } : {};
  if (!only || only === 'peers') {
    process.stdout.write('## Against the peers: direct, two TCP forwarders, nginx, ssh -R, the Node floor, relaybridge (wrk -t1)\n\n');
    process.stdout.write(`${await benchPeers(opts)}\n\n`);
  }
  if (!only || only === 'scale') {
    process.stdout.write('## One relay holding many connections: WebSocket senders and idle HTTP keep-alive connections at once\n\n');
    process.stdout.write(`${await benchScale(quick ? { count: 1000 } : {})}\n\n`);
  }
  if (!only || only === 'http') {
    process.stdout.write('## HTTP through relay + agent vs direct\n\n');
    process.stdout.write(`${await benchHttpRelay(opts)}\n\n`);
  }
  if (!only || only === 'soap') {
    process.stdout.write('## SOAP 1.1 (node-soap service) through relay + agent vs direct\n\n');
    process.stdout.write(`${await benchSoapRelay(opts)}\n\n`);
  }
  if (!only || only === 'nettcp' || only === 'sessions') {
    process.stdout.write('## net.tcp service behind the agent (`nettcp` target): sessions carried (binary and text carriers), and sessionless callers per call or pooled (1 KiB Echo)\n\n');
    process.stdout.write(`${await benchNetTcpSessions(opts)}\n\n`);
  }
  if (!only || only === 'nettcp') {
    process.stdout.write('## net.tcp (our lean client) vs basicHttp and SOAP 1.2 through relay + agent vs direct (SOAP echo service)\n\n');
    process.stdout.write(`${await benchNetTcp(opts)}\n\n`);
    process.stdout.write('## Codec throughput on the same envelopes (MB/s of XML text)\n\n');
    process.stdout.write(`${benchCodecs({ durationMs: quick ? 300 : 1000 })}\n\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
