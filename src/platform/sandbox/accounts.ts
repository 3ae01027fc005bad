import { randomBytes } from 'node:crypto';
import { PlatformCommandError, PlatformRejectedError } from '../../errors.ts';
import type { AdminAccount, AdminAccountResult } from '../platform.ts';
import { ADMINISTRATORS_SID, type SandboxMachine, type SandboxUser } from './machine.ts';
import { digest } from './password.ts';

/**
 * ensureAdminAccount on the sandbox, as accounts.ps1 does it on Windows: the admin is the built-in
 * Administrator (RID 500 of the machine's account domain), found by SID and renamed; when another
 * account already holds the requested name, that account is the admin and RID 500 gets a random
 * password nobody knows and is disabled. Windows' own name rules apply (rules.ts checks the rest).
 */

const BUILTIN_ADMINISTRATOR = /^S-1-5-21-\d+-\d+-\d+-500$/;

export function applyAdminAccount(machine: SandboxMachine, account: AdminAccount): { detail: string; result: AdminAccountResult } {
  const builtin = machine.users.find((u) => BUILTIN_ADMINISTRATOR.test(u.sid));
  if (builtin === undefined) throw new PlatformCommandError('ensureAdminAccount', 'the built-in Administrator (RID 500 of the machine\'s account domain) is not among the local users');
  const wanted = account.username.toLowerCase();
  // Rename-LocalUser refuses a group's name (NameInUse), as NetUserAdd does.
  if (Object.values(machine.groups).some((g) => g.name.toLowerCase() === wanted)) {
    throw new PlatformRejectedError('ensureAdminAccount', 'the user name is already the name of a local group');
  }
  const named = machine.users.find((u) => u.name.toLowerCase() === wanted);
  const admin: SandboxUser = named ?? builtin;
  const result: AdminAccountResult = { outcome: 'updated', sid: admin.sid };
  const notes: string[] = [];
  if (named === undefined) {
    result.outcome = 'renamed';
    result.previousName = builtin.name;
    notes.push(`renamed ${builtin.name} (${builtin.sid}) to ${account.username}`);
    builtin.name = account.username;
  }
  admin.passwordDigest = digest(account.password.reveal());
  admin.passwordNeverExpires = !account.resetPasswordOnFirstLogon;
  admin.mustChangePassword = account.resetPasswordOnFirstLogon;
  admin.enabled = true;
  const admins = machine.groups[ADMINISTRATORS_SID]!;
  // Membership by SID: "already a member" (ERROR_MEMBER_IN_ALIAS 1378) is success.
  if (!admins.members.includes(admin.sid)) admins.members.push(admin.sid);
  notes.push(`${admin.name} (${admin.sid}) is the admin, member of ${ADMINISTRATORS_SID}`);
  if (admin !== builtin) {
    builtin.passwordDigest = digest(randomBytes(24).toString('base64'));
    builtin.enabled = false;
    result.builtinAdministrator = { sid: builtin.sid, name: builtin.name, disabled: true };
    notes.push(`${builtin.name} (${builtin.sid}) given a random password and disabled`);
  }
  return { detail: notes.join('; '), result };
}
