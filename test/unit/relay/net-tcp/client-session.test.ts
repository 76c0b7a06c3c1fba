/**
 * ClientSession (one net.tcp client session): what it asks of its connection when a message is
 * refused before it is relayed, over a fake connection. Relayed calls, carriers and replies run
 * against real sockets in test/integration/net-tcp*.test.ts.
 */
import { noopLogger } from '../../../../src/core/logger';
import type { HybridConnection } from '../../../../src/core/entities';
import { SessionReader, SessionWriter } from '../../../../src/protocol/nbfx';
import { decodeEnvelope, TokenSoapMessage, xmlToBinary } from '../../../../src/protocol/soap-binary';
import { AccessControl } from '../../../../src/relay/access/access-control';
import type { EndpointDeps } from '../../../../src/relay/deps';
import { buildRelayConfig } from '../../../../src/relay/options';
import { ClientSession, type AccessEntry, type SessionConnection } from '../../../../src/relay/endpoints/net-tcp/client-session';
import { trackingDescriber } from '../../../../src/relay/http/tracking';
import { MemoryStore } from '../../../../src/store/memory-store';
import { requestEnvelope } from '../../../helpers/net-tcp-client';

function setup(entity: Partial<HybridConnection> = {}) {
  const config = buildRelayConfig({ netTcp: { port: 0 } });
  const store = new MemoryStore({ clock: config.clock });
  const writes: Buffer[][] = [];
  const lines: AccessEntry[] = [];
  const failures: unknown[] = [];
  let authenticated = 0;
  const connection: SessionConnection = {
    write: (parts) => void writes.push(parts),
    fault: () => undefined,
    accessLine: (e) => void lines.push(e),
    authenticated: () => void authenticated++,
    protocolFailure: (err) => void failures.push(err),
    isCurrent: () => true,
    replySettled: () => undefined,
    serviceEnded: () => undefined,
    remote: () => ({ address: '127.0.0.1', port: 5000 }),
  };
  // The parts of the endpoint's dependencies a refusal uses: access control is the real one.
  const ctx = {
    config,
    access: new AccessControl({ config, store, describe: trackingDescriber(config.clock) }),
    accessLog: { newId: () => 'call-1' },
    router: { labels: { label: (_path: string, action: string | undefined) => action ?? 'op' } },
  } as unknown as EndpointDeps;
  const session = new ClientSession({
    id: 1,
    entity: { path: 'calc', requiresClientAuthorization: true, createdAt: '', updatedAt: '', authorizationRules: [], ...entity },
    requestTarget: '/calc',
    host: 'relay.test',
    token: undefined,
    streamed: false,
    ctx,
    config: config.netTcp!,
    log: noopLogger,
    slots: { acquire: () => true, release: () => undefined },
    xmlLimits: {},
    connection,
  });
  return { session, writes, lines, failures, authenticated: () => authenticated };
}

/** A client's binary message on the session (its own dictionary). */
function clientMessage(writer: SessionWriter, messageId: string | undefined): Buffer {
  const xml = requestEnvelope({ action: 'urn:calc/Add', to: 'net.tcp://relay.test/calc', messageId, body: '<Add xmlns="urn:calc"><a>1</a></Add>' });
  return Buffer.concat(xmlToBinary(xml, { session: writer }));
}

/** The relay's reply frames (a Sized Envelope) read back as a message. */
function replyOf(parts: Buffer[], reader: SessionReader): TokenSoapMessage {
  const frame = Buffer.concat(parts);
  // Sized Envelope record: 0x06, a multi-byte size, then the payload.
  let at = 1;
  while (frame[at]! & 0x80) at++;
  return TokenSoapMessage.read(decodeEnvelope(frame.subarray(at + 1), { session: reader }));
}

describe('ClientSession', () => {
  it('answers a message without a token on a path that needs one with a fault naming the call, and an access line', () => {
    const { session, writes, lines, authenticated } = setup();
    session.onEnvelope(clientMessage(new SessionWriter(), 'urn:uuid:7'));
    expect(lines).toEqual([expect.objectContaining({ id: 'call-1', path: 'calc', operation: 'urn:calc/Add', status: 401, code: 'RELAY_ERR_SAS_MISSING' })]);
    expect(writes).toHaveLength(1);
    const reply = replyOf(writes[0]!, new SessionReader());
    expect(reply.isFault).toBe(true);
    expect(reply.addressing?.relatesTo).toBe('urn:uuid:7');
    expect(authenticated()).toBe(0);
  });

  it('a refused one-way message gets its access line and nothing on the wire', () => {
    const { session, writes, lines } = setup();
    session.onEnvelope(clientMessage(new SessionWriter(), undefined));
    expect(lines).toHaveLength(1);
    expect(writes).toHaveLength(0);
  });

  it('a message that is not binary XML ends the connection through protocolFailure', () => {
    const { session, failures, writes } = setup();
    session.onEnvelope(Buffer.from([0x00, 0xff, 0xff]));
    expect(failures).toHaveLength(1);
    expect(writes).toHaveLength(0);
  });

  it('a two-way message to a broadcast path is refused with RELAY_ERR_BROADCAST_ONE_WAY', () => {
    const { session, writes, lines } = setup({ requiresClientAuthorization: false, broadcast: true });
    session.onEnvelope(clientMessage(new SessionWriter(), 'urn:uuid:8'));
    expect(lines[0]).toMatchObject({ code: 'RELAY_ERR_BROADCAST_ONE_WAY' });
    const reply = replyOf(writes[0]!, new SessionReader());
    expect(reply.isFault).toBe(true);
    expect(reply.addressing?.relatesTo).toBe('urn:uuid:8');
  });
});
