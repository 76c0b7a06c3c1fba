/**
 * Receiver limits for [MC-NMF] decoders. Every limit is checked before the bytes it guards are
 * buffered, and every breach is a ProtocolError that carries the fault string to answer with.
 *
 * Defaults follow WCF (CoreWCF TransportDefaults.cs; wcf-wire.md §1.5): Via 2048 bytes, content
 * type 256 bytes, MaxReceivedMessageSize 65536; the relay default for messages is larger (4 MiB)
 * because it transcodes for services whose own quota may have been raised.
 */
export interface NmfLimits {
  /** Longest Via record value, UTF-8 bytes. Default 2048 (fault ViaTooLong). */
  readonly maxViaBytes: number;
  /** Longest Extensible Encoding content type, UTF-8 bytes. Default 256 (fault ContentTypeTooLong). */
  readonly maxContentTypeBytes: number;
  /** Longest upgrade protocol name, UTF-8 bytes. Default 256 (fault UpgradeInvalid). */
  readonly maxUpgradeProtocolBytes: number;
  /** Longest fault string a client decoder reads, UTF-8 bytes. Default 256 (WCF FaultStringDecoder). */
  readonly maxFaultBytes: number;
  /**
   * Largest message: a Sized Envelope payload, or the sum of an Unsized Envelope's chunks.
   * Default 4 MiB (fault MaxMessageSizeExceededFault).
   */
  readonly maxMessageBytes: number;
}

export const MAX_VIA_BYTES = 2048;
export const MAX_CONTENT_TYPE_BYTES = 256;
export const MAX_UPGRADE_PROTOCOL_BYTES = 256;
export const MAX_FAULT_BYTES = 256;
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export const DEFAULT_NMF_LIMITS: NmfLimits = Object.freeze({
  maxViaBytes: MAX_VIA_BYTES,
  maxContentTypeBytes: MAX_CONTENT_TYPE_BYTES,
  maxUpgradeProtocolBytes: MAX_UPGRADE_PROTOCOL_BYTES,
  maxFaultBytes: MAX_FAULT_BYTES,
  maxMessageBytes: MAX_MESSAGE_BYTES,
});

/** Defaults overlaid with the given overrides (undefined keeps the default). */
export function resolveNmfLimits(overrides?: Partial<NmfLimits>): NmfLimits {
  if (!overrides) return DEFAULT_NMF_LIMITS;
  const out: Record<keyof NmfLimits, number> = { ...DEFAULT_NMF_LIMITS };
  for (const key of Object.keys(DEFAULT_NMF_LIMITS) as Array<keyof NmfLimits>) {
    const v = overrides[key];
    if (v !== undefined) out[key] = v;
  }
  return Object.freeze(out);
}
