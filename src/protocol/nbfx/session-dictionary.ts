/**
 * [MC-NBFSE] in-band (session) dictionaries, one per direction for the life of a net.tcp
 * connection (wcf-wire.md §3.2). Used with NMF encoding 0x08, application/soap+msbinsession1.
 *
 * Every envelope payload starts with a StringTable ([MC-NBFSE] §2.1-§2.2):
 *
 *   MB31 tableSize  { MB31 length, UTF-8 bytes }*   ; exactly tableSize bytes, new strings in id order
 *
 * Ids are 0, 1, 2, ... across the whole connection, never reset and never repeated; a session
 * string is referenced on the wire as DictionaryString key 2*id+1 (odd keys; even keys are the
 * [MC-NBFS] static dictionary). The two directions number their strings independently, so a
 * connection holds one SessionReader (what the peer sends) and one SessionWriter (what we send).
 *
 * Quota: WCF's MaxSessionSize (2048 bytes by default) bounds the sum of all table bytes per
 * direction. The .NET reader subtracts each whole table from its budget and fails the session
 * when one does not fit; the writer stops adding strings when the budget is spent and writes
 * literal strings from then on. After any decode error the WCF session is unusable; the reader
 * here mirrors that and refuses every later envelope.
 */
import { TextDecoder } from 'node:util';
import { ProtocolError } from '../../core/errors';
import { MAX_SESSION_BYTES } from './limits';
import { ByteCursor } from './byte-cursor';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface SessionDictionaryOptions {
  /** Quota on the sum of string-table bytes for this direction. Default 2048 (WCF MaxSessionSize). */
  readonly maxSessionBytes?: number;
}

/** Bytes a string takes in a StringTable: MB31 length + UTF-8. */
export function stringTableEntrySize(value: string): number {
  const len = Buffer.byteLength(value, 'utf8');
  return ByteCursor.sizeOfMultiByteInt31(len) + len;
}

/** The peer's session strings: filled from each received envelope's StringTable. */
export class SessionReader {
  readonly #strings: string[] = [];
  readonly #maxBytes: number;
  #bytesUsed = 0;
  #failure: ProtocolError | undefined;

  constructor(options: SessionDictionaryOptions = {}) {
    this.#maxBytes = options.maxSessionBytes ?? MAX_SESSION_BYTES;
  }

  /** Session strings received so far. */
  get size(): number {
    return this.#strings.length;
  }

  get bytesUsed(): number {
    return this.#bytesUsed;
  }

  /** The string of session id `id` (wire key 2*id+1), or undefined when not (yet) defined. */
  lookup(id: number): string | undefined {
    return this.#strings[id];
  }

  /** A copy with the same strings and quota, to read ahead without changing this one. */
  fork(): SessionReader {
    const copy = new SessionReader({ maxSessionBytes: this.#maxBytes });
    copy.#strings.push(...this.#strings);
    copy.#bytesUsed = this.#bytesUsed;
    copy.#failure = this.#failure;
    return copy;
  }

  /**
   * Reads the StringTable at the start of an envelope payload, adds its strings, and returns the
   * offset where the NBFX document starts. Throws ProtocolError (and poisons the session) on a
   * malformed table or one that exceeds the quota.
   */
  readStringTable(payload: Uint8Array): number {
    if (this.#failure) throw this.#failure;
    try {
      const cursor = new ByteCursor(payload);
      const tableSize = cursor.readMultiByteInt31();
      // [MC-NBFSE] §2.2 / WCF BinaryEncoderSessionTooLarge: the whole table counts against the quota.
      if (tableSize > this.#maxBytes - this.#bytesUsed) {
        throw new ProtocolError(
          'RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE',
          `[MC-NBFSE] session string table of ${tableSize} bytes exceeds the remaining session quota (${this.#maxBytes - this.#bytesUsed} of ${this.#maxBytes} bytes)`,
        );
      }
      const end = cursor.offset + tableSize;
      if (end > payload.length) throw new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', '[MC-NBFSE] string table runs past the envelope');
      const added: string[] = [];
      while (cursor.offset < end) {
        const len = cursor.readMultiByteInt31();
        // [MC-NBFSE] §2.2: the strings fill exactly tableSize bytes.
        if (len > end - cursor.offset) throw new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', '[MC-NBFSE] string runs past the string table');
        added.push(utf8.decode(cursor.readBytes(len)));
      }
      this.#strings.push(...added);
      this.#bytesUsed += tableSize;
      return end;
    } catch (err) {
      this.#failure =
        err instanceof ProtocolError
          ? err
          : new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `[MC-NBFSE] malformed string table: ${(err as Error).message}`, { cause: err });
      throw this.#failure;
    }
  }

  /** Marks the session unusable (after a decode error in the envelope body, as WCF does). */
  poison(error: ProtocolError): void {
    this.#failure ??= error;
  }
}

/**
 * Our session strings towards the peer. While an envelope is written, strings are added as the
 * writer meets them (ids in first-use order, as WCF's XmlBinaryWriterSession assigns them);
 * takeStringTable() then returns the table that must precede that envelope and commits it.
 */
export class SessionWriter {
  readonly #ids = new Map<string, number>();
  readonly #maxBytes: number;
  #count = 0;
  #bytesUsed = 0;
  #pending: string[] = [];
  #pendingBytes = 0;

  constructor(options: SessionDictionaryOptions = {}) {
    this.#maxBytes = options.maxSessionBytes ?? MAX_SESSION_BYTES;
  }

  get size(): number {
    return this.#count + this.#pending.length;
  }

  /** Committed plus pending table bytes. */
  get bytesUsed(): number {
    return this.#bytesUsed + this.#pendingBytes;
  }

  /** The id of a string already in the session (committed or pending), else undefined. */
  lookup(value: string): number | undefined {
    return this.#ids.get(value);
  }

  /** The id of `value`, adding it when the quota allows; undefined when it does not fit. */
  getOrAdd(value: string): number | undefined {
    const known = this.#ids.get(value);
    if (known !== undefined) return known;
    const size = stringTableEntrySize(value);
    if (size > this.#maxBytes - this.bytesUsed) return undefined;
    const id = this.#count + this.#pending.length;
    this.#ids.set(value, id);
    this.#pending.push(value);
    this.#pendingBytes += size;
    return id;
  }

  /** The StringTable for the envelope just written (MB31 size + strings), committing its strings. */
  takeStringTable(): Buffer {
    const out = Buffer.allocUnsafe(ByteCursor.sizeOfMultiByteInt31(this.#pendingBytes) + this.#pendingBytes);
    let at = ByteCursor.writeMultiByteInt31(out, 0, this.#pendingBytes);
    for (const s of this.#pending) {
      at = ByteCursor.writeMultiByteInt31(out, at, Buffer.byteLength(s, 'utf8'));
      at += out.write(s, at, 'utf8');
    }
    this.#count += this.#pending.length;
    this.#bytesUsed += this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    return out;
  }

  /** Forgets strings added for an envelope that will not be sent (the writer failed). */
  discardPending(): void {
    for (const s of this.#pending) this.#ids.delete(s);
    this.#pending = [];
    this.#pendingBytes = 0;
  }
}
