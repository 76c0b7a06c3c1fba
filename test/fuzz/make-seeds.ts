/**
 * Writes the committed hand-made seeds under test/fuzz/corpus/<target>/ for what the captures in
 * ../shared/vectors do not hold: WebSocket frames, Hybrid Connections control messages, SAS
 * tokens, NMF records the captures never use (singleton, upgrade, faults), small NBFX documents.
 * Re-run after changing it: `node -r ./test/fuzz/register.js test/fuzz/make-seeds.ts`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSasToken } from '../../src/auth/sas-token';
import { serializeAccept, serializeRenewToken, serializeRequest, serializeResponse } from '../../src/protocol/hyco';
import { applyMask, encodeClosePayload, encodeFrameHeader } from '../../src/protocol/websocket';
import { SessionWriter } from '../../src/protocol/nbfx';
import { xmlToBinary } from '../../src/protocol/soap-binary';
import { COMMITTED_CORPUS_DIR } from './seed';
import { joinSessionMessages } from './targets';

function put(target: string, name: string, bytes: Buffer | string): void {
  const dir = join(COMMITTED_CORPUS_DIR, target);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes);
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const mask = Buffer.from([1, 2, 3, 4]);

/** One frame with a fixed mask key (deterministic seeds). */
function encodeFrame(o: { opcode: number; payload: Buffer; fin?: boolean; mask?: Buffer }): Buffer {
  const fin = o.fin ?? true;
  const head = encodeFrameHeader({ fin, opcode: o.opcode, payloadLength: o.payload.length, mask: o.mask });
  return Buffer.concat([head, o.mask ? applyMask(o.payload, o.mask, 0) : o.payload]);
}

// WebSocket: masked client frames (server role) and unmasked server frames (client role).
put('websocket-frames', 'text-masked', encodeFrame({ opcode: 1, payload: Buffer.from('hello'), mask }));
put('websocket-frames', 'binary-unmasked-126', encodeFrame({ opcode: 2, payload: Buffer.alloc(200, 7) }));
put('websocket-frames', 'fragments-with-ping', Buffer.concat([
  encodeFrame({ opcode: 1, fin: false, payload: Buffer.from('he'), mask }),
  encodeFrame({ opcode: 9, payload: Buffer.from('p'), mask }),
  encodeFrame({ opcode: 0, payload: Buffer.from('llo'), mask }),
]));
put('websocket-frames', 'close-1000', encodeFrame({ opcode: 8, payload: encodeClosePayload(1000, 'bye'), mask }));
put('websocket-frames', 'close-unmasked', encodeFrame({ opcode: 8, payload: encodeClosePayload(1001, 'going') }));
put('websocket-frames', 'len64', hex('827f0000000000010000'));

// Hybrid Connections control messages, both directions.
const headers = { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '"http://example.org/calc/ICalculator/Add"', 'Content-Length': '191' };
put('hyco-service', 'request-full', serializeRequest({
  address: 'wss://relay.example/$hc/calc?sb-hc-action=request&sb-hc-id=42', id: '42', requestTarget: '/calc?x=1', method: 'POST',
  remoteEndpoint: { address: '127.0.0.1', port: 50000 }, requestHeaders: headers, body: true,
}));
put('hyco-service', 'request-address-only', serializeRequest({ address: 'wss://relay.example/$hc/calc?sb-hc-action=request&sb-hc-id=43', id: '43' }));
put('hyco-service', 'accept', serializeAccept({
  address: 'wss://relay.example/$hc/calc?sb-hc-action=accept&sb-hc-id=44', id: '44',
  connectHeaders: { 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13', Host: 'relay.example' },
  remoteEndpoint: { address: '::1', port: 1 },
}));
put('hyco-service', 'proto', '{"request":{"address":"a","id":"1","method":"GET","requestHeaders":{"__proto__":{"polluted":"1"},"constructor":"x","a":1}}}');
// A header flood just over the control channel's count limit (one request must fail alone).
put('hyco-service', 'header-flood', serializeRequest({
  address: 'wss://relay.example/$hc/calc?sb-hc-action=request&sb-hc-id=45', id: '45', method: 'GET',
  requestHeaders: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`x-h${i}`, 'v'])),
}));
put('hyco-listener', 'response', serializeResponse({ requestId: '42', statusCode: 200, statusDescription: 'OK', responseHeaders: headers, body: true }));
put('hyco-listener', 'response-string-status', '{"response":{"requestId":"42","statusCode":"500","responseHeaders":null,"body":false}}');
put('hyco-listener', 'renew', serializeRenewToken('SharedAccessSignature sr=http%3A%2F%2Frelay%2Fcalc&sig=abc&se=1700000000&skn=RootManageSharedAccessKey'));
put('hyco-listener', 'unknown', '{"ping":{}}');

// SAS tokens as hyco-ws/hyco-https and .NET write them, and near misses.
const token = createSasToken({ resourceUri: 'http://relay.example/calc', keyName: 'RootManageSharedAccessKey', key: 'key', clock: { now: () => 1.7e12, setTimeout, clearTimeout, setInterval, clearInterval } as never });
put('sas-token', 'valid', token);
put('sas-token', 'lowercase-fields', token.replace('sr=', 'SR=').replace('skn=', 'SKN=').replace('SharedAccessSignature', 'sharedaccesssignature'));
put('sas-token', 'bad-escape', 'SharedAccessSignature sr=http%3A%2F%2Fh%2F%zz&sig=a%2Bb&se=1&skn=k');
put('sas-token', 'ipv6', 'SharedAccessSignature sr=sb%3A%2F%2F%5B%3A%3A1%5D%3A9443%2F%24hc%2Fcalc%2F&sig=x&se=0&skn=k&extra=1');

// NMF records the captures lack: singleton-unsized with an unsized envelope, a TLS upgrade, a
// simplex session, an extensible encoding, pooling (two preambles), and client-side faults.
const via = Buffer.from('net.tcp://localhost/calc');
const preamble = (mode: number, enc: Buffer): Buffer => Buffer.concat([hex('000100'), Buffer.from([1, mode]), Buffer.from([2, via.length]), via, enc]);
put('nmf-server', 'singleton-unsized', Buffer.concat([preamble(1, hex('0303')), hex('0c'), hex('05'), hex('03'), Buffer.from('abc'), hex('00'), hex('07')]));
put('nmf-server', 'upgrade-tls', Buffer.concat([preamble(2, hex('0308')), hex('09 13'), Buffer.from('application/ssl-tls'), hex('0c 06 01 00 07')]));
put('nmf-server', 'simplex', Buffer.concat([preamble(3, hex('0300')), hex('0c 06 02 5600 07')]));
put('nmf-server', 'extensible-encoding', Buffer.concat([preamble(2, Buffer.concat([hex('04 08'), Buffer.from('text/xml')])), hex('0c 07')]));
put('nmf-server', 'pooled', Buffer.concat([preamble(2, hex('0308')), hex('0c 07'), preamble(2, hex('0308')), hex('0c 07')]));
put('nmf-server', 'singleton-sized', Buffer.concat([preamble(4, hex('0303')), hex('0c'), Buffer.from('raw bytes')]));
const fault = Buffer.from('http://schemas.microsoft.com/ws/2006/05/framing/faults/EndpointNotFound');
put('nmf-client', 'fault', Buffer.concat([hex('08'), Buffer.from([fault.length]), fault]));
put('nmf-client', 'upgrade-then-ack', hex('0a 0b 06 02 5600 07'));
put('nmf-client', 'unsized-reply', hex('0b 05 03 616263 00 07'));

// NBFX: SOAP 1.2 envelopes as the relay's writer encodes them (typed integers, booleans, uuids,
// session strings in the body), two in one session so the second reuses the first's strings.
const soap = (body: string): string =>
  '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing">' +
  '<s:Header><a:Action s:mustUnderstand="1">http://example.org/calc/ICalculator/Process</a:Action>' +
  '<a:MessageID>urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e</a:MessageID><a:To s:mustUnderstand="1">net.tcp://localhost/calc</a:To></s:Header>' +
  `<s:Body>${body}</s:Body></s:Envelope>`;
const writer = new SessionWriter();
const first = Buffer.concat(xmlToBinary(soap('<Process xmlns="http://example.org/calc"><r xmlns:i="http://www.w3.org/2001/XMLSchema-instance">' +
  '<A>0</A><B>1</B><C>-129</C><D>65536</D><E>-9223372036854775808</E><F>true</F><G>false</G><H>3.25</H><I>AAEC</I><J i:nil="true"/>' +
  '<K>urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e</K><L>text &amp; more</L><!--c--></r></Process>'), { session: writer }));
const second = Buffer.concat(xmlToBinary(soap('<Process xmlns="http://example.org/calc"><r><A>2</A></r></Process>'), { session: writer }));
put('nbfx-session', 'soap12-session', joinSessionMessages([first, second]));
put('nbfx-session', 'msbin1', Buffer.concat(xmlToBinary(soap('<Add xmlns="http://example.org/calc"><a>2</a><b>3</b></Add>'))));

// SOAP: regressions (a tail of many comments and a stray byte backtracked 2^n ways) and shapes the
// captures lack (UTF-16, RelayAccessToken header, WS-Addressing 2004/08).
const env11 = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">';
put('soap-envelope', 'comment-tail', `${env11}<s:Body><a/></s:Body></s:Envelope>${'<!---->'.repeat(40)}x`);
put('soap-envelope', 'relay-access-token', `${env11}<s:Header><RelayAccessToken xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect">` +
  '<wsse:BinarySecurityToken xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" ' +
  'EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">U2hhcmVkQWNjZXNzU2lnbmF0dXJlIHNyPWEmc2lnPWImc2U9MSZza249Yw==' +
  '</wsse:BinarySecurityToken></RelayAccessToken></s:Header><s:Body><a/></s:Body></s:Envelope>');
put('soap-envelope', 'utf16le', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${env11}<s:Body><a>é</a></s:Body></s:Envelope>`, 'utf16le')]));
put('soap-envelope', 'wsa2004', '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing">' +
  '<s:Header><a:Action>urn:x</a:Action><a:To>http://h/p</a:To><a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>' +
  '</s:Header><s:Body><s:Fault/></s:Body></s:Envelope>');

console.log(`seeds written under ${COMMITTED_CORPUS_DIR}`);
