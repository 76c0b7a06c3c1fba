/** @type {import('jest').Config} */
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] };
const common = { testEnvironment: 'node', transform, moduleFileExtensions: ['ts', 'js', 'json'] };
// Suites with real sockets and processes: a test or a hook (teardown waits for the processes it
// started to exit) may take longer than jest's 5 s on a loaded 2-core machine; a hang still fails.
const real = { ...common, testTimeout: 30_000 };

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...real, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    { ...real, displayName: 'conformance', testMatch: ['<rootDir>/test/conformance/**/*.test.ts'] },
    { ...real, displayName: 'interop', testMatch: ['<rootDir>/test/interop/**/*.test.ts'] },
    // Hostile peers: header floods, compression bombs, parked envelopes, slow bodies, spoofed responses.
    { ...real, displayName: 'hostile', testMatch: ['<rootDir>/test/hostile/**/*.test.ts'] },
    // The built CLI as real processes (kill -9, SIGTERM, SIGSTOP): `npm test` builds dist/ first.
    { ...real, displayName: 'resilience', testMatch: ['<rootDir>/test/resilience/**/*.test.ts'] },
  ],
};
