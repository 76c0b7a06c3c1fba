/**
 * The credit-check sample: a financial service that must stay on-premises (customer data never
 * leaves the private network), written with the `soap` package against wsdl/credit-check.wsdl,
 * and called from the cloud through relay + agent.
 *
 * startCreditCheckService() runs it as an ordinary local HTTP SOAP 1.1 service (the agent's
 * `http` target); the module exports also make it usable as a `module` target.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { listen } from 'soap';
import { wrapSoapServices } from '../../src/agent/soap/node-soap';
import { wsdlPath } from '../common/paths';

export const CREDIT_NS = 'http://example.org/creditcheck';
export const wsdl = wsdlPath('credit-check.wsdl');

/** The bank's private customer book (it never leaves this process). */
const CUSTOMERS: Record<string, { score: number; limit: number }> = {
  'C-1001': { score: 780, limit: 50_000 },
  'C-1002': { score: 640, limit: 8_000 },
  'C-1003': { score: 510, limit: 1_000 },
};

export interface CreditDecision {
  Approved: boolean;
  Limit: number;
  Reason: string;
  Score: number;
}

export function decide(customerId: string, amount: number): CreditDecision {
  const c = CUSTOMERS[customerId];
  if (!c) {
    throw { Fault: { faultcode: 'soap:Client', faultstring: `Unknown customer '${customerId}'`, statusCode: 500 } };
  }
  const approved = c.score >= 600 && amount <= c.limit;
  const reason = approved ? 'within limit' : c.score < 600 ? 'score below 600' : `amount above the limit of ${c.limit}`;
  return { Approved: approved, Limit: c.limit, Reason: reason, Score: c.score };
}

export const service = {
  CreditCheckService: {
    BasicHttpBinding_ICreditCheck: {
      CheckCredit: async ({ customerId, amount }: { customerId?: string; amount?: number | string }) => ({
        CheckCreditResult: decide(String(customerId ?? ''), Number(amount ?? 0)),
      }),
    },
  },
};

export interface CreditCheckService {
  url: string;
  close(): Promise<void>;
}

/** Starts the service on loopback: SOAP at {url}, WSDL at {url}?wsdl. */
export async function startCreditCheckService(port = 0): Promise<CreditCheckService> {
  const server = http.createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/CreditCheck.svc`;
  listen(server, {
    path: '/CreditCheck.svc',
    services: wrapSoapServices(service, { soapVersion: 'soap11' }),
    xml: fs.readFileSync(wsdl, 'utf8').replace('http://localhost/credit-check', url),
    suppressStack: true,
  });
  return {
    url,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
