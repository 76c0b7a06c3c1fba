/** Loads the one-folder-per-case SOAP fixtures (test/fixtures/soap/<case>/). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const SOAP_FIXTURES = join(__dirname, '../../../fixtures/soap');

export interface SoapCase {
  readonly name: string;
  readonly request: Buffer;
  readonly response: Buffer | undefined;
  readonly meta: {
    readonly request: { readonly headers: Record<string, string> };
    readonly response: { readonly startLine: string; readonly headers: Record<string, string> };
  };
}

export function loadCase(name: string): SoapCase {
  const dir = join(SOAP_FIXTURES, name);
  const responsePath = join(dir, 'response.xml');
  return {
    name,
    request: readFileSync(join(dir, 'request.xml')),
    response: existsSync(responsePath) ? readFileSync(responsePath) : undefined,
    meta: JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as SoapCase['meta'],
  };
}

export function caseNames(prefix: string): string[] {
  return readdirSync(SOAP_FIXTURES).filter((d) => d.startsWith(prefix)).sort();
}

/** The captured body without its XML declaration (our writer never emits one) and with `<x />` as `<x/>`. */
export function canonicalMono(body: Buffer): string {
  return body.toString('utf8').replace(/^<\?xml[^>]*\?>/, '').replace(/ \/>/g, '/>');
}
