/**
 * A hybrid connection as the stores keep it, and the edits every store applies the same way
 * (MemoryStore, NatsStore): validation of new entities and patches, rule replacement within
 * the caps, and the checks on a stored value read back (a file, a KV entry).
 */
import type { AuthorizationRule, HybridConnection } from '../core/entities';
import { RelayError } from '../core/errors';
import type { EntityInput, EntityPatch } from './store';
import { MAX_RULES_PER_ENTITY, assertValid, copyRule, entityFieldIssues, pathIssues, rulesIssues } from './validate';

export interface EntityState {
  path: string;
  requiresClientAuthorization: boolean;
  userMetadata?: string;
  broadcast?: boolean;
  createdAt: string;
  updatedAt: string;
  authorizationRules: AuthorizationRule[];
}

/** Paths are compared case-insensitively. */
export const key = (path: string): string => path.toLowerCase();

export function copyEntity(e: EntityState): HybridConnection {
  return {
    path: e.path,
    requiresClientAuthorization: e.requiresClientAuthorization,
    ...(e.userMetadata === undefined ? {} : { userMetadata: e.userMetadata }),
    ...(e.broadcast ? { broadcast: true } : {}),
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    authorizationRules: e.authorizationRules.map(copyRule),
  };
}

export function notFound(path: string): RelayError {
  return new RelayError('RELAY_ERR_ENTITY_NOT_FOUND', `The hybrid connection '${path}' does not exist.`);
}

export function exists(path: string): RelayError {
  return new RelayError('RELAY_ERR_ENTITY_EXISTS', `The hybrid connection '${path}' already exists.`);
}

/** Replaces the rule with the same keyName, or appends; enforces `max`. */
export function putRule(rules: AuthorizationRule[], rule: AuthorizationRule, max: number, field: string): AuthorizationRule[] {
  const i = rules.findIndex((r) => r.keyName === rule.keyName);
  if (i === -1) {
    assertValid(field, rules.length >= max ? [`${field}: at most ${max} rules are allowed; delete one first`] : []);
    return [...rules, copyRule(rule)];
  }
  const next = [...rules];
  next[i] = copyRule(rule);
  return next;
}

/** A validated new entity created at `now` (ISO-8601). @throws ConfigError */
export function newEntityState(input: EntityInput, now: string): EntityState {
  if (!input || typeof input !== 'object') assertValid('hybrid connection', ['(root): expected an object']);
  const issues = [
    ...pathIssues(input.path),
    ...entityFieldIssues(input),
    ...(input.authorizationRules === undefined ? [] : rulesIssues(input.authorizationRules, MAX_RULES_PER_ENTITY)),
  ];
  assertValid('hybrid connection', issues);
  return {
    path: input.path,
    requiresClientAuthorization: input.requiresClientAuthorization ?? true,
    ...(input.userMetadata === undefined ? {} : { userMetadata: input.userMetadata }),
    ...(input.broadcast ? { broadcast: true } : {}),
    createdAt: now,
    updatedAt: now,
    authorizationRules: (input.authorizationRules ?? []).map(copyRule),
  };
}

/** Applies the given fields (validated by the caller) and stamps updatedAt. */
export function applyPatch(e: EntityState, patch: EntityPatch, now: string): void {
  if (patch.requiresClientAuthorization !== undefined) e.requiresClientAuthorization = patch.requiresClientAuthorization;
  if (patch.userMetadata !== undefined) e.userMetadata = patch.userMetadata;
  if (patch.broadcast !== undefined) {
    if (patch.broadcast) e.broadcast = true;
    else delete e.broadcast;
  }
  e.updatedAt = now;
}

/** upsertEntity on an existing entity: given rules put one by one, given fields applied. */
export function upsertInto(e: EntityState, input: EntityInput, now: string): void {
  let rules = e.authorizationRules;
  for (const r of input.authorizationRules ?? []) rules = putRule(rules, r, MAX_RULES_PER_ENTITY, 'authorizationRules');
  e.authorizationRules = rules;
  applyPatch(e, input, now);
}

/** A stored entity read back (file, KV entry): the entity, or what is wrong with it under `field`. */
export function parseEntityState(raw: unknown, field: string): { entity?: EntityState; issues: string[] } {
  if (!raw || typeof raw !== 'object') return { issues: [`${field}: expected an object`] };
  const e = raw as Record<string, unknown>;
  const issues = [
    ...pathIssues(e.path, `${field}.path`),
    ...entityFieldIssues(e).map((s) => `${field}.${s}`),
    ...rulesIssues(e.authorizationRules, MAX_RULES_PER_ENTITY, `${field}.authorizationRules`),
  ];
  if (typeof e.requiresClientAuthorization !== 'boolean') issues.push(`${field}.requiresClientAuthorization: expected true or false`);
  for (const t of ['createdAt', 'updatedAt']) {
    if (typeof e[t] !== 'string' || Number.isNaN(Date.parse(e[t] as string))) issues.push(`${field}.${t}: expected an ISO-8601 time`);
  }
  if (issues.length) return { issues };
  return {
    issues,
    entity: {
      path: e.path as string,
      requiresClientAuthorization: e.requiresClientAuthorization as boolean,
      ...(e.userMetadata === undefined ? {} : { userMetadata: e.userMetadata as string }),
      ...(e.broadcast === true ? { broadcast: true } : {}),
      createdAt: e.createdAt as string,
      updatedAt: e.updatedAt as string,
      authorizationRules: (e.authorizationRules as AuthorizationRule[]).map(copyRule),
    },
  };
}
