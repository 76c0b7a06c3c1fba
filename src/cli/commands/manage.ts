/**
 * Management commands over the relay's REST API (`/$management`, a Manage credential):
 *   relaybridge hc list | show PATH | create PATH [--anonymous] [--metadata T] | update PATH [--anonymous|--no-anonymous] [--metadata T] | delete PATH
 *   relaybridge rule list [--path P] | create NAME [--path P] [--rights L] [--regenerate] | delete NAME [--path P]
 *   relaybridge rule keys show NAME [--path P] | keys renew NAME [--path P] --primary|--secondary
 * Credentials: --connection-string, or --key-name/--key (env RELAYBRIDGE_CONNECTION_STRING,
 * RELAYBRIDGE_KEY_NAME/RELAYBRIDGE_KEY), relay URL from --relay or the connection string.
 */
import { generateKey } from '../../auth/rules';
import { createSasToken } from '../../auth/sas-token';
import { ConfigError } from '../../core/errors';
import { httpRequest } from '../http-client';

export interface ManageInput {
  relay: string;
  keyName: string;
  key: string;
  /** PEM CA to trust for an https relay. */
  ca?: string;
}

export class ManagementClient {
  readonly #base: string;
  readonly #input: ManageInput;

  constructor(input: ManageInput) {
    if (!input.relay) throw new ConfigError('missing option', ['--relay: the relay URL (or a --connection-string, or RELAYBRIDGE_RELAY_URL)']);
    if (!input.keyName || !input.key) throw new ConfigError('missing option', ['--connection-string, or --key-name/--key: a Manage rule (or RELAYBRIDGE_CONNECTION_STRING, RELAYBRIDGE_KEY_NAME/RELAYBRIDGE_KEY)']);
    this.#base = input.relay.replace(/\/+$/, '').replace(/^ws/i, 'http');
    this.#input = input;
  }

  get base(): string {
    return this.#base;
  }

  async call(method: string, resource: string, body?: unknown): Promise<{ status: number; data: unknown }> {
    const token = createSasToken({ resourceUri: this.#base, keyName: this.#input.keyName, key: this.#input.key, expiresInSeconds: 300 });
    const res = await httpRequest(`${this.#base}/$management/${resource}`, {
      method,
      headers: { Authorization: token, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      ca: this.#input.ca,
    });
    let data: unknown = res.text;
    try {
      data = res.text ? JSON.parse(res.text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, data };
  }
}

type Flags = Record<string, string | boolean | string[] | undefined>;
const enc = (p: string) => p.split('/').map(encodeURIComponent).join('/');

export async function runManage(kind: 'hc' | 'rule', args: string[], flags: Flags, input: ManageInput): Promise<{ status: number; data: unknown }> {
  const client = new ManagementClient(input);
  const [verb, ...rest] = args;
  if (kind === 'hc') {
    const name = rest[0];
    switch (verb) {
      case 'list':
        return client.call('GET', 'hybridconnections');
      case 'show':
        return showEntity(client, need(name, 'PATH'));
      case 'create': {
        const broadcast = distributionOf(flags);
        return client.call('PUT', `hybridconnections/${enc(need(name, 'PATH'))}`, {
          requiresClientAuthorization: !flags.anonymous,
          ...(typeof flags.metadata === 'string' ? { userMetadata: flags.metadata } : {}),
          ...(broadcast ? { broadcast: true } : {}),
        });
      }
      case 'update': {
        const path = need(name, 'PATH');
        if (flags.anonymous && flags['no-anonymous']) throw new ConfigError('conflicting options', ['--anonymous and --no-anonymous: give one']);
        const broadcast = distributionOf(flags);
        const patch = {
          ...(flags.anonymous ? { requiresClientAuthorization: false } : {}),
          ...(flags['no-anonymous'] ? { requiresClientAuthorization: true } : {}),
          ...(typeof flags.metadata === 'string' ? { userMetadata: flags.metadata } : {}),
          ...(broadcast !== undefined ? { broadcast } : {}),
        };
        if (!Object.keys(patch).length) throw new ConfigError('nothing to update', ['give --anonymous, --no-anonymous, --broadcast, --no-broadcast, --distribution or --metadata']);
        // Update never creates: a typo in PATH is an error, not a new hybrid connection.
        const current = await client.call('GET', `hybridconnections/${enc(path)}`);
        if (current.status !== 200) return current;
        return client.call('PUT', `hybridconnections/${enc(path)}`, patch);
      }
      case 'delete':
        return client.call('DELETE', `hybridconnections/${enc(need(name, 'PATH'))}`);
      default:
        throw new ConfigError('usage: relaybridge hc list|show|create|update|delete [PATH]');
    }
  }
  const scope = typeof flags.path === 'string' ? `hybridconnections/${enc(flags.path)}/authorizationrules` : 'authorizationrules';
  switch (verb) {
    case 'list': {
      if (typeof flags.path !== 'string') return client.call('GET', 'authorizationrules');
      const e = await client.call('GET', `hybridconnections/${enc(flags.path)}`);
      if (e.status !== 200) return e;
      return { status: 200, data: { value: (e.data as { authorizationRules?: unknown[] }).authorizationRules ?? [] } };
    }
    case 'create': {
      const rights = String(flags.rights ?? 'Listen,Send').split(',').map((s) => s.trim()).filter(Boolean);
      return client.call('PUT', `${scope}/${encodeURIComponent(need(rest[0], 'NAME'))}`, {
        rights,
        ...(flags.regenerate ? { primaryKey: generateKey(), secondaryKey: generateKey() } : {}),
      });
    }
    case 'delete':
      return client.call('DELETE', `${scope}/${encodeURIComponent(need(rest[0], 'NAME'))}`);
    case 'keys': {
      const [action, name] = rest;
      const rule = `${scope}/${encodeURIComponent(need(name, 'NAME'))}`;
      if (action === 'show') return client.call('POST', `${rule}/listkeys`);
      if (action === 'renew') {
        if (!flags.primary && !flags.secondary) throw new ConfigError('missing option', ['--primary or --secondary: the key to renew']);
        let last: { status: number; data: unknown } = { status: 0, data: undefined };
        for (const keyType of [flags.primary && 'PrimaryKey', flags.secondary && 'SecondaryKey'].filter(Boolean)) {
          last = await client.call('POST', `${rule}/regeneratekeys`, { keyType });
          if (last.status !== 200) break;
        }
        return last;
      }
      throw new ConfigError('usage: relaybridge rule keys show|renew NAME [--path P]');
    }
    default:
      throw new ConfigError('usage: relaybridge rule list|create|delete|keys [NAME] [--path P] [--rights Listen,Send,Manage]');
  }
}

/** The entity, its listeners, and the connection strings of its rules (keys via listkeys). */
async function showEntity(client: ManagementClient, path: string): Promise<{ status: number; data: unknown }> {
  const e = await client.call('GET', `hybridconnections/${enc(path)}`);
  if (e.status !== 200) return e;
  const entity = e.data as { authorizationRules?: Array<{ keyName: string; rights: string[] }> } & Record<string, unknown>;
  const connectionStrings: Array<Record<string, unknown>> = [];
  for (const r of entity.authorizationRules ?? []) {
    const keys = await client.call('POST', `hybridconnections/${enc(path)}/authorizationrules/${encodeURIComponent(r.keyName)}/listkeys`);
    if (keys.status !== 200) continue;
    const k = keys.data as { primaryConnectionString?: string; secondaryConnectionString?: string };
    connectionStrings.push({ keyName: r.keyName, rights: r.rights, primaryConnectionString: k.primaryConnectionString, secondaryConnectionString: k.secondaryConnectionString });
  }
  return { status: 200, data: { ...entity, connectionStrings } };
}

function need(v: string | undefined, what: string): string {
  if (!v) throw new ConfigError('missing argument', [`${what}: required`]);
  return v;
}

/** `--broadcast`, `--no-broadcast` or `--distribution one|broadcast`, checked for agreement: true, false, or not given. */
function distributionOf(flags: Record<string, unknown>): boolean | undefined {
  const given: boolean[] = [];
  if (flags.broadcast) given.push(true);
  if (flags['no-broadcast']) given.push(false);
  if (flags.distribution !== undefined) {
    if (flags.distribution !== 'one' && flags.distribution !== 'broadcast') throw new ConfigError('invalid option', [`--distribution ${String(flags.distribution)}: expected one or broadcast`]);
    given.push(flags.distribution === 'broadcast');
  }
  if (given.some((g) => g !== given[0])) throw new ConfigError('conflicting options', ['--broadcast, --no-broadcast and --distribution disagree: give one']);
  return given[0];
}
