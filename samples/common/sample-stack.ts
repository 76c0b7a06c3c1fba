/**
 * What every runnable sample starts in one process: a relay with the embedded file-backed store,
 * an agent exposing one service, and credentials kept beside the store (generated once), so the
 * printed commands keep working across runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createAgent, type Agent } from '../../src/agent/agent';
import type { AgentOptionsInput } from '../../src/agent/options';
import { generateKey } from '../../src/auth/rules';
import { createSasToken } from '../../src/auth/sas-token';
import { createRelayServer, type RelayServer } from '../../src/relay/relay-server';
import { MemoryStore } from '../../src/store/memory-store';

export interface SampleStack {
  relay: RelayServer;
  agent: Agent;
  relayUrl: string;
  serviceUrl: string;
  keyName: string;
  key: string;
  /** A Send token for the service path, valid 24 h. */
  token: string;
  /** net.tcp://host:port/path of the service, when the stack has a net.tcp endpoint. */
  netTcpServiceUrl?: string;
  stop(): Promise<void>;
}

export interface SampleStackOptions {
  path: string;
  target: AgentOptionsInput['services'][number]['target'];
  port: number;
  dataDir: string;
  /** A net.tcp endpoint on this port (0: any) for NetTcpBinding clients; none when unset. */
  netTcpPort?: number;
}

export async function startSampleStack(o: SampleStackOptions): Promise<SampleStack> {
  fs.mkdirSync(o.dataDir, { recursive: true });
  const credsFile = path.join(o.dataDir, 'samples-credentials.json');
  let creds: { keyName: string; key: string };
  if (fs.existsSync(credsFile)) creds = JSON.parse(fs.readFileSync(credsFile, 'utf8')) as { keyName: string; key: string };
  else {
    creds = { keyName: 'RootManageSharedAccessKey', key: generateKey() };
    fs.writeFileSync(credsFile, JSON.stringify(creds, null, 2), { mode: 0o600 });
  }
  const relay = createRelayServer({
    port: o.port,
    host: '127.0.0.1',
    store: new MemoryStore({ file: path.join(o.dataDir, 'samples-store.json') }),
    metrics: false,
    namespaceRules: [{ keyName: creds.keyName, primaryKey: creds.key, rights: ['Manage', 'Listen', 'Send'] }],
    entities: [{ path: o.path, requiresClientAuthorization: true }],
    ...(o.netTcpPort !== undefined ? { netTcp: { port: o.netTcpPort, host: '127.0.0.1' } } : {}),
  });
  const { url } = await relay.listen();
  const agent = createAgent({ relayUrl: url, keyName: creds.keyName, key: creds.key, services: [{ path: o.path, target: o.target }] });
  agent.start();
  try {
    await agent.whenReady(15_000);
  } catch (err) {
    await agent.stop();
    await relay.close();
    throw err;
  }
  const serviceUrl = `${url}/${o.path}`;
  return {
    relay,
    agent,
    relayUrl: url,
    serviceUrl,
    keyName: creds.keyName,
    key: creds.key,
    token: createSasToken({ resourceUri: serviceUrl, keyName: creds.keyName, key: creds.key, expiresInSeconds: 24 * 3600 }),
    ...(relay.netTcp ? { netTcpServiceUrl: `${relay.netTcp.url}/${o.path}` } : {}),
    async stop() {
      await agent.stop();
      await relay.close();
    },
  };
}

/** `--port N` (default `fallback`) and `--once` from argv. */
export function sampleArgs(argv: readonly string[], fallbackPort: number): { port: number; once: boolean } {
  const i = argv.indexOf('--port');
  const port = i >= 0 ? Number(argv[i + 1]) : fallbackPort;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: expected a port number, got ${argv[i + 1]}`);
  return { port, once: argv.includes('--once') };
}

/** Keeps the process running until Ctrl-C, then stops everything. */
export function runUntilInterrupted(stop: () => Promise<void>): void {
  const handler = () => {
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}
