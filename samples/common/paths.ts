/** Finds files of the repository (wsdl/, samples/) from source (ts) or build (dist/) locations. */
import fs from 'node:fs';
import path from 'node:path';

/** The repository root: the nearest folder above this file holding wsdl/ and package.json. */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'wsdl')) && fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the relaybridge repository above ${__dirname}`);
    dir = up;
  }
}

export function wsdlPath(name: string): string {
  return path.join(repoRoot(), 'wsdl', name);
}
