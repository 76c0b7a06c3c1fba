import { formatConnectionString, parseConnectionString, relayUrlFromEndpoint } from '../../../src/auth/connection-string';
import { ConfigError } from '../../../src/core/errors';

const KEY = 'q0kNQ7k3cGFzc3dvcmQtbm90LXJlYWw9PT0=';

function issuesOf(text: string): string {
  try {
    parseConnectionString(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('RELAY_ERR_CONFIG_INVALID');
    return (err as Error).message;
  }
  throw new Error(`parsed: ${text}`);
}

describe('parseConnectionString', () => {
  it('reads the form the Azure portal and az relay print', () => {
    const cs = parseConnectionString(`Endpoint=sb://relay.example.com/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${KEY}`);
    expect(cs).toEqual({ endpoint: 'sb://relay.example.com/', relayUrl: 'https://relay.example.com', keyName: 'RootManageSharedAccessKey', key: KEY });
  });

  it('keeps the key whole (base64 padding), reads EntityPath, ignores empty pairs and a trailing ;', () => {
    const cs = parseConnectionString(`Endpoint=sb://relay.example.com:9443/;SharedAccessKeyName=orders-listen;SharedAccessKey=${KEY};EntityPath=/orders/;;`);
    expect(cs.key).toBe(KEY);
    expect(cs.entityPath).toBe('orders');
    expect(cs.relayUrl).toBe('https://relay.example.com:9443');
  });

  it('takes names in any case and surrounding spaces', () => {
    const cs = parseConnectionString(` endpoint = sb://r.example.com ; sharedaccesskeyname = a ; SHAREDACCESSKEY = ${KEY} `);
    expect(cs).toMatchObject({ relayUrl: 'https://r.example.com', keyName: 'a', key: KEY });
  });

  it('accepts quoted values, which may hold ; and =', () => {
    const cs = parseConnectionString(`Endpoint="sb://r.example.com/";SharedAccessKeyName='my;rule';SharedAccessKey="a=b;c="`);
    expect(cs).toMatchObject({ keyName: 'my;rule', key: 'a=b;c=' });
  });

  it('accepts a ready token instead of a key', () => {
    const cs = parseConnectionString('Endpoint=sb://r.example.com/;SharedAccessSignature=SharedAccessSignature sr=x&sig=y&se=1&skn=k');
    expect(cs.sharedAccessSignature).toBe('SharedAccessSignature sr=x&sig=y&se=1&skn=k');
    expect(cs.key).toBeUndefined();
  });

  it('maps endpoints to the relay URL: sb and wss to https (443 dropped), http and ws kept plain', () => {
    expect(relayUrlFromEndpoint('sb://r.example.com:443/')).toBe('https://r.example.com');
    expect(relayUrlFromEndpoint('wss://r.example.com:8443')).toBe('https://r.example.com:8443');
    expect(relayUrlFromEndpoint('http://127.0.0.1:9443/')).toBe('http://127.0.0.1:9443');
    expect(relayUrlFromEndpoint('ws://127.0.0.1:9443/')).toBe('http://127.0.0.1:9443');
    expect(relayUrlFromEndpoint('SB://[::1]:9443/')).toBe('https://[::1]:9443');
  });

  it('refuses malformed input, naming what is wrong and never echoing the key', () => {
    expect(issuesOf('')).toMatch(/empty/);
    expect(issuesOf(`SharedAccessKeyName=a;SharedAccessKey=${KEY}`)).toMatch(/Endpoint: required/);
    expect(issuesOf('Endpoint=sb://r.example.com/;SharedAccessKeyName=a')).toMatch(/SharedAccessKey: required/);
    expect(issuesOf(`Endpoint=sb://r.example.com/;SharedAccessKey=${KEY}`)).toMatch(/SharedAccessKeyName: required/);
    expect(issuesOf('Endpoint=sb://r.example.com/')).toMatch(/required/);
    const typo = issuesOf(`Endpoint=sb://r.example.com/;SharedAccessKeyName=a;SharedAccesKey=${KEY}`);
    expect(typo).toMatch(/SharedAccesKey: unknown name/);
    expect(typo).not.toContain(KEY);
    expect(issuesOf(`Endpoint=sb://a/;Endpoint=sb://b/;SharedAccessKeyName=a;SharedAccessKey=${KEY}`)).toMatch(/given twice/);
    expect(issuesOf(`Endpoint=sb://r.example.com/path;SharedAccessKeyName=a;SharedAccessKey=${KEY}`)).toMatch(/Endpoint: expected sb:\/\/host/);
    expect(issuesOf(`Endpoint=ftp://r.example.com/;SharedAccessKeyName=a;SharedAccessKey=${KEY}`)).toMatch(/Endpoint/);
    expect(issuesOf(`Endpoint=sb://u:p@r.example.com/;SharedAccessKeyName=a;SharedAccessKey=${KEY}`)).toMatch(/user information/);
    expect(issuesOf(`Endpoint=sb://r.example.com/;SharedAccessKeyName="a;SharedAccessKey=${KEY}`)).toMatch(/not closed/);
    expect(issuesOf(`Endpoint=sb://r.example.com/;garbage;SharedAccessKeyName=a;SharedAccessKey=${KEY}`)).toMatch(/expected Name=value/);
    expect(issuesOf(`Endpoint=sb://r.example.com/;SharedAccessKeyName=;SharedAccessKey=${KEY}`)).toMatch(/empty value/);
    expect(issuesOf(`Endpoint=sb://r/;SharedAccessKeyName=a;SharedAccessKey=${KEY};SharedAccessSignature=x`)).toMatch(/not both/);
  });
});

describe('formatConnectionString', () => {
  it('writes sb:// for a TLS relay and http:// for a plain one, and parses back', () => {
    const tls = formatConnectionString({ relayUrl: 'https://relay.example.com:9443', keyName: 'a', key: KEY, entityPath: 'orders' });
    expect(tls).toBe(`Endpoint=sb://relay.example.com:9443/;SharedAccessKeyName=a;SharedAccessKey=${KEY};EntityPath=orders`);
    expect(parseConnectionString(tls)).toMatchObject({ relayUrl: 'https://relay.example.com:9443', keyName: 'a', key: KEY, entityPath: 'orders' });
    const plain = formatConnectionString({ relayUrl: 'http://127.0.0.1:8080', keyName: 'a;b', key: KEY });
    expect(plain).toBe(`Endpoint=http://127.0.0.1:8080/;SharedAccessKeyName="a;b";SharedAccessKey=${KEY}`);
    expect(parseConnectionString(plain)).toMatchObject({ relayUrl: 'http://127.0.0.1:8080', keyName: 'a;b' });
  });
});
