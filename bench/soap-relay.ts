/**
 * SOAP 1.1 calls (1 KiB and 64 KiB bodies) to a node-soap service, directly and through
 * relay + agent, at 1 and 32 connections, measured in the same run: throughput ratio
 * (relayed/direct) and added p50/p99 latency. Each party runs in its own process. Relayed
 * calls are measured twice: to the service in its own process behind the agent (`http`
 * target), and to the same service module hosted inside the agent (`module` target, as a Node
 * team would deploy it: one process and one HTTP hop fewer).
 *
 * Two more things are measured in the same run, because throughput ratios on a small shared
 * machine say as much about the machine as about the relay:
 *  - a floor: the same calls through two TCP byte forwarders (the cheapest two hops a relay and an
 *    agent could ever be: no parsing, no framing), so "ratio" can be read against the best any
 *    two-hop path reaches on this machine;
 *  - the Node floor (bench/floor.ts): the same calls through a relay and an agent made of the
 *    libraries relaybridge uses (Node's HTTP server, one `ws` WebSocket, undici) with none of its
 *    features, with its two processes' CPU per call: what any relay + agent built on them costs;
 *  - CPU time per call of the relay and the agent processes (user + system, from /proc), which
 *    noisy neighbours disturb far less than calls per second.
 */
import { createSasToken } from '../src/auth/sas-token';
import { median, runLoad, warmUp, type LoadOptions, type LoadFigure, type LoadResult } from './load';
import { BENCH_KEY, BENCH_KEY_NAME } from './roles';
import { startRole, type Role } from './spawn';

function echoEnvelope(size: number): Buffer {
  const head = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Echo xmlns="http://example.org/calc"><text>';
  const tail = '</text></Echo></s:Body></s:Envelope>';
  return Buffer.from(head + 'x'.repeat(Math.max(0, size - head.length - tail.length)) + tail);
}

interface Measured extends LoadResult {
  /** CPU µs per call of each watched role. */
  cpuPerCall: number[];
}

async function measure(load: LoadOptions, watched: Role[]): Promise<Measured> {
  let before: number[] = [];
  const result = await runLoad({ ...load, onStart: () => (before = watched.map((r) => r.cpuUs())) });
  return { ...result, cpuPerCall: watched.map((r, i) => (r.cpuUs() - before[i]!) / Math.max(1, result.calls)) };
}

export async function benchSoapRelay(options: { durationMs?: number; rounds?: number } = {}): Promise<string> {
  const durationMs = options.durationMs ?? 3000;
  const rounds = options.rounds ?? 3;
  const service = await startRole(['soap-service']);
  const relay = await startRole(['relay']);
  const agent = await startRole(['agent', String(relay.info.url), String(service.info.url)]);
  const moduleAgent = await startRole(['agent-module', String(relay.info.url)]);
  const inner = await startRole(['forwarder', String(service.info.url)]);
  const outer = await startRole(['forwarder', String(inner.info.url)]);
  const serviceUrl = String(service.info.url);
  const serviceAt = new URL(serviceUrl);
  const floorRelay = await startRole(['floor-relay']);
  const floorAgent = await startRole(['floor-agent', String(floorRelay.info.url), serviceAt.origin]);
  // The floor relay passes the path on as it is: the service's own.
  const floorUrl = `${String(floorRelay.info.url)}${serviceAt.pathname}`;
  const url = String(relay.info.url);
  const token = createSasToken({ resourceUri: `${url}/bench`, keyName: BENCH_KEY_NAME, key: BENCH_KEY });
  const moduleToken = createSasToken({ resourceUri: `${url}/bench-module`, keyName: BENCH_KEY_NAME, key: BENCH_KEY });
  const lines = [
    '| body | conns | direct calls/s | relayed calls/s | ratio | floor ratio | Node floor ratio | direct p50 µs | added p50 µs | floor added p50 µs | Node floor added p50 µs | added p99 µs | relay CPU µs/call | agent CPU µs/call | Node floor relay, agent CPU µs/call |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const moduleLines = [
    '| body | conns | direct calls/s | relayed calls/s | ratio | added p50 µs | added p99 µs | relay CPU µs/call | agent + service CPU µs/call |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const size of [1024, 64 * 1024]) {
    const body = echoEnvelope(size);
    const headers = {
      'Content-Type': 'text/xml; charset=utf-8',
      SOAPAction: '"http://example.org/calc/ICalculator/Echo"',
      'Content-Length': String(body.length),
    };
    await warmUp(
      [
        { url: serviceUrl, method: 'POST', body, headers },
        { url: `${url}/bench`, method: 'POST', body, headers: { ...headers, ServiceBusAuthorization: token } },
        { url: String(outer.info.url), method: 'POST', body, headers },
        { url: floorUrl, method: 'POST', body, headers },
        { url: `${url}/bench-module`, method: 'POST', body, headers: { ...headers, ServiceBusAuthorization: moduleToken } },
      ],
      durationMs,
    );
    for (const connections of [1, 32]) {
      const direct: Measured[] = [];
      const relayed: Measured[] = [];
      const floor: Measured[] = [];
      const nodeFloor: Measured[] = [];
      const inAgent: Measured[] = [];
      for (let r = 0; r < rounds; r++) {
        direct.push(await measure({ url: serviceUrl, method: 'POST', body, headers, connections, durationMs }, []));
        relayed.push(
          await measure(
            { url: `${url}/bench`, method: 'POST', body, headers: { ...headers, ServiceBusAuthorization: token }, connections, durationMs },
            [relay, agent],
          ),
        );
        floor.push(await measure({ url: String(outer.info.url), method: 'POST', body, headers, connections, durationMs }, []));
        nodeFloor.push(await measure({ url: floorUrl, method: 'POST', body, headers, connections, durationMs }, [floorRelay, floorAgent]));
        inAgent.push(
          await measure(
            { url: `${url}/bench-module`, method: 'POST', body, headers: { ...headers, ServiceBusAuthorization: moduleToken }, connections, durationMs },
            [relay, moduleAgent],
          ),
        );
      }
      const m = (xs: LoadResult[], k: LoadFigure) => median(xs.map((x) => x[k]));
      const cpu = (i: number) => median(relayed.map((x) => x.cpuPerCall[i]!));
      const floorCpu = (i: number) => median(nodeFloor.map((x) => x.cpuPerCall[i]!));
      const d = m(direct, 'callsPerSecond');
      const rl = m(relayed, 'callsPerSecond');
      const dp50 = m(direct, 'p50Us');
      lines.push(
        `| ${size / 1024} KiB | ${connections} | ${d.toFixed(0)} | ${rl.toFixed(0)} | ${(rl / d).toFixed(2)} | ${(m(floor, 'callsPerSecond') / d).toFixed(2)} | ` +
          `${(m(nodeFloor, 'callsPerSecond') / d).toFixed(2)} | ${dp50.toFixed(0)} | ${(m(relayed, 'p50Us') - dp50).toFixed(0)} | ${(m(floor, 'p50Us') - dp50).toFixed(0)} | ` +
          `${(m(nodeFloor, 'p50Us') - dp50).toFixed(0)} | ${(m(relayed, 'p99Us') - m(direct, 'p99Us')).toFixed(0)} | ${cpu(0).toFixed(0)} | ${cpu(1).toFixed(0)} | ` +
          `${floorCpu(0).toFixed(0)}, ${floorCpu(1).toFixed(0)} |`,
      );
      const errors = [...direct, ...relayed, ...floor, ...nodeFloor].reduce((n, x) => n + x.errors, 0);
      if (errors) lines.push(`  (errors: ${errors})`);
      const mi = m(inAgent, 'callsPerSecond');
      const cpuIn = (i: number) => median(inAgent.map((x) => x.cpuPerCall[i]!));
      moduleLines.push(
        `| ${size / 1024} KiB | ${connections} | ${d.toFixed(0)} | ${mi.toFixed(0)} | ${(mi / d).toFixed(2)} | ${(m(inAgent, 'p50Us') - dp50).toFixed(0)} | ` +
          `${(m(inAgent, 'p99Us') - m(direct, 'p99Us')).toFixed(0)} | ${cpuIn(0).toFixed(0)} | ${cpuIn(1).toFixed(0)} |`,
      );
      const moduleErrors = inAgent.reduce((n, x) => n + x.errors, 0);
      if (moduleErrors) moduleLines.push(`  (errors: ${moduleErrors})`);
    }
  }
  for (const role of [floorAgent, floorRelay, outer, inner, moduleAgent, agent, relay, service]) role.stop();
  return [
    'Service in its own process behind the agent (`http` target):',
    '',
    ...lines,
    '',
    'The same service hosted in the agent (`module` target), against the same direct calls:',
    '',
    ...moduleLines,
  ].join('\n');
}
