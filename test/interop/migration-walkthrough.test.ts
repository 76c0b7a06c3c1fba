/**
 * The README's "Walk-through: moving the calculator from WCF to Node", as written: the legacy
 * sample (Mono's WCF calculator behind relay + agent + `relaybridge record`), the README's `mono
 * …WcfClient.exe` command with the sample's address and token, Ctrl-C; then the Node calculator
 * sample and the README's two `relaybridge replay` commands through bash: the first red with the
 * README's diff, the second (with the fix's ignore rules) green.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runToEnd } from '../helpers/exec';
import { monoDescribe } from '../helpers/mono';
import { printedCommands, REPO, startSample } from '../helpers/samples';

jest.setTimeout(300_000);

const README = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
const CLI = path.join(REPO, 'dist', 'src', 'cli', 'main.js');
const README_URL = 'http://127.0.0.1:9444';
const RECORDED = path.join(REPO, '.relaybridge', 'recorded');

/** The walk-through's lines of bash blocks (continuations joined). */
function readmeCommands(pattern: RegExp): string[] {
  const out: string[] = [];
  for (const m of README.matchAll(/^```bash\s*\n([\s\S]*?)^```/gm)) {
    for (const line of m[1]!.replace(/\\\n\s*/g, '').split('\n')) if (pattern.test(line.trim())) out.push(line.replace(/\s+#\s.*$/, '').trim());
  }
  return out;
}

const bash = (command: string) => runToEnd('bash', ['-c', command], 240_000);

monoDescribe('migration-walkthrough')('the README migration walk-through: record the WCF calculator, replay against the Node one', () => {
  it('records the legacy client calls, replays red with the README diff, then green with the fix', async () => {
    const [clientCommand] = readmeCommands(/^mono \.relaybridge\/legacy-calculator\/WcfClient\.exe /);
    const replays = readmeCommands(/^relaybridge replay --dir \.relaybridge\/recorded /);
    expect(clientCommand).toBeDefined();
    expect(replays).toHaveLength(2);

    // 1, 2: the legacy service, recording; the README's client command with the address and token the sample printed.
    const legacy = await startSample('legacy-calculator');
    let results: Array<Record<string, unknown>>;
    try {
      const [printed] = printedCommands(legacy.out(), 'mono ');
      expect(printed).toBeDefined();
      const address = /--address (\S+)/.exec(printed!)![1]!;
      const token = /--header-token '([^']+)'/.exec(printed!)![1]!;
      const command = clientCommand!.replace(`${README_URL}/calculator`, address).replace('<token>', token);
      expect(command).toBe(printed); // the README's command is the one the sample prints
      const run = await bash(command);
      expect({ code: run.code, stderr: run.stderr.slice(-2000) }).toMatchObject({ code: 0 });
      results = run.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    } finally {
      expect(await legacy.stop()).toBe(0);
    }
    expect(results.map((r) => [r.scenario, r.ok])).toEqual([
      ['add', true],
      ['echo', true],
      ['divide', true],
      ['notify', true],
    ]);
    const files = fs.readdirSync(RECORDED).sort();
    expect(files.filter((f) => f.endsWith('.request.xml'))).toEqual([
      '0001-Add.request.xml',
      '0002-Echo.request.xml',
      '0003-Divide.request.xml',
      '0004-Divide.request.xml',
      '0005-Notify.request.xml',
      '0006-WasNotified.request.xml',
    ]);
    for (const f of files) expect(fs.readFileSync(path.join(RECORDED, f), 'utf8')).not.toContain('SharedAccessSignature');

    // 3–5: the replacement on the same path; the README's replays, with its relay address and key.
    const replacement = await startSample('calculator');
    try {
      const relayUrl = /relay (http:\/\/127\.0\.0\.1:\d+)/.exec(replacement.out())![1]!;
      const { key } = JSON.parse(fs.readFileSync(path.join(REPO, '.relaybridge', 'samples-credentials.json'), 'utf8')) as { key: string };
      const asRun = (c: string) => c.replace(README_URL, relayUrl).replace('<key>', `'${key}'`).replace(/^relaybridge\b/, `node ${CLI}`);

      const red = await bash(asRun(replays[0]!));
      expect(red.code).toBe(1);
      const diff = /^```text\n(FAIL {2}0004-Divide[\s\S]*?)^```/m.exec(README)![1]!.split('\n').filter(Boolean);
      const said = red.stdout.split('\n');
      expect(said.find((l) => l.startsWith('FAIL'))).toMatch(/^FAIL {2}0004-Divide \(HTTP 500, \d+ ms\)$/);
      for (const line of diff.slice(1)) expect(said).toContain(line);
      expect(red.stdout).toContain('5 passed, 1 failed, 6 total');

      const green = await bash(asRun(replays[1]!));
      expect({ code: green.code, out: green.stdout.slice(-3000) }).toMatchObject({ code: 0 });
      expect(green.stdout).toContain('6 passed, 0 failed, 6 total');
    } finally {
      expect(await replacement.stop()).toBe(0);
    }
  });
});
