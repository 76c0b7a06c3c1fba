/**
 * Process-level liveness of the agent: a process whose agent is started stays alive while the
 * relay is down (every library timer is unref'd; the agent holds the process itself), exits on
 * its own once the agent is stopped, and the CLI exits 0 on SIGTERM and 1 on an invalid config.
 * Children run the TypeScript sources through @swc/core (the same transform jest uses).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { ROOT_KEY, ROOT_KEY_NAME } from '../helpers/harness';

const ROOT = path.resolve(__dirname, '../..');

const HOOK = `
const { transformSync } = require(${JSON.stringify(require.resolve('@swc/core'))});
const fs = require('node:fs');
require.extensions['.ts'] = function (module, filename) {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename, jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
`;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaybridge-liveness-'));
  fs.writeFileSync(path.join(dir, 'hook.js'), HOOK);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A loopback port nothing listens on (it was free a moment ago). */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Child {
  proc: ChildProcess;
  out: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(args: string[]): Child {
  const env = { ...process.env };
  delete env.RELAYBRIDGE_LOG_LEVEL;
  const proc = spawn(process.execPath, ['-r', path.join(dir, 'hook.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
  let text = '';
  proc.stdout!.on('data', (c: Buffer) => (text += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (text += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return { proc, out: () => text, exited };
}

/** Resolves when `pattern` has appeared `times` times in the output; rejects if the child exits first. */
function waitForOutput(child: Child, pattern: RegExp, times: number, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    const count = () => (child.out().match(new RegExp(pattern.source, 'g')) ?? []).length;
    const poll = setInterval(() => count() >= times && finish(), 20);
    const timer = setTimeout(() => finish(new Error(`timed out waiting for ${times}× ${pattern}; output:\n${child.out()}`)), timeoutMs);
    void child.exited.then(({ code, signal }) => {
      if (count() >= times) finish();
      else finish(new Error(`child exited (code ${code}, signal ${signal}) before ${times}× ${pattern}; output:\n${child.out()}`));
    });
  });
}

describe('agent process liveness', () => {
  const children: Child[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  });

  it('a script using createAgent with the relay down stays alive, and exits by itself (0) once stop() is called', async () => {
    const port = await deadPort();
    const script = path.join(dir, 'agent-script.ts');
    fs.writeFileSync(
      script,
      `import { createAgent } from ${JSON.stringify(path.join(ROOT, 'src/index'))};
const logger = { trace() {}, debug() {}, info() {}, error() {}, child() { return logger; },
  warn(o: { attempt?: number }, m: string) { if (m === 'reconnecting after backoff') process.stdout.write('retry ' + o.attempt + '\\n'); } };
const agent = createAgent({ relayUrl: 'http://127.0.0.1:${port}', keyName: '${ROOT_KEY_NAME}', key: '${ROOT_KEY}',
  reconnect: { initialMs: 20, maxMs: 100 }, services: [{ path: 'p', target: { type: 'tcp', port: 9 } }], logger: logger as never });
agent.start();
// No process.exit anywhere: the process must end by itself once the agent is stopped.
process.once('SIGTERM', () => void agent.stop().then(() => process.stdout.write('stopped\\n')));
`,
    );
    const child = run([script]);
    children.push(child);
    // Many backoffs later (each one a moment when only an unref'd timer was pending), still alive.
    await waitForOutput(child, /retry \d+/, 12);
    expect(child.proc.exitCode).toBeNull();
    child.proc.kill('SIGTERM');
    const { code, signal } = await child.exited;
    expect(child.out()).toMatch(/stopped/);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  }, 90_000);

  it('the CLI agent with the relay down keeps retrying (warn, ECONNREFUSED) and exits 0 on SIGTERM', async () => {
    const port = await deadPort();
    const config = path.join(dir, 'agent.yaml');
    fs.writeFileSync(
      config,
      `relayUrl: http://127.0.0.1:${port}\nkeyName: ${ROOT_KEY_NAME}\nkey: ${ROOT_KEY}\nreconnect: { initialMs: 20, maxMs: 100 }\nservices:\n  - path: p\n    target: { type: http, url: "http://127.0.0.1:9" }\n`,
    );
    const child = run([path.join(ROOT, 'src/cli/main.ts'), 'agent', '--config', config]);
    children.push(child);
    await waitForOutput(child, /"cause":"ECONNREFUSED"[^\n]*"msg":"reconnecting after backoff"/, 10);
    expect(child.out()).toMatch(/"level":40/);
    expect(child.proc.exitCode).toBeNull();
    child.proc.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.out()).toMatch(/agent stopped/);
  }, 90_000);

  it('the CLI agent exits 1 on an invalid config, naming the option', async () => {
    const config = path.join(dir, 'bad.yaml');
    fs.writeFileSync(config, `relayUrl: http://127.0.0.1:1\nkeyName: k\nkey: v\nreconnect: { initialMs: soon }\nservices:\n  - path: p\n    target: { type: http, url: "http://127.0.0.1:9" }\n`);
    const child = run([path.join(ROOT, 'src/cli/main.ts'), 'agent', '--config', config]);
    children.push(child);
    expect(await child.exited).toEqual({ code: 1, signal: null });
    expect(child.out()).toMatch(/reconnect\.initialMs/);
  }, 60_000);
});
