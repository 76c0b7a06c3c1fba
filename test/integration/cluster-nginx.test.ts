/**
 * The README's load-balancer example, for real: nginx (Debian) runs docs/examples/nginx-relay-nodes.conf
 * (ports and addresses substituted, TLS lines dropped) round-robin in front of three relay nodes
 * on one nats-server. Agents, senders and every rendezvous go through nginx under one name; a
 * rendezvous nginx sends to another node than the one that minted it is passed on there.
 * Without nginx the suite skips with a warning (fails under RELAYBRIDGE_REQUIRE_INTEROP=1).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import type { RelayServer } from '../../src/relay/relay-server';
import { NatsStore } from '../../src/store/nats-store';
import { requirePeer } from '../helpers/exec';
import { Harness, request, waitFor } from '../helpers/harness';
import { requireNats, startNats, type NatsServer } from '../helpers/nats';
import { freePort, makeTempDir } from '../helpers/processes';

const EXAMPLE = path.join(__dirname, '../../docs/examples/nginx-relay-nodes.conf');

/** Debian's nginx (in /usr/sbin, often not on a user's PATH). */
function nginxBinary(): string | undefined {
  return requirePeer(['nginx'], 'apt-get install nginx', ['/usr/sbin/nginx', '/usr/local/sbin/nginx']);
}

const nginx = requireNats() ? nginxBinary() : undefined;
if (requireNats() && !nginx) console.warn('cluster-nginx: SKIPPED, nginx not installed (apt-get install nginx)');
const suite = nginx ? describe : describe.skip;

/** The example with this run's listen port and node addresses, without its TLS lines. */
function exampleConfig(lbPort: number, nodes: string[]): string {
  let text = fs.readFileSync(EXAMPLE, 'utf8');
  text = text.replace(/listen 443 ssl;/, `listen 127.0.0.1:${lbPort};`).replace(/^\s*ssl_certificate.*$/gm, '');
  let i = 0;
  text = text.replace(/server 10\.0\.0\.1\d:9443/g, () => `server ${nodes[i++]}`);
  if (i !== nodes.length) throw new Error(`expected ${nodes.length} upstream servers in ${EXAMPLE}, found ${i}`);
  return text;
}

suite('the README load-balancer example (nginx) in front of three nodes', () => {
  const h = new Harness();
  let nats: NatsServer;
  let lbUrl: string;
  const relays: RelayServer[] = [];
  let proc: ChildProcess | undefined;
  const entities = [
    { path: 'web', requiresClientAuthorization: false },
    { path: 'tcp', requiresClientAuthorization: false },
  ];

  beforeAll(async () => {
    nats = await startNats();
    h.defer(() => nats.destroy());
    const lbPort = await freePort();
    lbUrl = `http://127.0.0.1:${lbPort}`;
    for (const id of ['node-a', 'node-b', 'node-c']) {
      relays.push(
        await h.relay({
          nodeId: id,
          host: '127.0.0.1',
          publicUrl: lbUrl,
          trustedProxies: ['127.0.0.1'],
          entities,
          store: new NatsStore({ servers: [nats.url], bucket: 'lb', timeoutMs: 2000 }),
        }),
      );
    }
    const dir = makeTempDir('nginx-');
    fs.mkdirSync(path.join(dir, 'logs'));
    const conf = path.join(dir, 'nginx.conf');
    fs.writeFileSync(conf, exampleConfig(lbPort, relays.map((r) => new URL(r.url).host)));
    proc = spawn(nginx!, ['-p', dir, '-c', conf, '-e', 'stderr', '-g', `daemon off; pid ${path.join(dir, 'nginx.pid')};`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    h.defer(async () => {
      if (proc && proc.exitCode === null) {
        const exited = new Promise((r) => proc!.once('exit', r));
        proc.kill('SIGQUIT');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const until = Date.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`nginx exited ${proc.exitCode}: ${stderr}`);
      const up = await new Promise<boolean>((resolve) => {
        const s = net.connect(lbPort, '127.0.0.1');
        s.once('connect', () => (s.destroy(), resolve(true)));
        s.once('error', () => (s.destroy(), resolve(false)));
      });
      if (up) break;
      if (Date.now() > until) throw new Error(`nginx did not listen: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  afterAll(() => h.close());

  it('agents, HTTP senders (small and by rendezvous) and WebSocket senders all work through nginx; misrouted rendezvous are passed on', async () => {
    const svc = await h.httpService((req, res) => req.pipe(res));
    const echoPort = await h.tcpEcho();
    // The agent knows only the load balancer's name: its listeners land on whichever node nginx picks.
    const agent = await h.agent(lbUrl, [
      { path: 'web', target: { type: 'http', url: svc.url } },
      { path: 'tcp', target: { type: 'tcp', host: '127.0.0.1', port: echoPort } },
    ]);
    await agent.whenReady();
    await waitFor(() => relays.every((r) => r.router.registry.count('web') === 1 && r.router.registry.count('tcp') === 1), 5000, 'every node to know both listeners');

    for (let i = 0; i < 6; i++) {
      const small = await request(`${lbUrl}/web/small-${i}`, { method: 'POST', body: `hello ${i}` });
      expect([small.status, small.body.toString()]).toEqual([200, `hello ${i}`]);
      // Over the cross-node inline size: the listener dials a rendezvous address, which names nginx.
      const big = Buffer.alloc(100 * 1024, 65 + i);
      const res = await request(`${lbUrl}/web/big-${i}`, { method: 'POST', body: big });
      expect(res.status).toBe(200);
      expect(Buffer.compare(res.body, big)).toBe(0);
    }
    for (let i = 0; i < 3; i++) {
      const ws = new WebSocket(`${lbUrl.replace(/^http/, 'ws')}/$hc/tcp?sb-hc-action=connect`);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const echoed = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
      ws.send(Buffer.from(`ws ${i}`));
      expect(await echoed).toBe(`ws ${i}`);
      ws.close();
    }
    // Round robin over three nodes sent some rendezvous to a node that had not minted them.
    let passedOn = 0;
    for (const r of relays) {
      const m = await r.metrics.rendezvousPassedOn.get();
      passedOn += m.values.filter((v) => v.labels.result === 'ok').reduce((a, v) => a + v.value, 0);
    }
    expect(passedOn).toBeGreaterThan(0);
  }, 30_000);
});
