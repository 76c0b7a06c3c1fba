/**
 * The README's commands run as written. Every line of every ```bash block is classified: a
 * `relaybridge …` / `npx relaybridge …` command is run with the built CLI (`node
 * dist/src/cli/main.js`, run `npm run build` first) through bash, against a relay this test
 * starts on 127.0.0.1, with the placeholders replaced (the relay's URL for relay.example.com,
 * a real key for `<key>` and `…`, local services for the 10.x targets); a synopsis line
 * (`hc list|show|…`) runs as the concrete commands named below. Anything else (npm scripts,
 * curl) is in a named list. The test asserts the lists are exactly what the README holds, so a
 * new command is never silently skipped. The README's relay.yaml and agent.yaml run as a pair.
 * No traffic leaves 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Harness, request, ROOT_KEY, ROOT_KEY_NAME, token } from '../helpers/harness';
import { CLI, freePort, REPO_ROOT } from '../helpers/processes';
import type { RelayServer } from '../../src/relay/relay-server';

jest.setTimeout(180_000);

const README = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

/** Fenced blocks of one language, in order. */
function blocks(lang: string): string[] {
  const out: string[] = [];
  const re = new RegExp('^```' + lang + '\\s*\\n([\\s\\S]*?)^```', 'gm');
  for (let m = re.exec(README); m; m = re.exec(README)) out.push(m[1]!);
  return out;
}

/** The commands of a bash block: continuations joined, comments and blank lines dropped. */
function commands(block: string): string[] {
  const joined = block.replace(/\\\n\s*/g, '');
  return joined
    .split('\n')
    .map((l) => l.replace(/\s+#\s.*$/, '').trim())
    .filter((l) => l && !l.startsWith('#'));
}

const ALL = blocks('bash').flatMap(commands);
const isCli = (c: string): boolean => /^(npx )?relaybridge(\s|$)/.test(c);
const isSynopsis = (c: string): boolean => /\|| \[/.test(c.replace(/"[^"]*"|'[^']*'/g, ''));

/** Not relaybridge commands: npm scripts of the checkout, a curl against the demo, the .NET sample. */
const NOT_CLI = [
  'npm install && npm start',
  'npm install && npm test',
  "curl -H 'ServiceBusAuthorization: SharedAccessSignature sr=…' 'http://127.0.0.1:9443/hello/greet?name=you'",
  'npm install && npm run build',
  'npm run sample:credit-check',
  'npm run sample:calculator',
  // Run as the sample prints them by test/interop/dotnet-sample.test.ts (the .NET SDK, the sample's token).
  "dotnet run --project samples/dotnet-client -- --address http://127.0.0.1:9444/calculator --token '<token>'",
  "dotnet run --project samples/dotnet-client -- --address net.tcp://127.0.0.1:9445/calculator --binding nettcp --token '<token>'",
  // The migration walk-through: run in order, with Mono, by test/interop/migration-walkthrough.test.ts.
  'npm run sample:legacy-calculator',
  "mono .relaybridge/legacy-calculator/WcfClient.exe --binding basic --address http://127.0.0.1:9444/calculator --header-token '<token>' --scenario add,echo,divide,notify",
];

/** relaybridge commands of the migration walk-through (a recording to replay, a red run first): run by test/interop/migration-walkthrough.test.ts. */
const WALKTHROUGH = ALL.filter((c) => isCli(c) && c.includes('--dir .relaybridge/recorded'));

/** Commands that need a host outside this machine even after the substitutions below: none today. */
const SKIPPED_EXTERNAL: string[] = [];

/** Synopsis lines, as the concrete commands that cover each form they name. */
const SYNOPSES: Record<string, string[]> = {
  'relaybridge hc list|show|create|update|delete [PATH] [--anonymous] [-o json|table] --relay URL --connection-string CS': [
    'relaybridge hc create readme-hc --anonymous --relay URL --connection-string CS',
    'relaybridge hc list -o table --relay URL --connection-string CS',
    'relaybridge hc show readme-hc -o json --relay URL --connection-string CS',
    'relaybridge hc update readme-hc --no-anonymous --relay URL --connection-string CS',
    'relaybridge hc delete readme-hc --relay URL --connection-string CS',
  ],
  'relaybridge rule keys show|renew cloud-app --path credit-check [--primary|--secondary] --relay URL --connection-string CS': [
    'relaybridge rule keys show cloud-app --path credit-check --relay URL --connection-string CS',
    'relaybridge rule keys renew cloud-app --path credit-check --primary --relay URL --connection-string CS',
    'relaybridge rule keys renew cloud-app --path credit-check --secondary --relay URL --connection-string CS',
  ],
};

/** Long-running commands: started, awaited until ready, then stopped with SIGTERM (exit 0). */
const SERVING = /^(npx )?relaybridge (relay|agent)\b/;
/** The recording proxy: serving too; ready once it says where it records. */
const RECORD = /^(npx )?relaybridge record\b/;
/** The forwarder: serving too; ready once it names its port, then a call goes through it. */
const FORWARD = /^(npx )?relaybridge forward\b/;
/** The demo (`demo --nodes 3`): serving too, with its own ports and data. */
const DEMO = /^(npx )?relaybridge demo\b/;

/**
 * README problems known and reported, each checked to be still there (add an entry for a known
 * one; remove it when the README is fixed, and the test then insists the fix holds). Checked:
 * relay.yaml's `publicUrl` names the port the relay listens on (else every rendezvous, bodies
 * over the control-channel limit, fails with 502), and every path agent.yaml exposes is declared
 * in relay.yaml (else the relay refuses its listener: 404, retried forever). None today.
 */
const KNOWN_README_ISSUES: string[] = [];

interface Run {
  code: number | null;
  out: string;
}

const ENV = { ...process.env, RELAYBRIDGE_RELAY_URL: '', RELAYBRIDGE_KEY_NAME: '', RELAYBRIDGE_KEY: '', RELAYBRIDGE_CONNECTION_STRING: '', CLI, NODE_EXTRA_CA_CERTS: '' };

/** The command through bash as written, `relaybridge`/`npx relaybridge` being the built CLI. */
function shell(command: string, cwd: string): ReturnType<typeof spawn> {
  const script = command.replace(/^(npx )?relaybridge\b/, 'exec node "$CLI"');
  return spawn('bash', ['-c', script], { cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
}

function runToEnd(command: string, cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = shell(command, cwd);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** Starts a serving command, waits for `ready`, then SIGTERM; resolves with its exit code and output. */
async function serveThenStop(command: string, cwd: string, ready: RegExp, whileUp: () => Promise<void> = async () => undefined): Promise<Run> {
  const child = shell(command, cwd);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const tick = () => {
        if (ready.test(out)) return resolve();
        if (child.exitCode !== null) return reject(new Error(`${command}\nexited ${child.exitCode} before ${ready}:\n${out}`));
        if (Date.now() - started > 60_000) return reject(new Error(`${command}\nnot ready (${ready}) in 60 s:\n${out}`));
        setTimeout(tick, 50);
      };
      tick();
    });
    await whileUp();
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
  return { code: await exited, out };
}

describe('the README', () => {
  const h = new Harness();
  let relay: RelayServer;
  let dir: string;
  let creditUrl: string;
  let connectionString: string;
  const subst: Array<[string | RegExp, () => string]> = [];

  beforeAll(async () => {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-commands-'));
    h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    const credit = await h.httpService((req, res) => {
      req.resume();
      req.on('end', () => {
        const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('size') ?? '0');
        res.setHeader('Content-Type', 'application/octet-stream');
        res.end(size > 0 ? Buffer.alloc(size, 'c') : 'credit ok');
      });
    });
    creditUrl = `${credit.url}/CreditService.svc`;
    const rule = (keyName: string, rights: Array<'Listen' | 'Send' | 'Manage'>) => ({ keyName, primaryKey: ROOT_KEY, rights });
    relay = await h.relay({
      entities: [
        { path: 'credit-check', requiresClientAuthorization: true, authorizationRules: [rule('agent', ['Listen']), rule('cloud-app', ['Send'])] },
        { path: 'calculator', requiresClientAuthorization: true },
        { path: 'reports-db', requiresClientAuthorization: true, authorizationRules: [rule('agent', ['Listen']), rule('cloud-app', ['Send'])] },
        { path: 'orders-api', requiresClientAuthorization: true, authorizationRules: [rule('agent', ['Listen']), rule('cloud-app', ['Send'])] },
      ],
    });
    // What the README's forward commands reach: a TCP echo as reports-db, the credit service as orders-api.
    const echoPort = await h.tcpEcho();
    const forwarded = await h.agent(relay, [
      { path: 'reports-db', target: { type: 'tcp', host: '127.0.0.1', port: echoPort } },
      { path: 'orders-api', target: { type: 'http', url: creditUrl } },
    ]);
    await forwarded.whenReady();
    const agent = await h.agent(relay, [{ path: 'calculator', target: { type: 'module', module: path.join(REPO_ROOT, 'samples', 'calculator', 'service.ts') } }]);
    await agent.whenReady();
    const hostPort = new URL(relay.url).host;
    connectionString = `Endpoint=sb://${hostPort}/;SharedAccessKeyName=${ROOT_KEY_NAME};SharedAccessKey=${ROOT_KEY}`;
    subst.push(
      ['https://relay.example.com:9443', () => relay.url],
      ['sb://relay.example.com:9443/', () => `sb://${hostPort}/`],
      ['http://localhost:9443', () => relay.url],
      ['http://127.0.0.1:9444', () => relay.url],
      ['http://10.0.0.12:8080/CreditService.svc', () => creditUrl],
      ['SharedAccessKey=…', () => `SharedAccessKey=${ROOT_KEY}`],
      ['<key>', () => `'${ROOT_KEY}'`],
      ['--relay URL', () => `--relay ${relay.url}`],
      ['--connection-string CS', () => `--connection-string '${connectionString}'`],
    );
  });
  afterAll(() => h.close());

  const substitute = (c: string): string => subst.reduce((acc, [from, to]) => acc.split(from as string).join(to()), c);

  it('quotes no hand-typed test or suite counts', () => {
    expect(README).not.toMatch(/\b\d[\d,]*\s+(tests|test suites|suites|test cases)\b/i);
  });

  it('classifies every command of its bash blocks (run, synopsis, not the CLI, or skipped by name)', () => {
    const notCli = ALL.filter((c) => !isCli(c));
    expect(notCli).toEqual(NOT_CLI);
    expect(ALL.filter((c) => isCli(c) && isSynopsis(c))).toEqual(Object.keys(SYNOPSES));
    expect(ALL.filter((c) => SKIPPED_EXTERNAL.includes(c))).toEqual(SKIPPED_EXTERNAL);
    expect(WALKTHROUGH).toHaveLength(2);
    // After the substitutions, no command names a host beyond this machine.
    for (const c of ALL.filter(isCli).filter((x) => !SKIPPED_EXTERNAL.includes(x) && !isSynopsis(x) && !/ --config /.test(x))) {
      const s = substitute(c);
      expect(s).not.toMatch(/\b10\.\d+\.\d+\.\d+\b/);
      if (!/^(npx )?relaybridge cert /.test(c)) expect(s).not.toMatch(/relay\.example\.com/);
    }
  });

  it('runs each relaybridge command as written against the test relay (exit 0)', async () => {
    const toRun = ALL.filter(isCli)
      .filter((c) => !SKIPPED_EXTERNAL.includes(c) && !WALKTHROUGH.includes(c) && !/ --config /.test(c))
      .flatMap((c) => (isSynopsis(c) ? SYNOPSES[c]! : [c]));
    const failures: string[] = [];
    let ran = 0;
    for (const c of toRun) {
      const command = substitute(c);
      let r: Run;
      if (DEMO.test(c)) {
        // Its own relays and nats-server on free ports, its data in a temporary directory; ready once its banner is out.
        r = await serveThenStop(`${command} --port 0 --data-dir ${path.join(dir, 'demo-data')}`, dir, /Press Ctrl-C to stop/);
      } else if (RECORD.test(c)) {
        r = await serveThenStop(command, dir, /recording calls to /);
      } else if (FORWARD.test(c)) {
        const port = Number(/--listen (?:127\.0\.0\.1:)?(\d+)/.exec(c)![1]);
        r = await serveThenStop(command, dir, /forwarding /, async () => {
          // Through the forwarder's port to a service behind an agent on the path.
          if (/ --http\b/.test(c)) {
            const res = await request(`http://127.0.0.1:${port}/x`);
            if (res.status !== 200 || res.body.toString() !== 'credit ok') failures.push(`${c}\n  call through it: ${res.status} ${res.body.toString().slice(0, 200)}`);
          } else {
            const echoed = await echoThrough(port, 'through the forwarder');
            if (echoed !== 'through the forwarder') failures.push(`${c}\n  echo through it: ${echoed}`);
          }
        });
      } else if (SERVING.test(c)) {
        r = await serveThenStop(command, dir, /listening on the relay/, async () => {
          // The agent from flags serves its path: a call through the relay reaches the local service.
          const res = await request(`${relay.url}/credit-check/x`, { headers: { ServiceBusAuthorization: token(relay, 'credit-check') } });
          if (res.status !== 200 || res.body.toString() !== 'credit ok') failures.push(`${c}\n  call through it: ${res.status} ${res.body.toString().slice(0, 200)}`);
        });
      } else r = await runToEnd(command, / samples\//.test(c) ? REPO_ROOT : dir); // paths of the checkout: run from its root
      ran++;
      if (r.code !== 0) failures.push(`${c}\n  as run: ${command}\n  exit ${r.code}: ${r.out.slice(0, 600)}`);
    }
    expect(failures).toEqual([]);
    expect(ran).toBe(toRun.length);
    expect(ran).toBeGreaterThan(10);
  });

  it('runs its relay.yaml and agent.yaml as a pair (relay --config, agent --config)', async () => {
    const yaml = blocks('yaml');
    const relayYaml = yaml.find((b) => /^namespaceRules:/m.test(b));
    const agentYaml = yaml.find((b) => /^relayUrl:/m.test(b) && /^services:/m.test(b));
    expect(relayYaml).toBeDefined();
    expect(agentYaml).toBeDefined();
    const relayCmd = ALL.find((c) => /relaybridge relay --config relay\.yaml/.test(c));
    const agentCmd = ALL.find((c) => /relaybridge agent --config agent\.yaml/.test(c));
    expect(relayCmd).toBeDefined();
    expect(agentCmd).toBeDefined();

    const readmePort = Number(/^port:\s*(\d+)/m.exec(relayYaml!)![1]);
    const [port, adminPort, healthPort] = [await freePort(), await freePort(), await freePort()];
    const echoPort = await h.tcpEcho();
    const closedPort = await freePort();
    const pairDir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-pair-'));
    h.defer(() => fs.rmSync(pairDir, { recursive: true, force: true }));
    // The certificate relay.yaml names, made by the README's own `relaybridge cert`, for 127.0.0.1.
    const cert = await runToEnd(`relaybridge cert --out . --host 127.0.0.1`, pairDir);
    expect(cert.code).toBe(0);

    const pairRelay = relayYaml!
      .split(`relay.example.com:${readmePort}`)
      .join(`127.0.0.1:${port}`)
      .replace(/^port: \d+/m, `port: ${port}`)
      .replace(/^host: 0\.0\.0\.0/m, 'host: 127.0.0.1')
      .split('relay.example.com')
      .join('127.0.0.1')
      .split('<base64 key>')
      .join(ROOT_KEY)
      .split('<key>')
      .join(ROOT_KEY)
      .replace(/admin: \{ port: \d+/, `admin: { port: ${adminPort}`);
    const pairAgent = agentYaml!
      .split(`relay.example.com:${readmePort}`)
      .join(`127.0.0.1:${port}`)
      .split('<key>')
      .join(ROOT_KEY)
      .split('http://10.0.0.12:8080/CreditService.svc')
      .join(creditUrl)
      .replace('host: 10.0.0.20, port: 5432', `host: 127.0.0.1, port: ${echoPort}`)
      .replace('ws://10.0.0.30:8081/feed', `ws://127.0.0.1:${closedPort}/feed`)
      .replace(/health: \{ port: \d+/, `health: { port: ${healthPort}`);
    expect(pairAgent).not.toMatch(/10\.\d+\.\d+\.\d+|example\.com/);
    fs.writeFileSync(path.join(pairDir, 'relay.yaml'), pairRelay);
    fs.writeFileSync(path.join(pairDir, 'agent.yaml'), pairAgent);

    const publicUrl = /^publicUrl:\s*(\S+)/m.exec(pairRelay)?.[1];
    const publicPort = publicUrl ? Number(new URL(publicUrl).port || (publicUrl.startsWith('https') ? 443 : 80)) : port;
    const pathsOf = (y: string) => [...y.matchAll(/^\s*- path: (\S+)/gm)].map((m) => m[1]!);
    const undeclared = pathsOf(pairAgent).filter((p) => !pathsOf(pairRelay).includes(p));
    const issues = [...(publicPort !== port ? ['publicUrl port'] : []), ...(undeclared.length ? [`agent paths not in relay.yaml: ${undeclared.join(', ')}`] : [])];
    expect(issues).toEqual(KNOWN_README_ISSUES);
    const declaredServed = pathsOf(pairAgent).length - undeclared.length;

    const base = `https://127.0.0.1:${port}`;
    const ca = fs.readFileSync(path.join(pairDir, 'relay-cert.pem'));
    const https = await import('node:https');
    const get = (url: string, headers: Record<string, string>) =>
      new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
        const req = https.request(url, { headers, ca, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
        req.end();
      });

    const relayRun = await serveThenStop(relayCmd!, pairDir, /relay listening on/, async () => {
      // Ready once every declared path listens (credit-check's one channel at least).
      const ready = new RegExp(Array.from({ length: Math.max(1, declaredServed) }, () => 'listening on the relay').join('[\\s\\S]*'));
      const agentRun = await serveThenStop(agentCmd!, pairDir, ready, async () => {
        const tok = token({ url: base } as RelayServer, 'credit-check', 'cloud-app', ROOT_KEY);
        const small = await get(`${base}/credit-check/x`, { ServiceBusAuthorization: tok });
        expect(small.status).toBe(200);
        expect(small.body.toString()).toBe('credit ok');
        // Over the agent's control-channel limit (1 MiB): a rendezvous to publicUrl.
        const big = await get(`${base}/credit-check/x?size=${2 * 1024 * 1024}`, { ServiceBusAuthorization: tok });
        if (KNOWN_README_ISSUES.includes('publicUrl port')) {
          expect(big.status).toBe(502);
          expect(big.body.toString()).toContain('RELAY_ERR_RENDEZVOUS_UNREACHABLE');
        } else expect(big.status).toBe(200);
      });
      expect(agentRun.code).toBe(0);
    });
    expect(relayRun.code).toBe(0);
    const relayWarnings = relayRun.out
      .split('\n')
      .filter((l) => /"level":40/.test(l))
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(relayWarnings.map((m) => (/publicUrl .* names port/.test(m) ? 'publicUrl port' : m))).toEqual(KNOWN_README_ISSUES.filter((i) => i === 'publicUrl port'));
  });
});

/** Writes `text` on a new connection to `port` and reads as many bytes back. */
function echoThrough(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const done = (v: string) => {
      s.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(`timeout after '${got}'`), 10_000);
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.length >= text.length) {
        clearTimeout(timer);
        done(got);
      }
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      done(`error ${err.message}`);
    });
    s.write(text);
  });
}
