import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlatformCommandError } from '../../../src/errors.ts';
import { formatEvents, formatRegistry, readSetupFiles, readTail, toDiagnosticFiles } from '../../../src/platform/windows/diagnostics.ts';
import { REGISTRY, WINPROV_EVENTS } from './diagnostics-answer.ts';

async function folder(t: TestContext): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'winprov-diagnostics-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return root;
}

test('the tail of a long log starts at a line and says how much was left out; a short log is whole', async (t) => {
  const root = await folder(t);
  const path = join(root, 'setupact.log');
  const lines = Array.from({ length: 2_000 }, (_, i) => `2026-01-01 00:00:00, Info  line ${String(i).padStart(4, '0')}\r\n`).join('');
  await writeFile(path, lines);
  assert.equal(Buffer.from((await readTail(path, 1_000_000))!).toString('latin1'), lines);
  const tail = Buffer.from((await readTail(path, 1_000))!).toString('latin1');
  const body = tail.slice(tail.indexOf('\r\n') + 2);
  assert.match(tail, /^\[the first \d+ bytes of this \d+-byte file are left out\]\r\n2026-01-01/);
  assert.ok(body.length <= 1_000 && lines.endsWith(body), 'the kept part is the exact end of the file');
  assert.ok(body.endsWith('line 1999\r\n'));
  assert.equal(await readTail(join(root, 'missing.log')), undefined);
});

test('the Panther, UnattendGC and SetupComplete files that exist are collected under their zip names; missing ones are skipped', async (t) => {
  const root = await folder(t);
  await mkdir(join(root, 'Panther', 'UnattendGC'), { recursive: true });
  await writeFile(join(root, 'Panther', 'setupact.log'), 'panther act');
  await writeFile(join(root, 'Panther', 'UnattendGC', 'setuperr.log'), 'gc err');
  await writeFile(join(root, 'Panther', 'unattend.xml'), '<AdministratorPassword>secret</AdministratorPassword>');
  const { files, notes } = await readSetupFiles(root);
  assert.deepEqual(
    files.map((f) => [f.name, Buffer.from(f.data).toString()]),
    [
      ['windows/Panther/setupact.log', 'panther act'],
      ['windows/Panther/UnattendGC/setuperr.log', 'gc err'],
    ],
  );
  assert.deepEqual(notes, []);
  await mkdir(join(root, 'Setup', 'Scripts', 'SetupComplete.cmd'), { recursive: true });
  const again = await readSetupFiles(root);
  assert.equal(again.notes.length, 1, 'a file that cannot be read is a note, not a failure');
  assert.match(again.notes[0]!, /SetupComplete\.cmd could not be read \(EISDIR\)/);
});

test('registry.txt shows each key with typed values, absent values, absent keys and unreadable keys', () => {
  const text = formatRegistry('readDiagnostics', REGISTRY);
  const expected = [
    'HKLM\\SYSTEM\\Setup',
    '  SystemSetupInProgress  REG_DWORD  0x00000001 (1)',
    '  CmdLine  REG_SZ  "oobe\\\\windeploy.exe"',
    '  SetupType  REG_DWORD  0xffffffff (4294967295)',
    '  OOBEInProgress  (not present)',
    '',
    'HKLM\\SOFTWARE\\Microsoft\\GuestAgent',
    '  (key not present)',
    '',
    'HKLM\\SOFTWARE\\Microsoft\\Windows Azure',
    '  (could not be read: Requested registry access is not allowed.)',
    '',
    'HKLM\\SYSTEM\\CurrentControlSet\\Services\\RdAgent',
    '  Start  REG_DWORD  0x00000004 (4) Disabled',
    '  ImagePath  REG_EXPAND_SZ  "%SystemDrive%\\\\WindowsAzure\\\\WaAppAgent.exe"',
    '  DelayedAutostart  (not present)',
    '',
    'HKLM\\SOFTWARE\\Microsoft\\Virtual Machine\\Guest',
    '  PROVISIONING_REPORT  REG_SZ  "result=success"',
    '  Mixed  REG_MULTI_SZ  "one", "two \\"quoted\\""',
    '  Blob  REG_BINARY  de ad be ef ... (300 bytes)',
    '  Big  REG_QWORD  0xffffffffffffffff (18446744073709551615)',
    '  (Default)  REG_SZ  "default value"',
    '',
  ].join('\r\n');
  assert.equal(text, expected);
});

test('event extracts list time, level name, provider, id and the indented message, or say why there are none', () => {
  const text = formatEvents('readDiagnostics', 'Application log, source winprov', WINPROV_EVENTS);
  assert.equal(
    text,
    [
      'Application log, source winprov',
      '',
      '2026-01-01T00:05:00.0000000Z  Error  winprov  1002',
      '  provisioning failed [DHCP_DISABLED]: DHCP is disabled',
      '  on Ethernet 2',
      '',
      '2026-01-01T00:00:00.0000000Z  Information  winprov  1000',
      '  winprov 0.1.0 started provisioning',
      '',
    ].join('\r\n'),
  );
  assert.equal(formatEvents('v', 'H', { events: [], error: null }), 'H\r\n(no events)\r\n');
  assert.equal(formatEvents('v', 'H', { events: [], error: 'There is not an event provider on the localhost computer that matches "winprov".' }), 'H\r\n(could not be read: There is not an event provider on the localhost computer that matches "winprov".)\r\n');
});

test('the answer becomes registry.txt, events-winprov.txt and events-system.txt; a malformed answer is a PlatformCommandError', () => {
  const files = toDiagnosticFiles('readDiagnostics', { registry: REGISTRY, winprovEvents: WINPROV_EVENTS, systemEvents: { events: [], error: null } });
  assert.deepEqual(
    files.map((f) => f.name),
    ['windows/registry.txt', 'windows/events-winprov.txt', 'windows/events-system.txt'],
  );
  assert.match(String(files[2]!.data), /^System log, critical, error and warning events/);
  assert.throws(() => toDiagnosticFiles('readDiagnostics', { registry: 'x', winprovEvents: WINPROV_EVENTS, systemEvents: WINPROV_EVENTS }), PlatformCommandError);
  assert.throws(() => toDiagnosticFiles('readDiagnostics', { registry: [], winprovEvents: { events: [{ time: 1 }] }, systemEvents: WINPROV_EVENTS }), /readDiagnostics failed/);
});
