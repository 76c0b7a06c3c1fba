/**
 * `relaybridge replay`: the sample folder recorded from the WCF calculator (Mono captures) is
 * replayed through relay + agent against the calculator sample (node-soap, module target) and
 * passes; a changed service gives readable diffs and exit code 1.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Harness, ROOT_KEY, ROOT_KEY_NAME, token } from '../helpers/harness';
import type { RelayServer } from '../../src/relay/relay-server';
import { runReplay } from '../../src/cli/replay/replay';
import { replayCommand } from '../../src/cli/commands/replay';
import { elementText, parseXmlTree, type XmlElement } from '../../src/protocol/xml/tree';

const SAMPLE_DIR = path.resolve(__dirname, '../../samples/replay/calculator');

describe('replay through relay + agent', () => {
  const h = new Harness();
  let relay: RelayServer;

  beforeAll(async () => {
    relay = await h.relay({ entities: [{ path: 'calculator', requiresClientAuthorization: true }, { path: 'changed', requiresClientAuthorization: true }] });
    const changed = await h.httpService((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('Content-Type', 'text/xml; charset=utf-8');
        res.end('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><AddResponse xmlns="http://example.org/calc"><AddResult>6</AddResult></AddResponse></s:Body></s:Envelope>');
      });
    });
    const agent = await h.agent(relay, [
      { path: 'calculator', target: { type: 'module', module: path.resolve(__dirname, '../../samples/calculator/service.ts') } },
      { path: 'changed', target: { type: 'http', url: changed.url, soapVersion: '1.1' } },
    ]);
    await agent.whenReady();
  });
  afterAll(() => h.close());

  it('the sample folder passes against the calculator sample (exit code 0)', async () => {
    const lines: string[] = [];
    const code = await replayCommand({ dir: SAMPLE_DIR, relay: relay.url, path: 'calculator', keyName: ROOT_KEY_NAME, key: ROOT_KEY }, (l) => lines.push(l));
    expect(lines.join('\n')).toMatch(/6 passed, 0 failed, 6 total/);
    expect(code).toBe(0);
  });

  it('mismatches: a diff per case, a summary, exit code 1', async () => {
    const lines: string[] = [];
    const code = await replayCommand({ dir: SAMPLE_DIR, relay: relay.url, path: 'changed', keyName: ROOT_KEY_NAME, key: ROOT_KEY }, (l) => lines.push(l));
    const out = lines.join('\n');
    expect(code).toBe(1);
    expect(out).toMatch(/FAIL {2}add \(HTTP 200/);
    expect(out).toMatch(/- +<\{http:\/\/example.org\/calc\}AddResult>5\n +\+ +<\{http:\/\/example.org\/calc\}AddResult>6/);
    expect(out).toMatch(/HTTP status: recorded 500 \(fault\), replayed 200/);
    expect(out).toMatch(/0 passed, 6 failed, 6 total/);
  });

  it('reports for CI: JUnit XML (a testsuite per operation, the diff in each failure) and JSON', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-reports-'));
    h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    const junit = path.join(dir, 'replay.xml');
    const json = path.join(dir, 'replay.json');
    const lines: string[] = [];
    const code = await replayCommand({ dir: SAMPLE_DIR, relay: relay.url, path: 'changed', keyName: ROOT_KEY_NAME, key: ROOT_KEY, reportJunit: junit, reportJson: json }, (l) => lines.push(l));
    expect(code).toBe(1);
    // A per-operation line for each action, then the totals.
    expect(lines.join('\n')).toMatch(/ {2}http:\/\/example\.org\/calc\/ICalculator\/Add: 0\/\d passed/);
    const tree = parseXmlTree(fs.readFileSync(junit));
    expect(tree.localName).toBe('testsuites');
    const attr = (el: XmlElement, name: string) => el.attributes.find((a) => a.localName === name)?.value;
    expect(attr(tree, 'tests')).toBe('6');
    const suites = tree.children.filter((c): c is XmlElement => c.kind === 'element');
    expect(suites.map((s) => attr(s, 'name'))).toContain('http://example.org/calc/ICalculator/Add');
    const cases = suites.flatMap((s) => s.children.filter((c): c is XmlElement => c.kind === 'element'));
    expect(cases).toHaveLength(6);
    const add = cases.find((c) => attr(c, 'name') === 'add')!;
    const failure = add.children.find((c): c is XmlElement => c.kind === 'element' && c.localName === 'failure')!;
    expect(elementText(failure)).toMatch(/AddResult>5\n\+ +<\{http:\/\/example.org\/calc\}AddResult>6/);
    const report = JSON.parse(fs.readFileSync(json, 'utf8'));
    expect(report).toMatchObject({ passed: 0, failed: 6, total: 6 });
    expect(report.operations).toEqual(expect.arrayContaining([expect.objectContaining({ operation: 'http://example.org/calc/ICalculator/Add', failed: expect.any(Number) })]));
    expect(report.cases.find((c: { name: string }) => c.name === 'add')).toMatchObject({ outcome: 'mismatch', status: 200 });
  });

  it('rules per operation (replay.json `operations`), and element order where the contract allows it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-ops-'));
    h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    const env = (body: string) => `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>${body}</s:Body></s:Envelope>`;
    // Two operations: Stamp's <at> differs run to run (ignored for Stamp only), List's items come in any order.
    fs.writeFileSync(path.join(dir, 'stamp.request.xml'), env('<Stamp xmlns="urn:ops"/>'));
    fs.writeFileSync(path.join(dir, 'stamp.response.xml'), env('<StampResponse xmlns="urn:ops"><at>1001</at></StampResponse>'));
    fs.writeFileSync(path.join(dir, 'stamp.json'), JSON.stringify({ soapAction: 'urn:ops/Stamp' }));
    fs.writeFileSync(path.join(dir, 'list.request.xml'), env('<List xmlns="urn:ops"/>'));
    fs.writeFileSync(path.join(dir, 'list.response.xml'), env('<ListResponse xmlns="urn:ops"><items><i>a</i><i>b</i></items><at>7</at></ListResponse>'));
    fs.writeFileSync(path.join(dir, 'list.json'), JSON.stringify({ soapAction: 'urn:ops/List' }));
    const answers: Record<string, string> = {
      'urn:ops/Stamp': env('<StampResponse xmlns="urn:ops"><at>2002</at></StampResponse>'),
      'urn:ops/List': env('<ListResponse xmlns="urn:ops"><items><i>b</i><i>a</i></items><at>7</at></ListResponse>'),
    };
    const send = (_url: string, headers: Record<string, string>) => Promise.resolve({ status: 200, headers: {}, body: Buffer.from(answers[headers.SOAPAction!.replace(/"/g, '')]!) });
    const quiet = () => undefined;
    const run = () => runReplay({ dir, relayUrl: 'http://relay', path: 'p', send }, quiet);
    expect((await run()).failed).toBe(2);
    fs.writeFileSync(path.join(dir, 'replay.json'), JSON.stringify({ operations: { 'urn:ops/Stamp': { ignore: ['{urn:ops}at'] }, 'urn:ops/List': { unordered: ['{urn:ops}items'] } } }));
    const summary = await run();
    expect(summary.results.map((r) => [r.name, r.operation, r.outcome])).toEqual([
      ['list', 'urn:ops/List', 'pass'],
      ['stamp', 'urn:ops/Stamp', 'pass'],
    ]);
    // The Stamp rule does not reach List: a changed <at> there still fails.
    answers['urn:ops/List'] = env('<ListResponse xmlns="urn:ops"><items><i>a</i><i>b</i></items><at>8</at></ListResponse>');
    expect((await run()).results.find((r) => r.name === 'list')!.outcome).toBe('mismatch');
  });

  it('per-call values are ignored by default and can be ignored by name', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-replay-'));
    h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.copyFileSync(path.join(SAMPLE_DIR, 'add.request.xml'), path.join(dir, 'add.request.xml'));
    fs.copyFileSync(path.join(SAMPLE_DIR, 'add.json'), path.join(dir, 'add.json'));
    fs.writeFileSync(
      path.join(dir, 'add.response.xml'),
      '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><AddResponse xmlns="http://example.org/calc"><AddResult>6</AddResult></AddResponse></s:Body></s:Envelope>',
    );
    const send = () => Promise.resolve({ status: 200, headers: {}, body: Buffer.from('<x:Envelope xmlns:x="http://schemas.xmlsoap.org/soap/envelope/"><x:Body><r:AddResponse xmlns:r="http://example.org/calc"><r:AddResult>5</r:AddResult></r:AddResponse></x:Body></x:Envelope>') });
    const quiet = () => undefined;
    expect((await runReplay({ dir, relayUrl: 'http://relay', path: 'p', send }, quiet)).failed).toBe(1);
    expect((await runReplay({ dir, relayUrl: 'http://relay', path: 'p', send, ignore: ['AddResult'] }, quiet)).failed).toBe(0);
  });

  it('a one-way case recorded with 200 (Mono) or 202 (.NET) takes either; other recorded statuses stay exact', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-oneway-'));
    h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.copyFileSync(path.join(SAMPLE_DIR, 'notify-oneway.request.xml'), path.join(dir, 'mono.request.xml'));
    fs.writeFileSync(path.join(dir, 'mono.json'), JSON.stringify({ soapAction: 'http://example.org/calc/ICalculator/Notify', status: 200 }));
    fs.copyFileSync(path.join(SAMPLE_DIR, 'notify-oneway.request.xml'), path.join(dir, 'odd.request.xml'));
    fs.writeFileSync(path.join(dir, 'odd.json'), JSON.stringify({ soapAction: 'http://example.org/calc/ICalculator/Notify', status: 204 }));
    const lines: string[] = [];
    // Through the relay to the calculator sample, which answers 202.
    const summary = await runReplay({ dir, relayUrl: relay.url, path: 'calculator', token: token(relay, 'calculator') }, (l) => lines.push(l));
    expect(summary.results.map((r) => [r.name, r.outcome, r.status])).toEqual([
      ['mono', 'pass', 202],
      ['odd', 'mismatch', 202],
    ]);
    expect(lines.join('\n')).toMatch(/HTTP status: recorded 204, replayed 202/);
  });
});
