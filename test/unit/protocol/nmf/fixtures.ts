/** Loads the captured NMF streams in test/fixtures/nmf (see its README). */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const DIR = path.join(__dirname, '../../../fixtures/nmf');

export interface CapturedSession {
  readonly name: string;
  /** Client -> server bytes. */
  readonly c2s: Buffer;
  /** Server -> client bytes. */
  readonly s2c: Buffer;
}

export function loadCaptures(): CapturedSession[] {
  const dotnet = JSON.parse(readFileSync(path.join(DIR, 'dotnet-duplex-echo.json'), 'utf8')) as { c2s: string; s2c: string };
  return [
    { name: 'dotnet-duplex-echo', c2s: Buffer.from(dotnet.c2s, 'hex'), s2c: Buffer.from(dotnet.s2c, 'hex') },
    {
      name: 'mono-nettcp',
      c2s: readFileSync(path.join(DIR, 'mono-nettcp-client-to-server.bin')),
      s2c: readFileSync(path.join(DIR, 'mono-nettcp-server-to-client.bin')),
    },
  ];
}

/** A compact, comparable form of decoder frames: Buffers as hex, adjacent data frames merged. */
export function frameSummary(frames: ReadonlyArray<{ type: string }>): string[] {
  const out: string[] = [];
  for (const f of frames) {
    const rec = f as Record<string, unknown>;
    const parts = Object.keys(rec)
      .filter((k) => k !== 'type')
      .map((k) => `${k}=${Buffer.isBuffer(rec[k]) ? (rec[k] as Buffer).toString('hex') : JSON.stringify(rec[k])}`);
    const line = `${f.type}${parts.length ? ' ' + parts.join(' ') : ''}`;
    const prev = out[out.length - 1];
    if (f.type === 'envelopeData' && prev?.startsWith('envelopeData data=')) {
      out[out.length - 1] = prev + (rec.data as Buffer).toString('hex');
    } else out.push(line);
  }
  return out;
}
