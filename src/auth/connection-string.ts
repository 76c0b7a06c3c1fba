/**
 * Azure Relay connection strings, as the portal, `az relay … keys list` and the SDKs write them:
 *
 *   Endpoint=sb://relay.example.com/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=…[;EntityPath=orders]
 *
 * Grammar: `name=value` pairs separated by `;` (empty pairs and a trailing `;` are ignored), names
 * case-insensitive, a value may be quoted with `"` or `'` (and may then hold `;`), the first `=`
 * ends the name (base64 keys end in `=`). Known names: Endpoint (required), SharedAccessKeyName +
 * SharedAccessKey, or SharedAccessSignature (a ready token), and EntityPath. Any other name is
 * refused, so a typo is never a silently missing key.
 *
 * Endpoint → relay URL: `sb://host[:port]/` means TLS, so `https://host[:port]` (443 when no port);
 * relaybridge also accepts `https://`, `http://`, `wss://` and `ws://` endpoints (a relay without
 * TLS has no `sb://` form) and maps them to the same http(s) base URL. An explicit relay URL given
 * next to the connection string (`--relay`, `relayUrl`) wins over the Endpoint.
 *
 * Pure string logic: no I/O, no env. Error messages never contain the key.
 */
import { ConfigError } from '../core/errors';

export interface ConnectionString {
  /** The Endpoint as written (e.g. `sb://relay.example.com/`). */
  readonly endpoint: string;
  /** The relay's base URL derived from the Endpoint: `https://host[:port]` or `http://host:port`. */
  readonly relayUrl: string;
  readonly keyName?: string;
  readonly key?: string;
  /** A ready SAS token (`SharedAccessSignature=SharedAccessSignature sr=…`). */
  readonly sharedAccessSignature?: string;
  /** The hybrid connection the credential is scoped to, when the rule is an entity rule. */
  readonly entityPath?: string;
}

const NAMES: Record<string, 'endpoint' | 'keyName' | 'key' | 'sharedAccessSignature' | 'entityPath'> = {
  endpoint: 'endpoint',
  sharedaccesskeyname: 'keyName',
  sharedaccesskey: 'key',
  sharedaccesssignature: 'sharedAccessSignature',
  entitypath: 'entityPath',
};

/** Splits on `;` outside quotes; returns the raw `name=value` pieces. */
function splitPairs(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  for (const ch of text) {
    if (quote) {
      cur += ch;
      if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === ';') {
      out.push(cur);
      cur = '';
      continue;
    }
    // A quote opens only at the start of a value (right after the first '=').
    if ((ch === '"' || ch === "'") && /^[^=]*=\s*$/.test(cur)) quote = ch;
    cur += ch;
  }
  if (quote) throw new ConfigError('invalid connection string', [`a value opened with ${quote} is not closed`]);
  out.push(cur);
  return out;
}

function unquote(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && (t[0] === '"' || t[0] === "'") && t[t.length - 1] === t[0]) return t.slice(1, -1);
  return t;
}

/** Maps an Endpoint to the relay's http(s) base URL (see the module comment). */
export function relayUrlFromEndpoint(endpoint: string): string {
  const m = /^(sb|https?|wss?):\/\/([^/?#\s]+)\/?$/i.exec(endpoint.trim());
  if (!m) throw new ConfigError('invalid connection string', [`Endpoint: expected sb://host[:port]/ (or http(s)://, ws(s)://), got "${endpoint}"`]);
  const scheme = m[1]!.toLowerCase();
  const authority = m[2]!;
  if (/@/.test(authority)) throw new ConfigError('invalid connection string', ['Endpoint: must not carry user information']);
  let url: URL;
  try {
    url = new URL(`http://${authority}`);
  } catch {
    throw new ConfigError('invalid connection string', [`Endpoint: "${authority}" is not a host[:port]`]);
  }
  const secure = scheme === 'sb' || scheme === 'https' || scheme === 'wss';
  const port = url.port && !(secure && url.port === '443') ? `:${url.port}` : '';
  return `${secure ? 'https' : 'http'}://${url.hostname}${port}`;
}

export function parseConnectionString(text: string): ConnectionString {
  if (typeof text !== 'string' || !text.trim()) throw new ConfigError('invalid connection string', ['it is empty']);
  const seen: Partial<Record<'endpoint' | 'keyName' | 'key' | 'sharedAccessSignature' | 'entityPath', string>> = {};
  const issues: string[] = [];
  for (const raw of splitPairs(text.trim())) {
    if (!raw.trim()) continue;
    const eq = raw.indexOf('=');
    if (eq <= 0) {
      issues.push(`"${raw.trim().slice(0, 40)}": expected Name=value`);
      continue;
    }
    const name = raw.slice(0, eq).trim();
    const field = NAMES[name.toLowerCase()];
    if (!field) {
      issues.push(`${name}: unknown name (expected Endpoint, SharedAccessKeyName, SharedAccessKey, SharedAccessSignature, EntityPath)`);
      continue;
    }
    if (seen[field] !== undefined) {
      issues.push(`${name}: given twice`);
      continue;
    }
    const value = unquote(raw.slice(eq + 1));
    if (!value) {
      issues.push(`${name}: empty value`);
      continue;
    }
    seen[field] = value;
  }
  if (!seen.endpoint) issues.push('Endpoint: required');
  if (seen.keyName && !seen.key) issues.push('SharedAccessKey: required with SharedAccessKeyName');
  if (seen.key && !seen.keyName) issues.push('SharedAccessKeyName: required with SharedAccessKey');
  if (!seen.key && !seen.sharedAccessSignature) issues.push('SharedAccessKeyName/SharedAccessKey (or SharedAccessSignature): required');
  if (seen.key && seen.sharedAccessSignature) issues.push('SharedAccessSignature: give it or SharedAccessKey, not both');
  if (issues.length) throw new ConfigError('invalid connection string', issues);
  const entityPath = seen.entityPath?.replace(/^\/+|\/+$/g, '');
  return {
    endpoint: seen.endpoint!,
    relayUrl: relayUrlFromEndpoint(seen.endpoint!),
    ...(seen.keyName ? { keyName: seen.keyName, key: seen.key } : {}),
    ...(seen.sharedAccessSignature ? { sharedAccessSignature: seen.sharedAccessSignature } : {}),
    ...(entityPath ? { entityPath } : {}),
  };
}

/**
 * A connection string for a relay base URL (`https://host[:port]` → `Endpoint=sb://host[:port]/`;
 * `http://host:port` → `Endpoint=http://host:port/`, which has no sb:// form).
 */
export function formatConnectionString(o: { relayUrl: string; keyName: string; key: string; entityPath?: string }): string {
  const url = new URL(o.relayUrl.replace(/^ws/i, 'http'));
  const secure = url.protocol === 'https:';
  const endpoint = `${secure ? 'sb' : 'http'}://${url.host}/`;
  const quote = (v: string) => (/[;"']/.test(v) ? `"${v}"` : v);
  return [`Endpoint=${endpoint}`, `SharedAccessKeyName=${quote(o.keyName)}`, `SharedAccessKey=${quote(o.key)}`, ...(o.entityPath ? [`EntityPath=${quote(o.entityPath)}`] : [])].join(';');
}
