/**
 * Limits for the [MC-NBFX] reader and the [MC-NBFSE] session dictionary. Each is checked before
 * the reader allocates for what it limits (array items are counted before they are expanded into
 * tokens; string lengths are checked against the bytes actually present before decoding).
 *
 * Reference points (wcf-wire.md §2.6, §3.2): XmlDictionaryReaderQuotas MaxDepth 32,
 * MaxArrayLength 16384; BinaryMessageEncodingBindingElement.MaxSessionSize 2048 bytes. The relay
 * is more generous than the services behind it on depth and arrays, but keeps the session quota
 * at the WCF default because a peer rejects a table past its own quota.
 */
export interface NbfxLimits {
  /** Deepest element nesting (root = 1). Default 128. */
  readonly maxDepth: number;
  /** Most items in one Array record. Default 65536. */
  readonly maxArrayLength: number;
  /** Most attributes (xmlns included) on one element. Default 256. */
  readonly maxAttributesPerElement: number;
  /** Most tokens one document may produce (bounds array and dictionary amplification). Default 1 Mi. */
  readonly maxTokens: number;
  /**
   * Most characters (UTF-16 units) of names, values and text one document may expand to, names
   * counted twice (start and end tag). Bounds dictionary amplification: a 2-byte DictionaryText
   * record can stand for a 2 KiB session string, so without it a 2 MiB envelope decoded to
   * 2 Gi characters. Default 16 Mi (four times the relay's 4 MiB message limit).
   */
  readonly maxDecodedChars: number;
}

export const MAX_NBFX_DEPTH = 128;
export const MAX_NBFX_ARRAY_LENGTH = 65536;
export const MAX_NBFX_ATTRIBUTES_PER_ELEMENT = 256;
export const MAX_NBFX_TOKENS = 1024 * 1024;
export const MAX_NBFX_DECODED_CHARS = 16 * 1024 * 1024;
/** [MC-NBFSE] default session quota per direction, bytes of string tables (WCF MaxSessionSize). */
export const MAX_SESSION_BYTES = 2048;

export const DEFAULT_NBFX_LIMITS: NbfxLimits = Object.freeze({
  maxDepth: MAX_NBFX_DEPTH,
  maxArrayLength: MAX_NBFX_ARRAY_LENGTH,
  maxAttributesPerElement: MAX_NBFX_ATTRIBUTES_PER_ELEMENT,
  maxTokens: MAX_NBFX_TOKENS,
  maxDecodedChars: MAX_NBFX_DECODED_CHARS,
});

/** Defaults overlaid with the given overrides (undefined keeps the default). */
export function resolveNbfxLimits(overrides?: Partial<NbfxLimits>): NbfxLimits {
  if (!overrides) return DEFAULT_NBFX_LIMITS;
  const out: Record<keyof NbfxLimits, number> = { ...DEFAULT_NBFX_LIMITS };
  for (const key of Object.keys(DEFAULT_NBFX_LIMITS) as Array<keyof NbfxLimits>) {
    const v = overrides[key];
    if (v !== undefined) out[key] = v;
  }
  return Object.freeze(out);
}
