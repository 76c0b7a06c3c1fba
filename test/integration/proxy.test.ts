/**
 * Agents and forwarders behind an outbound HTTP proxy: a real tinyproxy (Debian) started by the
 * test. The agent's control channel and its rendezvous (bodies over the control-channel size) go
 * through CONNECT, with TLS to the relay through the tunnel; a proxy that wants credentials gets
 * them from the URL; a proxy that refuses is a clear, retried failure (never the relay's 401/403);
 * the forwarder goes through it too; the CLI takes HTTPS_PROXY and honours NO_PROXY.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sasTokenProvider } from '../../src/auth/token-provider';
import { generateSelfSigned } from '../../src/cli/tls';
import { systemClock } from '../../src/core/clock';
import { Forwarder } from '../../src/forwarder/forwarder';
import type { RelayServer } from '../../src/relay/relay-server';
import { requirePeer } from '../helpers/exec';
import { Harness, ROOT_KEY, ROOT_KEY_NAME, waitFor } from '../helpers/harness';
import { freePort } from '../helpers/processes';
import { memoryLogger, type LogLine } from './faults-support';

function requireTinyproxy(): boolean {
  if (requirePeer(['tinyproxy'], 'apt-get install tinyproxy')) return true;
  console.warn('proxy: SKIPPED, tinyproxy not on PATH (apt-get install tinyproxy)');
  return false;
}

interface Tinyproxy {
  readonly url: string;
  readonly port: number;
  /** What it logged so far (CONNECT lines among them). */
  log(): string;
}

const suite = requireTinyproxy() ? describe : describe.skip;

suite('through an outbound HTTP proxy (tinyproxy)', () => {
  const h = new Harness();
  let relay: RelayServer;
  let ca: string;

  async function tinyproxy(o: { auth?: [string, string]; allow?: string } = {}): Promise<Tinyproxy> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyproxy-'));
    h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const logFile = path.join(dir, 'tinyproxy.log');
    const conf = [
      `Port ${port}`,
      'Listen 127.0.0.1',
      'Timeout 60',
      `Allow ${o.allow ?? '127.0.0.1'}`,
      'MaxClients 64',
      'LogLevel Connect',
      `LogFile "${logFile}"`,
      'DisableViaHeader Yes',
      ...(o.auth ? [`BasicAuth ${o.auth[0]} ${o.auth[1]}`] : []),
    ];
    fs.writeFileSync(path.join(dir, 'tinyproxy.conf'), `${conf.join('\n')}\n`);
    const p = spawn('tinyproxy', ['-d', '-c', path.join(dir, 'tinyproxy.conf')], { stdio: 'ignore' });
    h.defer(() => void p.kill('SIGTERM'));
    const until = Date.now() + 10_000;
    for (;;) {
      const up = await new Promise<boolean>((r) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          r(true);
        });
        s.once('error', () => r(false));
      });
      if (up) break;
      if (Date.now() > until) throw new Error('tinyproxy did not listen');
      await new Promise((r) => setTimeout(r, 100));
    }
    return { url: `http://127.0.0.1:${port}`, port, log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '') };
  }

  beforeAll(async () => {
    const pem = await generateSelfSigned(['localhost', '127.0.0.1']);
    ca = pem.cert;
    relay = await h.relay({ tls: pem, entities: [{ path: 'svc', requiresClientAuthorization: false }, { path: 'echo', requiresClientAuthorization: true }] });
  });
  afterAll(() => h.close());

  it('the control channel and every rendezvous go through CONNECT, TLS to the relay through the tunnel', async () => {
    const proxy = await tinyproxy();
    const svc = await h.httpService((req, res) => {
      const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('size') ?? '2');
      res.end(Buffer.alloc(size, 'p'));
    });
    const agent = await h.agent(relay, [{ path: 'svc', target: { type: 'http', url: svc.url } }], { proxy: proxy.url, tls: { ca, rejectUnauthorized: true } });
    await agent.whenReady(15_000);
    const get = (size: number) =>
      new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
        const req = https.request(`${relay.url}/svc/x?size=${size}`, { ca, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
        req.end();
      });
    const small = await get(2);
    expect(small.status).toBe(200);
    // Over the control channel's 1 MiB: the agent answers over a rendezvous, through the proxy too.
    const big = await get(3 * 1024 * 1024);
    expect(big.status).toBe(200);
    expect(big.body.length).toBe(3 * 1024 * 1024);
    const relayPort = new URL(relay.url).port;
    await waitFor(() => (proxy.log().match(new RegExp(`CONNECT 127\\.0\\.0\\.1:${relayPort}`, 'g')) ?? []).length >= 2, 5000, 'two tunnels in the proxy log');
  }, 60_000);

  it('a proxy that wants credentials: they come from the URL; wrong ones are a clear, retried failure', async () => {
    const proxy = await tinyproxy({ auth: ['rb', 's3cret'] });
    const svc = await h.httpService((_req, res) => res.end('with auth'));
    const good = await h.agent(relay, [{ path: 'svc', target: { type: 'http', url: svc.url } }], { proxy: `http://rb:s3cret@127.0.0.1:${proxy.port}`, tls: { ca, rejectUnauthorized: true } });
    await good.whenReady(15_000);
    await good.stop();
    const log: LogLine[] = [];
    const bad = await h.agent(relay, [{ path: 'svc', target: { type: 'http', url: svc.url } }], {
      proxy: `http://rb:wrong@127.0.0.1:${proxy.port}`,
      tls: { ca, rejectUnauthorized: true },
      logger: memoryLogger(log),
    });
    await waitFor(() => (bad.channels[0]!.status().attempt ?? 0) >= 2, 15_000, 'retries');
    expect(bad.channels[0]!.status().lastError).toMatchObject({ kind: 'network', cause: 'EPROXY', reason: expect.stringMatching(/proxy http:\/\/rb:\*\*\*@127\.0\.0\.1:\d+ refused the tunnel: 40[17]/) }); // tinyproxy answers 401, others 407
    // The password never reaches a log line.
    expect(JSON.stringify(log)).not.toContain('wrong');
    await bad.stop();
  }, 60_000);

  it('a proxy that refuses this client: a clear failure, retried with backoff, not a refused credential', async () => {
    const proxy = await tinyproxy({ allow: '10.255.255.1' });
    const agent = await h.agent(relay, [{ path: 'svc', target: { type: 'tcp', port: 9 } }], { proxy: proxy.url, tls: { ca, rejectUnauthorized: true } });
    await waitFor(() => (agent.channels[0]!.status().attempt ?? 0) >= 2, 15_000, 'retries');
    expect(agent.channels[0]!.status()).toMatchObject({ state: expect.stringMatching(/BACKOFF|CONNECTING/), lastError: { kind: 'network', cause: 'EPROXY', reason: expect.stringMatching(/refused the tunnel: 403/) } });
    await agent.stop();
  }, 30_000);

  it('the forwarder goes through it too', async () => {
    const proxy = await tinyproxy();
    const echoPort = await h.tcpEcho();
    const agent = await h.agent(relay, [{ path: 'echo', target: { type: 'tcp', host: '127.0.0.1', port: echoPort } }], { tls: { ca, rejectUnauthorized: true } });
    await agent.whenReady();
    const fwd = new Forwarder({
      relayUrl: relay.url,
      tokenProvider: sasTokenProvider(ROOT_KEY_NAME, ROOT_KEY),
      forwards: [{ host: '127.0.0.1', port: 0, path: 'echo', type: 'tcp' }],
      ca,
      proxy: proxy.url,
      clock: systemClock,
      logger: memoryLogger([]),
    });
    const [b] = await fwd.start();
    h.defer(() => fwd.stop());
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect(b!.boundPort, '127.0.0.1');
      s.on('data', (d: Buffer) => {
        s.destroy();
        resolve(d.toString());
      });
      s.on('error', reject);
      s.write('via the proxy');
    });
    expect(reply).toBe('via the proxy');
    expect(proxy.log()).toMatch(new RegExp(`CONNECT 127\\.0\\.0\\.1:${new URL(relay.url).port}`));
  }, 30_000);

  it('the CLI agent takes HTTPS_PROXY, and NO_PROXY sends it direct', async () => {
    const proxy = await tinyproxy();
    const relayPort = new URL(relay.url).port;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-cli-'));
    h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, 'ca.pem'), ca);
    const tunnels = () => (proxy.log().match(new RegExp(`CONNECT 127\\.0\\.0\\.1:${relayPort}`, 'g')) ?? []).length;
    const runAgent = async (env: NodeJS.ProcessEnv): Promise<void> => {
      const cli = spawn(
        process.execPath,
        [path.join(__dirname, '../../dist/src/cli/main.js'), 'agent', '--relay', relay.url, '--key-name', ROOT_KEY_NAME, '--key', ROOT_KEY, '--ca', path.join(dir, 'ca.pem'), '--expose', 'svc=http://127.0.0.1:9/x'],
        { env: { ...process.env, HTTPS_PROXY: '', https_proxy: '', NO_PROXY: '', no_proxy: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
      try {
        await waitFor(() => out.includes('agent channel ready'), 15_000, 'the CLI agent to be ready');
      } finally {
        const exited = new Promise((r) => cli.once('exit', r));
        cli.kill('SIGTERM');
        await exited;
      }
    };
    await runAgent({ HTTPS_PROXY: proxy.url });
    expect(tunnels()).toBe(1);
    await runAgent({ HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1' });
    expect(tunnels()).toBe(1);
  }, 60_000);
});
