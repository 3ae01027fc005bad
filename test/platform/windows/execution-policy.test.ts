import { test } from 'node:test';
import assert from 'node:assert/strict';
import { executionPolicyError } from '../../../src/platform/windows/execution-policy.ts';
import { ExecutionPolicyBlockedError } from '../../../src/errors.ts';

test('the bootstrap\'s execution-policy refusal becomes EXECUTION_POLICY_BLOCKED (exit 5) naming the scope, the policy and the GPO setting', () => {
  const err = executionPolicyError({ message: 'Group Policy sets the execution policy AllSigned (MachinePolicy)', fullyQualifiedErrorId: 'WinprovExecutionPolicyBlocked', rule: 'MachinePolicy:AllSigned' });
  assert.ok(err instanceof ExecutionPolicyBlockedError);
  assert.equal(err.code, 'EXECUTION_POLICY_BLOCKED');
  assert.equal(err.exitCode, 5);
  assert.match(err.reason, /AllSigned \(MachinePolicy scope\)/);
  assert.match(err.hint, /Turn on Script Execution/);
});

test('other hello failures are not mistaken for it, and odd rules are not echoed', () => {
  assert.equal(executionPolicyError({ message: 'loading host.ps1: boom', fullyQualifiedErrorId: 'ParseException' }), undefined);
  const odd = executionPolicyError({ message: 'x', fullyQualifiedErrorId: 'WinprovExecutionPolicyBlocked', rule: 'Evil:$(calc)' });
  assert.equal(odd?.context['scope'], 'Group Policy');
  assert.equal(odd?.context['policy'], 'an unknown value');
});
