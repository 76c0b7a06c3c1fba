/**
 * Several relay nodes as real processes on one real nats-server: a node killed with SIGKILL
 * under load. Calls keep arriving at the other two nodes; the ones waiting on the dead node's
 * listener fail with a documented relay error within seconds (never hang), the agent re-homes
 * to another node (relayUrls), and calls succeed again; a WebSocket session established at
 * another node keeps running throughout.
 *
 * `npm test` builds dist/ first; alone: `npm run build && npx jest test/resilience/cluster-processes`.
 */
import fs from 'node:fs';
import WebSocket from 'ws';
import { natsDescribe, startNats, type NatsServer } from '../helpers/nats';
import {
  agentConfig,
  call,
  describeOutcome,
  freePort,
  isAgentReady,
  makeTempDir,
  relayConfig,
  sleep,
  startAgent,
  startRelay,
  startService,
  verdictOf,
  type CallOutcome,
  type ManagedProcess,
  type Verdict,
} from '../helpers/processes';

const CALL_DEADLINE_MS = 15_000;
/** A node silent this long is taken as gone by the others (relay/cluster NODE_DEAD_MS, plus a heartbeat). */
const NODE_GONE_MS = 4500;

natsDescribe('cluster-processes')('real processes: a relay node killed under load', () => {
  let nats: NatsServer;
  let dir: string;
  const procs: ManagedProcess[] = [];
  const track = <T extends ManagedProcess>(p: T): T => {
    procs.push(p);
    return p;
  };

  beforeAll(async () => {
    nats = await startNats();
    dir = makeTempDir('resilience-cluster-');
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop().catch(() => undefined)));
    await Promise.all(procs.map((p) => p.closeLog()));
    await nats.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function node(name: string): Promise<{ proc: ManagedProcess; url: string }> {
    const port = await freePort();
    const config = relayConfig({
      port,
      dir,
      entities: [
        { path: 'svc', requiresClientAuthorization: false },
        { path: 'echo', requiresClientAuthorization: false },
      ],
      extra: { nodeId: name, store: { type: 'nats', servers: [nats.url], bucket: 'kill9' } },
    });
    return { proc: track(await startRelay({ dir, config, name })), url: `http://127.0.0.1:${port}` };
  }

  it(
    'kill -9 of the node holding the listener: no call hangs, failures are documented, the agent re-homes and calls succeed; a session at another node keeps running',
    async () => {
      const [a, b, c] = [await node('node-a'), await node('node-b'), await node('node-c')];
      const svc = await startService({ dir, echoPort: 0 });
      track(svc.proc);
      const port = (u: string) => Number(new URL(u).port);
      // The listener of `svc` on node B, with node C to fall back on; the TCP echo's listener on C.
      const agent = track(
        startAgent({
          dir,
          name: 'agent-svc',
          config: agentConfig({
            relayPort: port(b.url),
            services: [{ path: 'svc', target: { type: 'http', url: svc.url, timeoutMs: 10_000 } }],
            extra: { relayUrls: [c.url] },
          }),
        }),
      );
      const echoAgent = track(
        startAgent({
          dir,
          name: 'agent-echo',
          config: agentConfig({ relayPort: port(c.url), services: [{ path: 'echo', target: { type: 'tcp', host: '127.0.0.1', port: svc.echoPort } }] }),
        }),
      );
      await agent.waitForLine(isAgentReady, { timeoutMs: 30_000, what: 'the svc agent connected' });
      await echoAgent.waitForLine(isAgentReady, { timeoutMs: 30_000, what: 'the echo agent connected' });

      // Calls to A and C reach the listener on B.
      const until = Date.now() + 15_000;
      for (const base of [a.url, c.url]) {
        for (;;) {
          const r = await call(`${base}/svc/hello?probe`, { timeoutMs: CALL_DEADLINE_MS });
          if (verdictOf(r, (t) => t === 'hello /hello?probe') === 'ok') break;
          if (Date.now() > until) throw new Error(`no call through ${base}: ${describeOutcome(r)}`);
          await sleep(100);
        }
      }

      // A WebSocket session at node A with the TCP echo behind node C.
      const ws = new WebSocket(`${a.url.replace(/^http/, 'ws')}/$hc/echo?sb-hc-action=connect`);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const echo = (text: string) =>
        new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no echo of ${text}`)), 10_000);
          ws.once('message', (d) => {
            clearTimeout(timer);
            resolve(d.toString());
          });
          ws.send(Buffer.from(text));
        });
      expect(await echo('before')).toBe('before');

      // Load: 6 callers in closed loops, on nodes A and C.
      const outcomes: Array<CallOutcome & { verdict: Verdict }> = [];
      let running = true;
      const workers = Array.from({ length: 6 }, async (_, i) => {
        const base = i % 2 ? a.url : c.url;
        for (let n = 0; running; n++) {
          const tag = `c${i}-${n}`;
          const r = await call(`${base}/svc/hello?${tag}`, { timeoutMs: CALL_DEADLINE_MS, label: `${base} ${tag}` });
          const verdict = verdictOf(r, (t) => t === `hello /hello?${tag}`);
          outcomes.push({ ...r, verdict });
          if (verdict !== 'ok') await sleep(50);
        }
      });
      await sleep(1500);
      const mark = agent.mark();
      const downAt = Date.now();
      b.proc.signal('SIGKILL');
      expect((await b.proc.waitExit(10_000)).signal).toBe('SIGKILL');
      const ready = await agent.waitForLine(isAgentReady, { since: mark, timeoutMs: 30_000, what: 'the agent re-homed to node C' });
      // From here on every call succeeds: the listener is on C, and A and C dropped node B's.
      const recoveredAt = Math.max(ready.at + 500, downAt + NODE_GONE_MS);
      await sleep(Math.max(0, recoveredAt - Date.now()) + 3000);
      running = false;
      await Promise.all(workers);

      expect(await echo('after')).toBe('after');
      ws.close();
      const after = outcomes.filter((r) => r.start >= recoveredAt);
      const report = {
        hung: outcomes.filter((r) => r.verdict === 'hung').map(describeOutcome),
        // A and C never went down: no connection errors, only documented relay errors (502 LISTENER_GONE).
        notDocumented: outcomes.filter((r) => r.verdict !== 'ok' && r.verdict !== 'relay-error').map(describeOutcome),
        failedAfterRecovery: after.filter((r) => r.verdict !== 'ok').map(describeOutcome),
      };
      expect(report).toEqual({ hung: [], notDocumented: [], failedAfterRecovery: [] });
      expect(after.filter((r) => r.verdict === 'ok').length).toBeGreaterThanOrEqual(4);
      // The kill was felt: calls waiting on B's listener failed (502 RELAY_ERR_LISTENER_GONE), none hung.
      expect(outcomes.filter((r) => r.verdict === 'relay-error').length).toBeGreaterThan(0);
      expect(agent.alive && echoAgent.alive).toBe(true);
    },
    120_000,
  );
});
