/**
 * An empty answer is a one-way acknowledgement only for an operation that is one-way: a service
 * that answers a request-reply operation (as its WSDL declares it) with an empty 200 would leave a
 * WCF client waiting for its reply until the timeout; the caller gets a fault at once instead.
 */
import path from 'node:path';
import type { RelayServer } from '../../src/relay/relay-server';
import { Harness } from '../helpers/harness';
import { NetTcpClient } from '../helpers/net-tcp-client';
import { faultOf, post11 } from '../helpers/soap';
import { timeout } from './faults-support';

const NS = 'http://example.org/calc';
const CALC = `${NS}/ICalculator`;
const calc = (op: string, inner: string): string => `<${op} xmlns="${NS}">${inner}</${op}>`;
const WSDL = path.resolve(__dirname, '../../wsdl/calculator.wsdl');
const NO_HANG_MS = 15_000;

describe('empty answers against the WSDL', () => {
  const h = new Harness();
  let relay: RelayServer;

  beforeAll(async () => {
    relay = await h.relay({
      netTcp: { port: 0, host: '127.0.0.1' },
      entities: [{ path: 'empty', requiresClientAuthorization: false }, { path: 'nowsdl', requiresClientAuthorization: false }],
    });
    // Every POST gets an empty 200, whatever the operation.
    const svc = await h.httpService((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end());
    });
    const agent = await h.agent(relay, [
      { path: 'empty', target: { type: 'http', url: `${svc.url}/Calc.svc`, soapVersion: '1.1', wsdl: WSDL } },
      { path: 'nowsdl', target: { type: 'http', url: `${svc.url}/Calc.svc`, soapVersion: '1.1' } },
    ]);
    await agent.whenReady();
  });
  afterAll(() => h.close());

  it('a request-reply operation answered empty: a fault naming the operation, with a correlation id', async () => {
    const res = await timeout(post11(`${relay.url}/empty`, `${CALC}/Add`, calc('Add', '<a>1</a><b>2</b>')), NO_HANG_MS, 'Add');
    expect(res.status).toBe(500);
    const fault = faultOf(res);
    expect(fault.code).toMatchObject({ localName: 'RELAY_ERR_TARGET_BAD_RESPONSE' });
    expect(fault.reason).toMatch(/\(id [\w.-]+\)/);
  });

  it('a one-way operation answered empty: acknowledged, as before', async () => {
    const res = await timeout(post11(`${relay.url}/empty`, `${CALC}/Notify`, calc('Notify', '<msg>x</msg>')), NO_HANG_MS, 'Notify');
    expect(res.status).toBeGreaterThanOrEqual(200);
    expect(res.status).toBeLessThan(300);
    expect(res.body.length).toBe(0);
  });

  it('from a net.tcp client (SOAP 1.2, bridged): the request-reply call gets a fault, not a 60 s wait', async () => {
    const c = await NetTcpClient.connect({ port: relay.netTcp!.port });
    h.defer(() => c.destroy());
    await c.open(`${relay.netTcp!.url}/empty`);
    const reply = (await timeout(c.request(`${CALC}/Add`, calc('Add', '<a>1</a><b>2</b>')), NO_HANG_MS, 'net.tcp Add')).toString();
    expect(reply).toContain('Fault');
    expect(reply).toContain('RELAY_ERR_TARGET_BAD_RESPONSE');
  });

  it('without a WSDL the agent cannot tell: an empty answer stays an acknowledgement', async () => {
    const res = await timeout(post11(`${relay.url}/nowsdl`, `${CALC}/Add`, calc('Add', '<a>1</a><b>2</b>')), NO_HANG_MS, 'Add');
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(0);
  });
});
