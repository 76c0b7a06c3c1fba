/** The agent's connectionString option: in place of keyName/key, its Endpoint as the default relay URL. */
import { buildAgentConfig } from '../../../src/agent/options';

const services = [{ path: 'orders', target: { type: 'http' as const, url: 'http://127.0.0.1:8080' } }];
const CS = 'Endpoint=sb://relay.example.com/;SharedAccessKeyName=agent;SharedAccessKey=YWdlbnQta2V5';

describe('agent option connectionString', () => {
  it('gives keyName, key and the relay URL', () => {
    const c = buildAgentConfig({ connectionString: CS, services });
    expect(c).toMatchObject({ relayUrl: 'https://relay.example.com', keyName: 'agent', key: 'YWdlbnQta2V5' });
  });

  it('lets an explicit relayUrl win over the Endpoint', () => {
    expect(buildAgentConfig({ connectionString: CS, relayUrl: 'http://127.0.0.1:9443', services }).relayUrl).toBe('http://127.0.0.1:9443');
  });

  it('takes a SharedAccessSignature as the token', () => {
    const c = buildAgentConfig({ connectionString: 'Endpoint=sb://r.example.com/;SharedAccessSignature=SharedAccessSignature sr=x&sig=y&se=9&skn=k', services });
    expect(c.token).toBe('SharedAccessSignature sr=x&sig=y&se=9&skn=k');
  });

  it('refuses it beside keyName/key/token, and a malformed one', () => {
    expect(() => buildAgentConfig({ connectionString: CS, keyName: 'a', key: 'b', services })).toThrow(/connectionString: give it or keyName\/key, not both/);
    expect(() => buildAgentConfig({ connectionString: 'Endpoint=sb://r/', services })).toThrow(/invalid connection string/);
    expect(() => buildAgentConfig({ services })).toThrow(/relayUrl/);
  });
});
