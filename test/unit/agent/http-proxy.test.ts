/** The http target's path mapping: /{entity}/rest?q → {base path}/rest?q, never above the base path. */
import { HttpProxy } from '../../../src/agent/proxies/http-proxy';

describe('HttpProxy.localTarget', () => {
  const proxy = new HttpProxy('orders/v1', { url: 'http://127.0.0.1:9/svc/', timeoutMs: 1000, rejectUnauthorized: true });
  afterAll(() => proxy.close());

  it.each([
    ['/orders/v1', '/svc'],
    ['/orders/v1/', '/svc/'],
    ['/orders/v1/items/7?x=1&y=%20', '/svc/items/7?x=1&y=%20'],
    ['/ORDERS/v1/items', '/svc/items'],
    ['/orders%2Fv1/items', '/svc/items'],
    ['/orders/v1/caf\u00e9 bar', '/svc/caf%C3%A9%20bar'],
    ['/orders/v1/a..b/.hidden/x.', '/svc/a..b/.hidden/x.'],
  ])('%s → %s', (target, local) => {
    expect(proxy.localTarget(target)).toBe(local);
  });

  it.each(['/orders/v1/../admin', '/orders/v1/./x', '/orders/v1/..', '/orders/v1/%2e%2E/admin', '/orders/v1/.%2e/admin', '/orders/v1/..%2fadmin', '/orders/v1/..\\admin', '/orders/v1/x/%5c..%5cadmin'])(
    'refuses %s (it would leave the base path)',
    (target) => {
      expect(() => proxy.localTarget(target)).toThrow(expect.objectContaining({ code: 'RELAY_ERR_PROTOCOL_INVALID_MESSAGE', httpStatus: 400 }));
    },
  );

  it('localUrl is localTarget on the service origin', () => {
    expect(proxy.localUrl('/orders/v1/items?q=1').href).toBe('http://127.0.0.1:9/svc/items?q=1');
  });
});
