import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { CODE_CACHE_PLACEHOLDER, UNATTEND_FILES, UPGRADE_CODE, VERSION_MAX_INCLUSIVE, WXS_TEMPLATE, productVersion, renderWxs, sameVersionUpgradeTable } from '../../build/msi.ts';
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
