import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Clock, systemClock } from '../../../src/core/clock';
import type { AuthorizationRule } from '../../../src/core/entities';
import { RelayError } from '../../../src/core/errors';
import { MemoryStore, STORE_FILE_VERSION } from '../../../src/store/memory-store';
import { storeContract } from '../../contract/store.contract';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'relaybridge-store-'));
}

storeContract('MemoryStore (memory only)', async () => ({ store: new MemoryStore(), cleanup: async () => undefined }));

storeContract('MemoryStore (file-backed)', async () => {
  const dir = tempDir();
  return {
    store: new MemoryStore({ file: path.join(dir, 'store.json') }),
    cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
});

const ROOT: AuthorizationRule = { keyName: 'RootManageSharedAccessKey', primaryKey: 'root-primary', secondaryKey: 'root-secondary', rights: ['Manage', 'Listen', 'Send'] };

describe('MemoryStore', () => {
  let dir: string;
  let file: string;
  const opened: MemoryStore[] = [];
  async function openStore(options: { file?: string; clock?: Clock } = { file: undefined }): Promise<MemoryStore> {
    const s = new MemoryStore(options);
    await s.open();
    opened.push(s);
    return s;
  }

  beforeEach(() => {
    dir = tempDir();
    file = path.join(dir, 'store.json');
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    fs.chmodSync(dir, 0o700);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('takes createdAt/updatedAt from the injected clock', async () => {
    let now = Date.UTC(2024, 0, 1);
    const store = await openStore({ clock: { ...systemClock, now: () => now } });
    const created = await store.createEntity({ path: 'orders' });
    expect(created.createdAt).toBe('2024-01-01T00:00:00.000Z');
    now += 60_000;
    const updated = await store.updateEntity('orders', { userMetadata: 'x' });
    expect(updated).toMatchObject({ createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-01T00:01:00.000Z' });
    now += 60_000;
    await store.putEntityRule('orders', { keyName: 'k', primaryKey: 'p', rights: ['Send'] });
    expect((await store.getEntity('orders'))?.updatedAt).toBe('2024-01-01T00:02:00.000Z');
    now += 60_000;
    const upserted = await store.upsertEntity({ path: 'orders' });
    expect(upserted).toMatchObject({ createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-01T00:03:00.000Z' });
  });

  it('memory only: works without open() and writes no file', async () => {
    const store = new MemoryStore();
    await store.createEntity({ path: 'orders' });
    expect(await store.listEntities()).toHaveLength(1);
    await store.close();
  });

  describe('file-backed', () => {
    it('a missing file is an empty store, and nothing is written until a mutation', async () => {
      const store = await openStore({ file });
      expect(await store.listEntities()).toEqual([]);
      await store.getEntity('x');
      await store.registerListener({ path: 'x', listenerId: 'l', nodeId: 'n', connectedAt: '2024-01-01T00:00:00.000Z' });
      expect(fs.existsSync(file)).toBe(false);
      await store.putNamespaceRule(ROOT);
      expect(fs.existsSync(file)).toBe(true);
    });

    it('creates missing parent directories', async () => {
      const nested = path.join(dir, 'a', 'b', 'store.json');
      const store = await openStore({ file: nested });
      await store.putNamespaceRule(ROOT);
      expect(fs.existsSync(nested)).toBe(true);
    });

    it('a restarted store (new instance on the same file) loses nothing but the listeners', async () => {
      const first = await openStore({ file });
      await first.putNamespaceRule(ROOT);
      await first.putNamespaceRule({ keyName: 'sender', primaryKey: 's', rights: ['Send'] });
      await first.createEntity({ path: 'Team/Orders', requiresClientAuthorization: false, userMetadata: 'meta', authorizationRules: [{ keyName: 'l', primaryKey: 'lk', rights: ['Listen'] }] });
      await first.createEntity({ path: 'gone' });
      await first.createEntity({ path: 'billing' });
      await first.updateEntity('billing', { userMetadata: 'v2' });
      await first.putEntityRule('billing', { keyName: 'b', primaryKey: 'bk', secondaryKey: 'bk2', rights: ['Send', 'Listen'] });
      await first.deleteEntity('gone');
      await first.deleteNamespaceRule('sender');
      await first.registerListener({ path: 'billing', listenerId: 'l1', nodeId: 'n', connectedAt: '2024-01-01T00:00:00.000Z' });
      const entities = await first.listEntities();
      const rules = await first.listNamespaceRules();
      await first.close();

      const second = await openStore({ file });
      expect(await second.listEntities()).toEqual(entities);
      expect(await second.listNamespaceRules()).toEqual(rules);
      expect(await second.getEntity('team/orders')).toMatchObject({ path: 'Team/Orders', userMetadata: 'meta' });
      expect(await second.countListeners('billing')).toBe(0);
    });

    it('persists concurrent mutations: none lost, none interleaved', async () => {
      const store = await openStore({ file });
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 40; i++) writes.push(store.createEntity({ path: `e${String(i).padStart(2, '0')}` }));
      for (let i = 0; i < 12; i++) writes.push(store.putNamespaceRule({ keyName: `n${i}`, primaryKey: `k${i}`, rights: ['Send'] }));
      for (let i = 0; i < 40; i += 2) writes.push(store.putEntityRule(`e${String(i).padStart(2, '0')}`, { keyName: 'r', primaryKey: 'x', rights: ['Listen'] }));
      await Promise.all(writes);
      // Interleave more while earlier writes may still be in flight.
      await Promise.all([store.deleteEntity('e39'), store.updateEntity('e00', { userMetadata: 'last' }), store.deleteNamespaceRule('n11')]);

      const expected = await store.listEntities();
      expect(expected).toHaveLength(39);
      const reloaded = new MemoryStore({ file });
      await reloaded.open();
      opened.push(reloaded);
      expect(await reloaded.listEntities()).toEqual(expected);
      expect((await reloaded.listNamespaceRules()).map((r) => r.keyName)).toEqual(Array.from({ length: 11 }, (_, i) => `n${i}`));
      expect((await reloaded.getEntity('e00'))?.userMetadata).toBe('last');
      expect((await reloaded.getEntity('e02'))?.authorizationRules).toHaveLength(1);
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ version: STORE_FILE_VERSION });
    });

    it('resolves a mutation only once it is on disk', async () => {
      const store = await openStore({ file });
      await store.createEntity({ path: 'orders' });
      const onDisk = JSON.parse(fs.readFileSync(file, 'utf8')) as { entities: { path: string }[] };
      expect(onDisk.entities.map((e) => e.path)).toEqual(['orders']);
    });

    it('leaves no temporary files behind', async () => {
      const store = await openStore({ file });
      await Promise.all(Array.from({ length: 10 }, (_, i) => store.createEntity({ path: `p${i}` })));
      expect(fs.readdirSync(dir)).toEqual(['store.json']);
    });

    (process.platform === 'win32' ? it.skip : it)('writes the file with mode 0600 (it holds keys)', async () => {
      fs.writeFileSync(file, JSON.stringify({ version: 1, namespaceRules: [], entities: [] }), { mode: 0o644 });
      fs.chmodSync(file, 0o644);
      const store = await openStore({ file });
      await store.putNamespaceRule(ROOT);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(file, 'utf8')).toContain('root-primary');
    });

    it.each([
      ['not JSON', '{"version": 1, "entities": [', /not JSON/],
      ['not an object', '[]', /not a JSON object/],
      ['another version', JSON.stringify({ version: 99, namespaceRules: [], entities: [] }), /version 99/],
      ['entities not a list', JSON.stringify({ version: 1, namespaceRules: [], entities: {} }), /entities/],
      ['namespaceRules missing', JSON.stringify({ version: 1, entities: [] }), /namespaceRules/],
      ['an invalid path', JSON.stringify({ version: 1, namespaceRules: [], entities: [{ path: '$hc', requiresClientAuthorization: true, createdAt: '2024-01-01T00:00:00Z', updatedAt: '2024-01-01T00:00:00Z', authorizationRules: [] }] }), /entities\[0\]\.path/],
      ['an invalid rule', JSON.stringify({ version: 1, namespaceRules: [{ keyName: 'k', primaryKey: 'p', rights: ['Root'] }], entities: [] }), /namespaceRules\[0\]\.rights/],
      ['a missing timestamp', JSON.stringify({ version: 1, namespaceRules: [], entities: [{ path: 'a', requiresClientAuthorization: true, updatedAt: '2024-01-01T00:00:00Z', authorizationRules: [] }] }), /createdAt/],
      ['a duplicate path', JSON.stringify({ version: 1, namespaceRules: [], entities: [1, 2].map(() => ({ path: 'a', requiresClientAuthorization: true, createdAt: '2024-01-01T00:00:00Z', updatedAt: '2024-01-01T00:00:00Z', authorizationRules: [] })) }), /more than once/],
    ])('a corrupt file (%s) fails open() with RELAY_ERR_STORE_IO naming the file', async (_what, text, detail) => {
      fs.writeFileSync(file, text);
      const store = new MemoryStore({ file });
      const err = (await store.open().catch((e: unknown) => e)) as RelayError;
      expect(err).toBeInstanceOf(RelayError);
      expect(err.code).toBe('RELAY_ERR_STORE_IO');
      expect(err.message).toContain(file);
      expect(err.message).toMatch(detail);
      // The file is left as it was, for the operator to inspect.
      expect(fs.readFileSync(file, 'utf8')).toBe(text);
    });

    it('an unreadable path fails open() with RELAY_ERR_STORE_IO', async () => {
      fs.mkdirSync(file); // a directory where the file should be
      const err = (await new MemoryStore({ file }).open().catch((e: unknown) => e)) as RelayError;
      expect(err.code).toBe('RELAY_ERR_STORE_IO');
      expect(err.message).toContain(file);
    });

    it('a failed write rejects with RELAY_ERR_STORE_IO naming no server path, changes nothing, and a later write works', async () => {
      const sub = path.join(dir, 'sub');
      const subFile = path.join(sub, 'store.json');
      const store = await openStore({ file: subFile });
      fs.writeFileSync(sub, 'a file where the directory should be');
      const err = (await store.createEntity({ path: 'orders' }).catch((e: unknown) => e)) as RelayError;
      expect(err).toBeInstanceOf(RelayError);
      expect(err.code).toBe('RELAY_ERR_STORE_IO');
      expect(err.message).not.toContain(dir);
      expect(err.message).toMatch(/nothing was changed/);
      // What the caller was told failed did not happen: not listed, not found.
      expect(await store.getEntity('orders')).toBeUndefined();
      expect(await store.listEntities()).toEqual([]);
      fs.rmSync(sub);
      await store.createEntity({ path: 'billing' });
      const reloaded = await openStore({ file: subFile });
      expect((await reloaded.listEntities()).map((e) => e.path)).toEqual(['billing']);
    });

    it('every mutation whose write fails leaves memory as it was (entities, entity rules, namespace rules, deletes)', async () => {
      const sub = path.join(dir, 'sub');
      const subFile = path.join(sub, 'store.json');
      const store = await openStore({ file: subFile });
      await store.putNamespaceRule(ROOT);
      await store.createEntity({ path: 'kept', requiresClientAuthorization: true, authorizationRules: [{ keyName: 'r1', primaryKey: 'k1', rights: ['Send'] }] });
      const before = { entities: await store.listEntities(), rules: await store.listNamespaceRules() };
      // The store's directory is swapped for a file: no write can succeed (as with a full disk;
      // permissions would not stop root, and CI runs as root).
      fs.renameSync(sub, `${sub}.away`);
      fs.writeFileSync(sub, 'a file where the directory should be');
      try {
        const attempts: Array<[string, () => Promise<unknown>]> = [
          ['createEntity', () => store.createEntity({ path: 'new' })],
          ['updateEntity', () => store.updateEntity('kept', { requiresClientAuthorization: false, userMetadata: 'changed' })],
          ['upsertEntity', () => store.upsertEntity({ path: 'kept', userMetadata: 'upserted', authorizationRules: [{ keyName: 'r2', primaryKey: 'k2', rights: ['Listen'] }] })],
          ['deleteEntity', () => store.deleteEntity('kept')],
          ['putEntityRule', () => store.putEntityRule('kept', { keyName: 'r1', primaryKey: 'rotated', rights: ['Send'] })],
          ['deleteEntityRule', () => store.deleteEntityRule('kept', 'r1')],
          ['putNamespaceRule', () => store.putNamespaceRule({ ...ROOT, primaryKey: 'rotated' })],
          ['deleteNamespaceRule', () => store.deleteNamespaceRule(ROOT.keyName)],
        ];
        for (const [what, attempt] of attempts) {
          const err = (await attempt().catch((e: unknown) => e)) as RelayError;
          expect([what, err?.code]).toEqual([what, 'RELAY_ERR_STORE_IO']);
          expect(await store.listEntities()).toEqual(before.entities);
          expect(await store.listNamespaceRules()).toEqual(before.rules);
        }
      } finally {
        fs.rmSync(sub);
        fs.renameSync(`${sub}.away`, sub);
      }
      const reloaded = await openStore({ file: subFile });
      expect(await reloaded.listEntities()).toEqual(before.entities);
    });

    it('removes temp files a kill mid-write left behind, at open', async () => {
      const store = await openStore({ file });
      await store.createEntity({ path: 'orders' });
      await store.putDocument!('orders', 'wsdl', { body: Buffer.from('<wsdl/>'), contentType: 'text/xml', storedAt: 1 });
      await store.close();
      const stale = path.join(dir, '.store.json.0123456789ab.tmp');
      fs.writeFileSync(stale, '{"half":');
      const docDir = path.join(`${file}.documents`, fs.readdirSync(`${file}.documents`)[0]!);
      const staleDoc = path.join(docDir, 'x.json.0123456789ab.tmp');
      fs.writeFileSync(staleDoc, 'half');
      const reopened = await openStore({ file });
      expect(fs.existsSync(stale)).toBe(false);
      expect(fs.existsSync(staleDoc)).toBe(false);
      expect((await reopened.listEntities()).map((e) => e.path)).toEqual(['orders']);
      expect((await reopened.getDocument!('orders', 'wsdl'))?.body.toString()).toBe('<wsdl/>');
    });

    it('must be opened first (otherwise the file would be overwritten unread)', async () => {
      fs.writeFileSync(file, JSON.stringify({ version: 1, namespaceRules: [ROOT], entities: [] }));
      const store = new MemoryStore({ file });
      await expect(store.putNamespaceRule({ keyName: 'x', primaryKey: 'y', rights: ['Send'] })).rejects.toMatchObject({ code: 'RELAY_ERR_STORE_IO' });
      await expect(store.listEntities()).rejects.toMatchObject({ code: 'RELAY_ERR_STORE_IO' });
      await store.open();
      expect(await store.listNamespaceRules()).toEqual([ROOT]);
      await store.close();
      await expect(store.getEntity('x')).rejects.toMatchObject({ code: 'RELAY_ERR_STORE_IO' });
    });

    it('close() waits for pending writes', async () => {
      const store = new MemoryStore({ file });
      await store.open();
      const pending = store.createEntity({ path: 'orders' });
      await store.close();
      await pending;
      expect(fs.readFileSync(file, 'utf8')).toContain('"orders"');
    });
  });

  describe('metadata documents', () => {
    const doc = (text: string, storedAt = 1) => ({ body: Buffer.from(text), contentType: 'text/xml; charset=utf-8', storedAt });

    it('persist beside a file-backed store and survive a reopen', async () => {
      const store = await openStore({ file });
      await store.createEntity({ path: 'Calc' });
      await store.putDocument('calc', 'wsdl', doc('<wsdl/>', 5));
      await store.putDocument('calc', 'xsd=xsd0', doc('<xsd/>'));
      expect(await store.getDocument('CALC', 'wsdl')).toEqual(doc('<wsdl/>', 5));
      await store.close();
      const again = await openStore({ file });
      expect(await again.getDocument('calc', 'wsdl')).toEqual(doc('<wsdl/>', 5));
      expect((await again.getDocument('calc', 'xsd=xsd0'))?.body.toString()).toBe('<xsd/>');
      expect(await again.getDocument('calc', 'wsdl=wsdl0')).toBeUndefined();
      expect(await again.getDocument('other', 'wsdl')).toBeUndefined();
      await again.putDocument('calc', 'wsdl', doc('<wsdl v="2"/>', 6));
      expect(await again.getDocument('calc', 'wsdl')).toEqual(doc('<wsdl v="2"/>', 6));
    });

    it('go with their entity, are bounded in number, and a damaged one is just missing', async () => {
      const store = await openStore({ file, maxDocuments: 2 } as never);
      await store.createEntity({ path: 'a' });
      await store.putDocument('a', 'wsdl', doc('1'));
      await store.putDocument('a', 'xsd=xsd0', doc('2'));
      await store.putDocument('a', 'xsd=xsd1', doc('3')); // over maxDocuments: not kept
      expect(await store.getDocument('a', 'xsd=xsd1')).toBeUndefined();
      await store.putDocument('a', 'wsdl', doc('1b')); // replacing is fine
      expect((await store.getDocument('a', 'wsdl'))?.body.toString()).toBe('1b');
      const dir = `${file}.documents`;
      const [entityDir] = fs.readdirSync(dir);
      const [first] = fs.readdirSync(path.join(dir, entityDir!));
      fs.writeFileSync(path.join(dir, entityDir!, first!), '{not json');
      const values = [await store.getDocument('a', 'wsdl'), await store.getDocument('a', 'xsd=xsd0')];
      expect(values.filter((v) => v === undefined)).toHaveLength(1);
      expect(await store.deleteEntity('a')).toBe(true);
      expect(fs.readdirSync(dir)).toEqual([]);
      expect(await store.getDocument('a', 'xsd=xsd0')).toBeUndefined();
    });

    it('a memory-only store keeps none', async () => {
      const store = await openStore();
      await store.putDocument('a', 'wsdl', doc('1'));
      expect(await store.getDocument('a', 'wsdl')).toBeUndefined();
    });
  });
});
