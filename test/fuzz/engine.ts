/**
 * A small coverage-guided fuzzer on V8's own block coverage (node:inspector, Profiler
 * precise coverage with call counts and block granularity), in the style of libFuzzer:
 * mutate an input from the corpus, run the target, keep the input when it reached a block of
 * the code under test (`src/`) that no earlier input reached.
 *
 * Why not @jazzer.js/core: its 4.0.0 prebuilt addon needs glibc 2.38 (Debian 12 has 2.36) and
 * the package has no sources to rebuild it; 2.1.0 downloads its addon from GitHub (unreachable
 * here) and then needs `prebuild`. Node's built-in coverage needs nothing native.
 *
 * Block coverage: V8 reports, per function, nested ranges with execution counts, and merges a
 * range into its parent when the counts are equal. So a block is covered in a run when its
 * function ran and no range with count 0 encloses it; every range ever reported (with count 0
 * or not) is remembered as a block. Counts reset at each takePreciseCoverage.
 *
 * Speed: taking coverage costs far more than one decoder run, so inputs run in batches and
 * coverage is taken once per batch; only a batch that reached something new is replayed input
 * by input to find which inputs to keep.
 */
import { Session } from 'node:inspector';

interface Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface FunctionCoverage {
  functionName: string;
  ranges: Range[];
  isBlockCoverage: boolean;
}
interface ScriptCoverage {
  scriptId: string;
  url: string;
  functions: FunctionCoverage[];
}

/** Tracks which blocks of the selected scripts any run has reached. */
export class CoverageTracker {
  readonly #session = new Session();
  readonly #include: (url: string) => boolean;
  /** Every block seen per function key (`url#start`), as `start:end`. */
  readonly #blocks = new Map<string, Set<string>>();
  readonly #covered = new Set<string>();
  #functionsCovered = new Set<string>();

  constructor(include: (url: string) => boolean) {
    this.#include = include;
    this.#session.connect();
    this.#post('Profiler.enable');
    this.#post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }

  /** Blocks (ranges) of the code under test reached so far. */
  get blocks(): number {
    return this.#covered.size;
  }

  get functions(): number {
    return this.#functionsCovered.size;
  }

  /** Blocks known (reached or not) in the code under test loaded so far. */
  get knownBlocks(): number {
    let n = 0;
    for (const s of this.#blocks.values()) n += s.size;
    return n;
  }

  /** Drops the counts accumulated so far (e.g. by loading modules). */
  reset(): void {
    this.#take();
  }

  /**
   * Takes the counts since the last call and merges them. Returns how many blocks were reached
   * for the first time. With `dryRun` nothing is recorded (a batch check before attribution).
   */
  collect(dryRun = false): number {
    let fresh = 0;
    const newlyCovered: string[] = [];
    for (const script of this.#take()) {
      if (!this.#include(script.url)) continue;
      for (const fn of script.functions) {
        const root = fn.ranges[0];
        if (!root) continue;
        const fnKey = `${script.url}#${root.startOffset}`;
        let known = this.#blocks.get(fnKey);
        if (!known) {
          known = new Set();
          this.#blocks.set(fnKey, known);
        }
        for (const r of fn.ranges) known.add(`${r.startOffset}:${r.endOffset}`);
        if (root.count === 0) continue;
        if (!dryRun) this.#functionsCovered.add(fnKey);
        const zeros = fn.ranges.filter((r) => r.count === 0);
        for (const b of known) {
          const key = `${fnKey}:${b}`;
          if (this.#covered.has(key)) continue;
          const colon = b.indexOf(':');
          const start = Number(b.slice(0, colon));
          const end = Number(b.slice(colon + 1));
          if (zeros.some((z) => z.startOffset <= start && end <= z.endOffset)) continue;
          fresh++;
          newlyCovered.push(key);
        }
      }
    }
    if (!dryRun) for (const k of newlyCovered) this.#covered.add(k);
    return fresh;
  }

  close(): void {
    this.#post('Profiler.stopPreciseCoverage');
    this.#session.disconnect();
  }

  #take(): ScriptCoverage[] {
    return (this.#post('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] }).result;
  }

  /** Session.post on an in-thread session answers synchronously. */
  #post(method: string, params?: object): unknown {
    let out: unknown;
    let error: Error | null = null;
    this.#session.post(method, params ?? {}, (err, res) => {
      error = err;
      out = res;
    });
    if (error) throw error;
    return out;
  }
}

/** xorshift128+: fast, seedable, good enough for mutation choices. */
export class Random {
  #s0: number;
  #s1: number;
  constructor(seed: number) {
    this.#s0 = (seed ^ 0x9e3779b9) | 1;
    this.#s1 = Math.imul(seed, 0x85ebca6b) | 3;
  }
  /** Uniform integer in [0, n). */
  below(n: number): number {
    let x = this.#s0;
    const y = this.#s1;
    this.#s0 = y;
    x ^= x << 23;
    x ^= x >>> 17;
    x ^= y ^ (y >>> 26);
    this.#s1 = x;
    return ((x + y) >>> 0) % Math.max(1, n);
  }
  chance(p: number): boolean {
    return this.below(1 << 20) < p * (1 << 20);
  }
}

const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x3c, 0x3e, 0x22, 0x26, 0x0d, 0x0a, 0x20, 0x7b, 0x7d];
/** Length-like encodings: MB31 (NMF/NBFX), 16/64-bit big-endian (WebSocket), decimal text (JSON, SAS). */
const LENGTH_FIELDS: readonly Buffer[] = [
  [0x00], [0x01], [0x7f], [0x80, 0x01], [0xff, 0x7f], [0x80, 0x80, 0x01], [0xff, 0xff, 0xff, 0xff, 0x07], [0x80, 0x80, 0x80, 0x80, 0x08],
  [0xff, 0xff, 0xff, 0xff, 0x0f], [0x00, 0x7e], [0xff, 0xff], [0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00], [0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
].map((b) => Buffer.from(b)).concat(['0', '-1', '4294967296', '1e309', '65536', '99999999999999999999'].map((s) => Buffer.from(s, 'latin1')));

export interface MutatorOptions {
  readonly maxInputBytes: number;
  readonly dictionary: readonly Buffer[];
}

/** libFuzzer-style mutations, stacked 1-8 deep. */
export class Mutator {
  readonly #r: Random;
  readonly #o: MutatorOptions;

  constructor(random: Random, options: MutatorOptions) {
    this.#r = random;
    this.#o = options;
  }

  mutate(input: Buffer, other: Buffer | undefined): Buffer {
    let b: Buffer = Buffer.from(input);
    const depth = 1 + this.#r.below(this.#r.chance(0.5) ? 2 : 8);
    for (let i = 0; i < depth; i++) b = this.#once(b, other);
    if (b.length > this.#o.maxInputBytes) b = b.subarray(0, this.#o.maxInputBytes);
    return b;
  }

  #pos(b: Buffer, extra = 0): number {
    return this.#r.below(b.length + extra);
  }

  #insert(b: Buffer, at: number, piece: Buffer): Buffer {
    return Buffer.concat([b.subarray(0, at), piece, b.subarray(at)]);
  }

  #overwrite(b: Buffer, at: number, piece: Buffer): Buffer {
    const out = Buffer.from(b);
    piece.copy(out, at, 0, Math.min(piece.length, out.length - at));
    return out;
  }

  #once(b: Buffer, other: Buffer | undefined): Buffer {
    const r = this.#r;
    const empty = b.length === 0;
    switch (r.below(14)) {
      case 0: {
        if (empty) return Buffer.from([r.below(256)]);
        const out = Buffer.from(b);
        const p = this.#pos(b);
        out[p] = out[p]! ^ (1 << r.below(8));
        return out;
      }
      case 1: {
        if (empty) return b;
        const out = Buffer.from(b);
        out[this.#pos(b)] = r.chance(0.5) ? INTERESTING_8[r.below(INTERESTING_8.length)]! : r.below(256);
        return out;
      }
      case 2: {
        if (empty) return b;
        const out = Buffer.from(b);
        const p = this.#pos(b);
        out[p] = (out[p]! + (r.chance(0.5) ? 1 : 255) * (1 + r.below(4))) & 0xff;
        return out;
      }
      case 3: {
        // Insert random bytes.
        const n = 1 + r.below(r.chance(0.8) ? 4 : 64);
        const piece = Buffer.alloc(n);
        for (let i = 0; i < n; i++) piece[i] = r.below(256);
        return this.#insert(b, this.#pos(b, 1), piece);
      }
      case 4: {
        // Delete a range.
        if (b.length < 2) return b;
        const at = this.#pos(b);
        const n = 1 + r.below(Math.min(b.length - at, r.chance(0.8) ? 8 : 512));
        return Buffer.concat([b.subarray(0, at), b.subarray(at + n)]);
      }
      case 5: {
        // Duplicate a range in place (repetition: depth, counts, many headers).
        if (empty) return b;
        const at = this.#pos(b);
        const n = 1 + r.below(Math.min(b.length - at, 256));
        const piece = b.subarray(at, at + n);
        const times = 1 + r.below(r.chance(0.9) ? 3 : 200);
        return this.#insert(b, at, Buffer.concat(Array.from({ length: times }, () => piece)));
      }
      case 6:
      case 7: {
        // Dictionary token, inserted or overwriting.
        const d = this.#o.dictionary;
        if (d.length === 0) return b;
        const tok = d[r.below(d.length)]!;
        return r.chance(0.6) || empty ? this.#insert(b, this.#pos(b, 1), tok) : this.#overwrite(b, this.#pos(b), tok);
      }
      case 8: {
        // Length-field edit: overwrite or insert an encoded length.
        const f = LENGTH_FIELDS[r.below(LENGTH_FIELDS.length)]!;
        return r.chance(0.5) || empty ? this.#overwrite(b, empty ? 0 : this.#pos(b), f) : this.#insert(b, this.#pos(b, 1), f);
      }
      case 9: {
        // Truncate.
        if (b.length < 2) return b;
        return b.subarray(0, this.#pos(b));
      }
      case 10: {
        // Splice with another corpus entry (crossover).
        if (!other || other.length === 0) return b;
        const cut = this.#pos(b, 1);
        const from = r.below(other.length);
        return Buffer.concat([b.subarray(0, cut), other.subarray(from, from + 1 + r.below(other.length - from))]);
      }
      case 11: {
        // Copy a range of the input over another place of it.
        if (b.length < 2) return b;
        const from = this.#pos(b);
        const n = 1 + r.below(Math.min(b.length - from, 32));
        return this.#overwrite(b, this.#pos(b), b.subarray(from, from + n));
      }
      case 12: {
        // Swap two bytes.
        if (b.length < 2) return b;
        const out = Buffer.from(b);
        const i = this.#pos(b);
        const j = this.#pos(b);
        const t = out[i]!;
        out[i] = out[j]!;
        out[j] = t;
        return out;
      }
      default: {
        // Overwrite a 16-bit or 32-bit word with a boundary value.
        if (b.length < 4) return b;
        const out = Buffer.from(b);
        const at = r.below(b.length - 3);
        const v = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff][r.below(12)]!;
        if (r.chance(0.5)) out.writeUInt16BE(v & 0xffff, at);
        else out.writeUInt32LE(v >>> 0, at);
        return out;
      }
    }
  }
}
