import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { inspect } from 'node:util';
import { MediaNotFoundError, PlatformCommandError, PlatformRejectedError } from '../../../src/errors.ts';
import type { FabricInterface, Platform } from '../../../src/platform/platform.ts';
import { LIBRARY_SCRIPTS, loadScript } from '../../../src/platform/windows/scripts.ts';
import { WindowsPlatform } from '../../../src/platform/windows/windows-platform.ts';
import { Secret } from '../../../src/util/secret.ts';
import { REGISTRY, WINPROV_EVENTS } from './diagnostics-answer.ts';
import { FakeRunner, parseRequests, requests, stdinLines, type Reply, type Responder } from './fake-runner.ts';

const IFACE = {
  name: 'Ethernet 2',
  index: 7,
  id: '{3F2504E0-4F89-11D3-9A0C-0305E82C3301}',
  mac: '00-0D-3A-12-34-56',
  dhcpEnabled: true,
  addresses: ['10.0.0.4'],
};

/** A DhcpInterfaceOptions record: code, two zero words, length, expiry, data padded to 4. */
function optionRecord(code: number, data: number[]): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt32LE(code, 0);
  header.writeUInt32LE(data.length, 8);
  header.writeUInt32LE(1_700_000_000, 16);
  const padded = Buffer.alloc(Math.ceil(data.length / 4) * 4);
  Buffer.from(data).copy(padded);
  return Buffer.concat([header, padded]);
}

/** The provisioning media the canned answer names: PowerShell finds the drive, Node reads its files. */
const MEDIA_DIR = mkdtempSync(join(tmpdir(), 'winprov-media-'));
writeFileSync(join(MEDIA_DIR, 'ovf-env.xml'), '<Environment/>');
writeFileSync(join(MEDIA_DIR, 'CustomData.bin'), 'echo hi');
after(() => rmSync(MEDIA_DIR, { recursive: true, force: true }));

const DHCP_OPTIONS = Buffer.concat([optionRecord(1, [255, 255, 255, 0]), optionRecord(245, [0xa8, 0x3f, 0x81, 0x10])]);

function cannedAnswer(verb: string, params: Record<string, unknown>): Reply {
  switch (verb) {
    case 'findFabricInterface':
      return { result: IFACE };
    case 'enableDhcp':
      return { result: { ...IFACE, addressAcquired: true } };
    case 'readDhcpInterfaceOptions':
      return { result: { found: true, options: DHCP_OPTIONS.toString('base64') } };
    case 'readProvisioningMedia':
      return { result: { found: true, location: MEDIA_DIR } };
    case 'readVmId':
      return { result: { uuid: 'D0DF4C54-4ECB-4A4B-9954-5BDF3ED5C3B8' } };
    case 'setComputerName':
      return { result: { outcome: 'renamed', pending: params.name } };
    case 'ensureAdminAccount':
      return { result: { outcome: 'created', sid: 'S-1-5-21-1-2-3-1001', addedToAdministrators: true } };
    case 'importCertificates':
      return { result: { results: (params.placements as { thumbprint: string; store: string }[]).map((p) => ({ ...p, outcome: 'imported', hasPrivateKey: true })) } };
    case 'configureWinRm':
      return {
        result: {
          results: (params.listeners as { protocol: string }[]).map((l) => ({ protocol: l.protocol, port: l.protocol === 'Https' ? 5986 : 5985, outcome: 'created', firewallRule: 'present', ruleName: 'x' })),
          serviceStarted: false,
          startModeChanged: false,
        },
      };
    case 'extendOsVolume':
      return { result: { outcome: 'extended', driveLetter: params.driveLetter, sizeBefore: 32 * 2 ** 30, sizeAfter: 127 * 2 ** 30 } };
    case 'writeCustomData':
      return { result: { path: `${params.directory as string}\\CustomData.bin` } };
    case 'setTimeZone':
      return { result: { outcome: 'changed', id: params.timeZoneId } };
    case 'setGuestAgentServices':
    case 'readGuestAgentServices':
      return { result: { installed: [{ name: 'RdAgent', startMode: params.enabled === true ? 'Automatic' : 'Disabled', running: false }] } };
    case 'writeKvpReport':
      return { result: { written: true } };
    case 'ensureStateDirectory':
      return { result: { path: params.path } };
    case 'recordEvent':
      return { result: { source: 'winprov', log: 'Application', created: false } };
    case 'readDiagnostics':
      return { result: { registry: REGISTRY, winprovEvents: WINPROV_EVENTS, systemEvents: { events: [], error: null } } };
    default:
      return { error: { message: `unknown verb ${verb}` } };
  }
}

function makePlatform(respond: Responder = cannedAnswer, options: { requestTimeoutMs?: number; log?: (level: string, message: string) => void } = {}) {
  const runner = new FakeRunner(respond);
  const platform = new WindowsPlatform({ runner, requestTimeoutMs: options.requestTimeoutMs ?? 2_000, log: options.log });
  return { runner, platform };
}

const PFX = randomBytes(300);
const PASSWORD = `Pw-${randomUUID()}!`;
const CUSTOM_DATA = Buffer.from(`#cloud-config ${randomUUID()}`);

/** Every verb, with the request fields it must send. */
const VERBS: { name: string; call: (p: Platform) => Promise<unknown>; verb: string; params: Record<string, unknown> }[] = [
  { name: 'findFabricInterface', call: (p) => p.findFabricInterface('10.20.30.40'), verb: 'findFabricInterface', params: { fabricAddress: '10.20.30.40' } },
  { name: 'enableDhcp', call: (p) => p.enableDhcp(IFACE, 1_500), verb: 'enableDhcp', params: { index: 7, waitMs: 1_500 } },
  { name: 'readCachedWireServerAddress', call: (p) => p.readCachedWireServerAddress(IFACE), verb: 'readDhcpInterfaceOptions', params: { interfaceId: IFACE.id } },
  { name: 'readProvisioningMedia', call: (p) => p.readProvisioningMedia(), verb: 'readProvisioningMedia', params: {} },
  { name: 'readVmId', call: (p) => p.readVmId(), verb: 'readVmId', params: {} },
  { name: 'setComputerName', call: (p) => p.setComputerName('WEB-FRONT-01'), verb: 'setComputerName', params: { name: 'WEB-FRONT-01' } },
  {
    name: 'ensureAdminAccount',
    call: (p) => p.ensureAdminAccount({ username: 'operator7', password: new Secret(PASSWORD), resetPasswordOnFirstLogon: true }),
    verb: 'ensureAdminAccount',
    params: { username: 'operator7', password: PASSWORD, resetPasswordOnFirstLogon: true },
  },
  {
    name: 'importCertificates',
    call: (p) =>
      p.importCertificates({
        pfx: new Secret<Uint8Array>(PFX),
        pfxPassword: null,
        placements: [
          { thumbprint: 'ab'.repeat(20), store: 'My', hasPrivateKey: true },
          { thumbprint: 'CD'.repeat(20), store: 'Remote Desktop', hasPrivateKey: false },
        ],
      }),
    verb: 'importCertificates',
    params: {
      pfx: PFX.toString('base64'),
      pfxPassword: null,
      placements: [
        { thumbprint: 'AB'.repeat(20), store: 'My' },
        { thumbprint: 'CD'.repeat(20), store: 'Remote Desktop' },
      ],
    },
  },
  {
    name: 'configureWinRm',
    call: (p) => p.configureWinRm([{ protocol: 'Http', certificateThumbprint: undefined }, { protocol: 'Https', certificateThumbprint: 'ef'.repeat(20) }]),
    verb: 'configureWinRm',
    params: { listeners: [{ protocol: 'Http', certificateThumbprint: null }, { protocol: 'Https', certificateThumbprint: 'EF'.repeat(20) }] },
  },
  { name: 'writeCustomData', call: (p) => p.writeCustomData(new Secret<Uint8Array>(CUSTOM_DATA)), verb: 'writeCustomData', params: { directory: join(`C:${sep}`, 'AzureData'), customData: CUSTOM_DATA.toString('base64') } },
  { name: 'extendOsVolume', call: (p) => p.extendOsVolume(), verb: 'extendOsVolume', params: { driveLetter: 'C' } },
  { name: 'setTimeZone', call: (p) => p.setTimeZone('Tokyo Standard Time'), verb: 'setTimeZone', params: { timeZoneId: 'Tokyo Standard Time' } },
  { name: 'setGuestAgentServices', call: (p) => p.setGuestAgentServices(true), verb: 'setGuestAgentServices', params: { enabled: true } },
  { name: 'readGuestAgentServices', call: (p) => p.readGuestAgentServices(), verb: 'readGuestAgentServices', params: {} },
  { name: 'writeKvpReport', call: (p) => p.writeKvpReport('result=success|agent=winprov'), verb: 'writeKvpReport', params: { report: 'result=success|agent=winprov' } },
  {
    name: 'recordEvent',
    call: (p) => p.recordEvent({ kind: 'failure', message: 'provisioning failed [DHCP_DISABLED]: DHCP is disabled on Ethernet 2' }),
    verb: 'recordEvent',
    params: { eventId: 1002, entryType: 'Error', message: 'provisioning failed [DHCP_DISABLED]: DHCP is disabled on Ethernet 2' },
  },
];

/** Every string (and, for bytes, base64) value inside a request's params. */
function leafStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(leafStrings);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(leafStrings);
  if (typeof value === 'number') return [String(value)];
  return [];
}

function decodedBootstrap(args: string[]): string {
  const encoded = args[args.indexOf('-EncodedCommand') + 1]!;
  return Buffer.from(encoded, 'base64').toString('utf16le');
}

test('every verb runs in one session of the full powershell.exe path, its values only as JSON on stdin', async () => {
  const { runner, platform } = makePlatform();
  for (const v of VERBS) await v.call(platform);
  await platform.close();

  assert.equal(runner.spawns.length, 1, 'one PowerShell process for all verbs');
  const spawn = runner.spawns[0]!;
  assert.equal(spawn.file, 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe');
  for (const flag of ['-NoProfile', '-NonInteractive']) assert.ok(spawn.args.includes(flag), flag);
  assert.equal(spawn.args[spawn.args.indexOf('-ExecutionPolicy') + 1], 'Bypass');
  assert.equal(spawn.args[spawn.args.indexOf('-InputFormat') + 1], 'None');
  assert.equal(decodedBootstrap(spawn.args), loadScript('bootstrap.ps1'), 'the only code on the command line is the static bootstrap');

  const sent = requests(spawn).filter((r) => r.verb !== 'exit');
  assert.deepEqual(
    sent.map((r) => r.verb),
    VERBS.map((v) => v.verb),
  );
  for (const [i, v] of VERBS.entries()) {
    assert.deepEqual(sent[i]!.params, v.params, `${v.name} sends its values as JSON fields`);
    const argv = [...spawn.args, decodedBootstrap(spawn.args)].join('\n');
    // Words of the static bootstrap itself ("Error" in $ErrorActionPreference) prove nothing either way.
    const bootstrap = loadScript('bootstrap.ps1');
    for (const value of leafStrings(v.params).filter((s) => s.length >= 4 && !bootstrap.includes(s))) {
      assert.ok(!argv.includes(value), `${v.name}: ${value.slice(0, 20)} is not on the command line`);
    }
  }
  assert.equal(requests(spawn).at(-1)?.verb, 'exit', 'close() asks the host to exit');
  assert.ok(spawn.stdinEnded);
});

test('the first stdin line carries the static library scripts and a marker, and nothing else', async () => {
  const { runner, platform } = makePlatform();
  await platform.readVmId();
  await platform.close();
  const hello = JSON.parse(stdinLines(runner.spawns[0]!)[0]!) as { marker: string; library: { name: string; text: string }[] };
  assert.deepEqual(Object.keys(hello).sort(), ['library', 'marker']);
  assert.match(hello.marker, /^@@winprov-[0-9a-f-]{36}@@$/);
  assert.deepEqual(
    hello.library.map((s) => s.name),
    [...LIBRARY_SCRIPTS],
  );
  for (const script of hello.library) assert.equal(script.text, loadScript(script.name));
});

test('the password, the PFX bytes and the custom data appear only on secret lines of stdin, never in JSON, argv or script text', async () => {
  const { runner, platform } = makePlatform();
  for (const v of VERBS) await v.call(platform);
  await platform.close();
  const spawn = runner.spawns[0]!;
  const scripts = ['bootstrap.ps1', ...LIBRARY_SCRIPTS].map((name) => loadScript(name)).join('\n');
  const forms = [PASSWORD, PFX.toString('base64'), PFX.toString('hex'), CUSTOM_DATA.toString('utf8'), CUSTOM_DATA.toString('base64')];
  const argvBytes = Buffer.from(spawn.args.join('\0'), 'utf8');
  for (const form of forms) {
    assert.ok(!spawn.args.some((arg) => arg.includes(form)), 'not in argv');
    assert.ok(!decodedBootstrap(spawn.args).includes(form), 'not in the bootstrap code');
    assert.ok(!scripts.includes(form), 'not in any script text');
  }
  assert.equal(argvBytes.indexOf(PFX.subarray(0, 16)), -1, 'raw PFX bytes are not in argv');

  const lines = stdinLines(spawn);
  const sent = parseRequests(lines.slice(1));
  const encoded = [Buffer.from(PASSWORD).toString('base64'), PFX.toString('base64'), CUSTOM_DATA.toString('base64')];
  for (const form of [...forms, ...encoded]) {
    assert.ok(!lines[0]!.includes(form), 'not in the code line');
    assert.ok(!sent.some((request) => request.line.includes(form)), 'not in any JSON request line');
  }
  const carrying = (base64: string) => sent.filter((request) => Object.values(request.secrets).includes(base64)).map((request) => request.verb);
  assert.deepEqual(carrying(encoded[0]!), ['ensureAdminAccount']);
  assert.deepEqual(carrying(encoded[1]!), ['importCertificates']);
  assert.deepEqual(carrying(encoded[2]!), ['writeCustomData']);
  assert.equal(lines.length, 1 + sent.length + 3, 'every stdin line is the hello line, a request line or one of the three secret lines');
});

test('hostile names reach PowerShell only as JSON data and round-trip exactly', async () => {
  const hostile = [`it's "quoted"`, 'a;b & c | d', '$(Remove-Item -Recurse C:\\)', '`n`0 back`ticks', 'two\r\nlines', 'Ünïcødé 名前 😀', '\u2028\u0000end', "'; exit 1; '"];
  const { runner, platform } = makePlatform();
  for (const name of hostile) {
    await platform.setComputerName(name);
    await platform.ensureAdminAccount({ username: name, password: new Secret(PASSWORD), resetPasswordOnFirstLogon: false });
    await platform.setTimeZone(name);
  }
  await platform.close();
  assert.equal(runner.spawns.length, 1);
  const spawn = runner.spawns[0]!;
  const sent = requests(spawn).filter((r) => r.verb !== 'exit');
  assert.equal(sent.length, hostile.length * 3, 'each request stayed one line');
  for (const [i, name] of hostile.entries()) {
    assert.equal(sent[i * 3]!.params.name, name);
    assert.equal(sent[i * 3 + 1]!.params.username, name);
    assert.equal(sent[i * 3 + 2]!.params.timeZoneId, name);
    assert.ok(!spawn.args.some((arg) => arg.includes(name)));
  }
});

test('results become domain values: interface, lowercase VM id, media as secrets, option 245 from the cache', async () => {
  const { platform } = makePlatform();
  const iface: FabricInterface = await platform.findFabricInterface('10.20.30.40');
  assert.deepEqual(iface, IFACE);
  assert.equal(await platform.readVmId(), 'd0df4c54-4ecb-4a4b-9954-5bdf3ed5c3b8');
  assert.equal(await platform.readCachedWireServerAddress(IFACE), '168.63.129.16');
  const media = await platform.readProvisioningMedia();
  assert.equal(media.location, MEDIA_DIR);
  assert.equal(Buffer.from(media.ovfEnv.reveal()).toString(), '<Environment/>');
  assert.equal(String(media.ovfEnv), '[redacted]');
  assert.equal(Buffer.from(media.customData!.reveal()).toString(), 'echo hi');
  assert.deepEqual(await platform.readGuestAgentServices(), { installed: [{ name: 'RdAgent', startMode: 'Disabled', running: false }] });
  assert.equal(await platform.writeCustomData(new Secret<Uint8Array>(Buffer.from('x'))), `${join(`C:${sep}`, 'AzureData')}\\CustomData.bin`);
  await platform.close();
});

test('the interface cache without option 245, or without a value at all, yields undefined', async () => {
  const { platform } = makePlatform((verb, params) => (verb === 'readDhcpInterfaceOptions' ? { result: { found: false } } : cannedAnswer(verb, params)));
  assert.equal(await platform.readCachedWireServerAddress(IFACE), undefined);
  await platform.close();
  const other = makePlatform((verb, params) =>
    verb === 'readDhcpInterfaceOptions' ? { result: { found: true, options: optionRecord(3, [10, 0, 0, 1]).toString('base64') } } : cannedAnswer(verb, params),
  );
  assert.equal(await other.platform.readCachedWireServerAddress(IFACE), undefined);
  await other.platform.close();
});

test('paths follow the constructor options, not the environment', async () => {
  const runner = new FakeRunner(cannedAnswer);
  const platform = new WindowsPlatform({ runner, systemRoot: 'D:\\WINNT\\', systemDrive: 'E:', programData: 'E:\\Data' });
  assert.equal(platform.stateDirectory.replaceAll('/', '\\').endsWith('E:\\Data\\winprov'), true);
  await platform.writeCustomData(new Secret<Uint8Array>(Buffer.from('x')));
  await platform.close();
  assert.equal(runner.spawns[0]!.file, 'D:\\WINNT\\System32\\WindowsPowerShell\\v1.0\\powershell.exe');
  assert.equal(requests(runner.spawns[0]!)[0]!.params.directory, join(`E:${sep}`, 'AzureData'), 'Node\'s own join, as for the state folder');
});

test('a password-policy refusal is a PlatformRejectedError with PowerShell text and without the password', async () => {
  const messages = [
    'Unable to update the password. The value provided for the new password does not meet the length, complexity, or history requirements of the domain.',
    'Impossible de mettre à jour le mot de passe. La valeur fournie pour le nouveau mot de passe ne correspond pas aux exigences de longueur, de complexité ou d’historique du domaine.',
  ];
  for (const message of messages) {
    const { platform } = makePlatform((verb, params) =>
      verb === 'ensureAdminAccount'
        ? { error: { message, fullyQualifiedErrorId: 'InvalidPassword,Microsoft.PowerShell.Commands.NewLocalUserCommand', exceptionTypes: ['Microsoft.PowerShell.Commands.InvalidPasswordException'], hresult: -2146233088 } }
        : cannedAnswer(verb, params),
    );
    const err = await platform.ensureAdminAccount({ username: 'operator7', password: new Secret(PASSWORD), resetPasswordOnFirstLogon: false }).catch((e: unknown) => e);
    await platform.close();
    assert.ok(err instanceof PlatformRejectedError, 'rejected, whatever the language');
    assert.equal(err.code, 'PLATFORM_REJECTED');
    assert.ok(err.message.includes(message.slice(0, 40)), 'carries PowerShell text');
    assert.match(err.message, /password policy/);
    assert.match(err.message, /InvalidPassword,Microsoft\.PowerShell\.Commands\.NewLocalUserCommand/);
    for (const text of [String(err), err.stack ?? '', JSON.stringify(err), inspect(err, { depth: 9 })]) assert.ok(!text.includes(PASSWORD));
  }
});

test('a failure whose text echoes the password keeps PowerShell text but loses the password', async () => {
  const { platform } = makePlatform((verb, params) =>
    verb === 'ensureAdminAccount'
      ? { error: { message: `Cannot bind parameter 'Password'. Cannot convert the "${params.password as string}" value of type "System.String" to type "System.Security.SecureString".`, fullyQualifiedErrorId: 'CannotConvertArgumentNoMessage,Microsoft.PowerShell.Commands.NewLocalUserCommand', win32: null } }
      : cannedAnswer(verb, params),
  );
  const err = await platform.ensureAdminAccount({ username: 'operator7', password: new Secret(PASSWORD), resetPasswordOnFirstLogon: false }).catch((e: unknown) => e);
  await platform.close();
  assert.ok(err instanceof PlatformCommandError);
  assert.match(err.message, /Cannot bind parameter 'Password'\. Cannot convert the "\[redacted\]" value/);
  for (const text of [String(err), err.stack ?? '', JSON.stringify(err), inspect(err, { depth: 9 })]) assert.ok(!text.includes(PASSWORD));
});

test('an account that already exists and is already an administrator is "updated", not a failure', async () => {
  const { platform } = makePlatform((verb, params) =>
    verb === 'ensureAdminAccount' ? { result: { outcome: 'updated', sid: 'S-1-5-21-1-2-3-500', addedToAdministrators: false } } : cannedAnswer(verb, params),
  );
  assert.deepEqual(await platform.ensureAdminAccount({ username: 'operator7', password: new Secret(PASSWORD), resetPasswordOnFirstLogon: false }), { outcome: 'updated', sid: 'S-1-5-21-1-2-3-500' });
  await platform.close();
});

test('the OS volume answer is checked: a blocker comes with its partition, a failure with Windows\' text', async () => {
  const answers: unknown[] = [
    { outcome: 'blocked', driveLetter: 'C', sizeBefore: 100, sizeAfter: 100, unreachableBytes: 5_000_000, blocker: { partitionNumber: 4, type: 'Recovery' } },
    { outcome: 'failed', driveLetter: 'C', sizeBefore: 100, sizeAfter: 100, reason: 'Not enough available capacity' },
    { outcome: 'blocked', driveLetter: 'C', sizeBefore: 100, sizeAfter: 100 },
  ];
  const { platform } = makePlatform((verb, params) => (verb === 'extendOsVolume' ? { result: answers.shift() } : cannedAnswer(verb, params)));
  assert.deepEqual(await platform.extendOsVolume(), { outcome: 'blocked', driveLetter: 'C', sizeBefore: 100, sizeAfter: 100, unreachableBytes: 5_000_000, blocker: { partitionNumber: 4, type: 'Recovery' } });
  assert.equal((await platform.extendOsVolume()).reason, 'Not enough available capacity');
  await assert.rejects(platform.extendOsVolume(), /no valid the result/);
  await platform.close();
});

test('RID 500 renamed is logged; another account as the admin locks RID 500 and says so as a warning', async () => {
  const answers = [
    { outcome: 'renamed', sid: 'S-1-5-21-1-2-3-500', previousName: 'Administrator', addedToAdministrators: false },
    { outcome: 'updated', sid: 'S-1-5-21-1-2-3-1000', addedToAdministrators: true, builtinAdministrator: { sid: 'S-1-5-21-1-2-3-500', name: 'Administrator', disabled: true } },
    { outcome: 'renamed', sid: 'not-a-sid' },
  ];
  const logged: string[] = [];
  const { platform } = makePlatform((verb, params) => (verb === 'ensureAdminAccount' ? { result: answers.shift() } : cannedAnswer(verb, params)), { log: (level, message) => logged.push(`${level}: ${message}`) });
  const account = { username: 'operator7', password: new Secret(PASSWORD), resetPasswordOnFirstLogon: false };
  assert.deepEqual(await platform.ensureAdminAccount(account), { outcome: 'renamed', sid: 'S-1-5-21-1-2-3-500', previousName: 'Administrator' });
  assert.ok(logged.includes('info: renamed the built-in Administrator (S-1-5-21-1-2-3-500) from Administrator to operator7'), logged.join('\n'));
  const other = await platform.ensureAdminAccount(account);
  assert.deepEqual(other.builtinAdministrator, { sid: 'S-1-5-21-1-2-3-500', name: 'Administrator', disabled: true });
  assert.ok(logged.some((line) => line.startsWith('warn: the image already holds an account named operator7 (S-1-5-21-1-2-3-1000)') && line.endsWith('was given a random password nobody knows and disabled')), logged.join('\n'));
  await assert.rejects(platform.ensureAdminAccount(account), /no valid sid \(expected a local account SID/);
  await platform.close();
});

test('a rename Windows refuses (Win32 87) is a rejection; an access failure is a command error', async () => {
  for (const [win32, kind] of [
    [87, PlatformRejectedError],
    [5, PlatformCommandError],
  ] as const) {
    const { platform } = makePlatform((verb, params) =>
      verb === 'setComputerName' ? { error: { message: win32 === 87 ? 'The parameter is incorrect' : 'Access is denied', fullyQualifiedErrorId: 'System.ComponentModel.Win32Exception', win32 } } : cannedAnswer(verb, params),
    );
    const err = await platform.setComputerName('bad/name').catch((e: unknown) => e);
    await platform.close();
    assert.ok(err instanceof kind, String(err));
    assert.match((err as Error).message, new RegExp(`Win32 ${win32}`));
  }
});

test('a script rejection (unknown time zone id) keeps the script rule and Windows text', async () => {
  const { platform } = makePlatform((verb, params) =>
    verb === 'setTimeZone'
      ? { error: { message: "The time zone ID 'Mars Standard Time' was not found on the local computer.", fullyQualifiedErrorId: 'WinprovRejected', rule: 'the time zone id is not one Windows knows (Get-TimeZone -ListAvailable lists the ids)' } }
      : cannedAnswer(verb, params),
  );
  const err = await platform.setTimeZone('Mars Standard Time').catch((e: unknown) => e);
  await platform.close();
  assert.ok(err instanceof PlatformRejectedError);
  assert.match(err.message, /^setTimeZone: the time zone id is not one Windows knows .*Windows: The time zone ID 'Mars Standard Time' was not found/);
});

test('no provisioning media is a MediaNotFoundError naming the drives searched', async () => {
  const { platform } = makePlatform((verb, params) => (verb === 'readProvisioningMedia' ? { result: { found: false, searched: ['C:\\', 'E:\\'] } } : cannedAnswer(verb, params)));
  const err = await platform.readProvisioningMedia().catch((e: unknown) => e);
  assert.ok(err instanceof MediaNotFoundError);
  assert.match(err.message, /C:\\, E:\\/);
  const noOvf = makePlatform((verb, params) => (verb === 'readProvisioningMedia' ? { result: { found: true, location: 'F:\\', ovfEnv: null, customData: null } } : cannedAnswer(verb, params)));
  const err2 = await noOvf.platform.readProvisioningMedia().catch((e: unknown) => e);
  assert.ok(err2 instanceof MediaNotFoundError);
  assert.match(err2.message, /F:\\ has no ovf-env\.xml/);
  await platform.close();
  await noOvf.platform.close();
});

test('a request that does not answer in time stops the session; the next verb starts a new one', async () => {
  const { runner, platform } = makePlatform((verb, params) => (verb === 'readVmId' ? { hang: true } : cannedAnswer(verb, params)), { requestTimeoutMs: 60 });
  const err = await platform.readVmId().catch((e: unknown) => e);
  assert.ok(err instanceof PlatformCommandError);
  assert.match(err.message, /did not answer within 60 ms/);
  assert.equal(err.context.timedOut, true);
  assert.equal(runner.spawns[0]!.killed, true);
  assert.equal(await platform.setTimeZone('UTC'), 'changed');
  assert.equal(runner.spawns.length, 2);
  await platform.close();
});

test('enableDhcp may take its wait on top of the request timeout, and warns when no address came', async () => {
  const logged: string[] = [];
  const { platform } = makePlatform(
    (verb, params) => (verb === 'enableDhcp' ? { result: { ...IFACE, addressAcquired: false }, delayMs: 150 } : verb === 'readVmId' ? { result: { uuid: randomUUID() }, delayMs: 150 } : cannedAnswer(verb, params)),
    { requestTimeoutMs: 80, log: (level, message) => logged.push(`${level}: ${message}`) },
  );
  const iface = await platform.enableDhcp({ ...IFACE, dhcpEnabled: false }, 200);
  assert.equal(iface.dhcpEnabled, true);
  assert.ok(logged.some((line) => line.startsWith('warn: ') && line.includes('no DHCP address arrived within 200 ms')));
  await assert.rejects(platform.readVmId(), /did not answer within 80 ms/);
  await platform.close();
});

test('the KVP report is cut to 1024 UTF-8 bytes without splitting a character', async () => {
  const { runner, platform } = makePlatform();
  await platform.writeKvpReport(`x${'é'.repeat(2_000)}`);
  await platform.close();
  const sent = requests(runner.spawns[0]!)[0]!.params.report as string;
  assert.ok(Buffer.byteLength(sent, 'utf8') <= 1024);
  assert.equal(sent, `x${'é'.repeat(511)}`);
});

test('invalid certificate placements are refused before PowerShell is started; none means no request', async () => {
  const { runner, platform } = makePlatform();
  const bundle = (thumbprint: string, store: string) => ({ pfx: new Secret<Uint8Array>(PFX), pfxPassword: '' as const, placements: [{ thumbprint, store, hasPrivateKey: true }] });
  await assert.rejects(platform.importCertificates(bundle('12345', 'My')), PlatformRejectedError);
  await assert.rejects(platform.importCertificates(bundle('AB'.repeat(20), '..\\My')), PlatformRejectedError);
  assert.deepEqual(await platform.importCertificates({ pfx: new Secret<Uint8Array>(PFX), pfxPassword: '', placements: [] }), []);
  assert.equal(runner.spawns.length, 0);
  await platform.close();
});

test('an answer of the wrong shape is a PlatformCommandError, not a half-filled value', async () => {
  const { platform } = makePlatform((verb, params) =>
    verb === 'readVmId' ? { result: { uuid: 'not-a-uuid' } } : verb === 'setComputerName' ? { result: { outcome: 'maybe' } } : cannedAnswer(verb, params),
  );
  await assert.rejects(platform.readVmId(), PlatformCommandError);
  await assert.rejects(platform.setComputerName('WEB01'), /outcome/);
  await platform.close();
});

test('close() is idempotent and later verbs fail instead of starting PowerShell again', async () => {
  const { runner, platform } = makePlatform();
  await platform.readVmId();
  await Promise.all([platform.close(), platform.close()]);
  await platform.close();
  await assert.rejects(platform.readVmId(), /session is closed/);
  assert.equal(runner.spawns.length, 1);
  assert.equal(requests(runner.spawns[0]!).filter((r) => r.verb === 'exit').length, 1);
});

test('recordEvent sends the id, entry type and cut message as JSON fields, and logs when it had to register the source', async () => {
  const logged: string[] = [];
  const { runner, platform } = makePlatform(
    (verb, params) => (verb === 'recordEvent' && params.eventId === 1000 ? { result: { source: 'winprov', log: 'Application', created: true } } : cannedAnswer(verb, params)),
    { log: (level, message) => logged.push(`${level}: ${message}`) },
  );
  await platform.recordEvent({ kind: 'start', message: 'winprov 0.1.0 started provisioning' });
  await platform.recordEvent({ kind: 'success', message: `done ${'z'.repeat(40_000)}` });
  await platform.close();
  const sent = requests(runner.spawns[0]!).filter((r) => r.verb === 'recordEvent');
  assert.deepEqual(sent[0]!.params, { eventId: 1000, entryType: 'Information', message: 'winprov 0.1.0 started provisioning' });
  assert.equal(sent[1]!.params.eventId, 1001);
  assert.ok((sent[1]!.params.message as string).length <= 31_000);
  assert.ok(logged.some((line) => line.startsWith('info: ') && line.includes('registered the event source winprov in the Application log')));
  assert.equal(logged.filter((line) => line.includes('registered the event source')).length, 1, 'only when it was created');
});

test('an event source that is missing and cannot be created is a PlatformCommandError with PowerShell text', async () => {
  const message = 'the event source winprov is not registered (the winprov MSI registers it) and could not be created: Requested registry access is not allowed.';
  const { platform } = makePlatform((verb, params) =>
    verb === 'recordEvent' ? { error: { message, fullyQualifiedErrorId: 'InvalidOperationException', exceptionTypes: ['System.InvalidOperationException', 'System.Security.SecurityException'] } } : cannedAnswer(verb, params),
  );
  const err = await platform.recordEvent({ kind: 'start', message: 'x' }).catch((e: unknown) => e);
  await platform.close();
  assert.ok(err instanceof PlatformCommandError);
  assert.match(err.message, /^recordEvent failed: the event source winprov is not registered .* could not be created: Requested registry access/);
});

test('the install directory is a constructor option with the MSI folder as default', async () => {
  const runner = new FakeRunner(cannedAnswer);
  assert.equal(new WindowsPlatform({ runner }).installDirectory, 'C:\\Program Files\\winprov');
  assert.equal(new WindowsPlatform({ runner, installDirectory: 'D:\\Tools\\winprov' }).installDirectory, 'D:\\Tools\\winprov');
  assert.equal(runner.spawns.length, 0);
});

test('collectDiagnostics returns the Setup logs of its systemRoot, then registry and event files from one readDiagnostics request', async (t) => {
  const systemRoot = await mkdtemp(join(tmpdir(), 'winprov-windows-'));
  t.after(() => rm(systemRoot, { recursive: true, force: true }));
  await mkdir(join(systemRoot, 'Panther', 'UnattendGC'), { recursive: true });
  await mkdir(join(systemRoot, 'Setup', 'Scripts'), { recursive: true });
  await writeFile(join(systemRoot, 'Panther', 'setupact.log'), 'act');
  await writeFile(join(systemRoot, 'Panther', 'setuperr.log'), 'err');
  await writeFile(join(systemRoot, 'Panther', 'UnattendGC', 'setupact.log'), 'gc act');
  await writeFile(join(systemRoot, 'Setup', 'Scripts', 'SetupComplete.cmd'), '@echo off');
  const runner = new FakeRunner(cannedAnswer);
  const platform = new WindowsPlatform({ runner, systemRoot, requestTimeoutMs: 2_000 });
  const files = await platform.collectDiagnostics();
  await platform.close();
  assert.deepEqual(
    files.map((f) => f.name),
    [
      'windows/Panther/setupact.log',
      'windows/Panther/setuperr.log',
      'windows/Panther/UnattendGC/setupact.log',
      'windows/Setup/Scripts/SetupComplete.cmd',
      'windows/registry.txt',
      'windows/events-winprov.txt',
      'windows/events-system.txt',
    ],
  );
  const text = (name: string) => String(files.find((f) => f.name === name)!.data);
  assert.match(text('windows/registry.txt'), /HKLM\\SYSTEM\\Setup\r\n  SystemSetupInProgress  REG_DWORD  0x00000001 \(1\)/);
  assert.match(text('windows/events-winprov.txt'), /Error  winprov  1002/);
  assert.equal(text('windows/events-system.txt').includes('(no events)'), true);
  const sent = runner.allRequests().filter((r) => r.verb !== 'exit');
  assert.deepEqual(sent, [{ id: 1, verb: 'readDiagnostics', params: {} }]);
});

test('when PowerShell cannot gather the registry and events, the Setup logs still come back with a note saying why', async (t) => {
  const systemRoot = await mkdtemp(join(tmpdir(), 'winprov-windows-'));
  t.after(() => rm(systemRoot, { recursive: true, force: true }));
  await mkdir(join(systemRoot, 'Panther'), { recursive: true });
  await writeFile(join(systemRoot, 'Panther', 'setuperr.log'), 'err');
  const logged: string[] = [];
  const runner = new FakeRunner((verb, params) => (verb === 'readDiagnostics' ? { error: { message: 'Get-WinEvent : The RPC server is unavailable', fullyQualifiedErrorId: 'System.Diagnostics.Eventing.Reader.EventLogException' } } : cannedAnswer(verb, params)));
  const platform = new WindowsPlatform({ runner, systemRoot, log: (level, message) => logged.push(`${level}: ${message}`) });
  const files = await platform.collectDiagnostics();
  await platform.close();
  assert.deepEqual(
    files.map((f) => f.name),
    ['windows/Panther/setuperr.log', 'windows/collection-notes.txt'],
  );
  assert.match(String(files[1]!.data), /registry values and event logs were not collected: readDiagnostics failed: Get-WinEvent : The RPC server is unavailable/);
  assert.ok(logged.some((line) => line.startsWith('warn: ') && line.includes('The RPC server is unavailable')));
});

test('removeImageSetup takes winprov\'s files out of its systemRoot with Node alone: no PowerShell request', async (t) => {
  const systemRoot = await mkdtemp(join(tmpdir(), 'winprov-windows-'));
  t.after(() => rm(systemRoot, { recursive: true, force: true }));
  const answerFile = join(systemRoot, 'Panther', 'Unattend', 'unattend.xml');
  const setupComplete = join(systemRoot, 'Setup', 'Scripts', 'SetupComplete.cmd');
  await mkdir(join(answerFile, '..'), { recursive: true });
  await mkdir(join(setupComplete, '..'), { recursive: true });
  const template = '<unattend><RunSynchronousCommand><Path>"%ProgramFiles%\\winprov\\winprov.exe" provision</Path></RunSynchronousCommand></unattend>';
  await writeFile(answerFile, template);
  await writeFile(`${answerFile}.winprov-backup`, '<unattend/>');
  await writeFile(setupComplete, '@echo off\r\nrem winprov, edited\r\n');
  const runner = new FakeRunner(cannedAnswer);
  const platform = new WindowsPlatform({ runner, systemRoot });
  const result = await platform.removeImageSetup({ answerFiles: [template], setupCompleteScripts: [] });
  await platform.close();
  assert.equal(result.answerFile.path, answerFile);
  assert.equal(result.answerFile.outcome, 'removed');
  assert.equal(result.answerFile.restored, `${answerFile}.winprov-backup`);
  assert.equal(result.setupComplete.path, setupComplete);
  assert.equal(result.setupComplete.outcome, 'moved');
  assert.equal(result.setupComplete.movedTo, `${setupComplete}.winprov-removed`);
  assert.equal(await readFile(answerFile, 'utf8'), '<unattend/>');
  assert.deepEqual(runner.allRequests().filter((r) => r.verb !== 'exit'), []);
});

test('setFirstBootResume names the executable winprov runs from; an answer that did not do it is a failure', async () => {
  const runner = new FakeRunner((verb, params) => (verb === 'setFirstBootResume' ? { result: { registered: params.on, removed: false } } : cannedAnswer(verb, params)));
  const platform = new WindowsPlatform({ runner, executable: 'C:\\Program Files\\winprov\\winprov.exe' });
  await platform.setFirstBootResume(true);
  await platform.setFirstBootResume(false);
  await platform.close();
  assert.deepEqual(runner.allRequests().filter((r) => r.verb === 'setFirstBootResume').map((r) => r.params), [
    { on: true, executable: 'C:\\Program Files\\winprov\\winprov.exe' },
    { on: false, executable: 'C:\\Program Files\\winprov\\winprov.exe' },
  ]);

  const stubborn = new FakeRunner((verb, params) => (verb === 'setFirstBootResume' ? { result: { registered: true, removed: false } } : cannedAnswer(verb, params)));
  const other = new WindowsPlatform({ runner: stubborn });
  await assert.rejects(other.setFirstBootResume(false), (err: unknown) => err instanceof PlatformCommandError && /the startup task is still registered/.test(err.message));
  await other.close();
});
