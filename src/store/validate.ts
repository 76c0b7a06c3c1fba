/**
 * Validation of what goes into a store: entity paths, rule key names, keys and rights, and the
 * per-entity / per-namespace rule quotas (Azure: 12 rules per namespace and 12 per entity).
 * Every check reports "field: problem" lines; callers throw one ConfigError with all of them.
 */
import { type AuthorizationRule, type OperationRules, type Right, Rights } from '../core/entities';
import { ConfigError } from '../core/errors';

export const MAX_ENTITY_PATH_LENGTH = 260;
export const MAX_KEY_NAME_LENGTH = 256;
/** Key text length bound (Azure keys are 44 chars of base64; this leaves room for others). */
export const MAX_KEY_LENGTH = 256;
export const MAX_USER_METADATA_LENGTH = 1024;
export const MAX_RULES_PER_ENTITY = 12;
export const MAX_RULES_PER_NAMESPACE = 12;
/** Most patterns in one rule's operations.allow or operations.deny. */
export const MAX_OPERATION_PATTERNS = 256;
/** Longest operation pattern (an action URI), characters. */
export const MAX_OPERATION_PATTERN_LENGTH = 2048;

const SEGMENT = /^[A-Za-z0-9._-]+$/;
const KEY_NAME = /^[A-Za-z0-9._-]+$/;
const RIGHTS: readonly string[] = Object.values(Rights);

/** Problems with an entity path ([] when valid). */
export function pathIssues(path: unknown, field = 'path'): string[] {
  if (typeof path !== 'string') return [`${field}: expected a string`];
  if (path.length < 1 || path.length > MAX_ENTITY_PATH_LENGTH) {
    return [`${field}: must be 1 to ${MAX_ENTITY_PATH_LENGTH} characters (got ${path.length})`];
  }
  if (path.startsWith('$')) return [`${field}: must not start with '$' (reserved for the relay, e.g. $hc, $management)`];
  if (path.includes('..')) return [`${field}: must not contain '..'`];
  const segments = path.split('/');
  if (segments.some((s) => s === '')) {
    return [`${field}: segments are separated by single '/', with no leading or trailing '/'`];
  }
  if (segments.some((s) => s === '.' || !SEGMENT.test(s))) {
    return [`${field}: each segment may use only letters, digits, '.', '_' and '-' (and is not '.')`];
  }
  return [];
}

/** Problems with a rule ([] when valid). */
export function ruleIssues(rule: unknown, field = 'rule'): string[] {
  if (!rule || typeof rule !== 'object') return [`${field}: expected an object`];
  const r = rule as Record<string, unknown>;
  const issues: string[] = [];
  const keyName = r.keyName;
  if (typeof keyName !== 'string' || keyName.length < 1 || keyName.length > MAX_KEY_NAME_LENGTH || !KEY_NAME.test(keyName)) {
    issues.push(`${field}.keyName: must be 1 to ${MAX_KEY_NAME_LENGTH} characters of letters, digits, '.', '_' and '-'`);
  }
  for (const k of ['primaryKey', 'secondaryKey'] as const) {
    const v = r[k];
    if (v === undefined && k === 'secondaryKey') continue;
    if (typeof v !== 'string' || v.length < 1 || v.length > MAX_KEY_LENGTH) {
      issues.push(`${field}.${k}: must be a string of 1 to ${MAX_KEY_LENGTH} characters`);
    }
  }
  const rights = r.rights;
  if (!Array.isArray(rights) || rights.length === 0) {
    issues.push(`${field}.rights: must be a non-empty list of ${RIGHTS.join(', ')}`);
  } else {
    const bad = rights.filter((x) => typeof x !== 'string' || !RIGHTS.includes(x));
    if (bad.length) issues.push(`${field}.rights: unknown right(s) ${bad.map((b) => JSON.stringify(b)).join(', ')}; use ${RIGHTS.join(', ')}`);
    else if (new Set(rights).size !== rights.length) issues.push(`${field}.rights: lists a right more than once`);
  }
  if (r.operations !== undefined) issues.push(...operationsIssues(r.operations, `${field}.operations`));
  return issues;
}

/** Problems with a rule's `operations` ({ allow?, deny? } lists of action patterns). */
export function operationsIssues(ops: unknown, field = 'operations'): string[] {
  if (!ops || typeof ops !== 'object' || Array.isArray(ops)) return [`${field}: expected an object with allow and/or deny lists`];
  const o = ops as Record<string, unknown>;
  const issues = Object.keys(o)
    .filter((k) => k !== 'allow' && k !== 'deny')
    .map((k) => `${field}.${k}: unknown field (use allow, deny)`);
  for (const k of ['allow', 'deny'] as const) {
    const list = o[k];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.length > MAX_OPERATION_PATTERNS) {
      issues.push(`${field}.${k}: expected a list of at most ${MAX_OPERATION_PATTERNS} action patterns`);
      continue;
    }
    list.forEach((p, i) => {
      if (typeof p !== 'string' || p.length < 1 || p.length > MAX_OPERATION_PATTERN_LENGTH) {
        issues.push(`${field}.${k}[${i}]: expected an action URI of 1 to ${MAX_OPERATION_PATTERN_LENGTH} characters`);
      } else if (p.indexOf('*') !== -1 && p.indexOf('*') !== p.length - 1) {
        issues.push(`${field}.${k}[${i}]: '*' is allowed only at the end of a pattern`);
      }
    });
  }
  return issues;
}

/** Problems with a list of rules: each rule, duplicate key names, and the quota. */
export function rulesIssues(rules: unknown, max: number, field = 'authorizationRules'): string[] {
  if (!Array.isArray(rules)) return [`${field}: expected a list of rules`];
  const issues = rules.flatMap((r, i) => ruleIssues(r, `${field}[${i}]`));
  const names = rules.map((r) => (r as { keyName?: unknown } | null)?.keyName);
  const dup = names.find((n, i) => typeof n === 'string' && names.indexOf(n) !== i);
  if (dup !== undefined) issues.push(`${field}: keyName '${String(dup)}' appears more than once`);
  if (rules.length > max) issues.push(`${field}: at most ${max} rules are allowed (got ${rules.length})`);
  return issues;
}

/** Problems with the optional entity fields. */
export function entityFieldIssues(input: { requiresClientAuthorization?: unknown; userMetadata?: unknown; broadcast?: unknown }): string[] {
  const issues: string[] = [];
  if (input.requiresClientAuthorization !== undefined && typeof input.requiresClientAuthorization !== 'boolean') {
    issues.push('requiresClientAuthorization: expected true or false');
  }
  if (input.broadcast !== undefined && typeof input.broadcast !== 'boolean') issues.push('broadcast: expected true or false');
  const m = input.userMetadata;
  if (m !== undefined && (typeof m !== 'string' || m.length > MAX_USER_METADATA_LENGTH)) {
    issues.push(`userMetadata: expected a string of at most ${MAX_USER_METADATA_LENGTH} characters`);
  }
  return issues;
}

/** Throws one ConfigError listing every issue, if any. */
export function assertValid(what: string, issues: readonly string[]): void {
  if (issues.length) throw new ConfigError(`invalid ${what}`, issues);
}

/** A clean copy of a valid rule (known fields only). */
export function copyRule(rule: AuthorizationRule): AuthorizationRule {
  return {
    keyName: rule.keyName,
    primaryKey: rule.primaryKey,
    ...(rule.secondaryKey === undefined ? {} : { secondaryKey: rule.secondaryKey }),
    rights: [...rule.rights] as Right[],
    ...(rule.operations === undefined ? {} : { operations: copyOperations(rule.operations) }),
  };
}

function copyOperations(ops: OperationRules): OperationRules {
  return {
    ...(ops.allow === undefined ? {} : { allow: [...ops.allow] }),
    ...(ops.deny === undefined ? {} : { deny: [...ops.deny] }),
  };
}
