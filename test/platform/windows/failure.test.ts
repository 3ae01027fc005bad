import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlatformCommandError, PlatformRejectedError } from '../../../src/errors.ts';
import { describeFailure, rejectionRule, scrubSecrets, toPlatformError } from '../../../src/platform/windows/failure.ts';

test('secrets are removed raw and in their JSON-escaped form', () => {
  const secret = 'p"a\\ss';
  assert.equal(scrubSecrets(`a ${secret} b {"v":${JSON.stringify(secret)}}`, [secret, '']), 'a [redacted] b {"v":"[redacted]"}');
});

test('a secret reshaped on its way back (whitespace collapsed, cut at the length limit, one line of many) is still removed', () => {
  const password = 'Correct  Horse\tBattery9!';
  const collapsed = toPlatformError('ensureAdminAccount', { message: `bad value ${password}` }, [password]);
  assert.equal(collapsed.reason, 'ensureAdminAccount failed: bad value [redacted]');
  // A secret straddling the 700-character cut: scrubbed before the cut, so no part of it is left.
  const long = 'S3cret-'.repeat(10);
  const cut = toPlatformError('writeCustomData', { message: `${'x'.repeat(660)} ${long}` }, [long]);
  assert.ok(!cut.reason.includes('S3cret'), cut.reason);
  // Custom data of several lines, of which PowerShell printed one: that line is removed; short lines are not looked for.
  const customData = '#!/bin/sh\necho provisioning-token-1234\nok\n';
  assert.equal(scrubSecrets('stderr: echo provisioning-token-1234', [customData]), 'stderr: [redacted]');
  assert.equal(scrubSecrets('ok', [customData]), 'ok');
});

test('the description is PowerShell text on one line with the classifying ids', () => {
  assert.equal(
    describeFailure({ message: 'Access is denied.\r\n  At line:1', fullyQualifiedErrorId: 'UnauthorizedAccess,Microsoft.PowerShell.Commands.SetServiceCommand', win32: 5, hresult: -2147024891, ntStatus: 0xc0000022 }),
    'Access is denied. At line:1 [UnauthorizedAccess,Microsoft.PowerShell.Commands.SetServiceCommand; Win32 5; NTSTATUS 0xC0000022; HRESULT 0x80070005]',
  );
  assert.ok(describeFailure({ message: 'x'.repeat(5_000) }).length <= 700);
});

test('password, name and group-name refusals of the account cmdlets are rejections, by id not by text', () => {
  assert.match(rejectionRule('ensureAdminAccount', { message: 'Le mot de passe ne répond pas', fullyQualifiedErrorId: 'InvalidPassword,Microsoft.PowerShell.Commands.SetLocalUserCommand' })!, /password policy.*2245/);
  assert.match(rejectionRule('ensureAdminAccount', { message: '?', exceptionTypes: ['System.Management.Automation.MethodInvocationException', 'Microsoft.PowerShell.Commands.InvalidPasswordException'] })!, /password policy/);
  assert.match(rejectionRule('ensureAdminAccount', { message: '?', win32: 2245 })!, /password policy/);
  assert.match(rejectionRule('ensureAdminAccount', { message: '?', fullyQualifiedErrorId: 'InvalidName,Microsoft.PowerShell.Commands.NewLocalUserCommand' })!, /not a valid Windows account name/);
  assert.match(rejectionRule('ensureAdminAccount', { message: '?', fullyQualifiedErrorId: 'NameInUse,Microsoft.PowerShell.Commands.NewLocalUserCommand' })!, /local group/);
  assert.equal(rejectionRule('ensureAdminAccount', { message: 'Access denied', fullyQualifiedErrorId: 'AccessDenied,Microsoft.PowerShell.Commands.NewLocalUserCommand' }), undefined);
  assert.equal(rejectionRule('setTimeZone', { message: '?', fullyQualifiedErrorId: 'InvalidPassword,X' }), undefined, 'rules are per verb');
});

test('a script rule wins and becomes a PlatformRejectedError; everything else is a PlatformCommandError', () => {
  const rejected = toPlatformError('importCertificates', { message: 'no such certificate', fullyQualifiedErrorId: 'WinprovRejected', rule: 'the certificate bundle holds no certificate with thumbprint AB' }, []);
  assert.ok(rejected instanceof PlatformRejectedError);
  assert.equal(rejected.message, 'importCertificates: the certificate bundle holds no certificate with thumbprint AB (Windows: no such certificate [WinprovRejected])');
  const failed = toPlatformError('writeKvpReport', { message: 'Requested registry access is not allowed.', fullyQualifiedErrorId: 'SecurityException', win32: null }, []);
  assert.ok(failed instanceof PlatformCommandError);
  assert.equal(failed.message, 'writeKvpReport failed: Requested registry access is not allowed. [SecurityException]');
  assert.equal(failed.context.fullyQualifiedErrorId, 'SecurityException');
});
