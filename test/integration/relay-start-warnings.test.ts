/**
 * Settings that start fine but mislead are warned about at start: a publicUrl whose port is not
 * the port the relay listens on (https without a port means 443), and a relay with no rule at all
 * (nobody can listen or manage). The start line names the address really bound (port 0 → the
 * port picked). And `?wsdl` on an entity that requires a token works with `&sb-hc-token=`, as
 * node-soap passes it (in the URL, or in wsdl_headers).
 */
import fs from 'node:fs';
import path from 'node:path';
import * as soap from 'soap';
import type { Logger } from '../../src/core/logger';
import { Harness, ROOT_KEY, ROOT_KEY_NAME, token } from '../helpers/harness';
import { freePort } from '../helpers/processes';

jest.setTimeout(60_000);

interface Line {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}

function captureLogger(lines: Line[], bindings: Record<string, unknown> = {}): Logger {
  const at =
    (level: string) =>
    (a: object | string, b?: string): void => {
      if (typeof a === 'string') lines.push({ level, obj: { ...bindings }, msg: a });
      else lines.push({ level, obj: { ...bindings, ...(a as Record<string, unknown>) }, msg: b ?? '' });
    };
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (b) => captureLogger(lines, { ...bindings, ...b }) };
}

const NO_RULES = /no authorization rules/;
const PORT_MISMATCH = /publicUrl .* names port/;

describe('warnings at start', () => {
  const h = new Harness();
  afterEach(() => h.close());

  it('warns when publicUrl names another port than the one the relay listens on, naming both', async () => {
    const lines: Line[] = [];
    const relay = await h.relay({ publicUrl: 'http://127.0.0.1:1', logger: captureLogger(lines) });
    const port = Number(new URL(relay.url).port);
    const warn = lines.find((l) => l.level === 'warn' && PORT_MISMATCH.test(l.msg));
    expect(warn).toBeDefined();
    expect(warn!.msg).toContain('port 1 ');
    expect(warn!.msg).toContain(`port ${port}`);
    expect(warn!.obj).toMatchObject({ publicUrl: 'http://127.0.0.1:1', publicPort: 1, port });
  });

  it('takes https without a port as 443', async () => {
    const lines: Line[] = [];
    await h.relay({ publicUrl: 'https://relay.example.com', logger: captureLogger(lines) });
    const warn = lines.find((l) => l.level === 'warn' && PORT_MISMATCH.test(l.msg));
    expect(warn?.obj).toMatchObject({ publicPort: 443 });
  });

  it('does not warn when the ports agree', async () => {
    const port = await freePort();
    const lines: Line[] = [];
    await h.relay({ port, publicUrl: `http://localhost:${port}/`, logger: captureLogger(lines) });
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('warns that nobody can listen or manage when there is no namespace rule and no entity rule', async () => {
    const lines: Line[] = [];
    await h.relay({ namespaceRules: [], entities: [{ path: 'open', requiresClientAuthorization: false }], logger: captureLogger(lines) });
    const warn = lines.find((l) => l.level === 'warn' && NO_RULES.test(l.msg));
    expect(warn?.msg).toMatch(/no agent can listen and nobody can manage/);
  });

  it('does not warn about rules when only an entity has one', async () => {
    const lines: Line[] = [];
    await h.relay({
      namespaceRules: [],
      entities: [{ path: 'svc', authorizationRules: [{ keyName: 'listen', primaryKey: ROOT_KEY, rights: ['Listen'] }] }],
      logger: captureLogger(lines),
    });
    expect(lines.some((l) => NO_RULES.test(l.msg))).toBe(false);
  });

  it('names the address it really binds in the start line (port 0 → the port picked)', async () => {
    const lines: Line[] = [];
    const relay = await h.relay({ port: 0, logger: captureLogger(lines) });
    const port = Number(new URL(relay.url).port);
    expect(port).toBeGreaterThan(0);
    const start = lines.find((l) => /^relay listening/.test(l.msg));
    expect(start?.msg).toBe(`relay listening on 127.0.0.1:${port}`);
    expect(start?.obj).toMatchObject({ address: `127.0.0.1:${port}`, port, url: relay.url });
  });
});

describe('?wsdl on an entity that requires a token', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('is served with &sb-hc-token= in the URL and through node-soap (URL or wsdl_headers), refused without', async () => {
    const wsdl = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'wsdl', 'calculator.wsdl'), 'utf8');
    const svc = await h.httpService();
    svc.server.removeAllListeners('request');
    const impl = { Add: (a: { a: string; b: string }) => ({ AddResult: Number(a.a) + Number(a.b) }), Echo: (a: { text?: string }) => ({ EchoResult: a.text ?? '' }), Notify: () => ({}) };
    await new Promise<void>((resolve, reject) =>
      soap.listen(svc.server, {
        path: '/calc',
        services: { CalculatorService: { BasicHttpBinding_ICalculator: impl, WSHttpBinding_ICalculator: impl } },
        xml: wsdl,
        callback: (err: unknown) => (err ? reject(err) : resolve()),
      }),
    );
    const relay = await h.relay({ entities: [{ path: 'calc', requiresClientAuthorization: true }] });
    const agent = await h.agent(relay, [{ path: 'calc', target: { type: 'http', url: `${svc.url}/calc` } }]);
    await agent.whenReady();
    const url = `${relay.url}/calc?wsdl`;
    const tok = token(relay, 'calc', ROOT_KEY_NAME, ROOT_KEY);

    await expect(soap.createClientAsync(url)).rejects.toThrow();

    const client = await soap.createClientAsync(`${url}&sb-hc-token=${encodeURIComponent(tok)}`);
    client.addHttpHeader('ServiceBusAuthorization', tok);
    const [sum] = await client.AddAsync({ a: 2, b: 3 });
    expect(Number(sum.AddResult)).toBe(5);

    const viaHeader = await soap.createClientAsync(url, { wsdl_headers: { ServiceBusAuthorization: tok } });
    viaHeader.addHttpHeader('ServiceBusAuthorization', tok);
    const [echo] = await viaHeader.EchoAsync({ text: 'hi' });
    expect(echo.EchoResult).toBe('hi');
  });
});
