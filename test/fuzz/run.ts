/**
 * `npm run fuzz`: every target (or those named) for a bounded time each, one after another, each
 * in its own worker thread.
 *
 *   npm run fuzz                                  60 s per target
 *   npm run fuzz -- --seconds 300 --target nmf-server,nbfx-session
 *   npm run fuzz:ci                               3 s per target (CI)
 *   npm run fuzz -- --replay FILE --target NAME   run one input once, print what it throws
 *
 * Options (env in brackets): --seconds N [FUZZ_SECONDS], --runs N (stop after N executions),
 * --target a,b [FUZZ_TARGETS], --seed N [FUZZ_SEED], --hang-ms N (default 10000), --slow-ms N
 * (default 1000), --heap-mb N (worker heap limit, default 512), --vectors DIR (default
 * ../shared/vectors), --no-save (do not grow test/fuzz/.corpus), --list.
 *
 * Prints executions, blocks covered, corpus size and findings per target; a crashing, hanging,
 * slow or ballooning input is written to test/fuzz/findings/<target>/; exits 1 on any finding.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DEFAULT_VECTORS_DIR, COMMITTED_CORPUS_DIR, GENERATED_CORPUS_DIR, writeGeneratedCorpus, corpusFileName } from './seed';
import { TARGETS, targetByName } from './targets';
import type { WorkerConfig, WorkerMessage, WorkerStats } from './worker';

const FINDINGS_DIR = join(__dirname, 'findings');
const MAX_SHARED_INPUT = 64 * 1024;

interface Options {
  seconds: number;
  runs: number;
  targets: string[];
  seed: number;
  hangMs: number;
  slowMs: number;
  heapMb: number;
  vectors: string;
  save: boolean;
  replay: string | undefined;
  list: boolean;
}

function parseArgs(argv: string[]): Options {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string, env: string | undefined, dflt: number): number => {
    const v = get(name) ?? env;
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${v}`);
    return n;
  };
  const names = (get('--target') ?? process.env.FUZZ_TARGETS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) targetByName(n);
  return {
    seconds: num('--seconds', process.env.FUZZ_SECONDS, 60),
    runs: num('--runs', undefined, 0),
    targets: names.length ? names : TARGETS.map((t) => t.name),
    seed: num('--seed', process.env.FUZZ_SEED, Date.now() % 2 ** 31),
    hangMs: num('--hang-ms', undefined, 10_000),
    slowMs: num('--slow-ms', undefined, 1000),
    heapMb: num('--heap-mb', undefined, 512),
    vectors: resolve(get('--vectors') ?? DEFAULT_VECTORS_DIR),
    save: !argv.includes('--no-save'),
    replay: get('--replay'),
    list: argv.includes('--list'),
  };
}

interface Result {
  target: string;
  stats: WorkerStats | undefined;
  findings: Array<{ kind: string; file: string; message: string }>;
}

function fuzzOne(name: string, o: Options): Promise<Result> {
  const shared = new SharedArrayBuffer(8 + MAX_SHARED_INPUT);
  const counter = new Int32Array(shared, 0, 2);
  const config: WorkerConfig = {
    target: name,
    seconds: o.seconds,
    runs: o.runs,
    seed: o.seed,
    corpusDirs: [join(COMMITTED_CORPUS_DIR, name), join(GENERATED_CORPUS_DIR, name)],
    saveDir: o.save ? join(GENERATED_CORPUS_DIR, name) : undefined,
    findingsDir: FINDINGS_DIR,
    slowMs: o.slowMs,
    memoryBoundBytes: 64 * 1024 * 1024,
    maxFindings: 20,
    shared,
  };
  const result: Result = { target: name, stats: undefined, findings: [] };
  const currentInput = (): Buffer => Buffer.from(new Uint8Array(shared, 8, Math.min(Atomics.load(counter, 1), MAX_SHARED_INPUT)));
  const saveCurrent = (kind: string, message: string): void => {
    const input = currentInput();
    const dir = join(FINDINGS_DIR, name);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${kind}-${corpusFileName(input)}`);
    writeFileSync(file, input);
    writeFileSync(`${file}.txt`, `${kind} in ${name}\n${message}\n`);
    result.findings.push({ kind, file, message });
    console.log(`  FINDING ${kind}: ${message}\n    input: ${file}`);
  };

  return new Promise((resolveRun) => {
    const worker = new Worker(`require(${JSON.stringify(join(__dirname, 'register.js'))}); require(${JSON.stringify(join(__dirname, 'worker.ts'))});`, {
      eval: true,
      workerData: { fuzzWorker: true, config },
      resourceLimits: { maxOldGenerationSizeMb: o.heapMb },
    });
    let lastCount = -1;
    let lastChange = Date.now();
    let finished = false;
    const watchdog = setInterval(() => {
      const c = Atomics.load(counter, 0);
      if (c !== lastCount) {
        lastCount = c;
        lastChange = Date.now();
        return;
      }
      // Loading and the first coverage take can be slow; only count once inputs are running.
      if (c > 0 && Date.now() - lastChange > o.hangMs && !finished) {
        finished = true;
        saveCurrent('hang', `no progress for ${o.hangMs} ms on one input`);
        void worker.terminate();
      }
    }, 250);
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'stats') {
        result.stats = m.stats;
        const s = m.stats;
        console.log(`  ${name}: ${s.seconds.toFixed(0)}s execs ${s.execs} (${(s.execs / Math.max(s.seconds, 0.001)).toFixed(0)}/s) blocks ${s.blocks}/${s.knownBlocks} corpus ${s.corpus} findings ${s.findings}`);
      } else if (m.type === 'finding') {
        result.findings.push({ kind: m.kind, file: m.file, message: m.message });
        console.log(`  FINDING ${m.kind}: ${m.message.split('\n')[0]}\n    input: ${m.file}`);
      } else {
        result.stats = m.stats;
      }
    });
    worker.on('error', (err: Error & { code?: string }) => {
      if (finished) return;
      finished = true;
      // ERR_WORKER_OUT_OF_MEMORY: the input being run needed more than the heap limit.
      saveCurrent(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'oom' : 'crash', `${err.code ?? err.name}: ${err.message}`);
    });
    worker.on('exit', () => {
      finished = true;
      clearInterval(watchdog);
      resolveRun(result);
    });
  });
}

function replay(o: Options): number {
  const name = o.targets.length === 1 ? o.targets[0]! : undefined;
  if (!name) throw new Error('--replay needs exactly one --target');
  const input = readFileSync(o.replay!);
  try {
    targetByName(name).run(input);
    console.log(`replay ${name}: ${o.replay} (${input.length} bytes) passes`);
    return 0;
  } catch (err) {
    console.log(`replay ${name}: ${o.replay} (${input.length} bytes) fails:\n${err instanceof Error ? err.stack : String(err)}`);
    return 1;
  }
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  if (o.list) {
    for (const t of TARGETS) console.log(`${t.name.padEnd(18)} ${t.description}`);
    return 0;
  }
  if (o.replay) return replay(o);
  const seeded = writeGeneratedCorpus(GENERATED_CORPUS_DIR, o.vectors);
  const total = [...seeded.values()].reduce((a, b) => a + b, 0);
  console.log(`fuzz: ${total} seeds from ${o.vectors}${total === 0 ? ' (not found: committed seeds only)' : ''}; ${o.seconds}s per target, seed ${o.seed}`);
  const results: Result[] = [];
  for (const name of o.targets) {
    console.log(`fuzz ${name}: ${targetByName(name).description}`);
    results.push(await fuzzOne(name, o));
  }
  console.log('\ntarget             execs     exec/s  blocks  known   corpus  new   findings');
  for (const r of results) {
    const s = r.stats;
    const line = s
      ? `${r.target.padEnd(18)} ${String(s.execs).padStart(8)} ${(s.execs / Math.max(s.seconds, 0.001)).toFixed(0).padStart(8)} ${String(s.blocks).padStart(7)} ${String(s.knownBlocks).padStart(6)} ${String(s.corpus).padStart(7)} ${String(s.newInputs).padStart(5)} ${String(r.findings.length).padStart(8)}`
      : `${r.target.padEnd(18)} (no stats)${' '.repeat(50)}${String(r.findings.length).padStart(8)}`;
    console.log(line);
  }
  const findings = results.flatMap((r) => r.findings.map((f) => ({ ...f, target: r.target })));
  if (findings.length) {
    console.log(`\n${findings.length} finding(s):`);
    for (const f of findings) console.log(`  ${f.target} ${f.kind}: ${f.file}\n    ${f.message.split('\n')[0]}`);
    return 1;
  }
  console.log('\nno findings');
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 2;
  },
);
