/** SOAP request builders and response readers for agent/relay SOAP tests. */
import { randomUUID } from 'node:crypto';
import { parseFault } from '../../src/protocol/soap/fault';
import { scanEnvelope } from '../../src/protocol/soap/envelope';
import { request, type SimpleResponse } from './harness';

export const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_NS = 'http://www.w3.org/2003/05/soap-envelope';
export const WSA_NS = 'http://www.w3.org/2005/08/addressing';

export function soap11Envelope(body: string, headers = ''): string {
  return `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="${SOAP11_NS}">${headers ? `<s:Header>${headers}</s:Header>` : ''}<s:Body>${body}</s:Body></s:Envelope>`;
}

/** A SOAP 1.2 + WS-Addressing 1.0 request as WCF's WSHttpBinding writes it (oneWay: no MessageID/ReplyTo). */
export function soap12Envelope(body: string, o: { action: string; to: string; messageId?: string; oneWay?: boolean }): string {
  const id = o.messageId ?? `urn:uuid:${randomUUID()}`;
  const reply = o.oneWay ? '' : `<a:MessageID>${id}</a:MessageID><a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>`;
  return (
    `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:a="${WSA_NS}" xmlns:s="${SOAP12_NS}"><s:Header>` +
    `<a:Action s:mustUnderstand="1">${o.action}</a:Action>${reply}<a:To s:mustUnderstand="1">${o.to}</a:To></s:Header>` +
    `<s:Body>${body}</s:Body></s:Envelope>`
  );
}

export function post11(url: string, action: string, body: string, headers: Record<string, string> = {}): Promise<SimpleResponse> {
  return request(url, { method: 'POST', headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${action}"`, ...headers }, body: soap11Envelope(body) });
}

export function post12(url: string, action: string, body: string, o: { messageId?: string; to?: string; oneWay?: boolean; headers?: Record<string, string> } = {}): Promise<SimpleResponse> {
  return request(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/soap+xml; charset=utf-8', ...o.headers },
    body: soap12Envelope(body, { action, to: o.to ?? url, messageId: o.messageId, oneWay: o.oneWay }),
  });
}

/** The text of the first element with this local name (any namespace). */
export function textOf(xml: Buffer | string, localName: string): string | undefined {
  const m = new RegExp(`<(?:[\\w.-]+:)?${localName}(?:\\s[^>]*)?>([^<]*)</(?:[\\w.-]+:)?${localName}>`).exec(xml.toString());
  return m?.[1];
}

export function envelopeOf(res: SimpleResponse) {
  return scanEnvelope(res.body);
}

export function faultOf(res: SimpleResponse) {
  const f = parseFault(res.body);
  if (!f) throw new Error(`not a fault: ${res.status} ${res.body.toString()}`);
  return f;
}
