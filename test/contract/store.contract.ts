/**
 * The Store contract: every Store implementation runs this suite (MemoryStore memory-only and
 * file-backed; a Redis store when REDIS_URL is set). `build` returns a fresh, empty store that is
 * not opened yet; the suite opens it before each test and closes it (then calls cleanup) after.
 */
import type { AuthorizationRule, ListenerRecord } from '../../src/core/entities';
import { ConfigError, RelayError, type ErrorCode } from '../../src/core/errors';
import type { Store } from '../../src/store/store';

export interface BuiltStore {
  store: Store;
  cleanup: () => Promise<void>;
}

const rule = (keyName: string, rights: AuthorizationRule['rights'] = ['Send'], primaryKey = `${keyName}-key`): AuthorizationRule => ({
  keyName,
  primaryKey,
  rights,
});
const listener = (path: string, listenerId: string, nodeId = 'node-1'): ListenerRecord => ({
  path,
  listenerId,
  nodeId,
  connectedAt: '2024-01-01T00:00:00.000Z',
});

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<RelayError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(RelayError);
  expect((caught as RelayError).code).toBe(code);
  if (message) expect((caught as RelayError).message).toMatch(message);
  return caught as RelayError;
}

export function storeContract(name: string, build: () => Promise<BuiltStore>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await build());
      await store.open();
    });
    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    describe('entities', () => {
      it('starts empty', async () => {
        expect(await store.listEntities()).toEqual([]);
        expect(await store.getEntity('anything')).toBeUndefined();
        expect(await store.listNamespaceRules()).toEqual([]);
      });

      it('creates with defaults and reads back', async () => {
        const created = await store.createEntity({ path: 'orders' });
        expect(created).toMatchObject({ path: 'orders', requiresClientAuthorization: true, authorizationRules: [] });
        expect(created.userMetadata).toBeUndefined();
        expect(Number.isNaN(Date.parse(created.createdAt))).toBe(false);
        expect(new Date(created.createdAt).toISOString()).toBe(created.createdAt);
        expect(created.updatedAt).toBe(created.createdAt);
        expect(await store.getEntity('orders')).toEqual(created);
      });

      it('creates with every field', async () => {
        const created = await store.createEntity({
          path: 'team/orders',
          requiresClientAuthorization: false,
          userMetadata: 'owner: team',
          authorizationRules: [rule('send'), rule('listen', ['Listen'])],
        });
        expect(created).toMatchObject({
          path: 'team/orders',
          requiresClientAuthorization: false,
          userMetadata: 'owner: team',
          authorizationRules: [rule('send'), rule('listen', ['Listen'])],
        });
        expect(await store.getEntity('team/orders')).toEqual(created);
      });

      it('keeps the path as given and looks it up case-insensitively', async () => {
        await store.createEntity({ path: 'Team/Orders' });
        expect((await store.getEntity('team/orders'))?.path).toBe('Team/Orders');
        expect((await store.getEntity('TEAM/ORDERS'))?.path).toBe('Team/Orders');
        await rejectsWith(store.createEntity({ path: 'team/ORDERS' }), 'RELAY_ERR_ENTITY_EXISTS');
      });

      it('RELAY_ERR_ENTITY_EXISTS (409) on a second create', async () => {
        await store.createEntity({ path: 'orders' });
        const err = await rejectsWith(store.createEntity({ path: 'orders' }), 'RELAY_ERR_ENTITY_EXISTS', /orders/);
        expect(err.httpStatus).toBe(409);
      });

      it('lists sorted by path', async () => {
        for (const path of ['zeta', 'alpha/b', 'Beta', 'alpha']) await store.createEntity({ path });
        expect((await store.listEntities()).map((e) => e.path)).toEqual(['alpha', 'alpha/b', 'Beta', 'zeta']);
      });

      it('updates only the given fields and keeps createdAt', async () => {
        const created = await store.createEntity({ path: 'orders', userMetadata: 'v1', authorizationRules: [rule('send')] });
        const updated = await store.updateEntity('ORDERS', { requiresClientAuthorization: false });
        expect(updated).toMatchObject({ path: 'orders', requiresClientAuthorization: false, userMetadata: 'v1' });
        expect(updated.authorizationRules).toEqual([rule('send')]);
        expect(updated.createdAt).toBe(created.createdAt);
        expect(Date.parse(updated.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt));
        const again = await store.updateEntity('orders', { userMetadata: 'v2' });
        expect(again).toMatchObject({ requiresClientAuthorization: false, userMetadata: 'v2' });
        expect(await store.getEntity('orders')).toEqual(again);
      });

      it('RELAY_ERR_ENTITY_NOT_FOUND (404) when updating a missing entity', async () => {
        const err = await rejectsWith(store.updateEntity('missing', { userMetadata: 'x' }), 'RELAY_ERR_ENTITY_NOT_FOUND', /missing/);
        expect(err.httpStatus).toBe(404);
      });

      it('rejects an invalid update', async () => {
        await store.createEntity({ path: 'orders' });
        await rejectsWith(
          store.updateEntity('orders', { requiresClientAuthorization: 'no' as unknown as boolean }),
          'RELAY_ERR_CONFIG_INVALID',
          /requiresClientAuthorization/,
        );
        await rejectsWith(store.updateEntity('orders', { userMetadata: 'x'.repeat(5000) }), 'RELAY_ERR_CONFIG_INVALID', /userMetadata/);
        expect((await store.getEntity('orders'))?.userMetadata).toBeUndefined();
      });

      it('upsert creates, then updates the given fields, keeps createdAt and merges rules', async () => {
        const first = await store.upsertEntity({ path: 'orders', userMetadata: 'v1', authorizationRules: [rule('a'), rule('b')] });
        expect(first).toMatchObject({ path: 'orders', requiresClientAuthorization: true, userMetadata: 'v1' });
        await store.putEntityRule('orders', rule('added-at-run-time'));
        const second = await store.upsertEntity({
          path: 'ORDERS',
          requiresClientAuthorization: false,
          authorizationRules: [rule('b', ['Listen'], 'new-b-key'), rule('c')],
        });
        expect(second.path).toBe('orders');
        expect(second.createdAt).toBe(first.createdAt);
        expect(second).toMatchObject({ requiresClientAuthorization: false, userMetadata: 'v1' });
        expect(second.authorizationRules).toEqual([rule('a'), rule('b', ['Listen'], 'new-b-key'), rule('added-at-run-time'), rule('c')]);
        expect(await store.getEntity('orders')).toEqual(second);
      });

      it('deletes (case-insensitively) and reports whether it did', async () => {
        await store.createEntity({ path: 'orders' });
        expect(await store.deleteEntity('Orders')).toBe(true);
        expect(await store.getEntity('orders')).toBeUndefined();
        expect(await store.deleteEntity('orders')).toBe(false);
        expect(await store.listEntities()).toEqual([]);
        await store.createEntity({ path: 'orders' }); // the path is free again
      });

      it('returns copies: changing a result does not change the store', async () => {
        const created = await store.createEntity({ path: 'orders', authorizationRules: [rule('send')] });
        (created.authorizationRules as AuthorizationRule[]).push(rule('sneaky'));
        (created.authorizationRules[0]!.rights as string[]).push('Manage');
        (created as { userMetadata?: string }).userMetadata = 'changed';
        const input = { path: 'other', authorizationRules: [rule('x')] };
        await store.createEntity(input);
        input.authorizationRules.push(rule('y'));
        expect(await store.getEntity('orders')).toMatchObject({ authorizationRules: [rule('send')] });
        expect((await store.getEntity('orders'))?.userMetadata).toBeUndefined();
        expect((await store.getEntity('other'))?.authorizationRules).toEqual([rule('x')]);
      });

      it.each([
        ['empty', ''],
        ['too long', 'a'.repeat(261)],
        ['leading slash', '/orders'],
        ['trailing slash', 'orders/'],
        ['double slash', 'team//orders'],
        ['reserved $', '$hc'],
        ['reserved $ segment first', '$management/x'],
        ['dot-dot', 'team/../orders'],
        ['dot-dot alone', '..'],
        ['dot segment', 'team/./orders'],
        ['space', 'my orders'],
        ['query', 'orders?x=1'],
        ['percent', 'orders%20x'],
        ['non-ASCII', 'commandé'],
        ['backslash', 'team\\orders'],
      ])('rejects an invalid path (%s) with RELAY_ERR_CONFIG_INVALID naming the field', async (_what, path) => {
        const err = await rejectsWith(store.createEntity({ path }), 'RELAY_ERR_CONFIG_INVALID', /path/);
        expect(err).toBeInstanceOf(ConfigError);
        await rejectsWith(store.upsertEntity({ path }), 'RELAY_ERR_CONFIG_INVALID');
        expect(await store.listEntities()).toEqual([]);
      });

      it('rejects a non-string path', async () => {
        await rejectsWith(store.createEntity({ path: 42 as unknown as string }), 'RELAY_ERR_CONFIG_INVALID', /path/);
      });

      it.each([
        ['260 characters', 'a'.repeat(260)],
        ['all allowed characters', 'Az09._-'],
        ['nested', 'a/b/c.d/e-f'],
        ['dots inside a segment', 'v1.2'],
      ])('accepts a valid path (%s)', async (_what, path) => {
        expect((await store.createEntity({ path })).path).toBe(path);
      });
    });

    describe('entity rules', () => {
      beforeEach(async () => {
        await store.createEntity({ path: 'orders' });
      });

      it('adds rules, replaces one with the same keyName, deletes', async () => {
        await store.putEntityRule('orders', rule('send'));
        await store.putEntityRule('ORDERS', { keyName: 'listen', primaryKey: 'p', secondaryKey: 's', rights: ['Listen'] });
        await store.putEntityRule('orders', rule('send', ['Send', 'Listen'], 'rotated'));
        expect((await store.getEntity('orders'))?.authorizationRules).toEqual([
          rule('send', ['Send', 'Listen'], 'rotated'),
          { keyName: 'listen', primaryKey: 'p', secondaryKey: 's', rights: ['Listen'] },
        ]);
        expect(await store.deleteEntityRule('orders', 'send')).toBe(true);
        expect(await store.deleteEntityRule('orders', 'send')).toBe(false);
        expect(await store.deleteEntityRule('missing', 'listen')).toBe(false);
        expect((await store.getEntity('orders'))?.authorizationRules.map((r) => r.keyName)).toEqual(['listen']);
      });

      it('keeps only the known rule fields', async () => {
        await store.putEntityRule('orders', { ...rule('send'), extra: 'dropped' } as AuthorizationRule);
        expect((await store.getEntity('orders'))?.authorizationRules).toEqual([rule('send')]);
      });

      it('keeps per-operation lists of a rule, and rejects malformed ones', async () => {
        const ops = { ...rule('ops'), operations: { allow: ['http://example.org/calc/ICalculator/*'], deny: ['http://example.org/calc/ICalculator/Delete'] } };
        await store.putEntityRule('orders', ops);
        expect((await store.getEntity('orders'))?.authorizationRules).toEqual([ops]);
        await store.putNamespaceRule({ ...rule('ns-ops'), operations: { deny: ['x'] } });
        expect((await store.listNamespaceRules()).find((r) => r.keyName === 'ns-ops')?.operations).toEqual({ deny: ['x'] });
        await rejectsWith(
          store.putEntityRule('orders', { ...rule('bad'), operations: { allow: ['a*b'] } } as AuthorizationRule),
          'RELAY_ERR_CONFIG_INVALID',
          /operations\.allow\[0\]/,
        );
      });

      it('RELAY_ERR_ENTITY_NOT_FOUND for a missing entity', async () => {
        await rejectsWith(store.putEntityRule('missing', rule('send')), 'RELAY_ERR_ENTITY_NOT_FOUND');
      });

      it('allows 12 rules per entity, not 13 (also on create and upsert)', async () => {
        for (let i = 0; i < 12; i++) await store.putEntityRule('orders', rule(`r${i}`));
        await store.putEntityRule('orders', rule('r0', ['Listen'])); // replacing is fine
        await rejectsWith(store.putEntityRule('orders', rule('r12')), 'RELAY_ERR_CONFIG_INVALID', /12/);
        expect((await store.getEntity('orders'))?.authorizationRules).toHaveLength(12);
        const thirteen = Array.from({ length: 13 }, (_, i) => rule(`r${i}`));
        await rejectsWith(store.createEntity({ path: 'big', authorizationRules: thirteen }), 'RELAY_ERR_CONFIG_INVALID', /12/);
        await rejectsWith(store.upsertEntity({ path: 'orders', authorizationRules: [rule('new')] }), 'RELAY_ERR_CONFIG_INVALID', /12/);
        expect((await store.getEntity('orders'))?.authorizationRules).toHaveLength(12);
      });

      it('rejects duplicate key names in a create', async () => {
        await rejectsWith(
          store.createEntity({ path: 'dup', authorizationRules: [rule('a'), rule('a', ['Listen'])] }),
          'RELAY_ERR_CONFIG_INVALID',
          /keyName 'a'/,
        );
      });

      it.each<[string, unknown, RegExp]>([
        ['empty keyName', { keyName: '', primaryKey: 'k', rights: ['Send'] }, /keyName/],
        ['long keyName', { keyName: 'k'.repeat(257), primaryKey: 'k', rights: ['Send'] }, /keyName/],
        ['keyName with a space', { keyName: 'my rule', primaryKey: 'k', rights: ['Send'] }, /keyName/],
        ['keyName with a slash', { keyName: 'a/b', primaryKey: 'k', rights: ['Send'] }, /keyName/],
        ['empty primaryKey', { keyName: 'k', primaryKey: '', rights: ['Send'] }, /primaryKey/],
        ['missing primaryKey', { keyName: 'k', rights: ['Send'] }, /primaryKey/],
        ['non-string secondaryKey', { keyName: 'k', primaryKey: 'k', secondaryKey: 5, rights: ['Send'] }, /secondaryKey/],
        ['no rights', { keyName: 'k', primaryKey: 'k', rights: [] }, /rights/],
        ['rights not a list', { keyName: 'k', primaryKey: 'k', rights: 'Send' }, /rights/],
        ['unknown right', { keyName: 'k', primaryKey: 'k', rights: ['Admin'] }, /rights.*Admin/],
        ['lower-case right', { keyName: 'k', primaryKey: 'k', rights: ['send'] }, /rights/],
        ['repeated right', { keyName: 'k', primaryKey: 'k', rights: ['Send', 'Send'] }, /rights/],
        ['not an object', null, /rule/i],
      ])('rejects an invalid rule (%s) naming the field', async (_what, bad, field) => {
        await rejectsWith(store.putEntityRule('orders', bad as AuthorizationRule), 'RELAY_ERR_CONFIG_INVALID', field);
        await rejectsWith(store.putNamespaceRule(bad as AuthorizationRule), 'RELAY_ERR_CONFIG_INVALID', field);
        await rejectsWith(store.createEntity({ path: 'x', authorizationRules: [bad as AuthorizationRule] }), 'RELAY_ERR_CONFIG_INVALID', field);
        expect((await store.getEntity('orders'))?.authorizationRules).toEqual([]);
        expect(await store.listNamespaceRules()).toEqual([]);
      });

      it('accepts a 256-character key name of every allowed character', async () => {
        const keyName = `Az09._-${'k'.repeat(249)}`;
        await store.putEntityRule('orders', rule(keyName, ['Send'], 'k'));
        expect((await store.getEntity('orders'))?.authorizationRules[0]?.keyName).toBe(keyName);
      });

      it('deleting the entity deletes its rules', async () => {
        await store.putEntityRule('orders', rule('send'));
        await store.deleteEntity('orders');
        await store.createEntity({ path: 'orders' });
        expect((await store.getEntity('orders'))?.authorizationRules).toEqual([]);
      });
    });

    describe('namespace rules', () => {
      it('puts, replaces by keyName, lists in insertion order, deletes', async () => {
        await store.putNamespaceRule(rule('RootManageSharedAccessKey', ['Manage', 'Listen', 'Send']));
        await store.putNamespaceRule({ ...rule('sender'), secondaryKey: 'second' });
        await store.putNamespaceRule(rule('RootManageSharedAccessKey', ['Manage', 'Listen', 'Send'], 'rotated'));
        expect(await store.listNamespaceRules()).toEqual([
          rule('RootManageSharedAccessKey', ['Manage', 'Listen', 'Send'], 'rotated'),
          { ...rule('sender'), secondaryKey: 'second' },
        ]);
        expect(await store.deleteNamespaceRule('sender')).toBe(true);
        expect(await store.deleteNamespaceRule('sender')).toBe(false);
        expect((await store.listNamespaceRules()).map((r) => r.keyName)).toEqual(['RootManageSharedAccessKey']);
      });

      it('allows 12 namespace rules, not 13', async () => {
        for (let i = 0; i < 12; i++) await store.putNamespaceRule(rule(`n${i}`));
        await rejectsWith(store.putNamespaceRule(rule('n12')), 'RELAY_ERR_CONFIG_INVALID', /12/);
        await store.putNamespaceRule(rule('n3', ['Listen']));
        expect(await store.listNamespaceRules()).toHaveLength(12);
      });

      it('are independent of entity rules', async () => {
        await store.putNamespaceRule(rule('shared'));
        await store.createEntity({ path: 'orders', authorizationRules: [rule('shared', ['Listen'])] });
        expect(await store.listNamespaceRules()).toEqual([rule('shared')]);
        await store.deleteEntity('orders');
        expect(await store.listNamespaceRules()).toEqual([rule('shared')]);
      });

      it('returns copies', async () => {
        await store.putNamespaceRule(rule('root'));
        const list = await store.listNamespaceRules();
        (list[0]!.rights as string[]).push('Manage');
        list.push(rule('sneaky'));
        expect(await store.listNamespaceRules()).toEqual([rule('root')]);
      });
    });

    describe('listener registry', () => {
      it('registers, lists, counts and unregisters (path case-insensitive)', async () => {
        expect(await store.countListeners('orders')).toBe(0);
        expect(await store.listListeners('orders')).toEqual([]);
        await store.registerListener(listener('orders', 'l1'));
        await store.registerListener(listener('Orders', 'l2', 'node-2'));
        await store.registerListener(listener('other', 'l3'));
        expect(await store.countListeners('ORDERS')).toBe(2);
        expect((await store.listListeners('orders')).map((l) => l.listenerId).sort()).toEqual(['l1', 'l2']);
        expect(await store.listListeners('other')).toEqual([listener('other', 'l3')]);
        await store.unregisterListener('ORDERS', 'l1');
        expect(await store.listListeners('orders')).toEqual([listener('Orders', 'l2', 'node-2')]);
        await store.unregisterListener('orders', 'l2');
        expect(await store.countListeners('orders')).toBe(0);
        expect(await store.countListeners('other')).toBe(1);
      });

      it('replaces a record with the same path and listenerId', async () => {
        await store.registerListener(listener('orders', 'l1', 'node-1'));
        await store.registerListener({ ...listener('orders', 'l1', 'node-2'), remoteAddress: '10.0.0.1' });
        expect(await store.listListeners('orders')).toEqual([{ ...listener('orders', 'l1', 'node-2'), remoteAddress: '10.0.0.1' }]);
        expect(await store.countListeners('orders')).toBe(1);
      });

      it('the same listenerId on two paths is two records', async () => {
        await store.registerListener(listener('a', 'same'));
        await store.registerListener(listener('b', 'same'));
        await store.unregisterListener('a', 'same');
        expect(await store.countListeners('a')).toBe(0);
        expect(await store.countListeners('b')).toBe(1);
      });

      it('unregistering an unknown listener is a no-op', async () => {
        await expect(store.unregisterListener('nowhere', 'nobody')).resolves.toBeUndefined();
        await store.registerListener(listener('orders', 'l1'));
        await store.unregisterListener('orders', 'nobody');
        expect(await store.countListeners('orders')).toBe(1);
      });

      it('returns copies', async () => {
        await store.registerListener(listener('orders', 'l1'));
        const [rec] = await store.listListeners('orders');
        (rec as { nodeId: string }).nodeId = 'changed';
        expect((await store.listListeners('orders'))[0]?.nodeId).toBe('node-1');
      });
    });
  });
}
