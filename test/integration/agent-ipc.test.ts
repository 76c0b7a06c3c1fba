/**
 * The `ipc` target end to end: local Node processes (here: clients in the test process) register
 * SOAP operations with the agent over net-ipc and are called through relay + agent.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Harness, request } from '../helpers/harness';
import { envelopeOf, faultOf, post11, post12 } from '../helpers/soap';
import { registerService, SoapFault, type IpcServiceRegistration } from '../../src/agent/ipc/ipc-client';
import type { RelayServer } from '../../src/relay/relay-server';
import type { Agent } from '../../src/agent/agent';

const NS = 'http://example.org/calc';
const A = `${NS}/ICalculator`;
const op = (name: string, inner: string) => `<${name} xmlns="${NS}">${inner}</${name}>`;

describe('ipc target through relay + agent', () => {
  const h = new Harness();
  let relay: RelayServer;
  let agent: Agent;
  let socketPath: string;
  let reg: IpcServiceRegistration;
  const notified: string[] = [];
  let releaseSlow: (() => void) | undefined;

  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-ipc-'));
    h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    socketPath = path.join(dir, 'agent.sock');
    relay = await h.relay({ entities: ['calc', 'empty', 'gone', 'contract', 'orders'].map((p) => ({ path: p, requiresClientAuthorization: false })) });
    agent = await h.agent(relay, [
      { path: 'calc', target: { type: 'ipc', socketPath, timeoutMs: 500 } },
      { path: 'empty', target: { type: 'ipc', socketPath } },
      { path: 'gone', target: { type: 'ipc', socketPath, timeoutMs: 10_000 } },
      { path: 'contract', target: { type: 'ipc', socketPath } },
      { path: 'orders', target: { type: 'ipc', socketPath } },
    ]);
    await agent.whenReady();
    reg = await registerService({
      socketPath,
      path: 'calc',
      wsdl: '<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" name="Calc"/>',
      operations: {
        Add: ({ a, b }) => Number(a) + Number(b),
        Echo: async ({ text }) => `echo:${String(text)}`,
        Record: () => ({ Id: 42, Tags: ['a', 'b'], When: new Date('2024-01-02T03:04:05Z'), Missing: null }),
        Divide: ({ a, b }) => {
          if (Number(b) === 0) {
            throw new SoapFault({
              code: 'Sender',
              reason: 'Cannot divide by zero',
              subcode: { namespaceUri: 'http://example.org/calc/faults', localName: 'DivideByZero' },
              detail: '<CalcFault xmlns="http://example.org/calc/data"><Operation>Divide</Operation></CalcFault>',
              action: `${A}/DivideCalcFaultFault`,
            });
          }
          return Math.trunc(Number(a) / Number(b));
        },
        Crash: () => {
          throw new Error('secret internal detail');
        },
        Slow: () => new Promise((r) => setTimeout(() => r(1), 2000).unref()),
        Notify: { oneWay: true, handler: ({ msg }) => void notified.push(String(msg)) },
      },
    });
    h.defer(() => reg.close());
    // The calculator's WSDL registered with the operations: faults thrown without an action get the contract's.
    const withContract = await registerService({
      socketPath,
      path: 'contract',
      wsdl: fs.readFileSync(path.resolve(__dirname, '../../wsdl/calculator.wsdl'), 'utf8'),
      operations: {
        Divide: () => {
          throw new SoapFault({ code: 'Sender', reason: 'Cannot divide by zero', detail: '<CalcFault xmlns="http://example.org/calc/data"><Operation>Divide</Operation></CalcFault>' });
        },
        Fail: () => {
          throw new SoapFault({ code: 'Sender', reason: 'no detail' });
        },
      },
    });
    h.defer(() => withContract.close());
    // Arguments typed by the WSDL's schema.
    const typed = await registerService({
      socketPath,
      path: 'orders',
      wsdl: fs.readFileSync(path.resolve(__dirname, '../fixtures/wsdl/orders.wsdl'), 'utf8'),
      typedArguments: true,
      operations: {
        Book: ({ order, count }) => {
          const o = order as { Id: unknown; When: unknown; Rush: unknown; Tags: { string: unknown } };
          return [typeof o.Id, o.When instanceof Date ? (o.When as Date).getUTCFullYear() : 'text', o.Rush, Array.isArray(o.Tags.string), (count as number) + 1].join(',');
        },
      },
    });
    h.defer(() => typed.close());
  });
  afterAll(() => h.close());

  it('registers and answers request/reply in SOAP 1.1', async () => {
    const res = await post11(`${relay.url}/calc`, `${A}/Add`, op('Add', '<a>2</a><b>3</b>'));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/xml/);
    expect(res.body.toString()).toContain(`<AddResponse xmlns="${NS}"><AddResult>5</AddResult></AddResponse>`);
  });

  it('answers SOAP 1.2 callers in SOAP 1.2 with Action and RelatesTo', async () => {
    const id = 'urn:uuid:12121212-2222-3333-4444-555555555555';
    const res = await post12(`${relay.url}/calc`, `${A}/Echo`, op('Echo', '<text>h&#233;llo &lt;&amp;&gt;</text>'), { messageId: id });
    expect(res.status).toBe(200);
    expect(envelopeOf(res).addressing).toMatchObject({ action: `${A}/EchoResponse`, relatesTo: id });
    expect(res.body.toString()).toContain('<EchoResult>echo:héllo &lt;&amp;&gt;</EchoResult>');
  });

  it('writes structured results: objects, arrays, dates, nil', async () => {
    const res = await post11(`${relay.url}/calc`, `${A}/Record`, op('Record', ''));
    const body = res.body.toString();
    expect(body).toContain('<RecordResult><Id>42</Id><Tags>a</Tags><Tags>b</Tags><When>2024-01-02T03:04:05.000Z</When>');
    expect(body).toMatch(/<Missing xmlns:i="http:\/\/www.w3.org\/2001\/XMLSchema-instance" i:nil="true"\/>/);
  });

  it('a thrown SoapFault becomes a typed fault (subcode, detail, action)', async () => {
    const id = 'urn:uuid:13131313-2222-3333-4444-555555555555';
    const res = await post12(`${relay.url}/calc`, `${A}/Divide`, op('Divide', '<a>1</a><b>0</b>'), { messageId: id });
    expect(res.status).toBe(500);
    const f = faultOf(res);
    expect(f).toMatchObject({ kind: 'Sender', reason: 'Cannot divide by zero', action: `${A}/DivideCalcFaultFault`, relatesTo: id });
    expect(f.subcodes[0]).toMatchObject({ localName: 'DivideByZero', namespaceUri: 'http://example.org/calc/faults' });
    expect(res.body.toString()).toContain('<Operation>Divide</Operation>');
    const f11 = faultOf(await post11(`${relay.url}/calc`, `${A}/Divide`, op('Divide', '<a>1</a><b>0</b>')));
    expect(f11.code).toMatchObject({ localName: 'DivideByZero' });
  });

  it('a typed fault thrown without an action gets the one the registered WSDL names for its detail', async () => {
    const f = faultOf(await post12(`${relay.url}/contract`, `${A}/Divide`, op('Divide', '<a>1</a><b>0</b>'), { messageId: 'urn:uuid:1' }));
    expect(f).toMatchObject({ kind: 'Sender', action: `${A}/DivideCalcFaultFault`, relatesTo: 'urn:uuid:1' });
    // no detail, no contract fault: WCF's generic fault action
    const plain = faultOf(await post12(`${relay.url}/contract`, `${A}/Fail`, op('Fail', ''), { messageId: 'urn:uuid:2' }));
    expect(plain.action).toBe('http://schemas.microsoft.com/net/2005/12/windowscommunicationfoundation/dispatcher/fault');
  });

  it('typedArguments: the handler gets the types the registered WSDL declares', async () => {
    const res = await post11(
      `${relay.url}/orders`,
      'urn:orders/IOrders/Book',
      '<Book xmlns="urn:orders"><order xmlns:d="urn:orders:data" xmlns:a="http://schemas.microsoft.com/2003/10/Serialization/Arrays"><d:Id>42</d:Id><d:When>2024-05-06T07:08:09Z</d:When><d:Rush>true</d:Rush><d:Tags><a:string>x</a:string></d:Tags></order><count>2</count></Book>',
    );
    expect(res.status).toBe(200);
    expect(res.body.toString()).toContain('<BookResult>number,2024,true,true,3</BookResult>');
    await expect(registerService({ socketPath, path: 'orders', typedArguments: true, operations: {} })).rejects.toThrow(/typedArguments needs the wsdl/);
  });

  it('an unexpected error becomes a Receiver fault without the internal message', async () => {
    const res = await post11(`${relay.url}/calc`, `${A}/Crash`, op('Crash', ''));
    expect(res.status).toBe(500);
    const f = faultOf(res);
    expect(f.kind).toBe('Receiver');
    expect(f.reason).toMatch(/internal error/);
    expect(res.body.toString()).not.toContain('secret');
  });

  it('one-way: 202 at once and the handler runs', async () => {
    const res = await post11(`${relay.url}/calc`, `${A}/Notify`, op('Notify', '<msg>ping-1</msg>'));
    expect(res.status).toBe(202);
    expect(res.body.length).toBe(0);
    const start = Date.now();
    while (!notified.includes('ping-1') && Date.now() - start < 3000) await new Promise((r) => setTimeout(r, 10));
    expect(notified).toContain('ping-1');
  });

  it('an operation nobody registered: ActionNotSupported (Sender)', async () => {
    const res = await post11(`${relay.url}/calc`, `${A}/Nope`, op('Nope', ''));
    expect(res.status).toBe(500);
    expect(faultOf(res).code).toMatchObject({ localName: 'ActionNotSupported' });
  });

  it('a slow operation: a timeout fault after target.timeoutMs', async () => {
    const res = await post11(`${relay.url}/calc`, `${A}/Slow`, op('Slow', ''));
    expect(res.status).toBe(500);
    expect(faultOf(res).reason).toMatch(/did not answer Slow in 500 ms/);
  });

  it('serves the registered WSDL for ?wsdl (404 when none was registered)', async () => {
    const res = await request(`${relay.url}/calc?wsdl`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toContain('name="Calc"');
    expect((await request(`${relay.url}/empty?wsdl`)).status).toBe(404);
  });

  it('nothing registered on the path: a fault saying so, not a hang', async () => {
    const res = await post12(`${relay.url}/empty`, `${A}/Add`, op('Add', ''));
    expect(res.status).toBe(500);
    expect(faultOf(res)).toMatchObject({ soapVersion: 'soap12', kind: 'Receiver' });
    expect(faultOf(res).reason).toMatch(/no local process has registered 'empty'/);
  });

  it('a path the agent does not serve over IPC is refused at registration', async () => {
    await expect(registerService({ socketPath, path: 'other', operations: { X: () => 1 }, reconnect: false })).rejects.toThrow(/not an ipc service/);
  });

  it('the process goes away mid-call: the caller gets a fault at once', async () => {
    const r = await registerService({
      socketPath,
      path: 'gone',
      reconnect: false,
      operations: { Hang: () => new Promise((resolve) => (releaseSlow = () => resolve(0))) },
    });
    const pending = post11(`${relay.url}/gone`, `${A}/Hang`, op('Hang', ''));
    const start = Date.now();
    while (!releaseSlow && Date.now() - start < 3000) await new Promise((res) => setTimeout(res, 10));
    await r.close();
    const res = await pending;
    expect(res.status).toBe(500);
    expect(faultOf(res).reason).toMatch(/disconnected/);
    releaseSlow?.();
  });

  it('SOAP 1.2 one-way (no MessageID) to an ipc operation gets 202', async () => {
    const res = await post12(`${relay.url}/calc`, `${A}/Notify`, op('Notify', '<msg>ping-2</msg>'), { oneWay: true });
    expect(res.status).toBe(202);
  });
});
