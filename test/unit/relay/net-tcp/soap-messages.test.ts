/** net.tcp endpoint message handling: listener responses -> SOAP 1.2 replies (tokens). */
import { parseFault } from '../../../../src/protocol/soap/fault';
import { scanEnvelope } from '../../../../src/protocol/soap/envelope';
import { writeXml } from '../../../../src/protocol/xml/text-writer';
import { readNbfx, SessionReader, SessionWriter } from '../../../../src/protocol/nbfx';
import { binaryToXml, xmlToBinary } from '../../../../src/protocol/soap-binary';
import { binaryRequestBody, carriedRequestPayload, decodeRequest, replyFromResponse, requestXml } from '../../../../src/relay/endpoints/net-tcp/soap-messages';
import { requestEnvelope } from '../../../helpers/net-tcp-client';

const req = { action: 'urn:calc/Add', messageId: 'urn:uuid:1' };
const xml = (tokens: ReturnType<typeof replyFromResponse>) => writeXml(tokens!);
const res = (statusCode: number, contentType: string | undefined, body: string, extra: Record<string, string> = {}) => ({
  statusCode,
  headers: { ...(contentType ? { 'content-type': contentType } : {}), ...extra },
  body: Buffer.from(body),
});

describe('replyFromResponse', () => {
  it('no reply for empty answers the agent marked as one-way acknowledgements (202, or an empty 200)', () => {
    const mark = { 'x-relaybridge-one-way': '1' };
    expect(replyFromResponse(res(202, undefined, '', mark), req)).toBeUndefined();
    expect(replyFromResponse(res(200, 'text/xml', '', mark), req)).toBeUndefined();
  });

  it('an unmarked empty success to a request-reply message is a fault (a listener that is not ours)', () => {
    for (const [status, ct] of [[202, undefined], [200, 'text/xml'], [204, undefined]] as const) {
      const fault = parseFault(xml(replyFromResponse(res(status, ct, ''), req)));
      expect(fault).toMatchObject({ code: { localName: 'Receiver' }, relatesTo: 'urn:uuid:1' });
      expect(fault?.subcodes[0]?.localName).toBe('RELAY_ERR_TARGET_BAD_RESPONSE');
    }
  });

  it('adds Action and RelatesTo to a SOAP 1.2 reply without addressing', () => {
    const out = xml(replyFromResponse(res(200, 'application/soap+xml', '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><R/></s:Body></s:Envelope>'), req));
    expect(scanEnvelope(out).addressing).toMatchObject({ action: 'urn:calc/AddResponse', relatesTo: 'urn:uuid:1' });
  });

  it('translates a SOAP 1.1 reply (service behind a plain http target)', () => {
    const out = xml(replyFromResponse(res(200, 'text/xml; charset=utf-8', '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><R/></s:Body></s:Envelope>'), req));
    const s = scanEnvelope(out);
    expect(s.soapVersion).toBe('soap12');
    expect(s.addressing?.relatesTo).toBe('urn:uuid:1');
  });

  it("turns the agent's JSON error and non-SOAP answers into Receiver faults", () => {
    const agentError = xml(
      replyFromResponse(res(502, 'application/json', '{"error":{"code":"RELAY_ERR_TARGET_UNREACHABLE","message":"service down"}}', { 'x-relaybridge-error': 'RELAY_ERR_TARGET_UNREACHABLE' }), req),
    );
    expect(parseFault(agentError)).toMatchObject({ reason: 'service down', code: { localName: 'Receiver' } });
    const html = xml(replyFromResponse(res(404, 'text/html', '<html/>'), req));
    expect(parseFault(html)?.reason).toContain('HTTP 404');
    const broken = xml(replyFromResponse(res(200, 'application/soap+xml', '<s:Envelope'), req));
    expect(parseFault(broken)?.subcodes[0]?.localName).toBe('RELAY_ERR_PROTOCOL_INVALID_MESSAGE');
  });
});

describe('binary SOAP between relay and agent (application/soap+msbin1)', () => {
  const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope';
  const binaryRes = (statusCode: number, envelope: string) => ({
    statusCode,
    headers: { 'content-type': 'application/soap+msbin1' },
    body: Buffer.concat(xmlToBinary(envelope)),
  });

  it('a binary reply is read from its tokens, with RelatesTo and Action added when it has none', () => {
    const out = xml(replyFromResponse(binaryRes(200, `<s:Envelope xmlns:s="${SOAP12}"><s:Body><R xmlns="urn:calc">7</R></s:Body></s:Envelope>`), req));
    expect(scanEnvelope(out).addressing).toMatchObject({ action: 'urn:calc/AddResponse', relatesTo: 'urn:uuid:1' });
    expect(out).toContain('<R xmlns="urn:calc">7</R>');
  });

  it('a binary fault stays the service fault; an undecodable or SOAP 1.1 binary answer is a Receiver fault', () => {
    const fault = `<s:Envelope xmlns:s="${SOAP12}"><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code><s:Reason><s:Text xml:lang="en">Fail: boom</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>`;
    expect(parseFault(xml(replyFromResponse(binaryRes(500, fault), req)))).toMatchObject({ code: { localName: 'Sender' }, reason: 'Fail: boom', relatesTo: 'urn:uuid:1' });
    const garbage = { statusCode: 200, headers: { 'content-type': 'application/soap+msbin1' }, body: Buffer.from([0x56, 0xff, 0xff]) };
    expect(parseFault(xml(replyFromResponse(garbage, req)))?.subcodes[0]?.localName).toBe('RELAY_ERR_PROTOCOL_INVALID_MESSAGE');
    const soap11 = binaryRes(200, '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><R/></s:Body></s:Envelope>');
    expect(parseFault(xml(replyFromResponse(soap11, req)))?.subcodes[0]?.localName).toBe('RELAY_ERR_PROTOCOL_INVALID_MESSAGE');
  });

  it('the request body: plain binary without session strings or the relay token; a streamed payload without a token goes as it came', () => {
    const env = requestEnvelope({ action: 'urn:calc/Add', to: 'net.tcp://r/calc', messageId: 'urn:uuid:3', body: '<Add xmlns="urn:calc"><a>1</a></Add>', token: 'SharedAccessSignature sr=x' });
    const withSession = decodeRequest(Buffer.concat(xmlToBinary(env, { session: new SessionWriter() })), new SessionReader());
    const body = binaryRequestBody(withSession);
    const text = binaryToXml(body);
    expect(text).toContain('<a:MessageID>urn:uuid:3</a:MessageID>');
    expect(text).toContain('<Add xmlns="urn:calc"><a>1</a></Add>');
    expect(text).not.toContain('RelayAccessToken');
    // Streamed, with a token: re-encoded without it; without one: the payload itself.
    const tokened = Buffer.concat(xmlToBinary(env));
    expect(binaryToXml(binaryRequestBody(decodeRequest(tokened, undefined), tokened))).not.toContain('RelayAccessToken');
    const plain = Buffer.concat(xmlToBinary(requestEnvelope({ action: 'urn:calc/Add', to: 'net.tcp://r/calc', messageId: 'urn:uuid:4', body: '<Add xmlns="urn:calc"/>' })));
    expect(binaryRequestBody(decodeRequest(plain, undefined), plain)).toBe(plain);
  });
});

describe('decodeRequest', () => {
  it('binary with session strings -> XML text, addressing, RelayAccessToken stripped', () => {
    const writer = new SessionWriter();
    const reader = new SessionReader();
    const env = requestEnvelope({ action: 'urn:calc/Add', to: 'net.tcp://r/calc', messageId: 'urn:uuid:2', body: '<Add xmlns="urn:calc"><a>1</a></Add>', token: 'SharedAccessSignature sr=x' });
    const d = decodeRequest(Buffer.concat(xmlToBinary(env, { session: writer })), reader);
    expect(d.addressing).toEqual({ action: 'urn:calc/Add', messageId: 'urn:uuid:2' });
    expect(d.token).toBe('SharedAccessSignature sr=x');
    expect(requestXml(d).toString()).not.toContain('RelayAccessToken');
    expect(requestXml(d).toString()).toContain('<Add xmlns="urn:calc"><a>1</a></Add>');
    // A binary carrier's payload once a table did not go on: To is the service's, no token, no
    // session strings (a fresh reader with an empty dictionary decodes it), whatever the client's
    // dictionary holds.
    const { payload: carried, passedOn } = carriedRequestPayload(d, 'net.tcp://10.0.0.5:808/Calc.svc', false);
    expect(passedOn).toBe(false);
    expect(carried[0]).toBe(0);
    const xml = binaryToXml(carried, { session: new SessionReader() });
    expect(xml).toContain('net.tcp://10.0.0.5:808/Calc.svc</a:To>');
    expect(xml).not.toContain('net.tcp://r/calc');
    expect(xml).not.toContain('RelayAccessToken');
    expect(xml).toContain('<Add xmlns="urn:calc"><a>1</a></Add>');
    // A second message of the session (its strings were defined by the first) is self-contained too.
    const second = decodeRequest(Buffer.concat(xmlToBinary(env, { session: writer })), reader);
    expect(binaryToXml(carriedRequestPayload(second, 'net.tcp://s/x', false).payload, { session: new SessionReader() })).toContain('<a:MessageID>urn:uuid:2</a:MessageID>');
    // msbin1 (streamed): no string table.
    expect(decodeRequest(Buffer.concat(xmlToBinary(env)), undefined).addressing.messageId).toBe('urn:uuid:2');
  });

  it("carries a session's payloads on with the client's StringTables, edited in place", () => {
    const writer = new SessionWriter();
    const relay = new SessionReader();
    const service = new SessionReader(); // reads what the carrier delivers, in order
    const to = 'net.tcp://10.0.0.5:808/Calc.svc';
    const env = (id: number, token?: string) =>
      requestEnvelope({ action: 'urn:calc/Add', to: 'net.tcp://relay.example.com/calc', messageId: `urn:uuid:${id}`, body: `<Add xmlns="urn:calc"><a>${id}</a><b>2</b></Add>`, token });
    const sent: Buffer[] = [];
    for (const [id, token] of [[1, 'SharedAccessSignature sr=first'], [2, undefined], [3, 'SharedAccessSignature sr=third']] as const) {
      const payload = Buffer.concat(xmlToBinary(env(id, token), { session: writer }));
      const d = decodeRequest(payload, relay);
      const { payload: carried, passedOn } = carriedRequestPayload(d, to, true);
      expect(passedOn).toBe(true);
      sent.push(carried);
      // The client's StringTable goes on as it is (the first message defines the body's strings).
      const tableSize = payload[0]!;
      expect(carried.subarray(0, 1 + tableSize)).toEqual(payload.subarray(0, 1 + tableSize));
      if (id === 1) expect(tableSize).toBeGreaterThan(0);
      const xml = binaryToXml(carried, { session: service });
      expect(xml).toContain(`<a:To s:mustUnderstand="1">${to}</a:To>`);
      expect(xml).not.toContain('relay.example.com');
      expect(xml).not.toContain('RelayAccessToken');
      expect(xml).not.toContain('SharedAccessSignature');
      expect(xml).toContain(`<a:MessageID>urn:uuid:${id}</a:MessageID>`);
      expect(xml).toContain(`<Add xmlns="urn:calc"><a>${id}</a><b>2</b></Add>`);
      // Everything else is the client's bytes: the same envelope as the relay's own re-encoding, as XML.
      expect(xml).toBe(binaryToXml(carriedRequestPayload(d, to, false).payload, { session: new SessionReader() }));
    }
    // Message 2 had no token: only To changed, so it is shorter by the To text's difference.
    expect(sent[1]!.length).toBeLessThan(sent[0]!.length);
  });

  it("re-encodes a message self-contained when its StringTable holds a token's text", () => {
    // A client that writes every string as a session string, the RelayAccessToken's text too.
    const writer = new SessionWriter();
    const reader = new SessionReader();
    const env = requestEnvelope({ action: 'urn:calc/Add', to: 'net.tcp://r/calc', messageId: 'urn:uuid:9', body: '<Add xmlns="urn:calc"/>', token: 'SharedAccessSignature sr=secret-token-text' });
    const payload = Buffer.concat(xmlToBinary(env, { session: writer, policy: () => 'session' }));
    const text = Buffer.from(Buffer.from('SharedAccessSignature sr=secret-token-text').toString('base64'));
    expect(payload[0]).toBeGreaterThan(0);
    expect(payload.includes(text)).toBe(true);
    const { payload: carried, passedOn } = carriedRequestPayload(decodeRequest(payload, reader), 'net.tcp://s/x', true);
    // Its table never goes on: the session must stop passing payloads on (passedOn false).
    expect(passedOn).toBe(false);
    expect(carried[0]).toBe(0);
    expect(carried.includes(text)).toBe(false);
    expect(binaryToXml(carried, { session: new SessionReader() })).toContain('<a:To s:mustUnderstand="1">net.tcp://s/x</a:To>');
  });

  it('re-encodes a message self-contained when its To block comes from an Array record (no record edge to cut at)', () => {
    // A first header block written as an [MC-NBFX] Array record: <a:To>7</a:To> as one Int32 item.
    const env = requestEnvelope({ action: 'urn:calc/Add', to: 'net.tcp://r/calc', messageId: 'urn:uuid:5', body: '<Add xmlns="urn:calc"/>' });
    const plain = Buffer.concat(xmlToBinary(env));
    const ends: number[] = [];
    const tokens = readNbfx(plain, { recordEnds: ends });
    const header = tokens.findIndex((t) => t.kind === 'startElement' && t.localName === 'Header');
    const firstBlock = header + 1; // the Header has no attributes here
    const at = ends[firstBlock - 1]!;
    const array = Buffer.from([0x03, 0x5e, 0x02, 0x54, 0x6f, 0x01, 0x8d, 0x01, 0x07, 0x00, 0x00, 0x00]);
    const payload = Buffer.concat([Buffer.from([0]), plain.subarray(0, at), array, plain.subarray(at)]);
    const d = decodeRequest(payload, new SessionReader());
    const { payload: carried, passedOn } = carriedRequestPayload(d, 'net.tcp://s/x', true);
    expect(passedOn).toBe(false);
    const xml = binaryToXml(carried, { session: new SessionReader() });
    expect(xml).toContain('<a:To>net.tcp://s/x</a:To>');
    expect(xml).toContain('<Add xmlns="urn:calc"></Add>');
  });

  it('refuses SOAP 1.1 envelopes', () => {
    const env = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>';
    expect(() => decodeRequest(Buffer.concat(xmlToBinary(env)), undefined)).toThrow(/SOAP 1.2/);
  });
});
