// Lint = the layering table of the architecture, enforced mechanically.
import tseslint from 'typescript-eslint';

const io = ['node:net', 'node:http', 'node:https', 'node:tls', 'node:fs', 'node:fs/promises', 'node:child_process',
  'net', 'http', 'https', 'tls', 'fs', 'child_process', 'ws', 'undici', 'pino', 'ioredis', 'redis', 'express'];
const restrict = (groups) => ({ 'no-restricted-imports': ['error', { patterns: groups }] });
// Relay endpoints: each imports routing/, access control and the shared HTTP helpers, never a sibling endpoint.
const endpoints = ['control', 'http-sender', 'http-soap', 'net-tcp', 'management'];
const relayGroups = [{ group: ['**/agent/**', '**/cli/**'], message: 'relay/ never imports agent/ or cli/' }];
const endpointRules = endpoints.map((name) => ({
  files: [`src/relay/endpoints/${name}/**/*.ts`],
  // management/ still takes bodyTimeout from http-soap/read-body (re-exported from relay/http/body.ts).
  ...(name === 'management' ? { ignores: ['src/relay/endpoints/management/management-api.ts'] } : {}),
  rules: restrict([
    ...relayGroups,
    {
      regex: `^(\\.\\./)+(endpoints/)?(${endpoints.filter((e) => e !== name).join('|')})(/|$)`,
      message: `an endpoint (${name}/) never imports a sibling endpoint: move what they share to relay/routing/, relay/access/ or relay/http/`,
    },
    { regex: '(^|/)relay-server$', message: 'endpoints are built by relay-server.ts, never import it' },
  ]),
}));

// protocol/ is I/O-free, and each of its folders imports only the folders below it.
const protocolGroups = [
  { group: ['**/relay/**', '**/agent/**', '**/store/**', '**/auth/**', '**/cli/**', '**/transport/**'], message: 'protocol/ is I/O-free: import core/ and protocol/ only' },
  { group: io, message: 'no I/O or logging in codecs' },
];
const protocolImports = { xml: [], nmf: [], hyco: [], websocket: [], nbfx: ['xml'], soap: ['xml'], 'soap-binary': ['nbfx', 'soap', 'xml'] };
const protocolFolders = Object.keys(protocolImports);

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
  // Inside protocol/: the framings (nmf, hyco, websocket) and xml stand on core/ alone; nbfx and soap on xml;
  // soap-binary (binary <-> text SOAP) on nbfx and soap.
  ...Object.entries(protocolImports).map(([folder, allowed]) => ({
    files: [`src/protocol/${folder}/**/*.ts`],
    rules: restrict([
      ...protocolGroups,
      ...(protocolFolders.some((f) => f !== folder && !allowed.includes(f)) ? [{
        regex: `^\\.\\./(${protocolFolders.filter((f) => f !== folder && !allowed.includes(f)).join('|')})(/|$)`,
        message: `protocol/${folder}/ imports ${allowed.length ? allowed.map((a) => `${a}/`).join(', ') + ' and ' : ''}core/ only`,
      }] : []),
    ]),
  })),
  { files: ['src/protocol/*.ts'], rules: restrict(protocolGroups) },
  { files: ['src/transport/**/*.ts'], rules: restrict([
    { group: ['**/relay/**', '**/agent/**', '**/store/**', '**/auth/**', '**/cli/**', '**/forwarder/**'], message: 'transport/ imports core/ and protocol/ only' } ]) },
  { files: ['src/auth/**/*.ts'], rules: restrict([
    { group: ['**/relay/**', '**/agent/**', '**/store/**', '**/protocol/**', '**/cli/**'], message: 'auth/ imports core/ only' },
    { group: io, message: 'auth/ does no I/O' } ]) },
  { files: ['src/store/**/*.ts'], rules: restrict([
    { group: ['**/relay/**', '**/agent/**', '**/protocol/**', '**/cli/**'], message: 'store/ imports core/ only' } ]) },
  { files: ['src/relay/**/*.ts'], rules: restrict(relayGroups) },
  ...endpointRules,
  // Below the endpoints: routing/, access/, http/ and guard/ never reach up to an endpoint, the wiring types or the composition root.
  { files: ['src/relay/routing/**/*.ts', 'src/relay/access/**/*.ts', 'src/relay/http/**/*.ts', 'src/relay/guard/**/*.ts'], rules: restrict([
    ...relayGroups,
    { regex: '(^|/)(endpoints|relay-server|deps)(/|$)', message: 'routing/, access/, http/ and guard/ sit below the endpoints: never import endpoints/, deps.ts or relay-server.ts' } ]) },
  { files: ['src/relay/deps.ts', 'src/relay/metrics.ts', 'src/relay/options.ts'], rules: restrict([
    ...relayGroups,
    { regex: '(^|/)(endpoints|relay-server)(/|$)', message: 'the shared relay modules never import an endpoint or the composition root' } ]) },
  { files: ['src/forwarder/**/*.ts'], rules: restrict([
    { group: ['**/relay/**', '**/agent/**', '**/store/**', '**/cli/**'], message: 'forwarder/ never imports relay/, agent/, store/ or cli/' } ]) },
  { files: ['src/agent/**/*.ts'], rules: restrict([
    { group: ['**/relay/**', '**/store/**', '**/cli/**'], message: 'agent/ never imports relay/, store/ or cli/' } ]) },
  // The control connection only connects: it hands requests and accepts to serving/, never to a target itself.
  { files: ['src/agent/control/**/*.ts'], rules: restrict([
    { group: ['**/relay/**', '**/store/**', '**/cli/**'], message: 'agent/ never imports relay/, store/ or cli/' },
    { regex: '(^|/)(proxies|soap|ipc|health|targets)(/|$)', message: 'agent/control/ only connects: it reaches targets through serving/' } ]) },
  { files: ['src/agent/serving/**/*.ts'], rules: restrict([
    { group: ['**/relay/**', '**/store/**', '**/cli/**'], message: 'agent/ never imports relay/, store/ or cli/' },
    { regex: '(^|/)control(/|$)', message: 'agent/serving/ never reaches back to the control connection' } ]) },
  { files: ['src/**/*.ts'], ignores: ['src/cli/**'], rules: {
    'no-restricted-properties': ['error',
      { object: 'process', property: 'env', message: 'only cli/ reads the environment' },
      { object: 'process', property: 'argv', message: 'only cli/ reads argv' },
      { object: 'process', property: 'exit', message: 'only cli/ exits' }],
  } },
);
