/**
 * Credentials from layers (config file < environment < flags): the highest layer that names any
 * credential (connectionString, keyName/key, token) gives the whole credential, so a flag never
 * mixes with a file's half; the relay URL comes from the highest layer that has relayUrl or a
 * connection string, and within one layer an explicit relayUrl wins over the Endpoint.
 */
import { parseConnectionString, type ConnectionString } from '../auth/connection-string';
import { ConfigError } from '../core/errors';

export interface CredentialLayer {
  /** Where it came from, for messages: 'flags', 'environment', 'config file'. */
  readonly source: string;
  readonly relayUrl?: string;
  readonly connectionString?: string;
  readonly keyName?: string;
  readonly key?: string;
  readonly token?: string;
}

export interface ResolvedCredentials {
  relayUrl?: string;
  keyName?: string;
  key?: string;
  token?: string;
  /** The parsed connection string when the credential came from one. */
  connection?: ConnectionString;
}

const hasCredential = (l: CredentialLayer) => !!(l.connectionString || l.keyName || l.key || l.token);

export function resolveCredentials(layers: readonly CredentialLayer[]): ResolvedCredentials {
  const out: ResolvedCredentials = {};
  const top = [...layers].reverse();
  const cred = top.find(hasCredential);
  if (cred) {
    if (cred.connectionString && (cred.keyName || cred.key || cred.token)) {
      throw new ConfigError(`conflicting credentials in ${cred.source}`, ['connection string: give it or key name/key/token, not both']);
    }
    if (cred.connectionString) {
      const cs = parseConnectionString(cred.connectionString);
      out.connection = cs;
      if (cs.keyName) Object.assign(out, { keyName: cs.keyName, key: cs.key });
      else out.token = cs.sharedAccessSignature;
    } else {
      if (cred.keyName && !cred.key) throw new ConfigError(`incomplete credentials in ${cred.source}`, ['key: required with key name']);
      if (cred.key && !cred.keyName) throw new ConfigError(`incomplete credentials in ${cred.source}`, ['key name: required with key']);
      Object.assign(out, { keyName: cred.keyName, key: cred.key, token: cred.token });
    }
  }
  const urlLayer = top.find((l) => l.relayUrl || l.connectionString);
  if (urlLayer) out.relayUrl = urlLayer.relayUrl ?? parseConnectionString(urlLayer.connectionString!).relayUrl;
  for (const k of Object.keys(out) as Array<keyof ResolvedCredentials>) if (out[k] === undefined) delete out[k];
  return out;
}

/** The environment layer (RELAYBRIDGE_RELAY_URL, _CONNECTION_STRING, _KEY_NAME, _KEY, _TOKEN). */
export function envCredentials(env: NodeJS.ProcessEnv): CredentialLayer {
  const v = (n: string) => (env[n] === '' ? undefined : env[n]);
  return {
    source: 'environment',
    relayUrl: v('RELAYBRIDGE_RELAY_URL'),
    connectionString: v('RELAYBRIDGE_CONNECTION_STRING'),
    keyName: v('RELAYBRIDGE_KEY_NAME'),
    key: v('RELAYBRIDGE_KEY'),
    token: v('RELAYBRIDGE_TOKEN'),
  };
}
