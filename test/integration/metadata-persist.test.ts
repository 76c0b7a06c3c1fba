/**
 * Metadata cached by one relay is served by the next one on the same store file while the agent
 * is offline (the embedded store keeps documents beside its file).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemoryStore } from '../../src/store/memory-store';
import { Harness, request } from '../helpers/harness';

const wsdlAt = (base: string) =>
  `<?xml version="1.0" encoding="utf-8"?><wsdl:definitions name="Svc" targetNamespace="http://tempuri.org/" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" ` +
  `xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"><wsdl:service name="Svc"><wsdl:port name="basic" binding="tns:B">` +
  `<soap:address location="${base}"/></wsdl:port></wsdl:service></wsdl:definitions>`;

describe('metadata across a relay restart', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaybridge-meta-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a restarted relay serves the last WSDL, rewritten to its own address, with no agent online', async () => {
    const file = path.join(dir, 'store.json');
    const entities = [{ path: 'calc', requiresClientAuthorization: false }];

    const first = new Harness();
    let serviceBase = '';
    try {
      const relay = await first.relay({ store: new MemoryStore({ file }), entities });
      const svc = await first.httpService((req, res) => {
        res.setHeader('Content-Type', 'text/xml; charset=utf-8');
        res.end(/\?wsdl$/i.test(req.url ?? '') ? wsdlAt(`${serviceBase}/svc`) : '');
      });
      serviceBase = svc.url;
      const agent = await first.agent(relay, [{ path: 'calc', target: { type: 'http', url: `${svc.url}/svc` } }]);
      await agent.whenReady();
      const live = await request(`${relay.url}/calc?wsdl`);
      expect(live.status).toBe(200);
      expect(live.body.toString()).toContain(`location="${relay.url}/calc"`);
    } finally {
      await first.close();
    }

    const second = new Harness();
    try {
      const relay = await second.relay({ store: new MemoryStore({ file }), entities });
      const cached = await request(`${relay.url}/calc?wsdl`);
      expect(cached.status).toBe(200);
      const text = cached.body.toString();
      expect(text).toContain(`location="${relay.url}/calc"`);
      expect(text).not.toContain(serviceBase);
      // Nothing else was cached, and with no agent a fresh document cannot be had.
      expect((await request(`${relay.url}/calc?xsd=xsd9`)).status).toBeGreaterThanOrEqual(400);
    } finally {
      await second.close();
    }
  });
});
