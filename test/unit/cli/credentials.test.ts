/** CLI layering of credentials (file < env < flags) and --expose PATH=URL mapping. */
import { exposeToService } from '../../../src/cli/commands/agent';
import { envCredentials, resolveCredentials } from '../../../src/cli/credentials';
import { UsageError } from '../../../src/cli/spec';

const CS = 'Endpoint=sb://relay.example.com:9443/;SharedAccessKeyName=cs-rule;SharedAccessKey=Y3Mta2V5;EntityPath=orders';

describe('resolveCredentials', () => {
  it('takes the whole credential from the highest layer that names one', () => {
    const r = resolveCredentials([
      { source: 'config file', relayUrl: 'https://file.example.com', keyName: 'file-rule', key: 'ZmlsZQ==' },
      { source: 'flags', connectionString: CS },
    ]);
    // The connection string's layer is higher than the file's relayUrl: its Endpoint wins.
    expect(r).toMatchObject({ relayUrl: 'https://relay.example.com:9443', keyName: 'cs-rule', key: 'Y3Mta2V5' });
    expect(r.connection?.entityPath).toBe('orders');
  });

  it('lets an explicit relay URL in the same layer win over the Endpoint, and a higher one too', () => {
    expect(resolveCredentials([{ source: 'flags', relayUrl: 'http://127.0.0.1:8080', connectionString: CS }]).relayUrl).toBe('http://127.0.0.1:8080');
    const r = resolveCredentials([
      { source: 'config file', connectionString: CS },
      { source: 'flags', relayUrl: 'http://127.0.0.1:8080' },
    ]);
    expect(r).toMatchObject({ relayUrl: 'http://127.0.0.1:8080', keyName: 'cs-rule' });
  });

  it('flags beat a file key (the agent ignored them before)', () => {
    const r = resolveCredentials([
      { source: 'config file', relayUrl: 'http://file:1', keyName: 'old', key: 'b2xk' },
      envCredentials({}),
      { source: 'flags', relayUrl: 'http://flag:2', keyName: 'new', key: 'bmV3' },
    ]);
    expect(r).toEqual({ relayUrl: 'http://flag:2', keyName: 'new', key: 'bmV3' });
  });

  it('reads the environment layer and refuses half or mixed credentials', () => {
    expect(resolveCredentials([envCredentials({ RELAYBRIDGE_CONNECTION_STRING: CS, RELAYBRIDGE_RELAY_URL: '' })]).keyName).toBe('cs-rule');
    expect(() => resolveCredentials([{ source: 'flags', keyName: 'a' }])).toThrow(/incomplete credentials in flags/);
    expect(() => resolveCredentials([{ source: 'environment', connectionString: CS, key: 'eA==' }])).toThrow(/conflicting credentials in environment/);
  });
});

describe('exposeToService', () => {
  it('maps the URL scheme to the target type', () => {
    expect(exposeToService('credit-check=http://10.0.0.12:8080/Credit.svc')).toEqual({ path: 'credit-check', target: { type: 'http', url: 'http://10.0.0.12:8080/Credit.svc' } });
    expect(exposeToService('calc=net.tcp://10.0.0.5:808/calc').target).toEqual({ type: 'nettcp', url: 'net.tcp://10.0.0.5:808/calc' });
    expect(exposeToService('db=tcp://10.0.0.7:5432').target).toEqual({ type: 'tcp', host: '10.0.0.7', port: 5432 });
    expect(exposeToService('feed=wss://10.0.0.8/feed').target).toEqual({ type: 'ws', url: 'wss://10.0.0.8/feed' });
    expect(exposeToService('team/orders=https://svc/').path).toBe('team/orders');
  });

  it('takes the path from EntityPath when none is given, and refuses what it cannot map', () => {
    expect(exposeToService('http://svc:8080/?a=b', 'orders')).toEqual({ path: 'orders', target: { type: 'http', url: 'http://svc:8080/?a=b' } });
    expect(() => exposeToService('http://svc:8080/')).toThrow(UsageError);
    expect(() => exposeToService('x=ftp://svc/')).toThrow(/expected an http\(s\):\/\//);
    expect(() => exposeToService('x=tcp://svc')).toThrow(/tcp:\/\/ needs a port/);
  });
});
