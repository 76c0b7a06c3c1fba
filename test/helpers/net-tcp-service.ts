/**
 * A sessionful, duplex net.tcp service made from our own codecs (ServerDecoder, NBFX session
 * dictionaries), standing in for a WCF service with `SessionMode.Required`,
 * `InstanceContextMode.PerSession` and a `CallbackContract`, for the integration tests (the Mono
 * and .NET interop suites use real WCF). Per session (preamble … End):
 *   Increment            → a counter kept per session (1, 2, 3 …)
 *   SessionId            → an id made when the session opened
 *   Terminate            → its reply, then End (an IsTerminating operation)
 *   AddWithProgress(a,b) → a one-way callback Progress(a) during the operation, then a+b
 *   NotifyLater(ms)      → its reply at once, a one-way callback Later after ms
 *   Ask(q)               → a two-way callback Question(q) to the client, then the client's answer
 *                          (`FAULT reason` when the answer is a fault)
 *   Echo(text)           → text (the benchmark's operation, bench/net-tcp.ts)
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { SessionReader, SessionWriter } from '../../src/protocol/nbfx';
import { binaryToXml, xmlToBinary } from '../../src/protocol/soap-binary';
import { ServerDecoder, encodeEnd, encodePreambleAck, encodeSizedEnvelope } from '../../src/protocol/nmf';
import { scanEnvelope } from '../../src/protocol/soap/envelope';
/** What the service needs of a test harness: somewhere to register its teardown. */
export interface Teardown {
  defer(fn: () => Promise<void> | void): void;
}

export const SESSION_NS = 'urn:relaybridge:sessions';
export const sessionAction = (op: string): string => `${SESSION_NS}/ISession/${op}`;
export const callbackAction = (op: string): string => `${SESSION_NS}/ICallback/${op}`;

const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope';
const WSA10 = 'http://www.w3.org/2005/08/addressing';

export interface SessionServiceStats {
  /** Sessions opened (preamble acknowledged). */
  opened: number;
  /** Sessions the client ended with End. */
  endedByClient: number;
  /** Envelopes received whose StringTable defined session strings (a self-contained one has none). */
  withSessionStrings: number;
  /** Connections open now. */
  connections: () => number;
  /** Sessions open now. */
  open: () => number;
  /** Drops every connection (the service process dying). */
  killAll: () => void;
}

function envelope(action: string, body: string, extra = ''): string {
  return `<s:Envelope xmlns:s="${SOAP12}" xmlns:a="${WSA10}"><s:Header><a:Action s:mustUnderstand="1">${action}</a:Action>${extra}</s:Header><s:Body>${body}</s:Body></s:Envelope>`;
}

function textOf(xml: string, name: string): string {
  return new RegExp(`<(?:\\w+:)?${name}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:\\w+:)?${name}>`).exec(xml)?.[1] ?? '';
}

export async function sessionService(h: Teardown): Promise<{ url: string; stats: SessionServiceStats }> {
  const sockets = new Set<net.Socket>();
  let openSessions = 0;
  const stats: SessionServiceStats = {
    opened: 0,
    endedByClient: 0,
    withSessionStrings: 0,
    connections: () => sockets.size,
    open: () => openSessions,
    killAll: () => {
      for (const s of sockets) s.destroy();
    },
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    const decoder = new ServerDecoder();
    let reader = new SessionReader();
    let writer = new SessionWriter();
    let counter = 0;
    let id = '';
    let inSession = false;
    const questions = new Map<string, (answer: string) => void>();
    const timers = new Set<NodeJS.Timeout>();
    socket.on('close', () => {
      sockets.delete(socket);
      for (const t of timers) clearTimeout(t);
      if (inSession) openSessions--;
    });
    const send = (xml: string): void => {
      if (!socket.writable) return;
      socket.write(Buffer.concat(encodeSizedEnvelope(xmlToBinary(xml, { session: writer }))));
    };
    const reply = (action: string, messageId: string | undefined, body: string): void =>
      send(envelope(`${action}Response`, body, messageId ? `<a:RelatesTo>${messageId}</a:RelatesTo>` : ''));
    socket.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const f of frames) {
        if (f.type === 'preambleEnd') {
          reader = new SessionReader();
          writer = new SessionWriter();
          counter = 0;
          id = randomUUID();
          inSession = true;
          openSessions++;
          stats.opened++;
          socket.write(encodePreambleAck());
        } else if (f.type === 'end') {
          if (inSession) {
            inSession = false;
            openSessions--;
            stats.endedByClient++;
          }
          socket.write(encodeEnd());
        } else if (f.type === 'envelope') {
          if (f.payload[0] !== 0) stats.withSessionStrings++;
          const xml = binaryToXml(f.payload, { session: reader });
          const a = scanEnvelope(xml).addressing;
          const action = a?.action ?? '';
          const messageId = a?.messageId;
          if (a?.relatesTo !== undefined) {
            // The client's answer to a two-way callback (a fault answers with its reason).
            questions.get(a.relatesTo)?.(scanEnvelope(xml).isFault ? `FAULT ${textOf(xml, 'Text')}` : textOf(xml, 'Answer'));
            questions.delete(a.relatesTo);
            continue;
          }
          const op = action.split('/').pop();
          switch (op) {
            case 'Increment':
              reply(action, messageId, `<IncrementResponse xmlns="${SESSION_NS}"><IncrementResult>${++counter}</IncrementResult></IncrementResponse>`);
              break;
            case 'SessionId':
              reply(action, messageId, `<SessionIdResponse xmlns="${SESSION_NS}"><SessionIdResult>${id}</SessionIdResult></SessionIdResponse>`);
              break;
            case 'Terminate':
              reply(action, messageId, `<TerminateResponse xmlns="${SESSION_NS}"/>`);
              inSession = false;
              openSessions--;
              socket.write(encodeEnd());
              break;
            case 'AddWithProgress': {
              const x = Number(textOf(xml, 'a'));
              const y = Number(textOf(xml, 'b'));
              send(envelope(callbackAction('Progress'), `<Progress xmlns="${SESSION_NS}"><value>${x}</value></Progress>`));
              reply(action, messageId, `<AddWithProgressResponse xmlns="${SESSION_NS}"><AddWithProgressResult>${x + y}</AddWithProgressResult></AddWithProgressResponse>`);
              break;
            }
            case 'NotifyLater': {
              const ms = Number(textOf(xml, 'ms'));
              reply(action, messageId, `<NotifyLaterResponse xmlns="${SESSION_NS}"/>`);
              const t = setTimeout(() => {
                timers.delete(t);
                send(envelope(callbackAction('Later'), `<Later xmlns="${SESSION_NS}"><session>${id}</session></Later>`));
              }, ms);
              timers.add(t);
              break;
            }
            case 'Ask': {
              const q = textOf(xml, 'q');
              const qid = `urn:uuid:${randomUUID()}`;
              questions.set(qid, (answer) =>
                reply(action, messageId, `<AskResponse xmlns="${SESSION_NS}"><AskResult>${answer}</AskResult></AskResponse>`),
              );
              send(
                envelope(
                  callbackAction('Question'),
                  `<Question xmlns="${SESSION_NS}"><q>${q}</q></Question>`,
                  `<a:MessageID>${qid}</a:MessageID><a:ReplyTo><a:Address>${WSA10}/anonymous</a:Address></a:ReplyTo>`,
                ),
              );
              break;
            }
            case 'Echo': {
              const start = xml.indexOf('<text>');
              const end = xml.indexOf('</text>');
              const text = start >= 0 && end > start ? xml.slice(start + 6, end) : '';
              reply(action, messageId, `<EchoResponse xmlns="${SESSION_NS}"><EchoResult>${text}</EchoResult></EchoResponse>`);
              break;
            }
            default:
              reply(action, messageId, `<Unknown xmlns="${SESSION_NS}"/>`);
          }
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  h.defer(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  const port = (server.address() as AddressInfo).port;
  return { url: `net.tcp://127.0.0.1:${port}/sessions`, stats };
}

/** The client's reply to a two-way callback Question (RelatesTo = its MessageID). */
export function answerEnvelope(questionXml: string, answer: string): string {
  const id = scanEnvelope(questionXml).addressing?.messageId ?? '';
  return envelope(callbackAction('QuestionResponse'), `<QuestionResponse xmlns="${SESSION_NS}"><Answer>${answer}</Answer></QuestionResponse>`, `<a:RelatesTo>${id}</a:RelatesTo>`);
}

export { textOf };
