/** `relaybridge relay --config relay.yaml`: runs a relay with a file-backed store. */
import fs from 'node:fs';
import path from 'node:path';
import { createRelayServer, type RelayServer } from '../../relay/relay-server';
import { MemoryStore } from '../../store/memory-store';
import { ConfigError } from '../../core/errors';
import { createCliLogger } from '../logger';
import { envOverrides, parseSection, readConfigFile, relayFileSchema, resolveFrom } from '../config-file';
import { ensureSelfSignedCertificate } from '../tls';

export interface RelayCommandInput {
  config?: string;
  port?: number;
  host?: string;
  logLevel?: string;
  env: NodeJS.ProcessEnv;
}

export async function startRelayFromConfig(input: RelayCommandInput): Promise<RelayServer> {
  const file = input.config ? readConfigFile(input.config) : {};
  const merged: Record<string, unknown> = {
    ...file,
    ...envOverrides(input.env, { port: 'number', host: 'string', publicUrl: 'string', nodeId: 'string' }),
  };
  if (input.port !== undefined) merged.port = input.port;
  if (input.host !== undefined) merged.host = input.host;
  const { tls, store: storeCfg, log, ...relayOptions } = parseSection(relayFileSchema, merged, 'relay config');
  const level = input.logLevel ?? input.env.RELAYBRIDGE_LOG_LEVEL ?? log?.level ?? 'info';
  const logger = createCliLogger(level);

  let tlsPem: { cert: string; key: string } | undefined;
  if (tls?.selfSigned) {
    const dir = path.dirname(resolveFrom(input.config, storeCfg?.path ?? './.relaybridge/relay-store.json'));
    tlsPem = await ensureSelfSignedCertificate(dir, tls.hostnames ?? ['localhost', '127.0.0.1']);
    logger.info({ cert: path.join(dir, 'relay-cert.pem') }, 'using a self-signed certificate (clients: NODE_EXTRA_CA_CERTS or tls.caFile)');
  } else if (tls) {
    try {
      tlsPem = {
        cert: fs.readFileSync(resolveFrom(input.config, tls.certFile!), 'utf8'),
        key: fs.readFileSync(resolveFrom(input.config, tls.keyFile!), 'utf8'),
      };
    } catch (err) {
      throw new ConfigError('invalid relay config', [`tls: ${(err as Error).message}`]);
    }
  }
  const storePath = resolveFrom(input.config, storeCfg?.path ?? './.relaybridge/relay-store.json');
  const store = storeCfg?.type === 'memory' ? new MemoryStore() : new MemoryStore({ file: storePath });
  const relay = createRelayServer({ ...(relayOptions as object), tls: tlsPem, store, logger });
  await relay.listen();
  return relay;
}
