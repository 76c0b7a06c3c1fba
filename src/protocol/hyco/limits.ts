/**
 * Limits for Hybrid Connections control messages (hybrid-connections.md §2.3, §8: "header
 * metadata 32 kB in total" on the control channel). Each limit is checked before the value it
 * guards is materialised: the text length before JSON.parse, header counts and sizes while the
 * header map is copied.
 */
export interface HycoLimits {
  /** Largest control message, UTF-8 bytes of the JSON text. Default 64 KiB. */
  readonly maxControlMessageBytes: number;
  /** Largest header map: sum of UTF-8 bytes of names and values. Default 32 KiB. */
  readonly maxHeaderBytes: number;
  /** Most entries in one header map. Default 256. */
  readonly maxHeaderCount: number;
}

export const HYCO_LIMITS = {
  maxControlMessageBytes: 64 * 1024,
  maxHeaderBytes: 32 * 1024,
  maxHeaderCount: 256,
} as const satisfies HycoLimits;
