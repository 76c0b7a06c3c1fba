/** The package's version, for --version and the agent's User-Agent. */
import fs from 'node:fs';
import path from 'node:path';

/** The version in the package.json above this file (src/cli or dist/src/cli). */
export function version(): string {
  for (let dir = __dirname, i = 0; i < 5; i += 1, dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'relaybridge' && pkg.version) return pkg.version;
    } catch {
      /* not here */
    }
  }
  return 'unknown';
}
