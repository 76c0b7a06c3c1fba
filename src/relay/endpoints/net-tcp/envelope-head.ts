/**
 * The head of a SOAP envelope read from its token stream (as the NBFX reader or the text reader
 * produce it), without printing and re-scanning the text: the SOAP version, the WS-Addressing
 * headers the net.tcp endpoint needs (Action, MessageID, RelatesTo) and where the RelayAccessToken
 * header is, so that it can be cut out. Only the tokens up to the Body start are looked at.
 */
import { RELAY_CONNECT_NS, SOAP11_ENVELOPE_NS, SOAP12_ENVELOPE_NS, WSA10_NS } from '../../../protocol/soap/addressing';
import { NamespaceScope, type XmlToken } from '../../../protocol/xml/tokens';

export interface EnvelopeHead {
  /** Envelope namespace (SOAP 1.1 or 1.2); undefined when the root is not a SOAP Envelope. */
  readonly envelopeNamespace: string | undefined;
  readonly envelopePrefix: string;
  readonly action?: string;
  readonly messageId?: string;
  readonly relatesTo?: string;
  /** Index of the first token after the Header start tag and its attributes (insert headers here). */
  readonly headerContentIndex?: number;
  /** Index of the Body start tag. */
  readonly bodyIndex?: number;
  /** The wsa:To header: token range [start, end] (its start and end tags, inclusive). */
  readonly to?: { readonly start: number; readonly end: number };
  /** The RelayAccessToken header: token range [start, end] (inclusive) and its token text. */
  readonly relayToken?: { readonly start: number; readonly end: number; readonly text: string; readonly base64: boolean };
}

interface Open {
  readonly prefix: string;
  readonly ns: string;
  readonly local: string;
  readonly index: number;
  text: string;
  encodingType?: string;
}

/** Reads the envelope head from tokens. */
export function readEnvelopeHead(tokens: readonly XmlToken[]): EnvelopeHead {
  const scope = new NamespaceScope();
  const open: Open[] = [];
  const head: { -readonly [K in keyof EnvelopeHead]: EnvelopeHead[K] } = { envelopeNamespace: undefined, envelopePrefix: '' };
  let pending: { prefix: string; local: string; index: number } | undefined;
  let token: { start: number; text: string; base64: boolean } | undefined;

  const startPending = (i: number): boolean => {
    if (!pending) return true;
    const ns = scope.resolve(pending.prefix) ?? '';
    const depth = open.length;
    const el: Open = { prefix: pending.prefix, ns, local: pending.local, index: pending.index, text: '' };
    for (let j = pending.index + 1; j < i; j++) {
      const a = tokens[j]!;
      if (a.kind === 'attribute' && !a.isNamespaceDeclaration && a.localName === 'EncodingType') el.encodingType = a.value;
    }
    pending = undefined;
    open.push(el);
    if (depth === 0) {
      if (el.local !== 'Envelope' || (ns !== SOAP12_ENVELOPE_NS && ns !== SOAP11_ENVELOPE_NS)) return false;
      head.envelopeNamespace = ns;
      head.envelopePrefix = el.prefix;
    } else if (depth === 1 && ns === head.envelopeNamespace) {
      if (el.local === 'Header') head.headerContentIndex = i;
      else if (el.local === 'Body') {
        head.bodyIndex = el.index;
        return false;
      }
    } else if (depth === 2 && ns === RELAY_CONNECT_NS && el.local === 'RelayAccessToken' && !token) {
      token = { start: el.index, text: '', base64: false };
    }
    return true;
  };

  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'attribute') {
      scope.declareFromAttribute(t);
      continue;
    }
    if (!startPending(i)) break;
    if (t.kind === 'startElement') {
      scope.push();
      pending = { prefix: t.prefix, local: t.localName, index: i };
    } else if (t.kind === 'text') {
      const top = open[open.length - 1];
      if (top) top.text += t.value;
    } else if (t.kind === 'endElement') {
      const el = open.pop();
      scope.pop();
      if (!el) break;
      if (open.length === 2 && el.ns === WSA10_NS) {
        if (el.local === 'Action') head.action = el.text.trim();
        else if (el.local === 'MessageID') head.messageId = el.text.trim();
        else if (el.local === 'RelatesTo') head.relatesTo = el.text.trim();
        else if (el.local === 'To') head.to = { start: el.index, end: i };
      }
      if (token && open.length === 3) {
        // The BinarySecurityToken (or other child) of RelayAccessToken holds the token.
        token.text += el.text;
        if (el.encodingType?.endsWith('Base64Binary')) token.base64 = true;
      }
      if (token && open.length === 2 && el.index === token.start) {
        const text = (token.text || el.text).trim();
        head.relayToken = { start: token.start, end: i, text, base64: token.base64 };
      }
    }
  }
  return head;
}
