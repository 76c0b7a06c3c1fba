/**
 * The HTTP proxy the agent and the forwarder reach the relay through: the `--proxy` flag, else
 * the config file's `proxy:`, else the environment as curl and most tools read it (HTTPS_PROXY
 * for an https relay, HTTP_PROXY for an http one, lower-case too; NO_PROXY excludes hosts), by
 * proxy-from-env. Undefined: a direct connection.
 */
import { getProxyForUrl } from 'proxy-from-env';

export function relayProxy(relayUrl: string, flag?: string, file?: unknown): string | undefined {
  if (flag) return flag;
  if (typeof file === 'string' && file) return file;
  return getProxyForUrl(relayUrl) || undefined;
}
