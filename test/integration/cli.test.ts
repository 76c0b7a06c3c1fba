/** The CLI layer: config files, environment, the demo (npm start) and management commands. */
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { createSasToken } from '../../src/auth/sas-token';
import { runDemo } from '../../src/cli/commands/demo';
import { runManage } from '../../src/cli/commands/manage';
import { startRelayFromConfig } from '../../src/cli/commands/relay';
import { startAgentFromConfig } from '../../src/cli/commands/agent';
import { envOverrides } from '../../src/cli/config-file';
import { ConfigError } from '../../src/core/errors';
import { noopLogger } from '../../src/core/logger';
import { Harness, request } from '../helpers/harness';
import { natsDescribe } from '../helpers/nats';

function tempDir(h: Harness): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaybridge-cli-'));
  h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('config files', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('names every bad key in a relay config file', async () => {
    const dir = tempDir(h);
    const file = path.join(dir, 'relay.yaml');
    fs.writeFileSync(file, 'port: 0\nprot: 1\nlimits:\n  requestTimeoutMs: soon\nstore:\n  type: file\n  path: ./s.json\n  colour: red\n');
    const err = await startRelayFromConfig({ config: file, env: {}, logLevel: 'silent' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const text = (err as ConfigError).message;
    expect(text).toMatch(/store\.colour: unknown option/);
    // File-only keys are checked first; the relay factory then names its own.
    fs.writeFileSync(file, 'port: 0\nprot: 1\nlimits:\n  requestTimeoutMs: soon\n');
    const err2 = (await startRelayFromConfig({ config: file, env: {}, logLevel: 'silent' }).catch((e: unknown) => e)) as ConfigError;
    expect(err2.message).toMatch(/prot: unknown option/);
    expect(err2.message).toMatch(/limits\.requestTimeoutMs/);
  });

  it('rejects invalid YAML and bad environment values clearly', () => {
    expect(() => envOverrides({ RELAYBRIDGE_PORT: 'eighty' }, { port: 'number' })).toThrow(/RELAYBRIDGE_PORT: expected a number/);
    expect(envOverrides({ RELAYBRIDGE_PUBLIC_URL: 'https://x' }, { publicUrl: 'string' })).toEqual({ publicUrl: 'https://x' });
  });

  it('runs a relay and an agent from config files, with a self-signed TLS certificate', async () => {
    const dir = tempDir(h);
    const key = 'Y2xpLXRlc3Qta2V5';
    fs.writeFileSync(
      path.join(dir, 'relay.yaml'),
      [
        'port: 0',
        'host: 127.0.0.1',
        'metrics: false',
        'tls: { selfSigned: true }',
        'store: { path: ./data/store.json }',
        'namespaceRules:',
        `  - { keyName: root, primaryKey: ${key}, rights: [Manage, Listen, Send] }`,
        'entities:',
        '  - { path: tls-hello, requiresClientAuthorization: false }',
        'log: { level: silent }',
      ].join('\n'),
    );
    const relay = await startRelayFromConfig({ config: path.join(dir, 'relay.yaml'), env: {} });
    h.defer(() => relay.close());
    expect(relay.url).toMatch(/^https:/);
    expect(fs.existsSync(path.join(dir, 'data', 'relay-cert.pem'))).toBe(true);
    const svc = await h.httpService((_req, res) => res.end('over tls'));
    fs.writeFileSync(
      path.join(dir, 'agent.yaml'),
      [
        `relayUrl: ${relay.url.replace('127.0.0.1', 'localhost')}`,
        'keyName: root',
        `key: ${key}`,
        'tls: { caFile: ./data/relay-cert.pem }',
        'services:',
        `  - { path: tls-hello, target: { type: http, url: "${svc.url}" } }`,
        'log: { level: silent }',
      ].join('\n'),
    );
    const agent = startAgentFromConfig({ config: path.join(dir, 'agent.yaml'), env: {} });
    h.defer(() => agent.stop());
    await agent.whenReady(10_000);
    const res = await fetchTls(`https://localhost:${new URL(relay.url).port}/tls-hello`, fs.readFileSync(path.join(dir, 'data', 'relay-cert.pem'), 'utf8'));
    expect(res).toBe('over tls');
  });
});

function fetchTls(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, agent: false }, (res) => {
        let s = '';
        res.on('data', (c) => (s += c));
        res.on('end', () => resolve(s));
      })
      .on('error', reject);
  });
}

describe('the demo (npm start)', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('starts relay, agent and sample service, and the printed calls work', async () => {
    const dir = tempDir(h);
    const demo = await runDemo({ port: 0, dataDir: dir, logger: noopLogger });
    h.defer(() => demo.stop());
    const curl = demo.banner.split('\n').find((l) => l.includes('curl') && l.includes('/hello/greet'))!;
    const tokenText = /ServiceBusAuthorization: ([^']+)'/.exec(curl)![1]!;
    const res = await request(`${demo.relay.url}/hello/greet?name=you`, { headers: { ServiceBusAuthorization: tokenText } });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toMatchObject({ message: 'Hello from the private network', query: { name: 'you' } });
    const echo = await request(`${demo.relay.url}/hello/echo`, { method: 'POST', headers: { ServiceBusAuthorization: tokenText }, body: 'ping' });
    expect(echo.body.toString()).toBe('ping');
    // The status page wants a Manage token on the public port.
    expect((await request(`${demo.relay.url}/$status`)).status).toBe(401);
    const manage = createSasToken({ resourceUri: demo.relay.url, keyName: demo.keyName, key: demo.key });
    expect((await request(`${demo.relay.url}/$status`, { headers: { Authorization: manage } })).body.toString()).toContain('hello');
    // The banner's console token signs in.
    const lines = demo.banner.split('\n');
    const consoleToken = lines[lines.findIndex((l) => l.trim() === `${demo.relay.url}/$status`) + 1]!.trim();
    expect((await request(`${demo.relay.url}/$status?format=json`, { headers: { Authorization: consoleToken } })).status).toBe(200);

    // Management commands against the running demo.
    const creds = { relay: demo.relay.url, keyName: demo.keyName, key: demo.key };
    const created = await runManage('hc', ['create', 'orders'], { metadata: 'from the cli' }, creds);
    expect(created.status).toBe(201);
    const list = await runManage('hc', ['list'], {}, creds);
    expect((list.data as { value: Array<{ path: string }> }).value.map((e) => e.path)).toEqual(expect.arrayContaining(['echo', 'hello', 'orders']));
    const rule = await runManage('rule', ['create', 'orders-sender'], { path: 'orders', rights: 'Send' }, creds);
    expect(rule.status).toBe(200);
    expect((rule.data as { primaryKey: string }).primaryKey).toHaveLength(44);
    const removed = await runManage('hc', ['delete', 'orders'], {}, creds);
    expect(removed.status).toBe(204);
    const bad = await runManage('hc', ['list'], {}, { ...creds, key: 'wrong' });
    expect(bad.status).toBe(401);
  });
});

natsDescribe('demo --nodes')('the demo with several nodes (demo --nodes 3)', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('starts nats-server and three relay nodes; the printed call on the last node reaches the agent on the first', async () => {
    const dir = tempDir(h);
    const demo = await runDemo({ port: 0, dataDir: dir, logger: noopLogger, nodes: 3 });
    h.defer(() => demo.stop());
    expect(demo.relays.map((r) => r.config.nodeId)).toEqual(['node-1', 'node-2', 'node-3']);
    expect(demo.banner).toContain('3 relay nodes on one namespace');
    const curls = demo.banner.split('\n').filter((l) => l.includes('curl') && l.includes('/hello/greet'));
    const onLast = curls.find((l) => l.includes(demo.relays[2]!.url))!;
    expect(onLast).toBeDefined();
    const tokenText = /ServiceBusAuthorization: ([^']+)'/.exec(onLast)![1]!;
    const until = Date.now() + 5000;
    let res = await request(`${demo.relays[2]!.url}/hello/greet?name=node3`, { headers: { ServiceBusAuthorization: tokenText } });
    // Node 3 learns of node 1's listener within a heartbeat.
    while (res.status !== 200 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      res = await request(`${demo.relays[2]!.url}/hello/greet?name=node3`, { headers: { ServiceBusAuthorization: tokenText } });
    }
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toMatchObject({ query: { name: 'node3' } });
    expect(demo.relays[2]!.router.registry.list('hello').every((l) => l.remote)).toBe(true);
  }, 30_000);
});
