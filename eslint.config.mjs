// Lint = the layering table of the architecture, enforced mechanically.
import tseslint from 'typescript-eslint';

const io = ['node:net', 'node:http', 'node:https', 'node:tls', 'node:fs', 'node:fs/promises', 'node:child_process',
  'net', 'http', 'https', 'tls', 'fs', 'child_process', 'ws', 'undici', 'pino', 'ioredis', 'redis', 'express'];
const restrict = (groups) => ({ 'no-restricted-imports': ['error', { patterns: groups }] });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'stubs/**', 'test/fixtures/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-var': 'error',
      'prefer-const': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  { files: ['src/**/*.ts'], ignores: ['src/cli/**'], rules: { 'no-console': 'error' } },
  { files: ['src/core/**/*.ts'], rules: restrict([
    { group: ['../*', '!../core/*'], message: 'core/ is a leaf: node built-ins only' },
    { group: io, message: 'core/ does no I/O' } ]) },
  { files: ['src/protocol/**/*.ts'], rules: restrict([
    { group: ['**/relay/**', '**/agent/**', '**/store/**', '**/auth/**', '**/cli/**'], message: 'protocol/ is I/O-free: import core/ and protocol/ only' },
    { group: io, message: 'no I/O or logging in codecs' } ]) },
  { files: ['src/auth/**/*.ts'], rules: restrict([
    { group: ['**/relay/**', '**/agent/**', '**/store/**', '**/protocol/**', '**/cli/**'], message: 'auth/ imports core/ only' },
    { group: io, message: 'auth/ does no I/O' } ]) },
  { files: ['src/store/**/*.ts'], rules: restrict([
    { group: ['**/relay/**', '**/agent/**', '**/protocol/**', '**/cli/**'], message: 'store/ imports core/ only' } ]) },
  { files: ['src/relay/**/*.ts'], rules: restrict([
    { group: ['**/agent/**', '**/cli/**'], message: 'relay/ never imports agent/ or cli/' } ]) },
  { files: ['src/agent/**/*.ts'], rules: restrict([
    { group: ['**/relay/**', '**/store/**', '**/cli/**'], message: 'agent/ never imports relay/, store/ or cli/' } ]) },
  { files: ['src/**/*.ts'], ignores: ['src/cli/**'], rules: {
    'no-restricted-properties': ['error',
      { object: 'process', property: 'env', message: 'only cli/ reads the environment' },
      { object: 'process', property: 'argv', message: 'only cli/ reads argv' },
      { object: 'process', property: 'exit', message: 'only cli/ exits' }],
  } },
);
