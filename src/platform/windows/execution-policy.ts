import { ExecutionPolicyBlockedError } from '../../errors.ts';
import type { HostFailure } from './protocol.ts';

/**
 * bootstrap.ps1 refuses the session, before any module loads, when Group Policy sets an execution policy
 * the CDXML modules cannot load under (PowerShell/PowerShell#13096); its hello failure carries the
 * error id WinprovExecutionPolicyBlocked and the rule "<scope>:<policy>". That becomes
 * EXECUTION_POLICY_BLOCKED here instead of a generic failure to start.
 */
export const EXECUTION_POLICY_BLOCKED_ID = 'WinprovExecutionPolicyBlocked';

const SCOPES = new Set(['MachinePolicy', 'UserPolicy']);
const POLICY = /^[A-Za-z]{1,32}$/;

/** The named error for a hello failure that is the execution-policy refusal; undefined for any other. */
export function executionPolicyError(failure: HostFailure): ExecutionPolicyBlockedError | undefined {
  if (failure.fullyQualifiedErrorId !== EXECUTION_POLICY_BLOCKED_ID) return undefined;
  const [scope = '', policy = ''] = (failure.rule ?? '').split(':');
  return new ExecutionPolicyBlockedError(SCOPES.has(scope) ? scope : 'Group Policy', POLICY.test(policy) ? policy : 'an unknown value');
}
