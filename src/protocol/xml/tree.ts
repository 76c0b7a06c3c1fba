/**
 * A minimal element tree over the token model, for code that restructures whole messages
 * (SOAP 1.1 <-> 1.2 translation, fault parsing). Built on scanXml, written back through
 * writeXml, so the same limits and escaping apply. Prefixes and declarations are kept as
 * written; `namespaceUri` is the resolved URI at parse time (informational for created nodes).
 */
import type { XmlLimits } from './limits';
import { scanXml } from './text-reader';
import type { AttributeToken, CommentToken, TextToken, XmlToken } from './tokens';

export interface XmlElement {
  readonly kind: 'element';
  prefix: string;
  localName: string;
  namespaceUri: string;
  attributes: AttributeToken[];
  children: XmlNode[];
  /** Parent at parse time (undefined for the root and for created elements). */
  parent?: XmlElement;
}

export type XmlNode = XmlElement | TextToken | CommentToken;

/** Parses a whole document into a tree (ProtocolError on malformed input, as parseXml). */
export function parseXmlTree(input: string | Buffer, limits?: Partial<XmlLimits>): XmlElement {
  let root: XmlElement | undefined;
  const stack: XmlElement[] = [];
  scanXml(input, (token, info) => {
    const top = stack[stack.length - 1];
    switch (token.kind) {
      case 'startElement': {
        const el: XmlElement = { kind: 'element', prefix: token.prefix, localName: token.localName, namespaceUri: info.namespaceUri ?? '', attributes: [], children: [], parent: top };
        if (top) top.children.push(el);
        else root = el;
        stack.push(el);
        break;
      }
      case 'attribute':
        top!.attributes.push(token);
        break;
      case 'endElement':
        stack.pop();
        break;
      default:
        top!.children.push(token);
    }
  }, limits);
  return root!;
}

/** Creates an element (declarations, if needed, are the caller's attributes). */
export function createElement(prefix: string, localName: string, namespaceUri: string, attributes: AttributeToken[] = [], children: XmlNode[] = []): XmlElement {
  return { kind: 'element', prefix, localName, namespaceUri, attributes, children };
}

export function textNode(value: string): TextToken {
  return { kind: 'text', value };
}

export function attribute(prefix: string, localName: string, value: string): AttributeToken {
  return { kind: 'attribute', prefix, localName, value };
}

export function namespaceDeclaration(prefix: string, uri: string): AttributeToken {
  return prefix === ''
    ? { kind: 'attribute', prefix: '', localName: 'xmlns', value: uri, isNamespaceDeclaration: true }
    : { kind: 'attribute', prefix: 'xmlns', localName: prefix, value: uri, isNamespaceDeclaration: true };
}

/** Token sequence of an element subtree (iterative: no recursion limit). */
export function* treeTokens(root: XmlElement): Generator<XmlToken> {
  const stack: Array<{ el: XmlElement; next: number }> = [{ el: root, next: -1 }];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.next === -1) {
      yield { kind: 'startElement', prefix: frame.el.prefix, localName: frame.el.localName };
      yield* frame.el.attributes;
      frame.next = 0;
    }
    const child = frame.el.children[frame.next++];
    if (child === undefined) {
      yield { kind: 'endElement' };
      stack.pop();
    } else if (child.kind === 'element') {
      stack.push({ el: child, next: -1 });
    } else {
      yield child;
    }
  }
}

/** Element children only. */
export function childElements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => c.kind === 'element');
}

/** Child elements in this namespace with any of these local names, in document order. */
export function childrenNamed(el: XmlElement, namespaceUri: string, ...localNames: string[]): XmlElement[] {
  return el.children.filter((c): c is XmlElement => c.kind === 'element' && c.namespaceUri === namespaceUri && localNames.includes(c.localName));
}

/** First child element with this namespace and local name. */
export function findChild(el: XmlElement, namespaceUri: string, localName: string): XmlElement | undefined {
  return childElements(el).find((c) => c.namespaceUri === namespaceUri && c.localName === localName);
}

/** Concatenated text of the element's descendants. */
export function elementText(el: XmlElement): string {
  let out = '';
  const stack: XmlNode[] = [...el.children].reverse();
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.kind === 'text') out += node.value;
    else if (node.kind === 'element') for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
  return out;
}

/** Value of an attribute by namespace-less name or by prefix as written. */
export function getAttribute(el: XmlElement, localName: string, prefix = ''): string | undefined {
  return el.attributes.find((a) => !a.isNamespaceDeclaration && a.localName === localName && a.prefix === prefix)?.value;
}

/** Namespace bound to `prefix` at `el` (walking parse-time parents), or undefined. */
export function lookupNamespace(el: XmlElement, prefix: string): string | undefined {
  for (let cur: XmlElement | undefined = el; cur; cur = cur.parent) {
    for (const a of cur.attributes) {
      if (!a.isNamespaceDeclaration) continue;
      if ((prefix === '' && a.prefix === '' && a.localName === 'xmlns') || (a.prefix === 'xmlns' && a.localName === prefix)) return a.value;
    }
  }
  if (prefix === 'xml') return 'http://www.w3.org/XML/1998/namespace';
  return prefix === '' ? '' : undefined;
}

/** A QName written as element text (`p:local`), resolved at `el`. */
export interface ResolvedQName {
  readonly prefix: string;
  readonly localName: string;
  readonly namespaceUri: string;
}

/** Resolves QName text content (e.g. a fault code); an unbound prefix resolves to ''. */
export function resolveQNameText(el: XmlElement, value: string): ResolvedQName {
  const text = value.trim();
  const colon = text.indexOf(':');
  const prefix = colon < 0 ? '' : text.slice(0, colon);
  const localName = colon < 0 ? text : text.slice(colon + 1);
  return { prefix, localName, namespaceUri: lookupNamespace(el, prefix) ?? '' };
}
