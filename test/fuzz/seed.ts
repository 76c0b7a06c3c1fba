/**
 * Seed corpus for the fuzz targets, built at run time from the captures of real WCF peers in
 * `../shared/vectors` (relative to the repository root; CI has `../shared` beside the checkout)
 * plus the small hand-made seeds committed under `test/fuzz/corpus/<target>/`.
 *
 * - mono-6.8 `nettcp-*.bin` and dotnet-wcf `nettcp-duplex-echo.json`: the whole client stream
 *   (nmf-server), the whole server stream (nmf-client), each NMF record prefix, and each
 *   direction's envelope payloads as one NBFSE session (nbfx-session) and one by one;
 * - dotnet-wcf `nbfse-session-messages.json`: the three-message session (nbfx-session);
 * - mono-6.8 `basichttp-*.txt`, `wshttp-*.txt`: each HTTP body (soap-envelope, xml-text) and each
 *   Content-Type / SOAPAction value (soap-content-type).
 *
 * `node -r ./test/fuzz/register.js test/fuzz/seed.ts [--vectors DIR] [--out DIR]` writes the
 * generated seeds to `test/fuzz/.corpus/<target>/` (git-ignored); the runner calls buildSeeds()
 * itself, and the unit suite replays them in memory.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ClientDecoder, Mode, ServerDecoder } from '../../src/protocol/nmf';
import { joinSessionMessages, TARGETS } from './targets';

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const DEFAULT_VECTORS_DIR = resolve(REPO_ROOT, '..', 'shared', 'vectors');
export const COMMITTED_CORPUS_DIR = join(__dirname, 'corpus');
export const GENERATED_CORPUS_DIR = join(__dirname, '.corpus');

export interface Seed {
  readonly target: string;
  /** Where it came from, for messages. */
  readonly origin: string;
  readonly bytes: Buffer;
}

function envelopesOfClientStream(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  try {
    for (const f of new ServerDecoder().push(stream)) if (f.type === 'envelope') out.push(f.payload);
  } catch {
    /* a capture that does not decode still seeds nmf-server whole */
  }
  return out;
}

function envelopesOfServerStream(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  try {
    for (const f of new ClientDecoder({ mode: Mode.Duplex }).push(stream)) if (f.type === 'envelope') out.push(f.payload);
  } catch {
    /* as above */
  }
  return out;
}

/** Prefixes of a stream ending at each record boundary the decoder reports (cheap structure-aware seeds). */
function recordPrefixes(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const d = new ServerDecoder();
  try {
    for (let i = 0; i < stream.length; i++) {
      if (d.push(stream.subarray(i, i + 1)).length > 0) out.push(stream.subarray(0, i + 1));
    }
  } catch {
    /* keep what we have */
  }
  return out.slice(0, 8);
}

function nettcpSeeds(c2s: Buffer | undefined, s2c: Buffer | undefined, origin: string): Seed[] {
  const seeds: Seed[] = [];
  if (c2s) {
    seeds.push({ target: 'nmf-server', origin: `${origin} c2s`, bytes: c2s });
    for (const [i, p] of recordPrefixes(c2s).entries()) seeds.push({ target: 'nmf-server', origin: `${origin} c2s prefix ${i}`, bytes: p });
    const env = envelopesOfClientStream(c2s);
    if (env.length) seeds.push({ target: 'nbfx-session', origin: `${origin} c2s session`, bytes: joinSessionMessages(env) });
    for (const [i, p] of env.entries()) seeds.push({ target: 'nbfx-session', origin: `${origin} c2s envelope ${i}`, bytes: joinSessionMessages([p]) });
  }
  if (s2c) {
    seeds.push({ target: 'nmf-client', origin: `${origin} s2c`, bytes: s2c });
    const env = envelopesOfServerStream(s2c);
    if (env.length) seeds.push({ target: 'nbfx-session', origin: `${origin} s2c session`, bytes: joinSessionMessages(env) });
  }
  return seeds;
}

/** HTTP exchanges as the captures print them: `----- … -----` blocks of head, blank line, body. */
function httpSeeds(text: string, origin: string): Seed[] {
  const seeds: Seed[] = [];
  const blocks = text.split(/^(?:-----.*-----|########.*)$/m);
  for (const [i, block] of blocks.entries()) {
    const m = /^\r?\n?((?:[^\r\n]+\r?\n)+)\r?\n([\s\S]*)$/.exec(block);
    if (!m) continue;
    const head = m[1]!;
    const body = m[2]!.replace(/\s+$/, '');
    for (const line of head.split(/\r?\n/)) {
      const h = /^(content-type|soapaction):\s*(.*)$/i.exec(line);
      if (h) seeds.push({ target: 'soap-content-type', origin: `${origin} block ${i} ${h[1]}`, bytes: Buffer.from(h[2]!, 'latin1') });
    }
    if (body.startsWith('<')) {
      const bytes = Buffer.from(body, 'utf8');
      seeds.push({ target: 'soap-envelope', origin: `${origin} block ${i}`, bytes });
      seeds.push({ target: 'xml-text', origin: `${origin} block ${i}`, bytes });
    }
  }
  return seeds;
}

function readIf(path: string): Buffer | undefined {
  return existsSync(path) ? readFileSync(path) : undefined;
}

/** Seeds from the captures; empty when the vectors folder is absent. */
export function seedsFromVectors(vectorsDir = DEFAULT_VECTORS_DIR): Seed[] {
  if (!existsSync(vectorsDir)) return [];
  const seeds: Seed[] = [];
  const mono = join(vectorsDir, 'mono-6.8');
  seeds.push(...nettcpSeeds(readIf(join(mono, 'nettcp-client-to-server.bin')), readIf(join(mono, 'nettcp-server-to-client.bin')), 'mono-6.8 nettcp'));
  const dotnet = join(vectorsDir, 'dotnet-wcf');
  const duplex = readIf(join(dotnet, 'nettcp-duplex-echo.json'));
  if (duplex) {
    const j = JSON.parse(duplex.toString('utf8')) as { c2s?: string; s2c?: string };
    seeds.push(...nettcpSeeds(j.c2s ? Buffer.from(j.c2s, 'hex') : undefined, j.s2c ? Buffer.from(j.s2c, 'hex') : undefined, 'dotnet-wcf duplex'));
  }
  const nbfse = readIf(join(dotnet, 'nbfse-session-messages.json'));
  if (nbfse) {
    const j = JSON.parse(nbfse.toString('utf8')) as { messages?: Array<{ hex?: string }> };
    const payloads = (j.messages ?? []).flatMap((m) => (m.hex ? [Buffer.from(m.hex, 'hex')] : []));
    if (payloads.length) seeds.push({ target: 'nbfx-session', origin: 'dotnet-wcf nbfse session', bytes: joinSessionMessages(payloads) });
  }
  if (existsSync(mono)) {
    for (const file of readdirSync(mono).sort()) {
      if (/^(basichttp|wshttp)-.*\.txt$/.test(file)) seeds.push(...httpSeeds(readFileSync(join(mono, file), 'utf8'), `mono-6.8 ${file}`));
    }
  }
  return seeds;
}

/** The committed hand-made seeds (`test/fuzz/corpus/<target>/*`). */
export function committedSeeds(dir = COMMITTED_CORPUS_DIR): Seed[] {
  const seeds: Seed[] = [];
  for (const t of TARGETS) {
    const d = join(dir, t.name);
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d).sort()) seeds.push({ target: t.name, origin: `corpus/${t.name}/${f}`, bytes: readFileSync(join(d, f)) });
  }
  return seeds;
}

/** Every seed: captures + committed, de-duplicated per target. */
export function buildSeeds(vectorsDir = DEFAULT_VECTORS_DIR): Seed[] {
  const seen = new Set<string>();
  const out: Seed[] = [];
  for (const s of [...committedSeeds(), ...seedsFromVectors(vectorsDir)]) {
    const key = `${s.target}:${createHash('sha1').update(s.bytes).digest('hex')}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(s);
  }
  return out;
}

/** File name of a corpus entry: its content hash (as libFuzzer names them). */
export function corpusFileName(bytes: Buffer): string {
  return createHash('sha1').update(bytes).digest('hex');
}

/** Writes the capture seeds into `<outDir>/<target>/`; returns how many per target. */
export function writeGeneratedCorpus(outDir = GENERATED_CORPUS_DIR, vectorsDir = DEFAULT_VECTORS_DIR): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of seedsFromVectors(vectorsDir)) {
    const d = join(outDir, s.target);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, corpusFileName(s.bytes)), s.bytes);
    counts.set(s.target, (counts.get(s.target) ?? 0) + 1);
  }
  return counts;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const vectors = resolve(opt('--vectors') ?? DEFAULT_VECTORS_DIR);
  const out = resolve(opt('--out') ?? GENERATED_CORPUS_DIR);
  if (!existsSync(vectors)) console.warn(`seed: ${vectors} not found; only the committed seeds will be used`);
  const counts = writeGeneratedCorpus(out, vectors);
  for (const [t, n] of counts) console.log(`seed: ${t}: ${n} inputs from ${vectors}`);
}
