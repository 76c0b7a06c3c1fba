/**
 * Management REST API under `/$management` (Manage right required):
 *   GET    /hybridconnections                                   list (with listener counts)
 *   GET    /hybridconnections/{path}                            one, with its listeners
 *   PUT    /hybridconnections/{path}                            create or update {requiresClientAuthorization?, userMetadata?, broadcast? | distribution?: one|broadcast}
 *   DELETE /hybridconnections/{path}                            delete (its listeners are closed with 1001)
 *   PUT    /hybridconnections/{path}/authorizationrules/{name}  create/replace {rights, primaryKey?, secondaryKey?, operations?}
 *   DELETE /hybridconnections/{path}/authorizationrules/{name}
 *   POST   /hybridconnections/{path}/authorizationrules/{name}/listkeys        the rule's keys and connection strings
 *   POST   /hybridconnections/{path}/authorizationrules/{name}/regeneratekeys  {keyType: PrimaryKey|SecondaryKey}: a new key, then as listkeys
 *   GET    /authorizationrules                                  namespace rules
 *   PUT    /authorizationrules/{name}                           create/replace a namespace rule
 *   DELETE /authorizationrules/{name}
 *   POST   /authorizationrules/{name}/listkeys|regeneratekeys    as for an entity rule
 * A new rule's keys are generated when not given; a PUT on an existing rule keeps the keys it
 * does not give (as Azure's CreateOrUpdate does: changing rights never rotates keys). Keys are
 * returned in the PUT response and by listkeys (as `az relay … authorization-rule keys list`).
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { formatConnectionString, generateKey } from '../../../auth';
import { ConfigError, toRelayError } from '../../../core/errors';
import type { AuthorizationRule, HybridConnection, OperationRules, Right } from '../../../core/entities';
import { operationsIssues } from '../../../store/validate';
import type { EndpointDeps, ManagementDeps } from '../../deps';
import { bodyTimeout } from '../../http/body';
import { httpFormOf } from '../../http/json-error';
import { idleWatch } from '../../../core/clock';

const RIGHTS = new Set<Right>(['Listen', 'Send', 'Manage']);

export function createManagementApp(ctx: ManagementDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  const wrap = wrapWith(() => ctx.access.invalidateCaches());
  app.use((req, res, next) => {
    // A body that stops arriving is answered, and its connection closed, like any relayed call's.
    if (req.method !== 'GET' && req.method !== 'HEAD' && !req.complete) {
      const ms = ctx.config.limits.bodyIdleTimeoutMs;
      const onData = (): void => watch.touch();
      const watch = idleWatch(ctx.config.clock, ms, () => {
        req.off('data', onData);
        if (res.headersSent) return void req.destroy();
        res.setHeader('Connection', 'close');
        res.status(408).json(errorBody(408, 'RequestTimeout', bodyTimeout(ms).message));
      });
      req.on('data', onData);
      req.once('end', () => watch.stop());
      req.once('close', () => watch.stop());
    }
    next();
  });
  app.use(express.json({ limit: '64kb' }));

  const manage = async (req: Request, path: string | undefined): Promise<void> => {
    const entity = path ? await ctx.store.getEntity(path) : undefined;
    const target: HybridConnection = entity ?? {
      path: path ?? '',
      requiresClientAuthorization: true,
      createdAt: '',
      updatedAt: '',
      authorizationRules: [],
    };
    // Namespace-wide operations need a namespace rule; entity ones accept either level.
    await ctx.access.authorize(target, 'Manage', req.headers, new URLSearchParams());
    (req as Request & { relayAuthorized?: boolean }).relayAuthorized = true;
  };

  // listenerCount is namespace-wide (every node sharing the store); `listeners` below are this node's.
  const view = async (e: HybridConnection, withKeys = false) => ({
    path: e.path,
    requiresClientAuthorization: e.requiresClientAuthorization,
    userMetadata: e.userMetadata,
    broadcast: e.broadcast === true,
    distribution: e.broadcast === true ? 'broadcast' : 'one',
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    listenerCount: await ctx.router.registry.namespaceCount(e.path),
    authorizationRules: e.authorizationRules.map((r) => ruleView(r, withKeys)),
  });

  app.get('/hybridconnections', wrap(async (req, res) => {
    await manage(req, undefined);
    const list = await ctx.store.listEntities();
    res.json({ value: await Promise.all(list.map((e) => view(e))) });
  }));

  app.all('/hybridconnections/*rest', wrap(async (req, res) => {
    const segments = (req.params as { rest: string[] }).rest;
    const ruleAt = segments.indexOf('authorizationrules');
    const path = (ruleAt >= 0 ? segments.slice(0, ruleAt) : segments).join('/');
    const keyName = ruleAt >= 0 ? segments.slice(ruleAt + 1).join('/') : undefined;
    await manage(req, path);
    if (ruleAt >= 0) {
      if (!keyName) throw new ConfigError('a rule key name is required in the URL');
      const action = /^(.*)\/(listkeys|regeneratekeys)$/i.exec(keyName);
      if (action && req.method === 'POST') {
        const name = action[1]!;
        const current = (await ctx.store.getEntity(path))?.authorizationRules.find((r) => r.keyName === name);
        if (!current) return void res.status(404).json(errorBody(404, 'NotFound', `No rule '${name}' on '${path}'`));
        const rule = action[2]!.toLowerCase() === 'regeneratekeys' ? regenerated(current, req.body) : current;
        if (rule !== current) await ctx.store.putEntityRule(path, rule);
        res.json(keysView(rule, relayBaseUrl(ctx, req), path));
        return;
      }
      if (req.method === 'PUT') {
        const existingRule = (await ctx.store.getEntity(path))?.authorizationRules.find((r) => r.keyName === keyName);
        const rule = ruleFromBody(keyName, req.body, existingRule);
        await ctx.store.putEntityRule(path, rule);
        res.status(200).json(ruleView(rule, true));
      } else if (req.method === 'DELETE') {
        const ok = await ctx.store.deleteEntityRule(path, keyName);
        res.status(ok ? 204 : 404).end();
      } else res.status(405).json(errorBody(405, 'MethodNotAllowed', 'use PUT or DELETE on a rule'));
      return;
    }
    switch (req.method) {
      case 'GET': {
        const e = await ctx.store.getEntity(path);
        if (!e) throw ctx.access.endpointNotFound(path);
        res.json({
          ...(await view(e)),
          listeners: ctx.router.registry.list(e.path).map((l) => ({ listenerId: l.listenerId, remoteAddress: l.remoteAddress, healthy: l.healthy })),
        });
        return;
      }
      case 'PUT': {
        const body = (req.body ?? {}) as Record<string, unknown>;
        checkKeys(body, ['requiresClientAuthorization', 'userMetadata', 'broadcast', 'distribution', 'authorizationRules']);
        const patch: { requiresClientAuthorization?: boolean; userMetadata?: string; broadcast?: boolean } = {};
        if (body.broadcast !== undefined) {
          if (typeof body.broadcast !== 'boolean') throw new ConfigError('invalid body', ['broadcast: expected a boolean']);
          patch.broadcast = body.broadcast;
        }
        if (body.distribution !== undefined) {
          if (body.distribution !== 'one' && body.distribution !== 'broadcast') throw new ConfigError('invalid body', ["distribution: expected 'one' or 'broadcast'"]);
          const broadcast = body.distribution === 'broadcast';
          if (patch.broadcast !== undefined && patch.broadcast !== broadcast) throw new ConfigError('invalid body', [`distribution: ${body.distribution} contradicts broadcast: ${patch.broadcast}; give one`]);
          patch.broadcast = broadcast;
        }
        if (body.requiresClientAuthorization !== undefined) {
          if (typeof body.requiresClientAuthorization !== 'boolean') throw new ConfigError('invalid body', ['requiresClientAuthorization: expected a boolean']);
          patch.requiresClientAuthorization = body.requiresClientAuthorization;
        }
        if (body.userMetadata !== undefined) {
          if (typeof body.userMetadata !== 'string') throw new ConfigError('invalid body', ['userMetadata: expected a string']);
          patch.userMetadata = body.userMetadata;
        }
        const existing = await ctx.store.getEntity(path);
        const rules = Array.isArray(body.authorizationRules)
          ? body.authorizationRules.map((r: unknown) => {
              const name = String((r as { keyName?: unknown })?.keyName ?? '');
              return ruleFromBody(name, r, existing?.authorizationRules.find((x) => x.keyName === name));
            })
          : undefined;
        const e = existing
          ? await ctx.store.updateEntity(path, patch)
          : await ctx.store.createEntity({ path, ...patch, authorizationRules: rules });
        if (existing && rules) for (const r of rules) await ctx.store.putEntityRule(path, r);
        const fresh = (await ctx.store.getEntity(e.path)) ?? e;
        res.status(existing ? 200 : 201).json(await view(fresh, !!rules));
        return;
      }
      case 'DELETE': {
        const ok = await ctx.store.deleteEntity(path);
        for (const l of ctx.router.registry.list(path)) l.close(1001, 'Entity deleted');
        res.status(ok ? 204 : 404).end();
        return;
      }
      default:
        res.status(405).json(errorBody(405, 'MethodNotAllowed', `${req.method} is not supported here`));
    }
  }));

  app.get('/authorizationrules', wrap(async (req, res) => {
    await manage(req, undefined);
    res.json({ value: (await ctx.store.listNamespaceRules()).map((r) => ruleView(r, false)) });
  }));

  app.put('/authorizationrules/:keyName', wrap(async (req, res) => {
    await manage(req, undefined);
    const name = String(req.params.keyName);
    const existingRule = (await ctx.store.listNamespaceRules()).find((r) => r.keyName === name);
    const rule = ruleFromBody(name, req.body, existingRule);
    await ctx.store.putNamespaceRule(rule);
    await ctx.access.refreshNamespaceRules();
    res.json(ruleView(rule, true));
  }));

  app.post('/authorizationrules/:keyName/:action', wrap(async (req, res) => {
    await manage(req, undefined);
    const action = String(req.params.action).toLowerCase();
    if (action !== 'listkeys' && action !== 'regeneratekeys') return void res.status(404).json(errorBody(404, 'NotFound', `No management resource at ${req.path}`));
    const name = String(req.params.keyName);
    const current = (await ctx.store.listNamespaceRules()).find((r) => r.keyName === name);
    if (!current) return void res.status(404).json(errorBody(404, 'NotFound', `No namespace rule '${name}'`));
    const rule = action === 'regeneratekeys' ? regenerated(current, req.body) : current;
    if (rule !== current) {
      await ctx.store.putNamespaceRule(rule);
      await ctx.access.refreshNamespaceRules();
    }
    res.json(keysView(rule, relayBaseUrl(ctx, req)));
  }));

  app.delete('/authorizationrules/:keyName', wrap(async (req, res) => {
    await manage(req, undefined);
    const ok = await ctx.store.deleteNamespaceRule(String(req.params.keyName));
    await ctx.access.refreshNamespaceRules();
    res.status(ok ? 204 : 404).end();
  }));

  app.use((req: Request, res: Response) => {
    res.status(404).json(errorBody(404, 'NotFound', `No management resource at ${req.path}`));
  });
  // Express error middleware must keep four parameters.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    void _next;
    if (res.headersSent) return; // e.g. answered 408 for a stalled body that then failed to parse
    const bodyError = err as { type?: string; status?: number };
    if (bodyError?.type === 'entity.parse.failed' || bodyError?.type === 'entity.too.large') {
      res.status(bodyError.status ?? 400).json(errorBody(bodyError.status ?? 400, 'BadRequest', 'The request body is not valid JSON or is too large.'));
      return;
    }
    const e = toRelayError(err);
    const { status, message, code } = httpFormOf(e);
    if (status >= 500) ctx.log.error({ err: message }, 'management API error');
    res.status(status).json({ error: { code, message } });
  });
  return app;
}

/**
 * Runs a route; after an authorized change (even one that failed half way) the relay's entity
 * and token caches are dropped, so the very next call sees it. Unauthorized callers cannot make
 * the relay drop its caches.
 */
function wrapWith(invalidateCaches: () => void) {
  return (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
    const changed = (): void => {
      const authorized = (req as Request & { relayAuthorized?: boolean }).relayAuthorized === true;
      if (authorized && req.method !== 'GET' && req.method !== 'HEAD') invalidateCaches();
    };
    fn(req, res).then(changed, (err: unknown) => {
      changed();
      next(err);
    });
  };
}

function errorBody(status: number, code: string, message: string) {
  return { error: { code, message, status } };
}

function checkKeys(body: Record<string, unknown>, allowed: string[]): void {
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length) throw new ConfigError('invalid body', unknown.map((k) => `${k}: unknown field`));
}

/** The relay's base URL for connection strings: publicUrl, else the scheme and Host the call came in on. */
function relayBaseUrl(ctx: { readonly config: EndpointDeps['config'] }, req: Request): string {
  return (ctx.config.publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`).replace(/\/+$/, '');
}

/** `{keyType: 'PrimaryKey' | 'SecondaryKey'}` (ARM's RegenerateAccessKeyParameters): that key renewed. */
function regenerated(rule: AuthorizationRule, raw: unknown): AuthorizationRule {
  const body = (raw ?? {}) as Record<string, unknown>;
  checkKeys(body, ['keyType', 'key']);
  if (body.keyType !== 'PrimaryKey' && body.keyType !== 'SecondaryKey') throw new ConfigError('invalid body', ['keyType: expected PrimaryKey or SecondaryKey']);
  if (body.key !== undefined && (typeof body.key !== 'string' || !body.key)) throw new ConfigError('invalid body', ['key: expected a non-empty string']);
  const key = (body.key as string | undefined) ?? generateKey();
  return body.keyType === 'PrimaryKey' ? { ...rule, primaryKey: key } : { ...rule, secondaryKey: key };
}

function keysView(r: AuthorizationRule, relayUrl: string, entityPath?: string) {
  const cs = (key: string) => formatConnectionString({ relayUrl, keyName: r.keyName, key, entityPath });
  return {
    keyName: r.keyName,
    primaryKey: r.primaryKey,
    secondaryKey: r.secondaryKey,
    primaryConnectionString: cs(r.primaryKey),
    ...(r.secondaryKey ? { secondaryConnectionString: cs(r.secondaryKey) } : {}),
  };
}

function ruleFromBody(keyName: string, raw: unknown, existing?: AuthorizationRule): AuthorizationRule {
  const body = (raw ?? {}) as Record<string, unknown>;
  checkKeys(body, ['keyName', 'rights', 'primaryKey', 'secondaryKey', 'operations']);
  const rights = body.rights;
  if (!Array.isArray(rights) || rights.length === 0 || !rights.every((r) => RIGHTS.has(r as Right))) {
    throw new ConfigError('invalid rule', ['rights: expected a non-empty list of Listen, Send, Manage']);
  }
  for (const k of ['primaryKey', 'secondaryKey'] as const) {
    if (body[k] !== undefined && (typeof body[k] !== 'string' || (body[k] as string).length < 1)) {
      throw new ConfigError('invalid rule', [`${k}: expected a non-empty string`]);
    }
  }
  if (body.operations !== undefined) {
    const issues = operationsIssues(body.operations);
    if (issues.length) throw new ConfigError('invalid rule', issues);
  }
  return {
    keyName,
    rights: [...new Set(rights as Right[])],
    primaryKey: (body.primaryKey as string | undefined) ?? existing?.primaryKey ?? generateKey(),
    secondaryKey: (body.secondaryKey as string | undefined) ?? existing?.secondaryKey ?? generateKey(),
    ...(body.operations === undefined ? {} : { operations: body.operations as OperationRules }),
  };
}

function ruleView(r: AuthorizationRule, withKeys: boolean) {
  const ops = r.operations === undefined ? {} : { operations: r.operations };
  return withKeys
    ? { keyName: r.keyName, rights: r.rights, primaryKey: r.primaryKey, secondaryKey: r.secondaryKey, ...ops }
    : { keyName: r.keyName, rights: r.rights, ...ops };
}

