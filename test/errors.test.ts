import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AgentError, CertificateError, ConfigError, DhcpDisabledError, EXIT_CODES, FabricDocumentError, FabricVersionError,
  MediaNotFoundError, OvfError, PlatformCommandError, PlatformRejectedError, StateError, UnsupportedPlatformError,
  UsageError, WireServerError, stoppedPartway, toAgentError,
} from '../src/errors.ts';

const rows: [AgentError, string, number, RegExp][] = [
  [new UsageError('unknown option --x'), 'USAGE', EXIT_CODES.usage, /unknown option/],
  [new ConfigError('deadline', 'must be a duration'), 'CONFIG_INVALID', EXIT_CODES.usage, /configuration deadline: must be a duration/],
  [new UnsupportedPlatformError('this is linux'), 'UNSUPPORTED_PLATFORM', EXIT_CODES.usage, /linux/],
  [new OvfError('ComputerName', 'must be 1 to 15 characters'), 'OVF_INVALID', EXIT_CODES.input, /^ovf-env.xml ComputerName: must be 1 to 15/],
  [new MediaNotFoundError('no drive holds the tag'), 'MEDIA_NOT_FOUND', EXIT_CODES.input, /no drive/],
  [new FabricDocumentError('GoalState', 'Incarnation', 'must be digits'), 'FABRIC_DOCUMENT_INVALID', EXIT_CODES.fabric, /^GoalState Incarnation: must be digits/],
  [new FabricVersionError(['2010-12-15']), 'FABRIC_VERSION_UNSUPPORTED', EXIT_CODES.fabric, /2010-12-15/],
  [new WireServerError('WIRESERVER_UNREACHABLE', 'GET x: refused', 'http://x/'), 'WIRESERVER_UNREACHABLE', EXIT_CODES.fabric, /refused/],
  [new WireServerError('DEADLINE_EXCEEDED', 'deadline passed', 'http://x/'), 'DEADLINE_EXCEEDED', EXIT_CODES.fabric, /deadline/],
  [new CertificateError('no matching recipient'), 'CERTIFICATE_DECRYPT_FAILED', EXIT_CODES.fabric, /recipient/],
  [new DhcpDisabledError('Ethernet 2'), 'DHCP_DISABLED', EXIT_CODES.platform, /DHCP is disabled on Ethernet 2/],
  [new PlatformRejectedError('ensureAdminAccount', 'password policy'), 'PLATFORM_REJECTED', EXIT_CODES.platform, /ensureAdminAccount: password policy/],
  [new PlatformCommandError('importCertificates', 'access denied'), 'PLATFORM_COMMAND_FAILED', EXIT_CODES.platform, /importCertificates failed: access denied/],
  [new StateError('state.json is not valid JSON'), 'STATE_INVALID', EXIT_CODES.platform, /state.json/],
];

for (const [error, code, exitCode, reason] of rows) {
  test(`${error.name} has code ${code}, exit code ${exitCode}, a reason and a hint`, () => {
    assert.equal(error.code, code);
    assert.equal(error.exitCode, exitCode);
    assert.match(error.reason, reason);
    assert.ok(error.hint.length > 10, 'a hint the user can act on');
    assert.equal(error.describe(), `${error.reason} (${error.hint})`);
    assert.ok(error instanceof Error);
  });
}

test('the DHCP failure tells the user to set static addresses in Azure, not inside the guest', () => {
  assert.match(new DhcpDisabledError('Ethernet').describe(), /static addresses on the NIC in Azure, not inside Windows/);
});

test('an unexpected error becomes UNHANDLED with a short message and exit code 1', () => {
  const wrapped = toAgentError(new TypeError('x is not a function'));
  assert.equal(wrapped.code, 'UNHANDLED');
  assert.equal(wrapped.exitCode, EXIT_CODES.unhandled);
  assert.match(wrapped.reason, /TypeError: x is not a function/);
  const long = toAgentError('y'.repeat(2000));
  assert.ok(long.reason.length < 400);
  assert.equal(toAgentError(new UsageError('u')).code, 'USAGE');
});

test('a command stopped partway keeps the failure\'s code and exit code and says what it had done and what not', () => {
  const stopped = stoppedPartway(new PlatformCommandError('installSetupComplete', 'access denied'), 'prepare-image', ['removing the state'], ['installing the answer file', 'removing the baseline'], 'run it again');
  assert.equal(stopped.code, 'PLATFORM_COMMAND_FAILED');
  assert.equal(stopped.exitCode, EXIT_CODES.platform);
  assert.equal(stopped.reason, 'installSetupComplete failed: access denied; prepare-image stopped: done: removing the state; not done: installing the answer file, removing the baseline');
  assert.match(stopped.hint, /^see the winprov log for the command and its output; then run it again$/);
  assert.match(stoppedPartway(new TypeError('x'), 'prepare-image', [], ['a'], 'b').reason, /TypeError: x; prepare-image stopped: done: nothing; not done: a/);
});
