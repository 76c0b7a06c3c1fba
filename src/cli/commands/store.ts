/**
 * `relaybridge store export|import --config relay.yaml`: moves entities and rules between stores,
 * e.g. from the embedded file store to NATS (several nodes) and back. The exchange format is the
 * file store's own file (version, namespaceRules, entities), so a file store's file can be
 * imported as it is. Keys are included: the output file is written with mode 0600.
 */
import fs from 'node:fs';
import { ConfigError } from '../../core/errors';
import { MemoryStore, STORE_FILE_VERSION } from '../../store/memory-store';
import type { Store } from '../../store/store';
import { parseSection, readConfigFile, relayFileSchema } from '../config-file';
import { storeFromConfig } from './relay';

async function configuredStore(config: string | undefined): Promise<Store> {
  if (!config) throw new ConfigError('missing --config', ['--config FILE: the relay config whose store to use']);
  const { store } = parseSection(relayFileSchema, readConfigFile(config), 'relay config');
  const s = await storeFromConfig(config, store);
  await s.open();
  return s;
}

/** Writes the configured store as JSON to `out` (mode 0600) or stdout; returns what it wrote. */
export async function exportStore(config: string | undefined, out: string | undefined): Promise<{ entities: number; namespaceRules: number }> {
  const store = await configuredStore(config);
  try {
    const entities = await store.listEntities();
    const namespaceRules = await store.listNamespaceRules();
    const text = `${JSON.stringify({ version: STORE_FILE_VERSION, namespaceRules, entities }, null, 2)}\n`;
    if (out) fs.writeFileSync(out, text, { mode: 0o600 });
    else process.stdout.write(text);
    return { entities: entities.length, namespaceRules: namespaceRules.length };
  } finally {
    await store.close();
  }
}

/**
 * Reads a store file (checked as the file store checks its own) and writes every namespace
 * rule and entity into the configured store: created, or updated with the file's fields and
 * rules (rules with other key names are kept).
 */
export async function importStore(config: string | undefined, input: string | undefined): Promise<{ entities: number; namespaceRules: number }> {
  if (!input) throw new ConfigError('missing --in', ['--in FILE: a store file (from `store export`, or a file store\'s own file)']);
  if (!fs.existsSync(input)) throw new ConfigError('missing --in', [`--in ${input}: no such file`]);
  const source = new MemoryStore({ file: input });
  await source.open();
  const entities = await source.listEntities();
  const namespaceRules = await source.listNamespaceRules();
  await source.close();
  const store = await configuredStore(config);
  try {
    for (const r of namespaceRules) await store.putNamespaceRule(r);
    for (const e of entities) {
      await store.upsertEntity({
        path: e.path,
        requiresClientAuthorization: e.requiresClientAuthorization,
        userMetadata: e.userMetadata,
        ...(e.broadcast ? { broadcast: true } : {}),
        authorizationRules: [...e.authorizationRules],
      });
    }
    return { entities: entities.length, namespaceRules: namespaceRules.length };
  } finally {
    await store.close();
  }
}
