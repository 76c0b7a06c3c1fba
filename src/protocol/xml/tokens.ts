/**
 * The XML infoset token model shared by text XML (protocol/xml) and binary XML (protocol/nbfx).
 *
 * A document is a flat token sequence:
 *   startElement attribute* (text | startElement … endElement | comment)* endElement
 * Namespace declarations are attributes too (`isNamespaceDeclaration: true`; `xmlns` has
 * prefix '' and localName 'xmlns'; `xmlns:s` has prefix 'xmlns' and localName 's').
 * Prefixes are kept exactly as written so that text and binary forms round-trip byte-exactly;
 * namespace resolution is done by NamespaceScope when a consumer needs URIs.
 *
 * Text tokens carry the string value as XML text would show it. A binary reader may attach
 * `typed` (the NBFX record the value came from) so a binary writer can re-emit the same record;
 * text writers ignore it.
 */

export interface StartElementToken {
  readonly kind: 'startElement';
  readonly prefix: string;
  readonly localName: string;
}

export interface AttributeToken {
  readonly kind: 'attribute';
  readonly prefix: string;
  readonly localName: string;
  /** Attribute value as text (unescaped). */
  readonly value: string;
  /** True for xmlns / xmlns:p declarations. */
  readonly isNamespaceDeclaration?: boolean;
  /** Binary-XML typed value hint, opaque to text code. */
  readonly typed?: unknown;
}

export interface TextToken {
  readonly kind: 'text';
  /** Unescaped character data. */
  readonly value: string;
  /** Binary-XML typed value hint, opaque to text code. */
  readonly typed?: unknown;
  /** True when this text came from a CDATA section (text writers may re-emit it as CDATA). */
  readonly cdata?: boolean;
}

export interface EndElementToken {
  readonly kind: 'endElement';
}

export interface CommentToken {
  readonly kind: 'comment';
  readonly value: string;
}

export type XmlToken = StartElementToken | AttributeToken | TextToken | EndElementToken | CommentToken;

export const XMLNS_NAMESPACE = 'http://www.w3.org/2000/xmlns/';
export const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';

/** Tracks in-scope namespace bindings while walking tokens. */
export class NamespaceScope {
  #frames: Array<Map<string, string>> = [new Map([['xml', XML_NAMESPACE]])];

  /** Call at startElement, before its attributes. */
  push(): void {
    this.#frames.push(new Map());
  }

  /** Call at endElement. */
  pop(): void {
    if (this.#frames.length > 1) this.#frames.pop();
  }

  /** Record a declaration from an attribute token (prefix '' = default namespace). */
  declare(prefix: string, uri: string): void {
    this.#frames[this.#frames.length - 1]!.set(prefix, uri);
  }

  /** Declares from an attribute token if it is an xmlns declaration; returns whether it was. */
  declareFromAttribute(attr: AttributeToken): boolean {
    if (attr.prefix === '' && attr.localName === 'xmlns') {
      this.declare('', attr.value);
      return true;
    }
    if (attr.prefix === 'xmlns') {
      this.declare(attr.localName, attr.value);
      return true;
    }
    return false;
  }

  /** Namespace URI bound to prefix, or undefined when unbound ('' for the unset default). */
  resolve(prefix: string): string | undefined {
    for (let i = this.#frames.length - 1; i >= 0; i--) {
      const uri = this.#frames[i]!.get(prefix);
      if (uri !== undefined) return uri;
    }
    return prefix === '' ? '' : undefined;
  }

  get depth(): number {
    return this.#frames.length - 1;
  }
}
