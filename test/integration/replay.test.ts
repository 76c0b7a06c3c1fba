/**
 * `relaybridge replay`: the sample folder recorded from the WCF calculator (Mono captures) is
 * replayed through relay + agent against the calculator sample (node-soap, module target) and
 * passes; a changed service gives readable diffs and exit code 1.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Harness, ROOT_KEY, ROOT_KEY_NAME } from '../helpers/harness';
import type { RelayServer } from '../../src/relay/relay-server';
import { runReplay } from '../../src/cli/replay/replay';
import { replayCommand } from '../../src/cli/commands/replay';

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
});
