/**
 * Typed hints: what the NBFX reader attaches to tokens (the `typed` field of text and attribute
 * tokens, and an extra `typed` field on start elements) so that the NBFX writer can re-emit the
 * exact records it came from. Text code ignores them.
 *
 * A hint is only a preference: the writer uses it when it still matches the token (same text,
 * same name, same prefix; a session key can be re-used only through the writer's own session)
 * and otherwise falls back to its default choices. So code that edits token values (e.g. a
 * rewritten a:To) never re-emits a stale value.
 */
import type { AttributeToken, StartElementToken, TextToken } from '../xml/tokens';

/** How a text value was encoded ([MC-NBFX] §2.3). */
export interface NbfxTextHint {
  /** The even (plain) text record type, e.g. 0x98 Chars8Text; 0xA4 for a list. */
  readonly record: number;
  /** The text this hint describes; the writer ignores the hint when the token's value differs. */
  readonly text: string;
  /** The record's payload bytes after the type octet (non-dictionary records). */
  readonly raw?: Buffer;
  /** DictionaryText / QNameDictionaryText: the DictionaryString key as read (even static, odd session). */
  readonly key?: number;
  /** QNameDictionaryText: prefix letter index 0-25. */
  readonly prefixIndex?: number;
  /** True when it came as the WithEndElement (odd) form, false when as the plain form. */
  readonly endElement?: boolean;
  /** StartListText: the items. */
  readonly items?: readonly NbfxTextHint[];
}

/** How an element or attribute name was encoded ([MC-NBFX] §2.2). */
export interface NbfxNameHint {
  /** The element or attribute record type as read. */
  readonly record: number;
  /** Dictionary forms: the DictionaryString key of the local name (attributes: of the xmlns value). */
  readonly key?: number;
  /** Attributes: how the value was encoded. */
  readonly value?: NbfxTextHint;
  /** Array records: this element is the first of `count` items packed as one Array record. */
  readonly array?: { readonly itemRecord: number; readonly count: number };
}

/** A start element with a name hint (structurally a StartElementToken). */
export interface NbfxStartElementToken extends StartElementToken {
  readonly typed?: NbfxNameHint;
}

export function textHintOf(token: TextToken): NbfxTextHint | undefined {
  const t = token.typed as NbfxTextHint | undefined;
  return t !== undefined && typeof t === 'object' && typeof t.record === 'number' && t.text === token.value ? t : undefined;
}

export function nameHintOf(token: StartElementToken | AttributeToken): NbfxNameHint | undefined {
  const t = (token as { typed?: unknown }).typed as NbfxNameHint | undefined;
  return t !== undefined && typeof t === 'object' && typeof t.record === 'number' ? t : undefined;
}
