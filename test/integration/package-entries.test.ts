/**
 * The package's entry points as a consumer loads them (built dist/, by package name through the
 * exports map): `relaybridge` (relay/agent API), `relaybridge/protocol` (the codecs) and
 * `relaybridge/ipc`, which must not load express or soap.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/processes';

jest.setTimeout(60_000);

/** Runs `code` in a fresh Node inside the package (so `require('relaybridge/…')` self-resolves); its stdout as JSON. */
function inNode(code: string): unknown {
  const out = execFileSync(process.execPath, ['-e', code], { cwd: REPO_ROOT, encoding: 'utf8' });
  return JSON.parse(out);
}

const loaded = `const mods = Object.keys(require.cache).filter((f) => /node_modules[\\\\/](express|soap|ws|pino|prom-client)[\\\\/]/.test(f)).map((f) => f.match(/node_modules[\\\\/]([^\\\\/]+)/)[1]);`;

beforeAll(() => {
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'src', 'ipc.js'))) throw new Error('dist/ is missing: run npm run build first');
});

describe('package entry points', () => {
  it('relaybridge/ipc gives registerService and SoapFault without loading express, soap, ws, pino or prom-client', () => {
    const r = inNode(`const ipc = require('relaybridge/ipc'); ${loaded} console.log(JSON.stringify({ keys: Object.keys(ipc).sort(), mods: [...new Set(mods)] }))`) as { keys: string[]; mods: string[] };
    expect(r.keys).toEqual(['SoapFault', 'registerService']);
    expect(r.mods).toEqual([]);
  });

  it('relaybridge gives the relay and agent API', () => {
    const r = inNode(`const rb = require('relaybridge'); console.log(JSON.stringify(Object.keys(rb)))`) as string[];
    for (const name of ['createRelayServer', 'createAgent', 'createSasToken', 'parseSasToken', 'generateKey', 'registerService', 'ConfigError', 'ERROR_CODES', 'parseConnectionString', 'formatConnectionString']) expect(r).toContain(name);
  });

  it('relaybridge/protocol gives the codecs, and loads no server or logging module', () => {
    const r = inNode(
      `const p = require('relaybridge/protocol'); ${loaded} console.log(JSON.stringify({ ns: Object.keys(p).sort(), hyco: typeof p.hyco.parseListenerMessage, nmf: Object.keys(p.nmf).length, nbfx: Object.keys(p.nbfx).length, mods: [...new Set(mods)] }))`,
    ) as { ns: string[]; hyco: string; nmf: number; nbfx: number; mods: string[] };
    expect(r.ns).toEqual(expect.arrayContaining(['hyco', 'nmf', 'nbfx', 'websocket', 'soapEnvelope', 'soapFault', 'xmlTextReader']));
    expect(r.hyco).toBe('function');
    expect(r.nmf).toBeGreaterThan(3);
    expect(r.nbfx).toBeGreaterThan(3);
    expect(r.mods).toEqual([]);
  });

  it('deep imports into dist/ are closed by the exports map', () => {
    expect(() => execFileSync(process.execPath, ['-e', "require('relaybridge/dist/src/relay/relay-server.js')"], { cwd: REPO_ROOT, stdio: 'pipe' })).toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });
});
