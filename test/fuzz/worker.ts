/**
 * One fuzz target in a worker thread (started by run.ts): load the corpus, run it, then mutate
 * and keep what reaches new blocks until the time or run budget is spent.
 *
 * Before each input the worker writes it into shared memory and bumps a counter, so the main
 * thread can name the input when this thread hangs (it terminates the worker after hangMs) or
 * dies of its heap limit. In-thread checks: every exception out of the target is a finding
 * (targets swallow the project's protocol errors themselves); an input slower than slowMs,
 * twice, is a finding; an input after which the heap grew by more than the memory bound, twice
 * (the second time after a full GC), is a finding.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { CoverageTracker, Mutator, Random } from './engine';
import { targetByName, type FuzzTarget } from './targets';

export interface WorkerConfig {
  readonly target: string;
  readonly seconds: number;
  /** Stop after this many executions (0 = no limit). */
  readonly runs: number;
  readonly seed: number;
  /** Folders whose files seed the corpus. */
  readonly corpusDirs: readonly string[];
  /** Where inputs that reached new blocks are saved (undefined = not saved). */
  readonly saveDir: string | undefined;
  readonly findingsDir: string;
  readonly slowMs: number;
  /** Heap growth allowed per input: fixed part, bytes (plus 256 bytes per input byte). */
  readonly memoryBoundBytes: number;
  readonly maxFindings: number;
  /** [counter, length] as Int32, then the current input's bytes. */
  readonly shared: SharedArrayBuffer;
}

export interface WorkerStats {
  execs: number;
  blocks: number;
  knownBlocks: number;
  functions: number;
  corpus: number;
  newInputs: number;
  findings: number;
  seconds: number;
}

export type WorkerMessage =
  | { type: 'stats'; stats: WorkerStats }
  | { type: 'finding'; kind: 'crash' | 'slow' | 'memory'; file: string; message: string }
  | { type: 'done'; stats: WorkerStats };

/** Inputs per coverage take: grows while nothing new is found, back to the minimum when something is. */
const MIN_BATCH = 16;
const MAX_BATCH = 512;

function sha1(b: Buffer): string {
  return createHash('sha1').update(b).digest('hex');
}

/** A short stable signature of a failure, for de-duplication: name, message without numbers, first src frame. */
function signature(err: unknown): string {
  if (!(err instanceof Error)) return `non-error ${String(err).slice(0, 80)}`;
  const frame = (err.stack ?? '').split('\n').find((l) => l.includes('/src/')) ?? '';
  return `${err.name}: ${err.message.split('\n')[0]!.replace(/\d+/g, 'N').slice(0, 120)} @ ${frame.trim().replace(/:\d+:\d+\)?$/, '')}`;
}

/** JS heap plus external memory (Buffers), bytes. */
function heapBytes(): number {
  const h = getHeapStatistics();
  return h.used_heap_size + h.external_memory;
}

function loadCorpus(dirs: readonly string[], maxBytes: number): Buffer[] {
  const out: Buffer[] = [];
  const seen = new Set<string>();
  for (const d of dirs) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d).sort()) {
      const b = readFileSync(join(d, f));
      const h = sha1(b);
      if (seen.has(h) || b.length > maxBytes) continue;
      seen.add(h);
      out.push(b);
    }
  }
  return out;
}

export function runWorker(cfg: WorkerConfig, post: (m: WorkerMessage) => void): void {
  const target: FuzzTarget = targetByName(cfg.target);
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const counter = new Int32Array(cfg.shared, 0, 2);
  const inputView = new Uint8Array(cfg.shared, 8);
  const started = Date.now();
  const deadline = started + cfg.seconds * 1000;
  const random = new Random(cfg.seed);
  const mutator = new Mutator(random, { maxInputBytes: Math.min(target.maxInputBytes, inputView.length), dictionary: target.dictionary });
  const tracker = new CoverageTracker((url) => url.includes('/src/'));
  const findingSigs = new Set<string>();
  let execs = 0;
  let newInputs = 0;

  const corpus = loadCorpus(cfg.corpusDirs, target.maxInputBytes);
  if (corpus.length === 0) corpus.push(Buffer.alloc(0));

  const stats = (): WorkerStats => ({
    execs,
    blocks: tracker.blocks,
    knownBlocks: tracker.knownBlocks,
    functions: tracker.functions,
    corpus: corpus.length,
    newInputs,
    findings: findingSigs.size,
    seconds: (Date.now() - started) / 1000,
  });

  const record = (kind: 'crash' | 'slow' | 'memory', input: Buffer, message: string, sig: string): void => {
    if (findingSigs.has(sig)) return;
    findingSigs.add(sig);
    const dir = join(cfg.findingsDir, target.name);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${kind}-${sha1(input)}`);
    writeFileSync(file, input);
    writeFileSync(`${file}.txt`, `${kind} in ${target.name}\n${message}\n`);
    post({ type: 'finding', kind, file, message: message.split('\n').slice(0, 6).join('\n') });
  };

  /** Runs one input with the hang, speed and memory checks. */
  const exec = (input: Buffer, check = true): void => {
    inputView.set(input.subarray(0, inputView.length));
    Atomics.store(counter, 1, input.length);
    Atomics.add(counter, 0, 1);
    execs++;
    const mem0 = check ? heapBytes() : 0;
    const t0 = performance.now();
    try {
      target.run(input);
    } catch (err) {
      record('crash', input, err instanceof Error ? (err.stack ?? err.message) : String(err), signature(err));
      return;
    }
    if (!check) return;
    const ms = performance.now() - t0;
    if (ms > cfg.slowMs) {
      // Confirm: a loaded machine can stall any single run.
      const t1 = performance.now();
      try {
        target.run(input);
      } catch {
        /* reported above if it throws */
      }
      const again = performance.now() - t1;
      if (again > cfg.slowMs) record('slow', input, `took ${ms.toFixed(0)} ms, then ${again.toFixed(0)} ms (bound ${cfg.slowMs} ms) for ${input.length} bytes`, `slow@${target.name}`);
    }
    const grown = heapBytes() - mem0;
    const bound = cfg.memoryBoundBytes + 256 * input.length;
    if (grown > bound) {
      gc();
      const m0 = heapBytes();
      try {
        target.run(input);
      } catch {
        /* as above */
      }
      const again = heapBytes() - m0;
      if (again > bound) {
        record('memory', input, `heap grew by ${(grown / 2 ** 20).toFixed(1)} MiB, then ${(again / 2 ** 20).toFixed(1)} MiB for ${input.length} bytes (bound ${(bound / 2 ** 20).toFixed(1)} MiB)`, `memory@${target.name}`);
      }
    }
  };

  const save = (input: Buffer): void => {
    if (!cfg.saveDir) return;
    mkdirSync(cfg.saveDir, { recursive: true });
    writeFileSync(join(cfg.saveDir, sha1(input)), input);
  };

  // Loading modules ran code; start from zero, then measure the seeds one by one.
  tracker.reset();
  for (const input of corpus) {
    exec(input);
    tracker.collect();
  }

  /**
   * Finds the inputs of a batch that reached new blocks by halving: each half is re-run and
   * checked with one coverage take, so a batch costs O(log n) takes per new input.
   */
  const attribute = (inputs: Buffer[]): void => {
    if (inputs.length === 1) {
      exec(inputs[0]!, false);
      if (tracker.collect() > 0) {
        corpus.push(inputs[0]!);
        newInputs++;
        save(inputs[0]!);
      }
      return;
    }
    const mid = inputs.length >> 1;
    for (const half of [inputs.slice(0, mid), inputs.slice(mid)]) {
      for (const input of half) exec(input, false);
      if (tracker.collect(true) > 0) attribute(half);
    }
  };

  let lastStats = Date.now();
  let batchSize = MIN_BATCH;
  const done = (): boolean =>
    Date.now() >= deadline || (cfg.runs > 0 && execs >= cfg.runs) || findingSigs.size >= cfg.maxFindings;
  while (!done()) {
    const batch: Buffer[] = [];
    for (let i = 0; i < batchSize; i++) {
      // Prefer the newest entries half of the time: they are where the frontier is.
      const recent = random.chance(0.5) && corpus.length > 8;
      const parent = corpus[recent ? corpus.length - 1 - random.below(Math.max(1, corpus.length >> 3)) : random.below(corpus.length)]!;
      const other = corpus[random.below(corpus.length)];
      batch.push(mutator.mutate(parent, other));
    }
    for (const input of batch) exec(input);
    if (tracker.collect(true) > 0) {
      attribute(batch);
      batchSize = MIN_BATCH;
    } else {
      batchSize = Math.min(MAX_BATCH, batchSize * 2);
    }
    if (Date.now() - lastStats > 2000) {
      lastStats = Date.now();
      post({ type: 'stats', stats: stats() });
    }
  }
  tracker.close();
  post({ type: 'done', stats: stats() });
}

if (parentPort && workerData && (workerData as { fuzzWorker?: boolean }).fuzzWorker) {
  const port = parentPort;
  runWorker((workerData as { config: WorkerConfig }).config, (m) => port.postMessage(m));
}
