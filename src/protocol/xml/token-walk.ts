/**
 * Feeds a token array (as the NBFX reader produces it) to a TokenHandler the way scanXml feeds
 * text, so one consumer reads both forms. Positions are token indices instead of character
 * offsets, with the same meaning: a startElement's `end` is the index of the first token after
 * its attributes (where its content begins), an endElement's `start` is its own index (where the
 * content ends) and its `end` the index after it.
 */
import type { TokenHandler } from './text-reader';
import { NamespaceScope, XMLNS_NAMESPACE, type XmlToken } from './tokens';

/** Walks `tokens`; false when the handler stopped the walk. Unbound prefixes resolve to ''. */
export function walkTokens(tokens: readonly XmlToken[], onToken: TokenHandler): boolean {
  const scope = new NamespaceScope();
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'startElement') {
      depth++;
      scope.push();
      let content = i + 1;
      for (let a = tokens[content]; a?.kind === 'attribute'; a = tokens[++content]) scope.declareFromAttribute(a);
      if (onToken(t, { start: i, end: content, depth, namespaceUri: scope.resolve(t.prefix) ?? '' }) === false) return false;
      for (let j = i + 1; j < content; j++) {
        const a = tokens[j] as Extract<XmlToken, { kind: 'attribute' }>;
        const ns = a.isNamespaceDeclaration ? XMLNS_NAMESPACE : a.prefix === '' ? '' : (scope.resolve(a.prefix) ?? '');
        if (onToken(a, { start: j, end: j + 1, depth, namespaceUri: ns }) === false) return false;
      }
      i = content - 1;
    } else if (t.kind === 'endElement') {
      if (onToken(t, { start: i, end: i + 1, depth }) === false) return false;
      depth--;
      scope.pop();
    } else if (onToken(t, { start: i, end: i + 1, depth }) === false) {
      return false;
    }
  }
  return true;
}
