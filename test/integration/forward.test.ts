/**
 * The local forwarder (`relaybridge forward`): local ports whose connections reach a `tcp`
 * target (or, --http, an `http` target) behind an agent through the relay. Real relay, agent and
 * forwarder on loopback; a TCP echo server; nginx (Debian) as a real TCP protocol server with
 * curl as its client; 16 MiB each way through one connection (back-pressure); a relay that goes
 * away and comes back (the forwarder keeps its port, the next connection works); the built CLI
 * with a config file of several forwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sasTokenProvider } from '../../src/auth/token-provider';
import { systemClock } from '../../src/core/clock';
import { Forwarder, type BoundForward } from '../../src/forwarder/forwarder';
import type { RelayServer } from '../../src/relay/relay-server';
import { requirePeer } from '../helpers/exec';
import { Harness, ROOT_KEY, ROOT_KEY_NAME, request, waitFor } from '../helpers/harness';
import { freePort } from '../helpers/processes';
import { memoryLogger, type LogLine } from './faults-support';

/** Debian's nginx (in /usr/sbin, often not on a user's PATH). */
function nginxBinary(): string | undefined {
  return requirePeer(['nginx'], 'apt-get install nginx', ['/usr/sbin/nginx', '/usr/local/sbin/nginx']);
}

/** Writes `data` on a new connection to `port` and reads `expect` bytes back. */
function roundTrip(port: number, data: Buffer, expect = data.length): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let got = 0;
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= expect) {
        s.destroy();
        resolve(Buffer.concat(chunks));
      }
    });
    s.on('error', reject);
    s.on('close', () => (got < expect ? reject(new Error(`closed after ${got} of ${expect} bytes`)) : undefined));
    s.write(data);
  });
}

/** Runs `cmd` to its end; stdout, exit code. */
function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (code) => resolve({ code, out }));
  });
}

describe('relaybridge forward', () => {
  const h = new Harness();
  const log: LogLine[] = [];
  let relay: RelayServer;
  let relayPort: number;
  let forwarder: Forwarder;
  let bound: BoundForward[];
  let nginx: ChildProcess | undefined;
  let nginxPort = 0;
  const nginxBin = nginxBinary();
  const page = `hello through the relay ${crypto.randomUUID()}\n`;

  const entities = ['echo', 'web', 'site'].map((p) => ({ path: p, requiresClientAuthorization: true }));

  beforeAll(async () => {
    relayPort = await freePort();
    relay = await h.relay({ port: relayPort, entities });
    const echoPort = await h.tcpEcho();
    const site = await h.httpService((req, res) => res.end(`site ${req.method} ${req.url}`));
    const services: Parameters<Harness['agent']>[1] = [
      { path: 'echo', target: { type: 'tcp', host: '127.0.0.1', port: echoPort } },
      { path: 'site', target: { type: 'http', url: site.url } },
    ];
    if (nginxBin) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forward-nginx-'));
      h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
      nginxPort = await freePort();
      fs.mkdirSync(path.join(dir, 'html'));
      fs.writeFileSync(path.join(dir, 'html', 'index.html'), page);
      fs.writeFileSync(
        path.join(dir, 'nginx.conf'),
        `worker_processes 1; error_log stderr; events { worker_connections 64; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${nginxPort}; root ${dir}/html; } }`,
      );
      nginx = spawn(nginxBin, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', `daemon off; pid ${path.join(dir, 'nginx.pid')};`], { stdio: 'ignore' });
      h.defer(() => void nginx?.kill('SIGTERM'));
      const until = Date.now() + 10_000;
      for (;;) {
        const ok = await new Promise<boolean>((r) => net.connect(nginxPort, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); r(true); }).once('error', () => r(false)));
        if (ok) break;
        if (Date.now() > until) throw new Error('nginx did not listen');
        await new Promise((r) => setTimeout(r, 100));
      }
      services.push({ path: 'web', target: { type: 'tcp', host: '127.0.0.1', port: nginxPort } });
    }
    const agent = await h.agent(relay, services);
    await agent.whenReady();
    forwarder = new Forwarder({
      relayUrl: relay.url,
      tokenProvider: sasTokenProvider(ROOT_KEY_NAME, ROOT_KEY),
      forwards: [
        { host: '127.0.0.1', port: 0, path: 'echo', type: 'tcp' },
        { host: '127.0.0.1', port: 0, path: 'web', type: 'tcp' },
        { host: '127.0.0.1', port: 0, path: 'site', type: 'http' },
      ],
      clock: systemClock,
      logger: memoryLogger(log),
    });
    bound = await forwarder.start();
    h.defer(() => forwarder.stop());
  }, 60_000);
  afterAll(() => h.close());

  const portOf = (p: string) => bound.find((b) => b.path === p)!.boundPort;

  it('carries a TCP connection to the tcp target and back, with per-connection log lines', async () => {
    const reply = await roundTrip(portOf('echo'), Buffer.from('ping through the relay'));
    expect(reply.toString()).toBe('ping through the relay');
    await waitFor(() => log.some((l) => l.msg === 'connection closed'), 5000, 'the close line');
    expect(log.find((l) => l.msg === 'connection opened')).toMatchObject({ level: 'info', path: 'echo', client: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(log.find((l) => l.msg === 'connection closed')).toMatchObject({ path: 'echo', bytesIn: 22, bytesOut: 22 });
  });

  it('16 MiB each way through one connection, in order (back-pressure end to end)', async () => {
    const data = crypto.randomBytes(16 * 1024 * 1024);
    const reply = await roundTrip(portOf('echo'), data);
    expect(reply.length).toBe(data.length);
    expect(reply.equals(data)).toBe(true);
  }, 60_000);

  (nginxBin ? it : it.skip)('a real protocol: curl fetches a page from nginx behind the agent', async () => {
    const r = await run('curl', ['-sS', '--max-time', '10', `http://127.0.0.1:${portOf('web')}/index.html`]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(page);
  });

  it('--http: local HTTP requests to an http target, answered with the correlation id', async () => {
    const res = await request(`http://127.0.0.1:${portOf('site')}/orders/7?x=1`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('site GET /orders/7?x=1');
    expect(res.headers['relaybridge-correlation-id']).toEqual(expect.any(String));
  });

  it('keeps its port while the relay is away: a connection then is closed with a reason, the next one after it is back works', async () => {
    await relay.close();
    await expect(roundTrip(portOf('echo'), Buffer.from('x'))).rejects.toThrow(/closed after 0/);
    await waitFor(() => log.some((l) => l.msg === 'could not reach the relay; the next connection tries again'), 5000, 'the warning');
    const failed = await request(`http://127.0.0.1:${portOf('site')}/x`);
    expect(failed.status).toBe(502);
    expect(failed.body.toString()).toMatch(/could not reach the relay/);
    relay = await h.relay({ port: relayPort, entities });
    await waitFor(() => relay.router.registry.count('echo') > 0, 20_000, 'the agent to come back');
    expect((await roundTrip(portOf('echo'), Buffer.from('again'))).toString()).toBe('again');
  }, 60_000);

  it('a wrong key: the relay refuses, the connection is closed and the refusal logged', async () => {
    const bad = new Forwarder({
      relayUrl: relay.url,
      tokenProvider: sasTokenProvider(ROOT_KEY_NAME, Buffer.from('wrong key, 32 bytes long padding').toString('base64')),
      forwards: [{ host: '127.0.0.1', port: 0, path: 'echo', type: 'tcp' }],
      clock: systemClock,
      logger: memoryLogger(log),
    });
    const [b] = await bad.start();
    try {
      await expect(roundTrip(b!.boundPort, Buffer.from('x'))).rejects.toThrow(/closed after 0/);
      await waitFor(() => log.some((l) => l.msg === 'the relay refused the connection' && l.status === 401), 5000, 'the refusal line');
    } finally {
      await bad.stop();
    }
  });

  it('the CLI: several forwards from a config file, a line per forward, a clean stop on SIGTERM', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forward-cli-'));
    h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    const [p1, p2] = [await freePort(), await freePort()];
    fs.writeFileSync(
      path.join(dir, 'forward.yaml'),
      `relayUrl: ${relay.url}\nkeyName: ${ROOT_KEY_NAME}\nkey: ${ROOT_KEY}\nforwards:\n  - { listen: 127.0.0.1:${p1}, path: echo }\n  - { listen: ${p2}, path: site, type: http }\n`,
    );
    const cli = spawn(process.execPath, [path.join(__dirname, '../../dist/src/cli/main.js'), 'forward', '--config', path.join(dir, 'forward.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
    cli.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out.includes(`forwarding 127.0.0.1:${p2} -> site (http)`), 15_000, 'the CLI to listen');
      expect(out).toContain(`forwarding 127.0.0.1:${p1} -> echo (tcp)`);
      expect((await roundTrip(p1, Buffer.from('cli'))).toString()).toBe('cli');
      expect((await request(`http://127.0.0.1:${p2}/a`)).body.toString()).toBe('site GET /a');
    } finally {
      const exited = new Promise<number | null>((r) => cli.once('exit', (code) => r(code)));
      cli.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  }, 30_000);
});
