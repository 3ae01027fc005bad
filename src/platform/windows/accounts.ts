import { PlatformCommandError } from '../../errors.ts';
import type { AdminAccountResult } from '../platform.ts';
import { HostResult } from './results.ts';
import type { LogFunction } from './session.ts';

/** The TypeScript side of scripts/accounts.ps1: its answer checked before it becomes an AdminAccountResult. */

const VERB = 'ensureAdminAccount';
/** A local account SID: the machine's account domain S-1-5-21-x-y-z and a RID. */
const LOCAL_SID = /^S-1-5-21-\d+-\d+-\d+-\d+$/;

function localSid(r: HostResult, name: string): string {
  const sid = r.string(name);
  if (!LOCAL_SID.test(sid)) throw new PlatformCommandError(VERB, `PowerShell's answer has no valid ${name} (expected a local account SID, got ${JSON.stringify(sid).slice(0, 80)})`);
  return sid;
}

/**
 * accounts.ps1's answer. What it did besides the admin account is logged: RID 500 renamed, or (when the
 * image holds another account of the requested name) RID 500 locked with a random password, a warning
 * because the VM's built-in Administrator is then not the admin, unlike on Azure's own images.
 */
export function toAdminAccountResult(value: unknown, username: string, log: LogFunction): AdminAccountResult {
  const r = new HostResult(VERB, value);
  const result: AdminAccountResult = { outcome: r.oneOf('outcome', ['renamed', 'updated', 'created'] as const), sid: localSid(r, 'sid') };
  const previousName = r.optionalString('previousName');
  if (previousName !== undefined) result.previousName = previousName;
  if (result.outcome === 'renamed') log('info', `renamed the built-in Administrator (${result.sid}) from ${previousName ?? '?'} to ${username}`);
  const builtin = (value as Record<string, unknown>)['builtinAdministrator'];
  if (builtin !== undefined && builtin !== null) {
    const b = new HostResult(VERB, builtin);
    result.builtinAdministrator = { sid: localSid(b, 'sid'), name: b.string('name'), disabled: b.boolean('disabled') };
    log('warn', `the image already holds an account named ${username} (${result.sid}), which is the admin account; the built-in Administrator ${result.builtinAdministrator.name} (${result.builtinAdministrator.sid}) was given a random password nobody knows and disabled`);
  }
  return result;
}
