import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { CODE_CACHE_PLACEHOLDER, REMOVE_FROM_IMAGE_TYPE, UNATTEND_FILES, UPGRADE_CODE, VERSION_MAX_INCLUSIVE, WXS_TEMPLATE, productVersion, readMsiTable, removeFromImageProblems, renderWxs, sameVersionUpgradeTable } from '../../build/msi.ts';
import { ROOT, UNATTEND } from '../../build/project.ts';
import { attributeOf, childrenOf, parseXml, type XmlNode } from '../../src/protocol/xml.ts';

const fail = (field: string, rule: string) => new Error(`${field} ${rule}`);
const template = readFileSync(WXS_TEMPLATE, 'utf8');

/** Every element with this name anywhere below node. */
function findAll(node: XmlNode, name: string): XmlNode[] {
  const found: XmlNode[] = [];
  for (const key of Object.keys(node)) {
    if (key.startsWith('@_') || key === '#text') continue;
    const items = childrenOf(node, key, key, fail);
    if (key === name) found.push(...items);
    for (const item of items) found.push(...findAll(item, name));
  }
  return found;
}

test('an MSI ProductVersion is major.minor.build within 255.255.65535, without a pre-release suffix', () => {
  assert.equal(productVersion('0.1.0'), '0.1.0');
  assert.equal(productVersion('255.255.65535'), '255.255.65535');
  assert.throws(() => productVersion('0.1.0-beta.1'), /not major\.minor\.patch/);
  assert.throws(() => productVersion('1.2'), /not major\.minor\.patch/);
  assert.throws(() => productVersion('256.0.0'), /over an MSI ProductVersion's limits/);
  assert.throws(() => productVersion('1.0.65536'), /over an MSI ProductVersion's limits/);
});

test('the rendered WiX source is well-formed, versioned, and keeps the stable UpgradeCode', () => {
  const wxs = renderWxs(template, { version: '1.2.3' });
  assert.equal(XMLValidator.validate(wxs), true);
  const product = findAll(parseXml(wxs, fail), 'Product')[0]!;
  assert.equal(attributeOf(product, 'Version'), '1.2.3');
  assert.equal(attributeOf(product, 'UpgradeCode'), UPGRADE_CODE);
  assert.doesNotMatch(wxs, /@[A-Z_]+@/);
  assert.throws(() => renderWxs(`${template}<!-- @COMMIT@ -->`, { version: '1.2.3' }), /unknown placeholder @COMMIT@/);
});

test('the MSI installs winprov.exe and every unattend template to [ProgramFiles64Folder]winprov', () => {
  const root = parseXml(renderWxs(template, { version: '1.2.3' }), fail, { arrays: ['Directory', 'Component', 'File'] });
  const installDir = findAll(root, 'Directory').find((dir) => attributeOf(dir, 'Id') === 'INSTALLDIR')!;
  assert.equal(attributeOf(installDir, 'Name'), 'winprov');
  const parent = findAll(root, 'Directory').find((dir) => childrenOf(dir, 'Directory', 'Directory', fail).includes(installDir));
  assert.equal(attributeOf(parent!, 'Id'), 'ProgramFiles64Folder');
  const files = findAll(installDir, 'File').map((file) => ({ name: attributeOf(file, 'Name')!, source: attributeOf(file, 'Source')! }));
  assert.deepEqual(files.map((file) => file.name).sort(), ['winprov.exe', 'winprov.exe.codecache', ...UNATTEND_FILES].sort());
  // The templates come from the repository as they are; only the exe is a build output.
  for (const file of files.filter((f) => f.name !== 'winprov.exe')) assert.ok(existsSync(join(ROOT, file.source)), file.source);
  // The code cache's placeholder is empty (the loader takes that for no cache) and named after the exe,
  // where the loader looks, so that uninstalling removes what prepare-image writes there.
  const placeholder = files.find((f) => f.name === 'winprov.exe.codecache')!;
  assert.equal(join(ROOT, placeholder.source), CODE_CACHE_PLACEHOLDER);
  assert.equal(statSync(CODE_CACHE_PLACEHOLDER).size, 0);
  // A template added to unattend/ must be added to the MSI too.
  const shipped = readdirSync(UNATTEND).filter((name) => name.endsWith('.xml') || name === 'SetupComplete.cmd');
  assert.deepEqual(shipped.sort(), [...UNATTEND_FILES].sort());
});

test('the MSI registers the winprov Event Log source with an expandable EventMessageFile', () => {
  const root = parseXml(renderWxs(template, { version: '1.2.3' }), fail, { arrays: ['RegistryValue'] });
  const values = findAll(root, 'RegistryValue').filter((value) => attributeOf(value, 'Key') === 'SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\winprov');
  const messageFile = values.find((value) => attributeOf(value, 'Name') === 'EventMessageFile')!;
  assert.equal(attributeOf(messageFile, 'Root'), 'HKLM');
  assert.equal(attributeOf(messageFile, 'Value'), '#%%SystemRoot%\\Microsoft.NET\\Framework64\\v4.0.30319\\EventLogMessages.dll');
});

test('the major-upgrade row is made to include the same version; the downgrade row is left alone', () => {
  const exported = [
    'UpgradeCode\tVersionMin\tVersionMax\tLanguage\tAttributes\tRemove\tActionProperty',
    's38\tS20\tS20\tS255\ti4\tS255\ts72',
    'Upgrade\tUpgradeCode\tVersionMin\tVersionMax\tLanguage\tAttributes',
    `{${UPGRADE_CODE}}\t\t0.1.0\t\t1\t\tWIX_UPGRADE_DETECTED`,
    `{${UPGRADE_CODE}}\t0.1.0\t\t\t2\t\tWIX_DOWNGRADE_DETECTED`,
    '',
  ].join('\r\n');
  const lines = sameVersionUpgradeTable(exported).split('\r\n');
  assert.equal(lines[3], `{${UPGRADE_CODE}}\t\t0.1.0\t\t${1 | VERSION_MAX_INCLUSIVE}\t\tWIX_UPGRADE_DETECTED`);
  assert.equal(lines[4], `{${UPGRADE_CODE}}\t0.1.0\t\t\t2\t\tWIX_DOWNGRADE_DETECTED`);
  assert.deepEqual(lines.slice(0, 3), exported.split('\r\n').slice(0, 3));
  assert.throws(() => sameVersionUpgradeTable(exported.replace('WIX_UPGRADE_DETECTED', 'OTHER')), /no major-upgrade row/);
});

test('uninstalling runs winprov.exe remove-from-image as SYSTEM before the files go, never in an upgrade', () => {
  const root = parseXml(renderWxs(template, { version: '1.2.3' }), fail, { arrays: ['CustomAction', 'Custom'] });
  const action = findAll(root, 'CustomAction').find((a) => attributeOf(a, 'Id') === 'RemoveFromImage')!;
  assert.equal(attributeOf(action, 'FileKey'), 'WinprovExe');
  assert.equal(attributeOf(action, 'ExeCommand'), 'remove-from-image');
  assert.equal(attributeOf(action, 'Execute'), 'deferred');
  assert.equal(attributeOf(action, 'Impersonate'), 'no');
  assert.equal(attributeOf(action, 'Return'), 'ignore');
  // What the built tables must show (check:build reads them): the executable, deferred, as SYSTEM, its exit ignored.
  const good = [{ Action: 'RemoveFromImage', Type: String(REMOVE_FROM_IMAGE_TYPE), Source: 'WinprovExe', Target: 'remove-from-image' }];
  const sequence = (position: string, condition = 'REMOVE~="ALL" AND NOT UPGRADINGPRODUCTCODE') => [
    { Action: 'InstallInitialize', Condition: '', Sequence: '1500' },
    { Action: 'RemoveFromImage', Condition: condition, Sequence: position },
    { Action: 'RemoveFiles', Condition: '', Sequence: '3500' },
  ];
  assert.deepEqual(removeFromImageProblems(good, sequence('3490')), []);
  // Before= in wixl 0.101 lands at 1: outside the script, where Windows Installer refuses a deferred action.
  assert.match(removeFromImageProblems(good, sequence('1')).join('\n'), /at 1 is not between InstallInitialize and RemoveFiles/);
  assert.match(removeFromImageProblems(good, sequence('3490', 'REMOVE~="ALL"')).join('\n'), /not an uninstall only/);
  assert.match(removeFromImageProblems([{ ...good[0]!, Type: '18' }], sequence('3490')).join('\n'), /has type 18/);
  assert.match(removeFromImageProblems([], sequence('3490')).join('\n'), /no RemoveFromImage/);
});

test('wixl builds the uninstall\'s remove-from-image into the tables as check:build wants them', { skip: spawnSync('wixl', ['--version']).error !== undefined ? 'wixl is not installed (.ci/run installs it)' : false }, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'winprov-wixl-'));
  try {
    // The template's sources, relative to its working directory, with an executable of one byte.
    for (const name of UNATTEND_FILES) cpSync(join(UNATTEND, name), join(scratch, 'unattend', name));
    cpSync(CODE_CACHE_PLACEHOLDER, join(scratch, 'build', 'msi', 'winprov.exe.codecache'));
    mkdirSync(join(scratch, 'dist'));
    writeFileSync(join(scratch, 'dist', 'winprov.exe'), 'x');
    writeFileSync(join(scratch, 'winprov.wxs'), renderWxs(template, { version: '1.2.3' }));
    const built = spawnSync('wixl', ['--arch', 'x64', '--output', 'winprov.msi', 'winprov.wxs'], { cwd: scratch, encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    const msi = join(scratch, 'winprov.msi');
    assert.deepEqual(removeFromImageProblems(readMsiTable(msi, 'CustomAction'), readMsiTable(msi, 'InstallExecuteSequence')), []);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
