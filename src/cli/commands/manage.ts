/**
 * Management commands over the relay's REST API:
 *   relaybridge hc list|show|create|delete [path] [--anonymous] [--metadata TEXT]
 *   relaybridge rule list|create|delete [--path P] [keyName] [--rights Listen,Send]
 * Credentials: --key-name/--key (a Manage rule) or RELAYBRIDGE_KEY_NAME/RELAYBRIDGE_KEY.
 */
import { createSasToken } from '../../auth/sas-token';
import { ConfigError } from '../../core/errors';

export interface ManageInput {
  relay: string;
  keyName: string;
  key: string;
}

export class ManagementClient {
  readonly #base: string;
  readonly #input: ManageInput;

  constructor(input: ManageInput) {
    if (!input.relay) throw new ConfigError('missing option', ['--relay: the relay URL (or RELAYBRIDGE_RELAY_URL)']);
    if (!input.keyName || !input.key) throw new ConfigError('missing option', ['--key-name/--key: a Manage rule (or RELAYBRIDGE_KEY_NAME/RELAYBRIDGE_KEY)']);
    this.#base = input.relay.replace(/\/+$/, '').replace(/^ws/i, 'http');
    this.#input = input;
  }

  async call(method: string, resource: string, body?: unknown): Promise<{ status: number; data: unknown }> {
    const token = createSasToken({ resourceUri: this.#base, keyName: this.#input.keyName, key: this.#input.key, expiresInSeconds: 300 });
    const res = await fetch(`${this.#base}/$management/${resource}`, {
      method,
      headers: { Authorization: token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let data: unknown = text;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, data };
  }
}

export async function runManage(kind: 'hc' | 'rule', args: string[], flags: Record<string, string | boolean | undefined>, input: ManageInput): Promise<{ status: number; data: unknown }> {
  const client = new ManagementClient(input);
  const [verb, name] = args;
  const enc = (p: string) => p.split('/').map(encodeURIComponent).join('/');
  if (kind === 'hc') {
    switch (verb) {
      case 'list':
        return client.call('GET', 'hybridconnections');
      case 'show':
        return client.call('GET', `hybridconnections/${enc(need(name, 'path'))}`);
      case 'create':
        return client.call('PUT', `hybridconnections/${enc(need(name, 'path'))}`, {
          requiresClientAuthorization: !flags.anonymous,
          ...(typeof flags.metadata === 'string' ? { userMetadata: flags.metadata } : {}),
        });
      case 'delete':
        return client.call('DELETE', `hybridconnections/${enc(need(name, 'path'))}`);
      default:
        throw new ConfigError('usage: relaybridge hc list|show|create|delete [path]');
    }
  }
  const scope = typeof flags.path === 'string' ? `hybridconnections/${enc(flags.path)}/authorizationrules` : 'authorizationrules';
  switch (verb) {
    case 'list':
      if (typeof flags.path === 'string') return client.call('GET', `hybridconnections/${enc(flags.path)}`);
      return client.call('GET', 'authorizationrules');
    case 'create': {
      const rights = String(flags.rights ?? 'Listen,Send').split(',').map((s) => s.trim()).filter(Boolean);
      return client.call('PUT', `${scope}/${encodeURIComponent(need(name, 'keyName'))}`, { rights });
    }
    case 'delete':
      return client.call('DELETE', `${scope}/${encodeURIComponent(need(name, 'keyName'))}`);
    default:
      throw new ConfigError('usage: relaybridge rule list|create|delete [keyName] [--path P] [--rights Listen,Send,Manage]');
  }
}

function need(v: string | undefined, what: string): string {
  if (!v) throw new ConfigError('missing argument', [`${what}: required`]);
  return v;
}
