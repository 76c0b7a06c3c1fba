/**
 * Which SOAP operations of a broadcast entity wait for a reply, from the service's own WSDL: a
 * message without WS-Addressing (basicHttp) does not say whether its operation is one-way, and
 * a broadcast entity takes one-way operations only. The relay reads the WSDL as a client would,
 * `GET /{path}?wsdl` through one listener (and the documents it imports, as WCF splits them:
 * `?wsdl=wsdl0`), once per entity for a minute; a service without a readable WSDL leaves every
 * message one-way, as before.
 */
import type { Clock } from '../../../core/clock';
import type { Logger } from '../../../core/logger';
import { parseWsdl, readWsdlInfo, wsdlImports, type WsdlInfo } from '../../../protocol/soap/wsdl-info';
import { encodePath } from '../../http/http-headers';
import { BufferingHandler } from '../../routing/response-handler';
import type { Router } from '../../routing/router';

/** How long a read WSDL (or its absence) is trusted, ms. */
const CONTRACT_TTL_MS = 60_000;
/** Most entities remembered at once. */
const MAX_CONTRACTS = 1024;
/** Most documents read for one WSDL (it and its imports). */
const MAX_DOCUMENTS = 8;

export interface BroadcastContractsOptions {
  readonly router: Router;
  readonly clock: Clock;
  readonly maxDocumentBytes: number;
  readonly log: Logger;
}

export class BroadcastContracts {
  readonly #o: BroadcastContractsOptions;
  readonly #contracts = new Map<string, { until: number; info: Promise<WsdlInfo | undefined> }>();

  constructor(options: BroadcastContractsOptions) {
    this.#o = options;
  }

  /** True when the entity's WSDL names `action`'s operation request-reply; false when one-way or unknown. */
  async waitsForReply(path: string, viaHost: string, action: string | undefined): Promise<boolean> {
    if (action === undefined || action === '') return false;
    const info = await this.#contract(path, viaHost);
    const op = info?.operations.find((o) => o.inputActions.includes(action));
    return op !== undefined && !op.oneWay;
  }

  #contract(path: string, viaHost: string): Promise<WsdlInfo | undefined> {
    const now = this.#o.clock.now();
    const key = path.toLowerCase();
    const hit = this.#contracts.get(key);
    if (hit && hit.until > now) return hit.info;
    if (this.#contracts.size >= MAX_CONTRACTS) this.#contracts.clear();
    const info = this.#read(path, viaHost).catch((err: unknown) => {
      this.#o.log.debug({ path, err: (err as Error).message }, 'no WSDL for a broadcast hybrid connection: its messages are taken as one-way');
      return undefined;
    });
    this.#contracts.set(key, { until: now + CONTRACT_TTL_MS, info });
    return info;
  }

  async #read(path: string, viaHost: string): Promise<WsdlInfo> {
    const first = parseWsdl(await this.#fetch(path, viaHost, 'wsdl'));
    const documents = [first];
    // WCF's split WSDL: `?wsdl=wsdl0` imports, named by the service's own address (only the query is used here).
    for (const location of wsdlImports(first).slice(0, MAX_DOCUMENTS - 1)) {
      const query = /\?(.*)$/.exec(location)?.[1];
      if (!query || !/^wsdl=[\w.-]+$/i.test(query)) continue;
      documents.push(parseWsdl(await this.#fetch(path, viaHost, query)));
    }
    return readWsdlInfo(documents);
  }

  async #fetch(path: string, viaHost: string, query: string): Promise<Buffer> {
    const max = this.#o.maxDocumentBytes;
    const handler = new BufferingHandler({ maxBytes: max });
    this.#o.router.request(
      { path, method: 'GET', target: `/${encodePath(path)}?${query}`, headers: { Host: viaHost }, body: Buffer.alloc(0), viaHost, operation: `GET ?${query.split('=')[0]}` },
      handler,
    );
    const res = await handler.response;
    if (res.statusCode !== 200 || res.body.length === 0) throw new Error(`GET ?${query}: HTTP ${res.statusCode}`);
    return res.body;
  }
}
