import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { DIST, ROOT, UNATTEND, WINDOWS_EXE, readPackage } from './project.ts';
import { describeSize, runOrFail, timed } from './run.ts';

/** The WiX source template and the file build/msi.ts writes from it. */
export const WXS_TEMPLATE = join(ROOT, 'build/msi/winprov.wxs.in');
export const WXS = join(ROOT, 'build/msi/winprov.wxs');
/** The product family's identity across versions (also in the template; check.ts compares the two). */
export const UPGRADE_CODE = 'A4834F5E-B608-4EAA-97B4-AD336465BB1A';
/** The files the MSI installs to %ProgramFiles%\winprov besides winprov.exe. */
export const UNATTEND_FILES = ['unattend.xml', 'unattend-deferred.xml', 'SetupComplete.cmd'] as const;
/** The empty placeholder installed as winprov.exe.codecache, so that uninstalling removes the code cache (winprov.wxs.in). */
export const CODE_CACHE_PLACEHOLDER = join(ROOT, 'build/msi/winprov.exe.codecache');

/** dist/winprov-<version>-x64.msi */
export function msiPath(version: string): string {
  return join(DIST, `winprov-${version}-x64.msi`);
}

/**
 * The package version as Windows Installer's ProductVersion: major.minor.build, at most 255.255.65535
 * (ProductVersion property). A pre-release suffix has no place there, and two builds that differ only by
 * it would not upgrade each other, so it is refused rather than dropped.
 */
export function productVersion(version: string): string {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!match) throw new Error(`package.json version ${JSON.stringify(version)} is not major.minor.patch, which an MSI ProductVersion needs`);
  const [major, minor, build] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (major > 255 || minor > 255 || build > 65535) throw new Error(`version ${version} is over an MSI ProductVersion's limits (255.255.65535)`);
  return `${major}.${minor}.${build}`;
}

/** The WiX source with the version filled in; every @NAME@ placeholder must be known. */
export function renderWxs(template: string, values: { version: string }): string {
  const filled = template.replace(/@VERSION@/g, productVersion(values.version));
  const left = /@[A-Z_]+@/.exec(filled);
  if (left) throw new Error(`${relative(ROOT, WXS_TEMPLATE)}: unknown placeholder ${left[0]}`);
  return filled;
}

/**
 * msidbCustomActionType: an executable named by the File table (18), deferred (msidbCustomActionTypeInScript
 * 1024), as SYSTEM (msidbCustomActionTypeNoImpersonate 2048), its exit code ignored
 * (msidbCustomActionTypeContinue 64). The uninstall's "winprov.exe remove-from-image" (winprov.wxs.in).
 */
export const REMOVE_FROM_IMAGE_TYPE = 18 | 64 | 1024 | 2048;

/**
 * What is wrong with the uninstall's remove-from-image in the built tables (rows as readMsiTable gives
 * them): a deferred action outside InstallInitialize..InstallFinalize fails the uninstall (error 2762),
 * and one after RemoveFiles finds no winprov.exe to run.
 */
export function removeFromImageProblems(actions: Record<string, string>[], sequence: Record<string, string>[]): string[] {
  const action = actions.find((row) => row['Action'] === 'RemoveFromImage');
  if (action === undefined) return ['CustomAction table: no RemoveFromImage (uninstalling would leave an image that starts a missing winprov.exe)'];
  const problems: string[] = [];
  if (Number(action['Type']) !== REMOVE_FROM_IMAGE_TYPE) problems.push(`CustomAction table: RemoveFromImage has type ${action['Type']}, not ${REMOVE_FROM_IMAGE_TYPE} (the file's executable, deferred, as SYSTEM, exit code ignored)`);
  if (action['Source'] !== 'WinprovExe' || action['Target'] !== 'remove-from-image') problems.push('CustomAction table: RemoveFromImage does not run winprov.exe remove-from-image');
  const at = (name: string) => Number(sequence.find((row) => row['Action'] === name)?.['Sequence']);
  const step = sequence.find((row) => row['Action'] === 'RemoveFromImage');
  if (step === undefined) problems.push('InstallExecuteSequence: RemoveFromImage is not scheduled');
  else {
    const position = Number(step['Sequence']);
    if (!(position > at('InstallInitialize') && position < at('RemoveFiles'))) problems.push(`InstallExecuteSequence: RemoveFromImage at ${step['Sequence']} is not between InstallInitialize and RemoveFiles`);
    if (step['Condition'] !== 'REMOVE~="ALL" AND NOT UPGRADINGPRODUCTCODE') problems.push(`InstallExecuteSequence: RemoveFromImage's condition is ${JSON.stringify(step['Condition'])}, not an uninstall only`);
  }
  return problems;
}

/** msidbUpgradeAttributesVersionMaxInclusive: the upgrade row also matches the version being installed. */
export const VERSION_MAX_INCLUSIVE = 512;

/**
 * The Upgrade table as `msiinfo export` prints it, with the major-upgrade row's VersionMax made inclusive,
 * as WiX's MajorUpgrade/@AllowSameVersionUpgrades does and wixl ignores: a rebuild of the same version
 * (each build has a new ProductCode) then replaces the installed one instead of installing beside it,
 * two entries in Programs and Features sharing one folder. The downgrade row is left as it is.
 */
export function sameVersionUpgradeTable(exported: string): string {
  const lines = exported.split(/\r?\n/);
  const columns = lines[0]?.split('\t') ?? [];
  const attributes = columns.indexOf('Attributes');
  const action = columns.indexOf('ActionProperty');
  if (attributes === -1 || action === -1) throw new Error('the Upgrade table has no Attributes or ActionProperty column');
  let found = false;
  const rows = lines.map((line, i) => {
    if (i < 3 || line === '') return line;
    const cells = line.split('\t');
    if (cells[action] !== 'WIX_UPGRADE_DETECTED') return line;
    found = true;
    cells[attributes] = String(Number(cells[attributes] || 0) | VERSION_MAX_INCLUSIVE);
    return cells.join('\t');
  });
  if (!found) throw new Error('the Upgrade table has no major-upgrade row (WIX_UPGRADE_DETECTED)');
  return rows.join('\r\n');
}

/**
 * The rows of one table of a built MSI, read with msiinfo (msitools). `msiinfo export` prints the column
 * names, their types and the table's keys, then one tab-separated line per row.
 */
export function readMsiTable(msi: string, table: string): Record<string, string>[] {
  const lines = runOrFail('msiinfo', ['export', msi, table]).split(/\r?\n/).filter((line) => line !== '');
  const columns = lines[0]?.split('\t') ?? [];
  return lines.slice(3).map((line) => {
    const cells = line.split('\t');
    return Object.fromEntries(columns.map((column, i) => [column, cells[i] ?? '']));
  });
}

async function main(): Promise<void> {
  const { version } = readPackage();
  const inputs = [WINDOWS_EXE, CODE_CACHE_PLACEHOLDER, ...UNATTEND_FILES.map((name) => join(UNATTEND, name))];
  const missing = inputs.filter((file) => !existsSync(file)).map((file) => relative(ROOT, file));
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: run "npm run build:exe" first`);

  console.log(`winprov MSI ${version}`);
  writeFileSync(WXS, renderWxs(readFileSync(WXS_TEMPLATE, 'utf8'), { version }));
  const output = msiPath(version);
  // wixl resolves File/@Source against its working directory: the repository root.
  await timed(`wixl -> ${relative(ROOT, output)}`, () => runOrFail('wixl', ['--arch', 'x64', '--output', output, WXS], { cwd: ROOT }));
  // msibuild imports a table from a file named for it; the file is only the step's.
  const scratch = mkdtempSync(join(tmpdir(), 'winprov-msi-'));
  try {
    const table = join(scratch, 'Upgrade.idt');
    writeFileSync(table, sameVersionUpgradeTable(runOrFail('msiinfo', ['export', output, 'Upgrade'])));
    runOrFail('msibuild', [output, '-i', table]);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  console.log(`  ${relative(ROOT, output)}: ${describeSize(statSync(output).size)}`);
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    console.error(`build failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
