/** Per-operation Send rules (src/relay/access/operation-rules.ts) and their validation. */
import { assertOperationAllowed, checkOperation, operationMatches, signingRule } from '../../../../src/relay/access/operation-rules';
import { OperationLabels, OTHER_OPERATION } from '../../../../src/relay/routing/operation-labels';
import { copyRule, operationsIssues, ruleIssues } from '../../../../src/store/validate';
import type { AuthorizationRule, HybridConnection } from '../../../../src/core/entities';
import { RelayError } from '../../../../src/core/errors';

const A = 'http://example.org/calc/ICalculator/';

describe('operation rules', () => {
  it('matches exactly (case-sensitive) or by a trailing * prefix', () => {
    expect(operationMatches(`${A}Add`, `${A}Add`)).toBe(true);
    expect(operationMatches(`${A}Add`, `${A}add`)).toBe(false);
    expect(operationMatches(`${A}Add`, `${A}AddMore`)).toBe(false);
    expect(operationMatches(`${A}*`, `${A}Anything`)).toBe(true);
    expect(operationMatches('*', 'x')).toBe(true);
  });

  it('deny wins, allow lists everything else out, no lists allow all', () => {
    expect(checkOperation(undefined, undefined)).toEqual({ allowed: true });
    expect(checkOperation({}, 'x')).toEqual({ allowed: true });
    expect(checkOperation({ allow: [`${A}*`], deny: [`${A}Delete`] }, `${A}Delete`)).toEqual({ allowed: false, why: 'denied', pattern: `${A}Delete` });
    expect(checkOperation({ allow: [`${A}Add`] }, `${A}Echo`)).toEqual({ allowed: false, why: 'not-allowed' });
    expect(checkOperation({ deny: ['x'] }, `${A}Echo`)).toEqual({ allowed: true });
    expect(checkOperation({ deny: ['x'] }, '')).toEqual({ allowed: false, why: 'no-action' });
    expect(checkOperation({ allow: ['*'] }, undefined)).toEqual({ allowed: false, why: 'no-action' });
  });

  it('finds the signing rule at its scope and throws RELAY_ERR_AUTH_OPERATION_FORBIDDEN (403) with a useful message', () => {
    const rule: AuthorizationRule = { keyName: 'k', primaryKey: 'p', rights: ['Send'], operations: { allow: [`${A}Add`] } };
    const entity = { path: 'calc', authorizationRules: [rule] } as unknown as HybridConnection;
    expect(signingRule(entity, [], { keyName: 'k', scope: 'entity', expiresAt: 0 })).toBe(rule);
    expect(signingRule(entity, [], { keyName: 'k', scope: 'namespace', expiresAt: 0 })).toBeUndefined();
    expect(signingRule(entity, [], undefined)).toBeUndefined();
    expect(() => assertOperationAllowed(undefined, 'x', 'calc')).not.toThrow();
    let caught: unknown;
    try {
      assertOperationAllowed(rule, `${A}Echo`, 'calc');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RelayError);
    expect((caught as RelayError).code).toBe('RELAY_ERR_AUTH_OPERATION_FORBIDDEN');
    expect((caught as RelayError).httpStatus).toBe(403);
    expect((caught as RelayError).soapFaultCode).toBe('Sender');
    expect((caught as RelayError).message).toMatch(/rule 'k' does not allow the operation '.*Echo' on 'calc'/);
  });

  it('validates operations in rules and copies them', () => {
    expect(operationsIssues({ allow: [`${A}*`], deny: ['x'] })).toEqual([]);
    expect(operationsIssues([])).toEqual(['operations: expected an object with allow and/or deny lists']);
    expect(operationsIssues({ allow: 'x' })).toEqual(['operations.allow: expected a list of at most 256 action patterns']);
    expect(operationsIssues({ deny: ['', 'a*b', 7], other: 1 })).toEqual([
      'operations.other: unknown field (use allow, deny)',
      'operations.deny[0]: expected an action URI of 1 to 2048 characters',
      "operations.deny[1]: '*' is allowed only at the end of a pattern",
      'operations.deny[2]: expected an action URI of 1 to 2048 characters',
    ]);
    expect(ruleIssues({ keyName: 'k', primaryKey: 'p', rights: ['Send'], operations: { allow: ['a**'] } }, 'r')).toEqual([
      "r.operations.allow[0]: '*' is allowed only at the end of a pattern",
    ]);
    const rule: AuthorizationRule = { keyName: 'k', primaryKey: 'p', rights: ['Send'], operations: { allow: ['a'] } };
    const copy = copyRule(rule);
    expect(copy).toEqual(rule);
    expect(copy.operations).not.toBe(rule.operations);
    expect(copyRule({ keyName: 'k', primaryKey: 'p', rights: ['Send'] })).not.toHaveProperty('operations');
  });

  it('keeps metrics labels bounded per path', () => {
    const labels = new OperationLabels(2);
    expect(labels.label('p', 'a')).toBe('a');
    expect(labels.label('p', '')).toBe('(none)');
    expect(labels.label('p', 'b')).toBe(OTHER_OPERATION);
    expect(labels.label('p', 'a')).toBe('a');
    expect(labels.label('q', 'b')).toBe('b');
  });
});
