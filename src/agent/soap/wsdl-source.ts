/**
 * A service's WSDL as the agent reads it: from a file given in config, or fetched from the
 * service's metadata address (`{url}?wsdl`, as WCF and Mono publish it) with the documents it
 * imports (WCF splits a WSDL over `?wsdl=wsdl0`, `?xsd=xsd0`). Read once; a failed read is tried
 * again after WSDL_RETRY_MS. Used for the service's SOAP versions (`soapVersion: auto`), reply
 * actions, and which operations are one-way.
 */
import http from 'node:http';
import https from 'node:https';
import type { Logger } from '../../core/logger';
import type { XmlElement } from '../../protocol/xml/tree';
import { MAX_WSDL_BYTES, parseWsdl, readWsdlInfo, wsdlImports, type WsdlInfo } from '../../protocol/soap/wsdl-info';

/** How long a failed WSDL read is remembered before it is tried again, ms. */
const WSDL_RETRY_MS = 30_000;
/** Most documents read for one service WSDL (the WSDL and what it imports, as WCF splits it). */
const MAX_WSDL_DOCUMENTS = 8;

export interface WsdlSourceOptions {
  /** The WSDL text (a file from config); when set nothing is fetched. */
  readonly text?: string;
  /** Where to fetch it from (called at the first read). */
  readonly url?: () => URL;
  readonly timeoutMs: number;
  readonly ca?: string;
  readonly rejectUnauthorized?: boolean;
  readonly logger: Logger;
}

export class WsdlSource {
  readonly #o: WsdlSourceOptions;
  #cached: { info: WsdlInfo | undefined; at: number } | undefined;
  #pending: Promise<WsdlInfo | undefined> | undefined;

  constructor(options: WsdlSourceOptions) {
    this.#o = options;
    if (options.text !== undefined) this.#cached = { info: safeInfo([options.text], options.logger), at: Infinity };
    else if (!options.url) this.#cached = { info: undefined, at: Infinity };
  }

  /** The WSDL, read (undefined when there is none or it cannot be read). */
  async info(): Promise<WsdlInfo | undefined> {
    const cached = this.#cached;
    if (cached && Date.now() - cached.at < WSDL_RETRY_MS) return cached.info;
    this.#pending ??= this.#fetch()
      .then((docs) => safeInfo(docs, this.#o.logger))
      .catch((err: unknown) => {
        this.#o.logger.info({ err: (err as Error).message }, 'could not read the service WSDL; the SOAP version is learned from the service\'s answers and translated replies get default actions');
        return undefined;
      })
      .then((info) => {
        this.#cached = { info, at: info ? Infinity : Date.now() };
        this.#pending = undefined;
        return info;
      });
    return this.#pending;
  }

  /** The WSDL and the documents it imports (`wsdl:import location`), parsed, at most MAX_WSDL_DOCUMENTS. */
  async #fetch(): Promise<XmlElement[]> {
    const first = this.#o.url!();
    const queue = [first];
    const seen = new Set([first.href]);
    const docs: XmlElement[] = [];
    while (queue.length && docs.length < MAX_WSDL_DOCUMENTS) {
      const url = queue.shift()!;
      let root: XmlElement;
      try {
        root = parseWsdl(await this.#get(url));
      } catch (err) {
        if (url === first) throw err;
        // An import the agent cannot read (a host name only the service knows, say): what the
        // other documents say still counts.
        this.#o.logger.info({ err: (err as Error).message }, 'could not read a document the service WSDL imports');
        continue;
      }
      docs.push(root);
      for (const location of wsdlImports(root)) {
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          continue;
        }
        if ((next.protocol === 'http:' || next.protocol === 'https:') && !seen.has(next.href)) {
          seen.add(next.href);
          queue.push(next);
        }
      }
    }
    return docs;
  }

  #get(url: URL): Promise<string> {
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.get(url, { timeout: Math.min(this.#o.timeoutMs, 10_000), ca: this.#o.ca, rejectUnauthorized: this.#o.rejectUnauthorized }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_WSDL_BYTES) req.destroy(new Error(`GET ${url.href}: larger than ${MAX_WSDL_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`GET ${url.href}: HTTP ${res.statusCode}`));
          else resolve(Buffer.concat(chunks).toString('utf8'));
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${url.href}: timed out`)));
      req.on('error', reject);
    });
  }
}

function safeInfo(docs: readonly (string | XmlElement)[], logger: Logger): WsdlInfo | undefined {
  try {
    return readWsdlInfo(docs);
  } catch (err) {
    logger.info({ err: (err as Error).message }, 'the WSDL could not be read');
    return undefined;
  }
}

/** The operation of `action` in the WSDL, when the WSDL names it. */
export function operationOf(info: WsdlInfo | undefined, action: string | undefined): WsdlInfo['operations'][number] | undefined {
  if (!info || action === undefined || action === '') return undefined;
  return info.operations.find((op) => op.inputActions.includes(action));
}
