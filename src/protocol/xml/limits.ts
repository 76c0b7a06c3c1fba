/**
 * Limits applied by the text XML reader (text-reader.ts). Every limit is checked before the
 * reader allocates for the thing it limits, and every breach is a ProtocolError.
 *
 * The reader never expands entities (DTDs are refused outright), so output size is linear in
 * input size; these limits bound memory and recursion for hostile but well-formed input.
 *
 * Reference points: WCF's XmlDictionaryReaderQuotas default MaxDepth 32 and
 * MaxStringContentLength 8192 (wcf-wire.md §2.6); the relay is deliberately more generous than
 * the services behind it, so that it never rejects what the real service would have accepted.
 */

export interface XmlLimits {
  /** Largest input accepted, in bytes (UTF-8 byte length for string input). Default 4 MiB. */
  readonly maxInputBytes: number;
  /** Deepest element nesting (the root element is depth 1). Default 128. */
  readonly maxDepth: number;
  /** Most attributes (namespace declarations included) on one element. Default 256. */
  readonly maxAttributesPerElement: number;
  /** Longest element/attribute qualified name, in UTF-16 code units. Default 1024. */
  readonly maxNameChars: number;
  /**
   * Longest single text run, attribute value or comment, in UTF-16 code units, after entity
   * decoding. Default 4 Mi (as large as the largest input: payloads such as base64 blobs are
   * legitimately large; tighten it to mirror a service's MaxStringContentLength).
   */
  readonly maxTextChars: number;
}

export const MAX_XML_INPUT_BYTES = 4 * 1024 * 1024;
export const MAX_XML_DEPTH = 128;
export const MAX_XML_ATTRIBUTES_PER_ELEMENT = 256;
export const MAX_XML_NAME_CHARS = 1024;
export const MAX_XML_TEXT_CHARS = 4 * 1024 * 1024;

export const DEFAULT_XML_LIMITS: XmlLimits = Object.freeze({
  maxInputBytes: MAX_XML_INPUT_BYTES,
  maxDepth: MAX_XML_DEPTH,
  maxAttributesPerElement: MAX_XML_ATTRIBUTES_PER_ELEMENT,
  maxNameChars: MAX_XML_NAME_CHARS,
  maxTextChars: MAX_XML_TEXT_CHARS,
});

/** Overrides objects already resolved: callers pass the same one on every call (hot path). */
const resolvedOverrides = new WeakMap<Partial<XmlLimits>, XmlLimits>();

/**
 * Defaults overlaid with the given overrides (undefined values keep the default). An overrides
 * object is read once and must not change afterwards (limits are configuration).
 */
export function resolveXmlLimits(overrides?: Partial<XmlLimits>): XmlLimits {
  if (!overrides) return DEFAULT_XML_LIMITS;
  const known = resolvedOverrides.get(overrides);
  if (known) return known;
  const out: Record<keyof XmlLimits, number> = { ...DEFAULT_XML_LIMITS };
  for (const key of Object.keys(DEFAULT_XML_LIMITS) as Array<keyof XmlLimits>) {
    const v = overrides[key];
    if (v !== undefined) out[key] = v;
  }
  const frozen = Object.freeze(out);
  resolvedOverrides.set(overrides, frozen);
  return frozen;
}
