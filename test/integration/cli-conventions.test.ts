/**
 * The built CLI (`node dist/src/cli/main.js`, run `npm run build` first) as a user runs it:
 * help on every command, exit codes (0 ok, 1 failure, 2 usage), refused flags, a closed stdout,
 * one-line network and TLS errors, the agent from flags alone, flags winning over a config file,
 * connection strings and rule keys end to end.
 */
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { parseConnectionString } from '../../src/auth/connection-string';
import { COMMANDS, type CommandSpec } from '../../src/cli/spec';
import { generateSelfSigned } from '../../src/cli/tls';
import { Harness, request, ROOT_KEY, ROOT_KEY_NAME, token } from '../helpers/harness';
import { CLI, freePort, REPO_ROOT } from '../helpers/processes';

jest.setTimeout(120_000);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], o: { env?: Record<string, string>; closeStdout?: boolean } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: os.tmpdir(), env: { ...process.env, RELAYBRIDGE_RELAY_URL: '', RELAYBRIDGE_KEY_NAME: '', RELAYBRIDGE_KEY: '', RELAYBRIDGE_CONNECTION_STRING: '', ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    if (o.closeStdout) child.stdout.destroy();
    else child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A long-running CLI process (agent), its output kept for waits and failure messages. */
function start(h: Harness, args: string[], env: Record<string, string> = {}): { child: ChildProcess; output: () => string; waitFor: (re: RegExp) => Promise<void> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: os.tmpdir(), env: { ...process.env, RELAYBRIDGE_RELAY_URL: '', RELAYBRIDGE_KEY_NAME: '', RELAYBRIDGE_KEY: '', RELAYBRIDGE_CONNECTION_STRING: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  h.defer(
    () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null || child.signalCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  );
  const waitFor = (re: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const tick = () => {
        if (re.test(out)) return resolve();
        if (child.exitCode !== null) return reject(new Error(`exited ${child.exitCode} before ${re}:\n${out}`));
        if (Date.now() - started > 60_000) return reject(new Error(`timed out waiting for ${re}:\n${out}`));
        setTimeout(tick, 25);
      };
      tick();
    });
  return { child, output: () => out, waitFor };
}

function allCommands(spec: CommandSpec, prefix: string[] = []): Array<{ path: string[]; spec: CommandSpec }> {
  const here = { path: prefix, spec };
  return [here, ...(spec.sub ?? []).flatMap((s) => allCommands(s, [...prefix, s.name]))];
}

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at [^\n]+:\d+:\d+/);

beforeAll(() => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
});

describe('conventions', () => {
  it('answers --help on every command and subcommand, listing all of its options (exit 0)', async () => {
    const commands = allCommands(COMMANDS);
    expect(commands.length).toBeGreaterThan(15);
    for (const { path: p, spec } of commands) {
      const r = await run([...p, p.length % 2 ? '-h' : '--help']);
      expect({ p, code: r.code }).toEqual({ p, code: 0 });
      expect(r.stdout).toContain(`usage: relaybridge${p.length ? ` ${p.join(' ')}` : ''}`);
      for (const name of Object.keys(spec.options ?? {})) expect({ p, has: r.stdout.includes(`--${name}`) }).toEqual({ p, has: true });
      for (const s of spec.sub ?? []) expect(r.stdout).toContain(`  ${s.name}`);
    }
  });

  it('docs/cli.md names every command and subcommand', () => {
    const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'cli.md'), 'utf8');
    for (const { path: p, spec } of allCommands(COMMANDS)) if (p.length && !spec.sub) expect({ p, documented: doc.includes(`relaybridge ${p.join(' ')}`) }).toEqual({ p, documented: true });
  });

  it('relaybridge help [COMMAND] is COMMAND --help', async () => {
    const r = await run(['help', 'rule', 'keys']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: relaybridge rule keys COMMAND/);
  });

  it('prints the version of package.json', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await run([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(`relaybridge ${version}`);
    }
  });

  it('refuses a flag a command does not take, a missing or extra argument and a bad value: exit 2, naming it', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['agent', '--relay', 'http://x', '--bogus'], /relaybridge agent: unknown option --bogus/],
      [['token', '--anonymous'], /relaybridge token: unknown option --anonymous/],
      [['hc', 'list', '--rights', 'Send'], /relaybridge hc list: unknown option --rights/],
      [['relay', '--relay', 'http://x'], /relaybridge relay: unknown option --relay/],
      [['hc', 'show'], /relaybridge hc show: missing PATH/],
      [['hc', 'show', 'a', 'b'], /unexpected argument 'b'/],
      [['hc', 'frobnicate'], /unknown command 'frobnicate'/],
      [['hc'], /expected a command \(list, show, create, update, delete\)/],
      [['rule', 'keys'], /expected a command \(show, renew\)/],
      [['nonsense'], /unknown command 'nonsense'/],
      [[], /expected a command/],
      [['relay', '--port', 'eighty'], /--port: expected a non-negative integer, got "eighty"/],
      [['hc', 'list', '-o', 'yaml', '--relay', 'http://127.0.0.1:1', '--key-name', 'a', '--key', 'b'], /--output: expected json or table/],
      [['token', '--key-name', 'a'], /key: required with key name/],
      [['token'], /--uri: required/],
    ];
    for (const [args, re] of cases) {
      const r = await run(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(re);
      expect(r.stderr).toMatch(/--help' for usage/);
      noStack(r.stderr);
    }
  });

  it('never crashes on a closed stdout (EPIPE)', async () => {
    for (const args of [['--help'], ['hc', '--help'], ['key'], ['token', '--uri', 'http://x/y', '--key-name', 'a', '--key', 'b']]) {
      const r = await run(args, { closeStdout: true });
      expect({ args, code: r.code }).toEqual({ args, code: 0 });
      expect(r.stderr).toBe('');
    }
  });

  it('mints tokens from a connection string, the EntityPath naming the resource', async () => {
    const r = await run(['token', '--connection-string', `Endpoint=sb://relay.example.com/;SharedAccessKeyName=app;SharedAccessKey=${ROOT_KEY};EntityPath=orders`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^SharedAccessSignature sr=https%3A%2F%2Frelay\.example\.com%2Forders&sig=.+&skn=app\n$/);
    const bad = await run(['token', '--connection-string', 'Endpoint=sb://relay.example.com/;SharedAccesKey=x']);
    // A bad value on the command line is a usage error; the same in RELAYBRIDGE_CONNECTION_STRING is a failure.
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid connection string/);
    const badEnv = await run(['token'], { env: { RELAYBRIDGE_CONNECTION_STRING: 'Endpoint=sb://relay.example.com/;SharedAccesKey=x' } });
    expect(badEnv.code).toBe(1);
    expect(badEnv.stderr).toMatch(/SharedAccesKey: unknown name/);
    expect(bad.stderr).toMatch(/SharedAccesKey: unknown name/);
    const key = await run(['key']);
    expect(Buffer.from(key.stdout.trim(), 'base64')).toHaveLength(32);
  });
});

/** `relaybridge relay` on a free port with a memory store, one open entity (`open`) and the given `log:` line. */
async function startCliRelay(h: Harness, logLine: string): Promise<{ port: number; child: ChildProcessByStdio<null, Readable, Readable> }> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaybridge-cli-relay-'));
  h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'relay.yaml');
  fs.writeFileSync(file, [`port: ${port}`, 'host: 127.0.0.1', 'store: { type: memory }', logLine, 'entities:', '  - { path: open, requiresClientAuthorization: false }', ''].join('\n'));
  const child = spawn(process.execPath, [CLI, 'relay', '--config', file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  return { port, child };
}

describe('a server whose stdout closes', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('a relay keeps serving with debug logs into a closed pipe, and exits 0 on SIGTERM', async () => {
    const { port, child } = await startCliRelay(h, 'log: { level: debug }');
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    h.defer(() => void child.kill('SIGKILL'));
    const started = Date.now();
    for (;;) {
      const ok = await request(`http://127.0.0.1:${port}/open/x`).then(() => true, () => false);
      if (ok) break;
      if (child.exitCode !== null || Date.now() - started > 60_000) throw new Error(`relay did not come up (exit ${child.exitCode}):\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 0; i < 50; i += 1) expect((await request(`http://127.0.0.1:${port}/open/x`)).status).toBeGreaterThanOrEqual(400);
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
  });
});

describe('log lines of a server (JSON)', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('writes every access line, gathered, in order; what is gathered at a stop is written before exit', async () => {
    const { port, child } = await startCliRelay(h, 'log: { level: info, format: json }');
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    h.defer(() => void child.kill('SIGKILL'));
    // Complete JSON lines only (a write may end mid-line; the banner is plain text).
    const lines = () => stdout.split('\n').slice(0, -1).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; id?: string; status?: number });
    const until = async (what: string, ok: () => boolean) => {
      const started = Date.now();
      while (!ok()) {
        if (child.exitCode !== null || Date.now() - started > 30_000) throw new Error(`${what} (exit ${child.exitCode}):\n${stdout}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    // Not a per-call line: written as soon as it is logged.
    await until('no listening line', () => lines().some((l) => l.msg !== 'access'));
    const ids: string[] = [];
    for (let i = 0; i < 40; i += 1) {
      const r = await request(`http://127.0.0.1:${port}/open/x${i}`);
      expect(r.status).toBe(502); // no listener
      ids.push(String(r.headers['relaybridge-correlation-id']));
    }
    // 40 access lines are under the 4 KiB gathered before a write: they come with the periodic flush.
    await until('the access lines did not all arrive', () => lines().filter((l) => l.msg === 'access').length === 40);
    expect(lines().filter((l) => l.msg === 'access').map((l) => l.id)).toEqual(ids);
    // Lines gathered when the stop signal comes are written before the process ends.
    const last: string[] = [];
    for (let i = 0; i < 3; i += 1) last.push(String((await request(`http://127.0.0.1:${port}/open/y${i}`)).headers['relaybridge-correlation-id']));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await new Promise((r) => setImmediate(r));
    const access = lines().filter((l) => l.msg === 'access');
    expect(access.map((l) => l.id)).toEqual([...ids, ...last]);
    expect(access.every((l) => l.status === 502)).toBe(true);
  });
});

describe('network and TLS failures', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('a closed port: one line, connection refused with the relay URL, exit 1', async () => {
    const relay = await h.relay();
    const url = relay.url;
    await relay.close();
    const r = await run(['hc', 'list', '--relay', url, '--key-name', ROOT_KEY_NAME, '--key', ROOT_KEY]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`relaybridge: connection refused: is the relay running at ${url}?\n`);
    expect(r.stdout).toBe('');
  });

  it('a self-signed relay: one line, certificate not trusted, pass --ca; with --ca it works', async () => {
    const pems = await generateSelfSigned(['localhost', '127.0.0.1']);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaybridge-ca-'));
    h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, 'relay-cert.pem'), pems.cert);
    const relay = await h.relay({ tls: { cert: pems.cert, key: pems.key } });
    expect(relay.url).toMatch(/^https:/);
    const creds = ['--relay', relay.url, '--key-name', ROOT_KEY_NAME, '--key', ROOT_KEY];
    const r = await run(['hc', 'list', ...creds], { env: { NODE_EXTRA_CA_CERTS: '' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^relaybridge: certificate not trusted: pass --ca FILE .*\n$/);
    expect(r.stderr.split('\n')).toHaveLength(2);
    const ok = await run(['hc', 'list', ...creds, '--ca', path.join(dir, 'relay-cert.pem')]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ value: [] });
    const plain = await run(['hc', 'list', ...creds.map((c) => c.replace(/^https:/, 'http:'))]);
    expect(plain.code).toBe(1);
    noStack(plain.stderr);
    expect(plain.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('the agent from flags, and flags over the config file', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('serves a call with only --relay, --connection-string and --expose', async () => {
    const relay = await h.relay({ entities: [{ path: 'credit-check', requiresClientAuthorization: true }] });
    const svc = await h.httpService((req, res) => res.end(`credit ok for ${req.url}`));
    const port = new URL(relay.url).port;
    // sb:// means https; --relay (http) wins over the Endpoint.
    const cs = `Endpoint=sb://127.0.0.1:${port}/;SharedAccessKeyName=${ROOT_KEY_NAME};SharedAccessKey=${ROOT_KEY}`;
    const agent = start(h, ['agent', '--relay', relay.url, '--connection-string', cs, '--expose', `credit-check=${svc.url}/Credit.svc`, '--log-level', 'info']);
    await agent.waitFor(/agent channel ready/);
    const res = await request(`${relay.url}/credit-check/score?id=7`, { headers: { ServiceBusAuthorization: token(relay, 'credit-check') } });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('credit ok for /Credit.svc/score?id=7');
  });

  it('--relay, --key-name and --key win over the config file (they were ignored with --config)', async () => {
    const relay = await h.relay({ entities: [{ path: 'flags-win', requiresClientAuthorization: false }] });
    const svc = await h.httpService((_req, res) => res.end('from flags'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaybridge-flags-'));
    h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'agent.yaml');
    // A relay nobody listens on and a wrong key: with the flags ignored, the agent never connects.
    fs.writeFileSync(file, ['relayUrl: http://127.0.0.1:1', 'keyName: nobody', 'key: d3Jvbmc=', 'services:', `  - { path: flags-win, target: { type: http, url: "${svc.url}" } }`, ''].join('\n'));
    const agent = start(h, ['agent', '--config', file, '--relay', relay.url, '--key-name', ROOT_KEY_NAME, '--key', ROOT_KEY, '--log-level', 'info']);
    await agent.waitFor(/agent channel ready/);
    expect((await request(`${relay.url}/flags-win/x`)).body.toString()).toBe('from flags');
    // And a connection string in the environment beats the file's key too.
    const envAgent = start(h, ['agent', '--config', file, '--relay', relay.url, '--log-level', 'info'], {
      RELAYBRIDGE_CONNECTION_STRING: `Endpoint=http://127.0.0.1:1/;SharedAccessKeyName=${ROOT_KEY_NAME};SharedAccessKey=${ROOT_KEY}`,
    });
    await envAgent.waitFor(/agent channel ready/);
  });

  it('trusts a self-signed relay with --ca FILE', async () => {
    const pems = await generateSelfSigned(['localhost', '127.0.0.1']);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaybridge-agent-ca-'));
    h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, 'relay-cert.pem'), pems.cert);
    const relay = await h.relay({ tls: { cert: pems.cert, key: pems.key }, entities: [{ path: 'over-tls', requiresClientAuthorization: false }] });
    const svc = await h.httpService((_req, res) => res.end('tls ok'));
    const agent = start(h, ['agent', '--relay', relay.url, '--key-name', ROOT_KEY_NAME, '--key', ROOT_KEY, '--ca', path.join(dir, 'relay-cert.pem'), '--expose', `over-tls=${svc.url}`, '--log-level', 'info'], { NODE_EXTRA_CA_CERTS: '' });
    await agent.waitFor(/agent channel ready/);
  });

  it('refuses --expose without a path or with an unknown scheme (exit 2)', async () => {
    const a = await run(['agent', '--relay', 'http://127.0.0.1:1', '--key-name', 'a', '--key', 'b', '--expose', 'http://10.0.0.1/x']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--expose http:\/\/10\.0\.0\.1\/x: expected PATH=URL/);
    const b = await run(['agent', '--relay', 'http://127.0.0.1:1', '--key-name', 'a', '--key', 'b', '--expose', 'x=ftp://10.0.0.1/']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/expected an http\(s\):\/\/, net\.tcp:\/\/, tcp:\/\/ or ws\(s\):\/\/ URL/);
  });
});

describe('connection strings and rule keys end to end', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('hc show prints working connection strings; rule create keeps keys unless --regenerate; keys renew one key; hc update', async () => {
    const relay = await h.relay();
    const root = ['--relay', relay.url, '--key-name', ROOT_KEY_NAME, '--key', ROOT_KEY];
    const cli = async (...args: string[]) => {
      const r = await run(args);
      if (r.code !== 0) throw new Error(`${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
      return r.stdout;
    };
    await cli('hc', 'create', 'orders', ...root);
    const created = JSON.parse(await cli('rule', 'create', 'ops', '--path', 'orders', '--rights', 'Manage,Listen,Send', ...root));
    const shown = JSON.parse(await cli('hc', 'show', 'orders', ...root));
    expect(shown.connectionStrings).toHaveLength(1);
    const cs = parseConnectionString(shown.connectionStrings[0].primaryConnectionString);
    expect(cs).toMatchObject({ relayUrl: relay.url, keyName: 'ops', key: created.primaryKey, entityPath: 'orders' });
    // The connection string alone (from the environment) manages its entity, and serves it.
    const viaEnv = await run(['hc', 'show', 'orders'], { env: { RELAYBRIDGE_CONNECTION_STRING: shown.connectionStrings[0].primaryConnectionString } });
    expect(viaEnv.code).toBe(0);
    const svc = await h.httpService((_req, res) => res.end('orders here'));
    const agent = start(h, ['agent', '--connection-string', shown.connectionStrings[0].primaryConnectionString, '--expose', svc.url, '--log-level', 'info']);
    await agent.waitFor(/agent channel ready/);
    const call = await request(`${relay.url}/orders/list`, { headers: { ServiceBusAuthorization: token(relay, 'orders', 'ops', created.primaryKey) } });
    expect(call.body.toString()).toBe('orders here');

    // rule create on an existing rule changes rights, keeps keys.
    const again = JSON.parse(await cli('rule', 'create', 'ops', '--path', 'orders', '--rights', 'Manage,Listen,Send', ...root));
    expect([again.primaryKey, again.secondaryKey]).toEqual([created.primaryKey, created.secondaryKey]);
    const shownKeys = JSON.parse(await cli('rule', 'keys', 'show', 'ops', '--path', 'orders', ...root));
    expect(shownKeys).toMatchObject({ primaryKey: created.primaryKey, secondaryKey: created.secondaryKey });
    const renewed = JSON.parse(await cli('rule', 'keys', 'renew', 'ops', '--path', 'orders', '--secondary', ...root));
    expect(renewed.primaryKey).toBe(created.primaryKey);
    expect(renewed.secondaryKey).not.toBe(created.secondaryKey);
    const noKey = await run(['rule', 'keys', 'renew', 'ops', '--path', 'orders', ...root]);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/--primary or --secondary/);
    const regenerated = JSON.parse(await cli('rule', 'create', 'ops', '--path', 'orders', '--rights', 'Manage,Listen,Send', '--regenerate', ...root));
    expect(regenerated.primaryKey).not.toBe(created.primaryKey);
    expect(regenerated.secondaryKey).not.toBe(renewed.secondaryKey);

    // hc update changes only what is given, and never creates.
    expect(JSON.parse(await cli('hc', 'update', 'orders', '--anonymous', ...root)).requiresClientAuthorization).toBe(false);
    expect(JSON.parse(await cli('hc', 'update', 'orders', '--metadata', 'm', ...root))).toMatchObject({ requiresClientAuthorization: false, userMetadata: 'm' });
    expect(JSON.parse(await cli('hc', 'update', 'orders', '--no-anonymous', ...root)).requiresClientAuthorization).toBe(true);
    const missing = await run(['hc', 'update', 'nope', '--anonymous', ...root]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^relaybridge: HTTP 404/);
    expect((await run(['hc', 'show', 'nope', ...root])).code).toBe(1);

    // -o table
    const table = await cli('hc', 'list', '-o', 'table', ...root);
    expect(table.split('\n')[0]).toMatch(/^path\s+requiresClientAuthorization/);
    expect(table).toMatch(/\norders\s+true/);
    const rules = await cli('rule', 'list', '--path', 'orders', '--output', 'table', ...root);
    expect(rules).toMatch(/keyName\s+rights/);
    expect(rules).toMatch(/ops\s+Manage,Listen,Send/);
    // A closed stdout with a relay answer in flight.
    const piped = await run(['hc', 'list', ...root], { closeStdout: true });
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe('');
  });
});
