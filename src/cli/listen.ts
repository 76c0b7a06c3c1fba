/** A local address to listen on, as `--listen` and config files write it (forward, record). */
import { ConfigError } from '../core/errors';

/** `[HOST:]PORT` → host and port (IPv6 as [::1]:PORT). */
export function parseListen(value: string | number, where: string): { host: string; port: number } {
  const text = String(value);
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text) ?? (/^\d+$/.test(text) ? [text, undefined, undefined, text] : null);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('invalid forward', [`${where}: expected [HOST:]PORT, got '${text}'`]);
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}
