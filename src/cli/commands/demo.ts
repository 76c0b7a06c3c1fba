/**
 * `relaybridge demo` (npm start): a relay with the embedded file-backed store, an agent and a
 * small on-premises sample service, all on this machine, then prints how to call it.
 * `--nodes N`: N relay nodes as one namespace on a nats-server this command starts (its data
 * under the data directory); the agent listens on the first node and falls back to the others.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ConfigError } from '../../core/errors';
import { version } from '../version';
import { createAgent, type Agent } from '../../agent/agent';
import { createSasToken } from '../../auth/sas-token';
import { generateKey } from '../../auth/rules';
import type { Logger } from '../../core/logger';
import { createRelayServer, type RelayServer } from '../../relay/relay-server';
import { MemoryStore } from '../../store/memory-store';
import { startHelloService, type HelloService } from '../../../samples/hello/hello-service';

export interface DemoOptions {
  port: number;
  dataDir: string;
  logger: Logger;
  /** Relay nodes (default 1); over 1 they share a nats-server started here. */
  nodes?: number;
}

export interface Demo {
  /** The first node (the agent's). */
  relay: RelayServer;
  /** Every node. */
  relays: RelayServer[];
  agent: Agent;
  hello: HelloService;
  echoPort: number;
  keyName: string;
  key: string;
  banner: string;
  stop(): Promise<void>;
}

export async function runDemo(o: DemoOptions): Promise<Demo> {
  fs.mkdirSync(o.dataDir, { recursive: true });
  const credsFile = path.join(o.dataDir, 'demo-credentials.json');
  let creds: { keyName: string; key: string };
  if (fs.existsSync(credsFile)) creds = JSON.parse(fs.readFileSync(credsFile, 'utf8'));
  else {
    creds = { keyName: 'RootManageSharedAccessKey', key: generateKey() };
    fs.writeFileSync(credsFile, JSON.stringify(creds, null, 2), { mode: 0o600 });
  }
  const hello = await startHelloService(0);
  const echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  const echoPort = (echo.address() as net.AddressInfo).port;

  const nodes = o.nodes ?? 1;
  const nats = nodes > 1 ? await startNatsServer(path.join(o.dataDir, 'nats')) : undefined;
  const relays: RelayServer[] = [];
  try {
    for (let i = 0; i < nodes; i++) {
      const store = nats
        ? new (await import('../../store/nats-store')).NatsStore({ servers: [nats.url], bucket: 'demo' })
        : new MemoryStore({ file: path.join(o.dataDir, 'relay-store.json') });
      const relay = createRelayServer({
        port: o.port === 0 ? 0 : o.port + i,
        host: '127.0.0.1',
        nodeId: `node-${i + 1}`,
        store,
        logger: o.logger,
        namespaceRules: [{ keyName: creds.keyName, primaryKey: creds.key, rights: ['Manage', 'Listen', 'Send'] }],
        entities: [
          { path: 'hello', requiresClientAuthorization: true },
          { path: 'echo', requiresClientAuthorization: false },
        ],
      });
      await relay.listen();
      relays.push(relay);
    }
  } catch (err) {
    for (const r of relays) await r.close();
    await nats?.stop();
    throw err;
  }
  const relay = relays[0]!;
  const url = relay.url;
  const agent = createAgent({
    version: version(),
    relayUrl: url,
    ...(relays.length > 1 ? { relayUrls: relays.slice(1).map((r) => r.url) } : {}),
    keyName: creds.keyName,
    key: creds.key,
    services: [
      { path: 'hello', target: { type: 'http', url: hello.url } },
      { path: 'echo', target: { type: 'tcp', host: '127.0.0.1', port: echoPort } },
    ],
    logger: o.logger,
  });
  agent.start();
  await agent.whenReady(15_000);
  const token = createSasToken({ resourceUri: `${url}/hello`, keyName: creds.keyName, key: creds.key, expiresInSeconds: 24 * 3600 });
  const wsUrl = url.replace(/^http/, 'ws');
  const other = relays[relays.length - 1]!.url;
  const banner = [
    '',
    nats
      ? `relaybridge demo is running: ${relays.length} relay nodes on one namespace (NATS at ${nats.url}, data in ${o.dataDir}) + agent + a sample on-premises service`
      : 'relaybridge demo is running: relay + agent + a sample on-premises service (embedded store in ' + o.dataDir + ')',
    '',
    ...relays.map(
      (r, i) => `  relay ${relays.length > 1 ? `node-${i + 1}  ` : '       '}${r.url}      (status page: ${r.url}/$status and metrics: ${r.url}/$metrics, with a Manage token)`,
    ),
    `  private service  ${hello.url}  (reached only through the agent's outbound connection)`,
    '',
    'Call the private service through the relay (token valid 24 h):',
    `  curl -H 'ServiceBusAuthorization: ${token}' '${url}/hello/greet?name=you'`,
    `  curl -H 'ServiceBusAuthorization: ${token}' -d 'ping' ${url}/hello/echo`,
    ...(relays.length > 1
      ? [
          `The agent listens on node-1; any node answers (node-${relays.length} routes the call to node-1's listener):`,
          `  curl -H 'ServiceBusAuthorization: ${createSasToken({ resourceUri: `${other}/hello`, keyName: creds.keyName, key: creds.key, expiresInSeconds: 24 * 3600 })}' '${other}/hello/greet?name=you'`,
        ]
      : []),
    '',
    `A WebSocket to a private TCP echo port (anonymous senders allowed on 'echo'):`,
    `  ${wsUrl}/$hc/echo?sb-hc-action=connect`,
    '',
    'The console page (calls live, listeners, errors): open it and sign in with this Manage token (valid 24 h):',
    `  ${url}/$status`,
    `  ${createSasToken({ resourceUri: url, keyName: creds.keyName, key: creds.key, expiresInSeconds: 24 * 3600 })}`,
    '',
    'Manage it:',
    `  relaybridge hc list -o table --relay ${url} --key-name ${creds.keyName} --key <key in ${credsFile}>`,
    '  (in a checkout: npx relaybridge …)',
    '',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n');
  return {
    relay,
    relays,
    agent,
    hello,
    echoPort,
    keyName: creds.keyName,
    key: creds.key,
    banner,
    async stop() {
      await agent.stop();
      for (const r of relays) await r.close();
      await nats?.stop();
      await hello.close();
      await new Promise<void>((r) => echo.close(() => r()));
    },
  };
}

/** A JetStream nats-server on a free loopback port, its data in `dir` (kept between runs). */
async function startNatsServer(dir: string): Promise<{ url: string; stop(): Promise<void> }> {
  fs.mkdirSync(dir, { recursive: true });
  const port = await new Promise<number>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const p = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(p));
    });
  });
  const child: ChildProcess = spawn('nats-server', ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const missing = new Promise<never>((_, reject) =>
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new ConfigError('invalid option', ['--nodes: several nodes need nats-server on PATH (Debian: apt-get install nats-server)'])
          : err,
      ),
    ),
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = (async () => {
    for (let i = 0; i < 200; i++) {
      if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}: ${stderr.trim()}`);
      const up = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => (s.destroy(), resolve(true)));
        s.once('error', () => (s.destroy(), resolve(false)));
      });
      if (up) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`nats-server did not listen on port ${port} within 10 s`);
  })();
  try {
    await Promise.race([ready, missing]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    missing.catch(() => undefined);
    ready.catch(() => undefined);
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(kill);
    },
  };
}
