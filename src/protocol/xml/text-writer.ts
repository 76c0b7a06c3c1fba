/**
 * XmlToken -> text XML. All escaping for the codebase lives here (escapeText, escapeAttribute),
 * so that SOAP faults and translated envelopes never hand-build markup.
 *
 * Escaping (XML 1.0 §2.4, §3.3.3; the same choices as Canonical XML 1.0 §2.3):
 * - text: `&` `<` `>` as entities, CR as `&#xD;` (a literal CR would be normalised to LF by any
 *   reader, so the reference is the only way it survives a round trip);
 * - attribute values (always written in double quotes): `&` `<` `"` as entities, TAB, LF, CR as
 *   character references (literal ones would be normalised to spaces by any reader).
 * Output is what parseXml accepts back: writeXml(parseXml(x)) is a fixed point after one pass.
 */
import { ProtocolError } from '../../core/errors';
import type { XmlToken } from './tokens';

export interface WriteXmlOptions {
  /** Write empty elements as `<a/>` (default true); false writes `<a></a>`. */
  readonly selfClose?: boolean;
}

const TEXT_SPECIALS = /[&<>\r]/g;
const ATTRIBUTE_SPECIALS = /[&<"\t\n\r]/g;
const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\t': '&#x9;',
  '\n': '&#xA;',
  '\r': '&#xD;',
};
const escapeOne = (c: string): string => ESCAPES[c]!;

/** Escapes character data: & < > and CR. */
export function escapeText(value: string): string {
  return value.replace(TEXT_SPECIALS, escapeOne);
}

/** Escapes an attribute value for double quotes: & < " and TAB, LF, CR. */
export function escapeAttribute(value: string): string {
  return value.replace(ATTRIBUTE_SPECIALS, escapeOne);
}

function invalid(message: string): ProtocolError {
  return new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `Cannot write XML: ${message}`);
}

function qualified(prefix: string, localName: string): string {
  return prefix === '' ? localName : `${prefix}:${localName}`;
}

/**
 * Serialises a token sequence (tokens.ts grammar). Attributes must directly follow their
 * startElement; endElements must balance. Throws ProtocolError for a sequence that cannot be
 * written (unbalanced, attribute after content, a comment containing `--`).
 */
export function writeXml(tokens: Iterable<XmlToken>, options: WriteXmlOptions = {}): string {
  const selfClose = options.selfClose ?? true;
  const open: string[] = [];
  let out = '';
  let startTagOpen = false; // '<name attrs' written, '>' not yet

  const closeStartTag = (): void => {
    if (startTagOpen) {
      out += '>';
      startTagOpen = false;
    }
  };

  for (const token of tokens) {
    switch (token.kind) {
      case 'startElement': {
        closeStartTag();
        const name = qualified(token.prefix, token.localName);
        out += `<${name}`;
        open.push(name);
        startTagOpen = true;
        break;
      }
      case 'attribute':
        if (!startTagOpen) throw invalid(`attribute ${qualified(token.prefix, token.localName)} does not follow a start element`);
        out += ` ${qualified(token.prefix, token.localName)}="${escapeAttribute(token.value)}"`;
        break;
      case 'endElement': {
        const name = open.pop();
        if (name === undefined) throw invalid('endElement without an open element');
        if (startTagOpen && selfClose) {
          out += '/>';
          startTagOpen = false;
        } else {
          closeStartTag();
          out += `</${name}>`;
        }
        break;
      }
      case 'text':
        if (token.value === '' && !token.cdata) break; // keeps <a/> empty: nothing to write
        closeStartTag();
        if (token.cdata && !token.value.includes('\r')) {
          // A literal ']]>' cannot appear inside CDATA: split it across two sections. (A CR could
          // not survive CDATA, so such text is written escaped instead.)
          out += `<![CDATA[${token.value.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
        } else {
          out += escapeText(token.value);
        }
        break;
      case 'comment':
        closeStartTag();
        if (token.value.includes('--') || token.value.endsWith('-')) throw invalid("a comment cannot contain '--' or end with '-'");
        out += `<!--${token.value}-->`;
        break;
    }
  }
  if (open.length > 0) throw invalid(`element <${open[open.length - 1]}> is not closed`);
  return out;
}
