/**
 * `relaybridge record`, then `relaybridge replay`: real calls through relay + agent to a legacy
 * SOAP service pass a recording proxy (the agent's target points at it) and land in a replay
 * folder with secrets redacted; the folder replays green against the legacy service directly and
 * against its replacement through the relay, and a replacement that answers differently fails
 * with a diff. Bounded by --max-cases; the CLI runs it as a process.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { RelayServer } from '../../src/relay/relay-server';
import { replayCommand } from '../../src/cli/commands/replay';
import { startRecorder } from '../../src/cli/commands/record';
import { Harness, ROOT_KEY, ROOT_KEY_NAME, request, token, waitFor } from '../helpers/harness';
import { freePort } from '../helpers/processes';

const NS = 'http://example.org/calc';

/** A SOAP 1.1 service: Add, Login (answers a session id), Notify (one-way: 202). `sum` changes Add's answer. */
function soapService(sum = (a: number, b: number) => a + b): http.RequestListener {
  return (req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const action = String(req.headers.soapaction ?? '').replace(/"/g, '');
      const reply = (body: string) => {
        res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' });
        res.end(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>${body}</s:Body></s:Envelope>`);
      };
      if (action.endsWith('/Add')) {
        const [a, b] = [/<a>(\d+)</.exec(text)?.[1], /<b>(\d+)</.exec(text)?.[1]].map(Number);
        return reply(`<AddResponse xmlns="${NS}"><AddResult>${sum(a!, b!)}</AddResult></AddResponse>`);
      }
      if (action.endsWith('/Login')) return reply(`<LoginResponse xmlns="${NS}"><LoginResult>session-for-${/<user>([^<]*)</.exec(text)?.[1]}</LoginResult></LoginResponse>`);
      if (action.endsWith('/Notify')) return void res.writeHead(202).end();
      res.writeHead(500).end();
    });
  };
}

const envelope = (body: string) => `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>${body}</s:Body></s:Envelope>`;

describe('record, then replay', () => {
  const h = new Harness();
  let relay: RelayServer;
  let legacyUrl: string;
  let dir: string;
  const lines: string[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-record-'));
    h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    legacyUrl = (await h.httpService(soapService())).url;
    const rec = await startRecorder({ target: `${legacyUrl}/calc`, dir: path.join(dir, 'recorded'), maxCases: 3 }, (l) => lines.push(l));
    h.defer(() => rec.stop());
    const replacement = (await h.httpService(soapService())).url;
    const broken = (await h.httpService(soapService((a, b) => a * b))).url;
    relay = await h.relay({ entities: ['legacy', 'new', 'broken'].map((p) => ({ path: p, requiresClientAuthorization: true })) });
    const agent = await h.agent(relay, [
      // The agent's target is the recording proxy in front of the legacy service.
      { path: 'legacy', target: { type: 'http', url: rec.url, soapVersion: '1.1' } },
      { path: 'new', target: { type: 'http', url: `${replacement}/calc`, soapVersion: '1.1' } },
      { path: 'broken', target: { type: 'http', url: `${broken}/calc`, soapVersion: '1.1' } },
    ]);
    await agent.whenReady();
  });
  afterAll(() => h.close());

  const call = (op: string, body: string) =>
    request(`${relay.url}/legacy`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${NS}/ICalculator/${op}"`, ServiceBusAuthorization: token(relay, 'legacy') },
      body: envelope(body),
    });

  it('records real calls through the relay into a replay folder, secrets redacted, bounded', async () => {
    expect((await call('Add', `<Add xmlns="${NS}"><a>2</a><b>3</b></Add>`)).status).toBe(200);
    const login = await call('Login', `<Login xmlns="${NS}"><user>ada</user><Password>hunter2</Password></Login>`);
    expect(login.body.toString()).toContain('session-for-ada');
    expect((await call('Notify', `<Notify xmlns="${NS}"><text>hi</text></Notify>`)).status).toBe(202);
    // Past --max-cases 3: still answered, not recorded.
    expect((await call('Add', `<Add xmlns="${NS}"><a>1</a><b>1</b></Add>`)).status).toBe(200);
    await waitFor(() => lines.some((l) => l.includes('--max-cases')), 5000, 'the bound to be reported');

    const rec = path.join(dir, 'recorded');
    const files = fs.readdirSync(rec).sort();
    expect(files).toEqual([
      '0001-Add.json',
      '0001-Add.request.xml',
      '0001-Add.response.xml',
      '0002-Login.json',
      '0002-Login.request.xml',
      '0002-Login.response.xml',
      '0003-Notify.json',
      '0003-Notify.request.xml',
      'redactions.json',
    ]);
    for (const f of files) expect(fs.readFileSync(path.join(rec, f), 'utf8')).not.toContain('hunter2');
    expect(fs.readFileSync(path.join(rec, '0002-Login.request.xml'), 'utf8')).toContain('<Password>[redacted]</Password>');
    expect(JSON.parse(fs.readFileSync(path.join(rec, '0002-Login.json'), 'utf8'))).toMatchObject({ soapAction: `${NS}/ICalculator/Login`, status: 200, redacted: ['Password ×1'] });
    expect(JSON.parse(fs.readFileSync(path.join(rec, '0003-Notify.json'), 'utf8'))).toMatchObject({ status: 202 });
    expect(JSON.parse(fs.readFileSync(path.join(rec, 'redactions.json'), 'utf8'))).toMatchObject({ cases: 3, redacted: { Password: 1 } });
  });

  it('replays green against the legacy service directly and its replacement through the relay; a different answer fails with a diff', async () => {
    const rec = path.join(dir, 'recorded');
    const out: string[] = [];
    expect(await replayCommand({ dir: rec, relay: legacyUrl, path: 'calc' }, (l) => out.push(l))).toBe(0);
    expect(await replayCommand({ dir: rec, relay: relay.url, path: 'new', keyName: ROOT_KEY_NAME, key: ROOT_KEY }, (l) => out.push(l))).toBe(0);
    const broken: string[] = [];
    expect(await replayCommand({ dir: rec, relay: relay.url, path: 'broken', keyName: ROOT_KEY_NAME, key: ROOT_KEY }, (l) => broken.push(l))).toBe(1);
    expect(broken.join('\n')).toMatch(/FAIL {2}0001-Add[\s\S]*AddResult>5\n +\+ +<\{http:\/\/example.org\/calc\}AddResult>6/);

    // Two live services: the legacy one (directly, or on the relay) answers first, the other must match it.
    expect(await replayCommand({ dir: rec, relay: relay.url, path: 'new', keyName: ROOT_KEY_NAME, key: ROOT_KEY, against: `${legacyUrl}/calc` }, (l) => out.push(l))).toBe(0);
    expect(await replayCommand({ dir: rec, relay: relay.url, path: 'new', keyName: ROOT_KEY_NAME, key: ROOT_KEY, against: `${relay.url}/legacy` }, (l) => out.push(l))).toBe(0);
    const live: string[] = [];
    expect(await replayCommand({ dir: rec, relay: relay.url, path: 'broken', keyName: ROOT_KEY_NAME, key: ROOT_KEY, against: `${legacyUrl}/calc` }, (l) => live.push(l))).toBe(1);
    expect(live.join('\n')).toMatch(/answers compared with http:\/\/127\.0\.0\.1:\d+\/calc's[\s\S]*FAIL {2}0001-Add/);
  });

  it('a message over --max-bytes passes through whole, both ways, and is not recorded', async () => {
    const svc = await h.httpService((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => res.end(Buffer.concat([Buffer.from(`got ${Buffer.concat(chunks).length} `), Buffer.alloc(3000, 'r')])));
    });
    const log: string[] = [];
    const out = path.join(dir, 'bounded');
    const rec = await startRecorder({ target: svc.url, dir: out, maxBytes: 1024 }, (l) => log.push(l));
    try {
      const res = await request(`${rec.url}/x`, { method: 'POST', headers: { 'Content-Type': 'text/xml' }, body: Buffer.alloc(4096, 'q') });
      expect(res.body.subarray(0, 9).toString()).toBe('got 4096 ');
      expect(res.body.length).toBe(9 + 3000);
      await waitFor(() => log.some((l) => l.includes('not recorded: a message over 1024 bytes')), 5000, 'the skip');
      expect(fs.readdirSync(out)).toEqual([]);
    } finally {
      await rec.stop();
    }
  });

  it('the CLI: `relaybridge record` as a process, stopped by SIGTERM (exit 0)', async () => {
    const port = await freePort();
    const out = path.join(dir, 'cli');
    const cli = spawn(process.execPath, [path.join(__dirname, '../../dist/src/cli/main.js'), 'record', '--target', `${legacyUrl}/calc`, '--dir', out, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    cli.stdout.on('data', (d: Buffer) => (text += d.toString()));
    try {
      await waitFor(() => text.includes('recording calls to'), 15_000, 'the recorder to listen');
      const res = await request(`http://127.0.0.1:${port}/`, { method: 'POST', headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${NS}/ICalculator/Add"` }, body: envelope(`<Add xmlns="${NS}"><a>4</a><b>5</b></Add>`) });
      expect(res.body.toString()).toContain('<AddResult>9</AddResult>');
      await waitFor(() => text.includes('recorded 0001-Add'), 5000, 'the case to be written');
    } finally {
      const exited = new Promise<number | null>((r) => cli.once('exit', (code) => r(code)));
      cli.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    expect(fs.readdirSync(out)).toContain('0001-Add.request.xml');
  }, 30_000);
});
