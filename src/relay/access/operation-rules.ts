/**
 * Per-operation Send rules (AuthorizationRule.operations): which SOAP actions a token's rule may
 * call. Patterns are action URIs compared exactly (WCF compares actions case-sensitively), or
 * prefixes ending in `*`. Deny wins over allow; with an allow list, anything unlisted is refused;
 * a rule with operations refuses calls that carry no action (plain HTTP, or SOAP 1.1 with an
 * empty SOAPAction and no wsa:Action), so the lists cannot be bypassed by leaving the action out.
 */
import type { AuthorizationRule, HybridConnection, OperationRules } from '../../core/entities';
import { AuthError } from '../../core/errors';
import type { AuthorizeResult } from '../../auth';

/** True when `pattern` (exact, or a prefix ending in `*`) matches `action`. */
export function operationMatches(pattern: string, action: string): boolean {
  if (pattern.endsWith('*')) return action.startsWith(pattern.slice(0, -1));
  return pattern === action;
}

export type OperationVerdict = { allowed: true } | { allowed: false; why: 'denied' | 'not-allowed' | 'no-action'; pattern?: string };

/** Decides whether `action` may be called under `ops` (no ops: everything is allowed). */
export function checkOperation(ops: OperationRules | undefined, action: string | undefined): OperationVerdict {
  if (!ops || (ops.allow === undefined && ops.deny === undefined)) return { allowed: true };
  if (action === undefined || action === '') return { allowed: false, why: 'no-action' };
  const denied = ops.deny?.find((p) => operationMatches(p, action));
  if (denied !== undefined) return { allowed: false, why: 'denied', pattern: denied };
  if (ops.allow !== undefined && !ops.allow.some((p) => operationMatches(p, action))) return { allowed: false, why: 'not-allowed' };
  return { allowed: true };
}

/** The rule that signed an authorized token (entity rules first, as authorize() looks them up). */
export function signingRule(
  entity: HybridConnection,
  namespaceRules: readonly AuthorizationRule[],
  result: AuthorizeResult | undefined,
): AuthorizationRule | undefined {
  if (!result) return undefined;
  const list = result.scope === 'entity' ? entity.authorizationRules : namespaceRules;
  return list.find((r) => r.keyName === result.keyName);
}

/**
 * Throws RELAY_ERR_AUTH_OPERATION_FORBIDDEN when the signing rule's operations refuse `action`.
 * No rule (anonymous Send on an entity without client authorization) means no per-operation limit.
 */
export function assertOperationAllowed(rule: AuthorizationRule | undefined, action: string | undefined, path: string): void {
  if (!rule) return;
  const verdict = checkOperation(rule.operations, action);
  if (verdict.allowed) return;
  const shown = action === undefined || action === '' ? '' : printableAction(action);
  const message =
    verdict.why === 'no-action'
      ? `Forbidden: the rule '${rule.keyName}' limits Send on '${path}' to listed SOAP operations, and this request carries no SOAP action ` +
        '(send SOAPAction for SOAP 1.1, action= in Content-Type or wsa:Action for SOAP 1.2).'
      : verdict.why === 'denied'
        ? `Forbidden: the rule '${rule.keyName}' denies the operation '${shown}' on '${path}' (pattern '${printableAction(verdict.pattern ?? '')}').`
        : `Forbidden: the rule '${rule.keyName}' does not allow the operation '${shown}' on '${path}'; ask for it to be added to the rule's operations.allow list.`;
  throw new AuthError('RELAY_ERR_AUTH_OPERATION_FORBIDDEN', message);
}

function printableAction(s: string): string {
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 300 ? `${clean.slice(0, 300)}...` : clean;
}
