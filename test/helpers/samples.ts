/**
 * A runnable sample (dist/samples/<name>/run.js, what `npm run sample:<name>` starts) as a real
 * process from the checkout, on free ports (`--port 0`): started, awaited until its banner says
 * "Press Ctrl-C to stop.", stopped with SIGINT as a user's Ctrl-C.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const REPO = path.resolve(__dirname, '../..');

export interface RunningSample {
  /** Everything it printed on stdout so far. */
  out(): string;
  /** Ctrl-C; resolves with its exit code. */
  stop(): Promise<number | null>;
}

export async function startSample(name: string, readyTimeoutMs = 60_000): Promise<RunningSample> {
  const script = path.join(REPO, 'dist', 'samples', name, 'run.js');
  if (!fs.existsSync(script)) throw new Error(`${script} is missing: run npm run build first`);
  const child = spawn(process.execPath, [script, '--port', '0'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const sample: RunningSample = {
    out: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      return exited;
    },
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sample ${name} did not start in ${readyTimeoutMs} ms: ${out}${err}`)), readyTimeoutMs);
      const tick = setInterval(() => {
        if (!out.includes('Press Ctrl-C to stop.')) return;
        clearInterval(tick);
        clearTimeout(timer);
        resolve();
      }, 50);
      void exited.then((code) => {
        clearInterval(tick);
        clearTimeout(timer);
        reject(new Error(`sample ${name} exited with ${code}: ${out}${err}`));
      });
    });
  } catch (e) {
    await sample.stop();
    throw e;
  }
  return sample;
}

/** The lines of a sample's banner that start with `prefix` (trimmed). */
export function printedCommands(out: string, prefix: string): string[] {
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith(prefix));
}
