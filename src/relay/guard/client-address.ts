/**
 * The address a caller is counted by: the socket's peer, or, when that peer is a trusted proxy
 * (relay option `trustedProxies`), the rightmost `X-Forwarded-For` hop that is not one (as
 * nginx's realip module with `real_ip_recursive on`, and HAProxy). Without trusted proxies,
 * `X-Forwarded-For` is ignored: any caller can write it.
 */
import net from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';

/** Most X-Forwarded-For hops looked at (a longer header is cut at the left). */
const MAX_FORWARDED_HOPS = 32;

/** One `trustedProxies` entry: an address (`10.1.2.3`, `::1`) or a CIDR (`10.0.0.0/8`, `fd00::/8`). */
export function parseProxyEntry(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const slash = entry.indexOf('/');
  const address = normalizeAddress(slash < 0 ? entry.trim() : entry.slice(0, slash).trim());
  const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
  if (!family) return undefined;
  const max = family === 'ipv4' ? 32 : 128;
  if (slash < 0) return { address, prefix: max, family };
  const text = entry.slice(slash + 1).trim();
  if (!/^\d{1,3}$/.test(text)) return undefined;
  const prefix = Number(text);
  return prefix <= max ? { address, prefix, family } : undefined;
}

/** `::ffff:1.2.3.4` → `1.2.3.4` (Node reports IPv4 peers so on dual-stack sockets). */
export function normalizeAddress(address: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address;
}

/** One X-Forwarded-For element: `1.2.3.4`, `1.2.3.4:5678`, `[::1]:80`, `::1`; undefined when not an IP. */
function hopAddress(hop: string): string | undefined {
  let h = hop.trim();
  if (h.startsWith('[')) h = h.slice(1, h.indexOf(']') < 0 ? h.length : h.indexOf(']'));
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(h)) h = h.slice(0, h.lastIndexOf(':'));
  h = normalizeAddress(h);
  return net.isIP(h) ? h : undefined;
}

export class ClientAddressResolver {
  readonly #trusted: net.BlockList | undefined;

  /** `trustedProxies` entries, already validated by the options schema. */
  constructor(trustedProxies: readonly string[]) {
    if (trustedProxies.length === 0) return;
    const list = new net.BlockList();
    for (const entry of trustedProxies) {
      const p = parseProxyEntry(entry);
      if (!p) throw new TypeError(`invalid trusted proxy '${entry}'`);
      list.addSubnet(p.address, p.prefix, p.family);
    }
    this.#trusted = list;
  }

  /** True when X-Forwarded-For may be believed at all (some proxy is trusted). */
  get usesForwardedFor(): boolean {
    return this.#trusted !== undefined;
  }

  isTrusted(address: string): boolean {
    const a = normalizeAddress(address);
    const family = net.isIPv4(a) ? 'ipv4' : net.isIPv6(a) ? 'ipv6' : undefined;
    return !!family && !!this.#trusted?.check(a, family);
  }

  /**
   * The caller's address for a request that came in on a socket from `peer`. Walks
   * X-Forwarded-For from the right while the hop is a trusted proxy; the first hop that is not
   * one is the caller. A malformed hop stops the walk at the last trusted address (it cannot be
   * believed, and nothing left of it was written by a trusted proxy).
   */
  resolve(peer: string | undefined, headers?: IncomingHttpHeaders): string {
    const socketAddress = normalizeAddress(peer ?? 'unknown');
    if (!this.#trusted || !headers || !this.isTrusted(socketAddress)) return socketAddress;
    const raw = headers['x-forwarded-for'];
    if (raw === undefined) return socketAddress;
    const hops = (Array.isArray(raw) ? raw.join(',') : raw).split(',');
    let caller = socketAddress;
    for (let i = hops.length - 1, seen = 0; i >= 0 && seen < MAX_FORWARDED_HOPS; i--, seen++) {
      const hop = hopAddress(hops[i]!);
      if (hop === undefined) return caller;
      caller = hop;
      if (!this.isTrusted(hop)) return hop;
    }
    return caller;
  }
}
