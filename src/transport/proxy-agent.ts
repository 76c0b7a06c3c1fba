/**
 * An outbound HTTP proxy (http://[user:password@]host:port) for the agent and the forwarder:
 * `https-proxy-agent` opens a CONNECT tunnel per connection (basic auth from the URL's
 * credentials) and TLS to the relay through it. A proxy that refuses the tunnel answers with its
 * own status (403, 407), which reaches the caller as if the relay had sent it: `refusal()` tells
 * that answer apart, so it reads as the proxy's, never as the relay refusing a credential.
 */
import type { ClientRequest } from 'node:http';
import { HttpsProxyAgent } from 'https-proxy-agent';

export class ProxyAgent {
  readonly agent: HttpsProxyAgent<string>;
  /** The proxy's URL without its password (for logs). */
  readonly display: string;
  readonly #refused = new WeakMap<ClientRequest, string>();

  constructor(proxyUrl: string) {
    const u = new URL(proxyUrl);
    if (u.password) u.password = '***';
    this.display = u.toString().replace(/\/$/, '');
    this.agent = new HttpsProxyAgent(proxyUrl);
    this.agent.on('proxyConnect', (connect: { statusCode: number; statusText: string }, req: ClientRequest) => {
      if (connect.statusCode !== 200) this.#refused.set(req, `the proxy ${this.display} refused the tunnel: ${connect.statusCode} ${connect.statusText}`.trim());
    });
  }

  /** Why the proxy refused the tunnel of `req`; undefined when it did not. */
  refusal(req: ClientRequest): string | undefined {
    return this.#refused.get(req);
  }
}
