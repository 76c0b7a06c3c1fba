/*
 * Loads the fuzz runner's TypeScript (test/fuzz and the src/ it imports) without a build step:
 * each .ts file is transpiled with @swc/core, as jest does (@swc/jest). Type checking stays with
 * `npm run typecheck`. Used as `node -r ./test/fuzz/register.js test/fuzz/run.ts`, and by the
 * worker threads the runner starts.
 */
'use strict';
const fs = require('node:fs');
const swc = require('@swc/core');

require.extensions['.ts'] = function compileTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { code } = swc.transformSync(source, {
    filename,
    sourceMaps: 'inline',
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
