/**
 * `relaybridge demo` (npm start): a relay with the embedded file-backed store, an agent and a
 * small on-premises sample service, all on this machine, then prints how to call it.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
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
}

export interface Demo {
  relay: RelayServer;
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

  const relay = createRelayServer({
    port: o.port,
    host: '127.0.0.1',
    store: new MemoryStore({ file: path.join(o.dataDir, 'relay-store.json') }),
    logger: o.logger,
    namespaceRules: [{ keyName: creds.keyName, primaryKey: creds.key, rights: ['Manage', 'Listen', 'Send'] }],
    entities: [
      { path: 'hello', requiresClientAuthorization: true },
      { path: 'echo', requiresClientAuthorization: false },
    ],
  });
  const { url } = await relay.listen();
  const agent = createAgent({
    relayUrl: url,
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
  const banner = [
    '',
    'relaybridge demo is running: relay + agent + a sample on-premises service (embedded store in ' + o.dataDir + ')',
    '',
    `  relay            ${url}      (status page: ${url}/$status and metrics: ${url}/$metrics, with a Manage token)`,
    `  private service  ${hello.url}  (reached only through the agent's outbound connection)`,
    '',
    'Call the private service through the relay (token valid 24 h):',
    `  curl -H 'ServiceBusAuthorization: ${token}' '${url}/hello/greet?name=you'`,
    `  curl -H 'ServiceBusAuthorization: ${token}' -d 'ping' ${url}/hello/echo`,
    '',
    `A WebSocket to a private TCP echo port (anonymous senders allowed on 'echo'):`,
    `  ${wsUrl}/$hc/echo?sb-hc-action=connect`,
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
    agent,
    hello,
    echoPort,
    keyName: creds.keyName,
    key: creds.key,
    banner,
    async stop() {
      await agent.stop();
      await relay.close();
      await hello.close();
      await new Promise<void>((r) => echo.close(() => r()));
    },
  };
}
